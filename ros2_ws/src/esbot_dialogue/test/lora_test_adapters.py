"""Real PEFT LoRA adapters made on the spot, for the unit tests here and the system tests.

`matching` is trained-shape-compatible with the real model (its lora_B is random, not zero,
via init_lora_weights=False, so it certainly changes the output); `tiny` belongs to a
smaller Llama but claims the real model as its base, so only its shapes give it away.
"""

import json
from pathlib import Path

import pytest

TARGETS = ["q_proj", "v_proj"]
CLAIMED_BASE = "HuggingFaceTB/SmolLM2-135M-Instruct"


def edit_adapter_config(directory: Path, **changes) -> None:
    path = Path(directory) / "adapter_config.json"
    config = json.loads(path.read_text())
    config.update(changes)
    path.write_text(json.dumps(config))


def make_test_adapters(model_dir: str, root: Path) -> Path:
    """Writes root/matching and root/tiny; returns root."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM

    def lora_config():  # a fresh one each time: get_peft_model writes into it
        return LoraConfig(r=4, lora_alpha=8, target_modules=TARGETS, init_lora_weights=False)

    root = Path(root)
    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    get_peft_model(base, lora_config()).save_pretrained(root / "matching")
    tiny = LlamaForCausalLM(LlamaConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                        num_attention_heads=4, num_key_value_heads=2, vocab_size=1000))
    get_peft_model(tiny, lora_config()).save_pretrained(root / "tiny")
    edit_adapter_config(root / "tiny", base_model_name_or_path=CLAIMED_BASE)
    return root


@pytest.fixture(scope="session")
def adapters(tmp_path_factory, model_dir):
    """make_test_adapters' folder, made once per test session (tests change copies, never these)."""
    return make_test_adapters(model_dir, tmp_path_factory.mktemp("adapters"))
