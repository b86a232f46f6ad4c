"""PEFT LoRA adapters as GGUF LoRA files, which llama.cpp applies to a loaded model at run time.

The adapter's lora_A/lora_B pairs are renamed to llama.cpp's tensor names, and lora_B of the
query and key projections is permuted the way llama.cpp's converter permutes those weights
(GGUF stores them with the rotary halves interleaved per head, Hugging Face does not), so the
adapter changes llama.cpp's output as it changes PEFT's (tested). Written once per adapter
content into the models folder's cache (adapter folders may be read-only package files); an
adapter that ships its own adapter_model.gguf is used as it is.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from esbot_common.model_store import default_models_dir

from ..adapters import AdapterError, AdapterInfo

#: An adapter folder may ship its GGUF form under this name (the default adapter does).
SHIPPED_GGUF = "adapter_model.gguf"
#: Converted adapters are cached here, inside the models folder.
CACHE_FOLDER = "gguf-lora"

# Hugging Face Llama module names -> llama.cpp tensor names (llama.cpp's LLM_ARCH_LLAMA).
_LLAMA_MODULES = {
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
_SUPPORTED_MODEL_TYPES = ("llama", "mistral")


def gguf_adapter(info: AdapterInfo, base_config: dict[str, Any], models_dir: str | os.PathLike | None = None,
                 dtype: str = "f16") -> Path:
    """The GGUF LoRA file for a PEFT adapter: the shipped one, else the cached conversion (made now
    if missing). AdapterError when the adapter cannot be converted."""
    shipped = info.path / SHIPPED_GGUF
    if shipped.is_file():
        return shipped
    digest = hashlib.sha256(info.weights_file.read_bytes())
    digest.update((info.path / "adapter_config.json").read_bytes())
    digest.update(dtype.encode())
    root = Path(models_dir).expanduser() if models_dir else default_models_dir()
    target = root / CACHE_FOLDER / f"{info.path.name}-{digest.hexdigest()[:16]}.gguf"
    if not target.is_file():
        convert_peft_to_gguf(info, base_config, target, dtype)
    return target


def convert_peft_to_gguf(info: AdapterInfo, base_config: dict[str, Any], target: Path, dtype: str = "f16") -> None:
    """Write `info`'s LoRA as a GGUF LoRA file for the base model described by base_config (its
    config.json); written to a temporary name first, so a half-written file is never used."""
    import gguf
    from safetensors.numpy import load_file

    model_type = base_config.get("model_type")
    if model_type not in _SUPPORTED_MODEL_TYPES:
        raise AdapterError(
            f"Converting adapters for {model_type!r} models is not built in (only {', '.join(_SUPPORTED_MODEL_TYPES)}); "
            f"convert it with llama.cpp's convert_lora_to_gguf.py and put the result in {info.path / SHIPPED_GGUF}."
        )
    peft_config = json.loads((info.path / "adapter_config.json").read_text(encoding="utf-8"))
    if peft_config.get("use_rslora") or peft_config.get("alpha_pattern") or peft_config.get("rank_pattern") \
            or peft_config.get("use_dora"):
        raise AdapterError(f"Adapter {info.path} uses rsLoRA, DoRA or per-module ranks, which a GGUF LoRA file "
                           "cannot express (one alpha for all): use backend transformers for it.")
    if info.weights_file.suffix != ".safetensors":
        raise AdapterError(f"Adapter {info.path} has no adapter_model.safetensors to convert.")
    n_head = int(base_config["num_attention_heads"])
    n_kv_head = int(base_config.get("num_key_value_heads") or n_head)
    float_type = {"f16": np.float16, "f32": np.float32}[dtype]
    tensors = load_file(str(info.weights_file))
    pairs = _lora_pairs(info, tensors)

    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.partial")
    writer = gguf.GGUFWriter(str(partial), arch="llama")
    writer.add_type(gguf.GGUFType.ADAPTER)
    writer.add_string(gguf.Keys.Adapter.TYPE, "lora")
    writer.add_float32(gguf.Keys.Adapter.LORA_ALPHA, float(info.lora_alpha))
    for (layer, module), (lora_a, lora_b) in sorted(pairs.items()):
        if module == "self_attn.q_proj":
            lora_b = _permute_rows(lora_b, n_head)
        elif module == "self_attn.k_proj":
            lora_b = _permute_rows(lora_b, n_kv_head)
        name = f"blk.{layer}.{_LLAMA_MODULES[module]}.weight"
        writer.add_tensor(f"{name}.lora_a", np.ascontiguousarray(lora_a, dtype=float_type))
        writer.add_tensor(f"{name}.lora_b", np.ascontiguousarray(lora_b, dtype=float_type))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    partial.replace(target)
    (target.with_suffix(".json")).write_text(json.dumps(
        {"adapter": str(info.path), "layers": len({layer for layer, _ in pairs}), "modules": len(pairs),
         "r": info.r, "lora_alpha": info.lora_alpha, "dtype": dtype}, indent=2))


def _lora_pairs(info: AdapterInfo, tensors: dict[str, np.ndarray]) -> dict[tuple[int, str], tuple[np.ndarray, np.ndarray]]:
    """(layer, module) -> (lora_A, lora_B) from PEFT's saved keys; AdapterError for anything
    llama.cpp's LoRA cannot take (embeddings, lm_head, fully saved modules, DoRA)."""
    halves: dict[tuple[int, str], dict[str, np.ndarray]] = {}
    for key, tensor in tensors.items():
        parts = key.removeprefix("base_model.model.").split(".")
        # model.layers.<i>.<block>.<proj>.lora_<A|B>.weight
        if (len(parts) != 7 or parts[:2] != ["model", "layers"] or parts[5] not in ("lora_A", "lora_B")
                or f"{parts[3]}.{parts[4]}" not in _LLAMA_MODULES):
            raise AdapterError(f"Adapter {info.path}: {key} cannot be applied by llama.cpp "
                               "(only LoRA on the attention and MLP projections is converted).")
        halves.setdefault((int(parts[2]), f"{parts[3]}.{parts[4]}"), {})[parts[5]] = tensor
    incomplete = [f"layer {layer} {module}" for (layer, module), pair in halves.items() if len(pair) != 2]
    if incomplete:
        raise AdapterError(f"Adapter {info.path} lacks lora_A or lora_B at {', '.join(incomplete[:3])}.")
    return {key: (pair["lora_A"], pair["lora_B"]) for key, pair in halves.items()}


def _permute_rows(weight: np.ndarray, n_head: int) -> np.ndarray:
    """llama.cpp's q/k permutation on the output rows: per head, the two rotary halves are
    interleaved (convert_hf_to_gguf.py, LlamaModel.permute)."""
    return (weight.reshape(n_head, 2, weight.shape[0] // n_head // 2, *weight.shape[1:])
            .swapaxes(1, 2).reshape(weight.shape))
