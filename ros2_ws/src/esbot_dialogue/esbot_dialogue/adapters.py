"""Reading LoRA adapters (PEFT directories) and checking that one fits the running model.

An adapter trained for another base model either crashes inside PEFT with an opaque size
error or, worse, loads and quietly degrades every reply. So before anything is loaded, the
adapter's weight shapes are read from its file (without touching the model) and compared
with the modules they would attach to. That shape check is the hard guarantee; the base
model's name is also compared, because two models of one architecture share shapes but
not weights, and a LoRA delta only makes sense on the weights it was trained against.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CONFIG_FILE = "adapter_config.json"
WEIGHT_FILES = ("adapter_model.safetensors", "adapter_model.bin")
# Written by esbot's training next to the adapter; optional, so adapters from elsewhere load.
MANIFEST_FILE = "esbot_manifest.json"

# Prefix PEFT puts before the wrapped model's module names in saved weight keys.
_PEFT_PREFIX = "base_model.model."
_LORA_KEY = re.compile(
    r"^(?P<module>.+)\.(?P<part>lora_(?:embedding_)?[AB]|lora_magnitude_vector)(?:\.weight)?$"
)
# Which axis of each LoRA tensor must equal which size of the adapted module: lora_A maps
# the module's input down to rank r, lora_B maps r up to its output, and DoRA's magnitude
# vector has one entry per output feature.
_LORA_PARTS = {
    "lora_A": (1, "input"),
    "lora_embedding_A": (1, "input"),
    "lora_B": (0, "output"),
    "lora_embedding_B": (0, "output"),
    "lora_magnitude_vector": (0, "output"),
}

# Config fields that decide every weight shape and how positions are encoded: a model whose
# values differ is a different base even when it carries the same name.
_FINGERPRINT_FIELDS = (
    "model_type", "vocab_size", "hidden_size", "intermediate_size", "num_hidden_layers",
    "num_attention_heads", "num_key_value_heads", "head_dim", "max_position_embeddings",
    "rope_theta", "rope_parameters", "tie_word_embeddings",
)

_MAX_SHAPE_PROBLEMS = 6


class AdapterError(Exception):
    """An adapter that cannot be read, or that does not fit the model."""


@dataclass(frozen=True)
class AdapterInfo:
    path: Path
    weights_file: Path
    peft_type: str
    task_type: str | None
    base_model_name_or_path: str | None
    target_modules: tuple[str, ...] | str  # a string is a regular expression (PEFT's convention)
    r: int
    lora_alpha: float
    # From esbot_manifest.json, when the adapter has one.
    manifest_base_model: str | None = None
    manifest_config_hash: str | None = None
    context_representation: Any = None
    manifest: dict[str, Any] = field(default_factory=dict)


def read_adapter_info(path: str | Path) -> AdapterInfo:
    """Read an adapter directory; AdapterError says what is wrong if it is not a usable LoRA."""
    directory = Path(path).expanduser()
    if not directory.is_dir():
        raise AdapterError(f"Adapter directory {directory} does not exist.")

    config = _read_json(directory / CONFIG_FILE, "adapter config")
    if config is None:
        raise AdapterError(f"{directory} has no {CONFIG_FILE}, so it is not a PEFT adapter.")
    peft_type = str(config.get("peft_type", ""))
    if peft_type.upper() != "LORA":
        raise AdapterError(
            f"Adapter {directory} is of type {peft_type or 'unknown'!r}; only LoRA adapters are supported."
        )
    weights = next((directory / name for name in WEIGHT_FILES if (directory / name).is_file()), None)
    if weights is None:
        raise AdapterError(f"Adapter {directory} has no weights file ({' or '.join(WEIGHT_FILES)}).")

    targets = config.get("target_modules") or ()
    manifest = _read_json(directory / MANIFEST_FILE, "esbot manifest") or {}
    try:
        return AdapterInfo(
            path=directory,
            weights_file=weights,
            peft_type=peft_type,
            task_type=config.get("task_type"),
            base_model_name_or_path=config.get("base_model_name_or_path"),
            target_modules=targets if isinstance(targets, str) else tuple(targets),
            r=int(config["r"]),
            lora_alpha=float(config["lora_alpha"]),
            manifest_base_model=manifest.get("base_model_id"),
            manifest_config_hash=manifest.get("base_config_hash"),
            context_representation=manifest.get("context_representation"),
            manifest=manifest,
        )
    except (KeyError, TypeError, ValueError) as error:
        raise AdapterError(f"{directory / CONFIG_FILE} lacks a valid r or lora_alpha ({error!r}).") from error


def config_fingerprint(config: Any) -> str:
    """A short hash of a model config's architecture fields (what the manifest records)."""
    values = config.to_dict() if hasattr(config, "to_dict") else dict(config)
    picked = {name: values[name] for name in _FINGERPRINT_FIELDS if name in values}
    return hashlib.sha256(json.dumps(picked, sort_keys=True, default=str).encode()).hexdigest()[:16]


def check_adapter_compatibility(
    info: AdapterInfo, model_id: str, model: Any, allow_base_mismatch: bool = False
) -> list[str]:
    """Problems that forbid loading this adapter onto this (adapter-free) model; [] = compatible.

    Shape and module problems are always reported. A different base name or config
    fingerprint is reported too unless allow_base_mismatch is set: shapes that fit do not
    make the weights the adapter was trained on, so loading it anyway is an explicit choice.
    """
    problems = []
    if not allow_base_mismatch:
        problems += _identity_problems(info, model_id, model)
    # remove_duplicate=False: a tied lm_head shares its weight with the embeddings but
    # must still be found under its own name.
    modules = dict(model.named_modules(remove_duplicate=False))
    problems += _target_problems(info.target_modules, modules)
    parameters = dict(model.named_parameters(remove_duplicate=False))
    shape_problems = _shape_problems(info, modules, parameters)
    # An adapter for another architecture mismatches in every layer; a few examples say it.
    if len(shape_problems) > _MAX_SHAPE_PROBLEMS:
        hidden = len(shape_problems) - _MAX_SHAPE_PROBLEMS
        shape_problems = shape_problems[:_MAX_SHAPE_PROBLEMS] + [f"... and {hidden} more weight problems."]
    return problems + shape_problems


