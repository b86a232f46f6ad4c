import threading

import pytest
import torch

from esbot_dialogue.generation import GenerationSettings, ModelLoadError, _pick_dtype, ChatModel
from esbot_dialogue.prompting import PromptBuilder

GREEDY = GenerationSettings(do_sample=False, max_new_tokens=24)


@pytest.fixture(scope="module")
def prompt(session_chat_model):
    return PromptBuilder(session_chat_model.tokenizer).build([], "I failed my exam and I feel terrible.")


def test_loads_the_local_copy_on_cpu_in_float32(chat_model, model_dir):
    assert chat_model.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert chat_model._base_model.name_or_path == model_dir  # the prepared copy, offline
    assert chat_model.device.type == "cpu"
    assert chat_model.dtype == torch.float32
    assert chat_model.count_tokens("I feel lonely.") == len(chat_model.tokenizer.encode("I feel lonely."))


def test_auto_dtype():
    assert _pick_dtype("auto", torch.device("cpu")) == torch.float32
    assert _pick_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError):
        _pick_dtype("float13", torch.device("cpu"))


def test_missing_models_raise_model_load_error(tmp_path):
    with pytest.raises(ModelLoadError, match="neither a local folder"):
        ChatModel.load(str(tmp_path / "no-such-model"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        ChatModel.load(str(broken))


def test_streamed_pieces_join_to_the_full_greedy_reply(chat_model, prompt):
    pieces = list(chat_model.stream(prompt, GREEDY))
    assert len(pieces) > 3  # really streamed, not one block

    output = chat_model.model.generate(
        torch.tensor([prompt.input_ids]), max_new_tokens=24, do_sample=False, repetition_penalty=1.1
    )
    expected = chat_model.tokenizer.decode(output[0, len(prompt.input_ids):], skip_special_tokens=True)
    assert "".join(pieces) == expected

    stats = chat_model.last_stats
    assert stats.prompt_tokens == len(prompt.input_ids)
    assert stats.new_tokens == output.shape[1] - len(prompt.input_ids)
    assert 0 < stats.time_to_first_text_s < stats.total_s
    assert stats.tokens_per_s > 0
    assert not stats.stopped_early


def test_cancel_stops_generation_early(chat_model, prompt):
    cancel = threading.Event()
    pieces = []
    for piece in chat_model.stream(prompt, GenerationSettings(do_sample=False, max_new_tokens=64), cancel):
        pieces.append(piece)
        cancel.set()
    assert chat_model.last_stats.stopped_early
    assert chat_model.last_stats.new_tokens < 10
    assert len(pieces) < 5


def test_closing_the_stream_stops_generation(chat_model, prompt):
    stream = chat_model.stream(prompt, GenerationSettings(do_sample=False, max_new_tokens=64))
    next(stream)
    stream.close()
    assert chat_model.last_stats.stopped_early
    assert chat_model.last_stats.new_tokens < 10


def test_a_seed_makes_sampling_reproducible(chat_model, prompt):
    seeded = GenerationSettings(seed=5, max_new_tokens=12)
    first = "".join(chat_model.stream(prompt, seeded))
    assert first and "".join(chat_model.stream(prompt, seeded)) == first


@pytest.mark.parametrize("device, message", [("gpu", "Unknown device 'gpu'"), ("cuda:0", "sees no CUDA GPU")])
def test_a_wrong_device_is_refused_clearly(device, message):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=message):
        ChatModel.load("HuggingFaceTB/SmolLM2-135M-Instruct", device=device)


def test_the_next_turn_reuses_the_conversations_cached_prefix_with_unchanged_output(chat_model):
    """A conversation's next prompt starts with the last one: only the rest is read again, and
    greedy output is the same token for token as with the cache turned off."""
    from esbot_dialogue.history import Turn

    builder = PromptBuilder(chat_model.tokenizer, "You are a kind listener.", context_window=1024, max_new_tokens=24)
    greedy = GenerationSettings(do_sample=False, max_new_tokens=24)
    first = builder.build([], "I failed my exam today.")
    reply = "".join(chat_model.stream(first, greedy))
    history = [Turn("user", "I failed my exam today.", 0.0, "u1"), Turn("assistant", reply, 1.0, "a1")]
    second = builder.build(history, "My parents will be disappointed.")

    with_cache = "".join(chat_model.stream(second, greedy))
    reused = chat_model.last_stats.reused_prompt_tokens
    assert reused >= len(first.input_ids) - 1 and reused < len(second.input_ids)
    chat_model.reuse_prefix_cache = False
    try:
        without_cache = "".join(chat_model.stream(second, greedy))
        assert chat_model.last_stats.reused_prompt_tokens == 0
    finally:
        chat_model.reuse_prefix_cache = True
    assert with_cache == without_cache
