import json
import shutil

import pytest
import torch

from esbot_dialogue.adapters import (
    AdapterError,
    check_adapter_compatibility,
    config_fingerprint,
    read_adapter_info,
)
from esbot_dialogue.llm import GenerationSettings
from esbot_dialogue.prompting import PromptBuilder
from lora_test_adapters import TARGETS, edit_adapter_config

GREEDY = GenerationSettings(do_sample=False, max_new_tokens=8)


@pytest.fixture(scope="module")
def prompt(session_transformers_llm):
    return PromptBuilder(session_transformers_llm.tokenizer).build([], "I feel lonely since I moved.")


def variant(adapters, tmp_path, **changes):
    """A copy of the matching adapter with its config changed."""
    copy = tmp_path / "variant"
    shutil.copytree(adapters / "matching", copy)
    edit_adapter_config(copy, **changes)
    return copy


def reply(transformers_llm, prompt):
    return "".join(transformers_llm.stream(prompt, GREEDY))


def test_reads_a_peft_adapter(adapters, model_dir):
    info = read_adapter_info(adapters / "matching")
    assert info.peft_type == "LORA"
    assert (info.r, info.lora_alpha) == (4, 8.0)
    assert sorted(info.target_modules) == TARGETS
    assert info.base_model_name_or_path == model_dir
    assert info.weights_file.name == "adapter_model.safetensors"
    assert info.manifest == {} and info.manifest_config_hash is None


def test_reads_the_esbot_manifest(adapters, tmp_path):
    copy = variant(adapters, tmp_path)
    manifest = {"base_model_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "base_config_hash": "abc",
                "context_representation": {"format": "chat", "turns": 6}}
    (copy / "esbot_manifest.json").write_text(json.dumps(manifest))
    info = read_adapter_info(copy)
    assert info.manifest_base_model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert info.manifest_config_hash == "abc"
    assert info.context_representation == {"format": "chat", "turns": 6}


def test_unreadable_adapters_are_refused_clearly(adapters, tmp_path):
    with pytest.raises(AdapterError, match="does not exist"):
        read_adapter_info(tmp_path / "nowhere")
    with pytest.raises(AdapterError, match="no adapter_config.json"):
        read_adapter_info(tmp_path)

    corrupt = variant(adapters, tmp_path)
    (corrupt / "adapter_config.json").write_text("{ not json")
    with pytest.raises(AdapterError, match="cannot be read"):
        read_adapter_info(corrupt)

    edit_config_path = corrupt / "adapter_config.json"
    edit_config_path.write_text(json.dumps({"peft_type": "PREFIX_TUNING"}))
    with pytest.raises(AdapterError, match="only LoRA"):
        read_adapter_info(corrupt)

    edit_config_path.write_text(json.dumps({"peft_type": "LORA", "r": 4, "lora_alpha": 8}))
    (corrupt / "adapter_model.safetensors").unlink()
    with pytest.raises(AdapterError, match="no weights file"):
        read_adapter_info(corrupt)

    (corrupt / "adapter_model.safetensors").write_bytes(b"garbage")
    info = read_adapter_info(corrupt)
    with pytest.raises(AdapterError, match="Cannot read the adapter weights"):
        check_adapter_compatibility(info, "x", torch.nn.Linear(2, 2))


def test_matching_adapter_is_compatible(adapters, transformers_llm):
    info = read_adapter_info(adapters / "matching")
    assert check_adapter_compatibility(info, transformers_llm.model_id, transformers_llm.model) == []


def test_base_names_are_compared_by_last_path_component(adapters, tmp_path, transformers_llm):
    info = read_adapter_info(variant(adapters, tmp_path, base_model_name_or_path="/home/x/smollm2-135m-instruct/"))
    assert check_adapter_compatibility(info, "HuggingFaceTB/SmolLM2-135M-Instruct", transformers_llm.model) == []


def test_other_base_name_is_refused_unless_allowed(adapters, tmp_path, transformers_llm, prompt):
    copy = variant(adapters, tmp_path, base_model_name_or_path="someone/OtherModel-1B")
    problems = check_adapter_compatibility(read_adapter_info(copy), transformers_llm.model_id, transformers_llm.model)
    assert problems == [
        "The adapter was trained on 'someone/OtherModel-1B', but the running model is "
        "'HuggingFaceTB/SmolLM2-135M-Instruct'."
    ]
    with pytest.raises(AdapterError, match="OtherModel-1B"):
        transformers_llm.load_adapter(copy)
    assert transformers_llm.adapter_path is None

    transformers_llm.load_adapter(copy, allow_base_mismatch=True)
    assert transformers_llm.adapter_path == str(copy)