def _identity_problems(info: AdapterInfo, model_id: str, model: Any) -> list[str]:
    problems = []
    base = info.manifest_base_model or info.base_model_name_or_path
    if not base:
        problems.append("The adapter does not record which base model it was trained on.")
    elif _model_name(base) != _model_name(model_id):
        problems.append(f"The adapter was trained on {base!r}, but the running model is {model_id!r}.")
    if info.manifest_config_hash and info.manifest_config_hash != config_fingerprint(model.config):
        problems.append(
            f"The adapter's base model config fingerprint {info.manifest_config_hash} differs from "
            f"the running model's {config_fingerprint(model.config)}."
        )
    return problems


def _model_name(name_or_path: str) -> str:
    # Hub ids and local copies of the same model share their last component:
    # "HuggingFaceTB/SmolLM2-135M-Instruct" == "/home/x/models/SmolLM2-135M-Instruct".
    return name_or_path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1].lower()


def _target_problems(targets: tuple[str, ...] | str, modules: dict[str, Any]) -> list[str]:
    # PEFT's rule: a string is matched as a full regular expression against module names,
    # a list entry matches a module whose name equals it or ends with "." + it.
    if isinstance(targets, str):
        if not any(re.fullmatch(targets, name) for name in modules):
            return [f"The adapter's target_modules pattern {targets!r} matches no module of the model."]
        return []
    missing = [
        target for target in targets
        if not any(name == target or name.endswith("." + target) for name in modules)
    ]
    return [f"The model has no module named {target!r}, which the adapter targets." for target in missing]


def _shape_problems(info: AdapterInfo, modules: dict[str, Any], parameters: dict[str, Any]) -> list[str]:
    problems = []
    for key, shape in _weight_shapes(info.weights_file).items():
        name = key[len(_PEFT_PREFIX):] if key.startswith(_PEFT_PREFIX) else key
        match = _LORA_KEY.match(name)
        if match is None:
            # A fully saved module (modules_to_save, e.g. a resized lm_head): same shape needed.
            expected = parameters.get(name)
            if expected is None:
                problems.append(f"The adapter has weights for {name}, which the model does not have.")
            elif tuple(expected.shape) != shape:
                problems.append(
                    f"The adapter's {name} has shape {list(shape)}, the model's has {list(expected.shape)}."
                )
            continue
        module_name, part = match["module"], match["part"]
        module = modules.get(module_name)
        if module is None:
            problems.append(f"The adapter has LoRA weights for {module_name}, which the model does not have.")
            continue
        dims = _expected_dims(module)
        if dims is None:
            problems.append(
                f"The adapter targets {module_name}, a {type(module).__name__}, which LoRA cannot adapt here."
            )
            continue
        axis, side = _LORA_PARTS[part]
        expected_size = dims[side]
        if len(shape) <= axis or shape[axis] != expected_size:
            problems.append(
                f"Shape mismatch at {module_name}: the adapter's {part} has shape {list(shape)}, but the "
                f"model's module has {expected_size} {side} features."
            )
    return problems


def _expected_dims(module: Any) -> dict[str, int] | None:
    """Input and output feature counts of a module LoRA can wrap, or None."""
    if hasattr(module, "in_features") and hasattr(module, "out_features"):
        return {"input": module.in_features, "output": module.out_features}
    if hasattr(module, "num_embeddings") and hasattr(module, "embedding_dim"):
        return {"input": module.num_embeddings, "output": module.embedding_dim}
    if hasattr(module, "nx") and hasattr(module, "nf"):  # GPT-2 style Conv1D
        return {"input": module.nx, "output": module.nf}
    return None


def _weight_shapes(weights_file: Path) -> dict[str, tuple[int, ...]]:
    try:
        if weights_file.suffix == ".safetensors":
            from safetensors import safe_open

            # Reads the header only: shapes without loading any tensor data.
            with safe_open(str(weights_file), framework="pt") as handle:
                return {key: tuple(handle.get_slice(key).get_shape()) for key in handle.keys()}
        import torch

        state = torch.load(weights_file, map_location="cpu", weights_only=True)
        return {key: tuple(tensor.shape) for key, tensor in state.items()}
    except Exception as error:  # any unreadable file is the adapter's fault, say which
        raise AdapterError(f"Cannot read the adapter weights {weights_file}: {error}") from error


def _read_json(path: Path, what: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise AdapterError(f"The {what} {path} cannot be read: {error}") from error
    if not isinstance(data, dict):
        raise AdapterError(f"The {what} {path} is not a JSON object.")
    return data


def history_representation_for(info: AdapterInfo | None, configured: str) -> str:
    """The context representation past turns get: the configured one if set, else the one the
    adapter was trained with (its esbot manifest), else raw. An adapter trained on KeyPOS
    history has only ever seen KeyPOS history, so that is what it should be given."""
    from .context_representation import check_representation

    if configured:
        return check_representation(configured)
    if info is not None and info.context_representation:
        return check_representation(str(info.context_representation))
    return "raw"