def test_manifest_config_fingerprint_is_checked(adapters, tmp_path, transformers_llm):
    copy = variant(adapters, tmp_path)
    manifest = copy / "esbot_manifest.json"
    manifest.write_text(json.dumps({"base_config_hash": config_fingerprint(transformers_llm.model.config)}))
    assert check_adapter_compatibility(read_adapter_info(copy), transformers_llm.model_id, transformers_llm.model) == []
    manifest.write_text(json.dumps({"base_config_hash": "0123456789abcdef"}))
    [problem] = check_adapter_compatibility(read_adapter_info(copy), transformers_llm.model_id, transformers_llm.model)
    assert "fingerprint 0123456789abcdef differs" in problem


def test_absent_target_modules_are_reported(adapters, tmp_path, transformers_llm):
    info = read_adapter_info(variant(adapters, tmp_path, target_modules=["q_proj", "c_attn"]))
    assert check_adapter_compatibility(info, transformers_llm.model_id, transformers_llm.model) == [
        "The model has no module named 'c_attn', which the adapter targets."
    ]
    info = read_adapter_info(variant(adapters, tmp_path / "regex", target_modules=r".*\.(q|v)_proj"))
    assert check_adapter_compatibility(info, transformers_llm.model_id, transformers_llm.model) == []


def test_shape_mismatch_is_named(adapters, transformers_llm):
    problems = check_adapter_compatibility(read_adapter_info(adapters / "tiny"), transformers_llm.model_id, transformers_llm.model)
    assert problems[0] == (
        "Shape mismatch at model.layers.0.self_attn.q_proj: the adapter's lora_A has shape [4, 64], "
        "but the model's module has 576 input features."
    )
    assert problems[-1] == "... and 2 more weight problems."  # 8 in all: 2 layers x q/v x A/B
    # Allowing another base model does not allow weights that do not fit.
    assert check_adapter_compatibility(
        read_adapter_info(adapters / "tiny"), transformers_llm.model_id, transformers_llm.model, allow_base_mismatch=True
    ) == problems


def test_loading_changes_replies_and_refusal_keeps_the_previous_state(adapters, transformers_llm, prompt):
    base_reply = reply(transformers_llm, prompt)

    with pytest.raises(AdapterError, match="Shape mismatch at model.layers.0.self_attn.q_proj"):
        transformers_llm.load_adapter(adapters / "tiny")
    assert transformers_llm.adapter_path is None
    assert reply(transformers_llm, prompt) == base_reply  # still the plain model

    transformers_llm.load_adapter(adapters / "matching")
    assert transformers_llm.adapter_path == str(adapters / "matching")
    adapted_reply = reply(transformers_llm, prompt)
    assert adapted_reply != base_reply

    with pytest.raises(AdapterError, match="Shape mismatch"):
        transformers_llm.load_adapter(adapters / "tiny")
    assert transformers_llm.adapter_path == str(adapters / "matching")
    assert reply(transformers_llm, prompt) == adapted_reply  # the adapter keeps serving

    transformers_llm.load_adapter(adapters / "matching")  # reloading replaces, never stacks
    assert reply(transformers_llm, prompt) == adapted_reply

    transformers_llm.unload_adapter()
    assert transformers_llm.adapter_path is None
    assert not any("lora" in name for name, _ in transformers_llm.model.named_modules())
    assert reply(transformers_llm, prompt) == base_reply


def test_fully_saved_modules_are_checked_too(adapters, tmp_path, transformers_llm):
    from safetensors.torch import load_file, save_file

    copy = variant(adapters, tmp_path)
    weights = load_file(copy / "adapter_model.safetensors")
    # lm_head is tied to the embeddings in SmolLM2, and must still be found by its own name.
    weights["base_model.model.lm_head.weight"] = torch.zeros(10, 576)
    save_file(weights, copy / "adapter_model.safetensors")
    assert check_adapter_compatibility(read_adapter_info(copy), transformers_llm.model_id, transformers_llm.model) == [
        "The adapter's lm_head.weight has shape [10, 576], the model's has [49152, 576]."
    ]


def test_history_representation_follows_the_adapter_manifest_unless_configured(adapters, tmp_path):
    from esbot_dialogue.adapters import history_representation_for

    trained = variant(adapters, tmp_path)
    (trained / "esbot_manifest.json").write_text(json.dumps({"context_representation": "keypos"}))
    info = read_adapter_info(trained)
    assert history_representation_for(info, "") == "keypos"
    assert history_representation_for(info, "nostopwords") == "nostopwords"  # the operator's choice wins
    assert history_representation_for(read_adapter_info(adapters / "matching"), "") == "raw"  # no manifest
    assert history_representation_for(None, "") == "raw"
    (trained / "esbot_manifest.json").write_text(json.dumps({"context_representation": "summary-of-sorts"}))
    with pytest.raises(ValueError, match="valid ones are"):
        history_representation_for(read_adapter_info(trained), "")
