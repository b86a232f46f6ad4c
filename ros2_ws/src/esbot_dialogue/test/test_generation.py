import threading

import pytest
import torch

from esbot_dialogue.generation import (ChatModel, GenerationSettings, ModelLoadError, pick_device,
                                       pick_dtype)
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
    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    assert pick_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(ValueError):
        pick_dtype("float13", torch.device("cpu"))


def test_device_rule():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(ValueError, match="Unknown device"):
        pick_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            pick_device("cuda:1")


def test_generate_arguments_leave_out_sampling_when_greedy():
    assert GREEDY.generate_arguments() == {"max_new_tokens": 24, "do_sample": False, "repetition_penalty": 1.1}
    sampled = GenerationSettings(seed=3).generate_arguments()
    assert (sampled["temperature"], sampled["top_p"], sampled["top_k"]) == (0.7, 0.95, 50) and "seed" not in sampled


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
    from esbot_dialogue.turn import Turn

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


def test_a_warmed_prefix_is_reused_other_slots_leave_it_alone_and_output_is_unchanged(chat_model):
    """warm() reads a coming prompt's beginning ahead; generation in another cache slot (the
    summarizer's) does not evict it; the reply then reads only the rest, with the same output."""
    from esbot_dialogue.turn import Turn

    builder = PromptBuilder(chat_model.tokenizer, "You are a kind listener.", context_window=1024, max_new_tokens=16)
    greedy = GenerationSettings(do_sample=False, max_new_tokens=16)
    past = [Turn("user", "I moved to a new city last month.", 0.0, "u1"),
            Turn("assistant", "That is a big change. How are you settling in?", 1.0, "a1")]
    prompt = builder.build(past, "My sister has not called me for weeks.")
    prefix = builder.context_prefix_ids(prompt)
    assert 16 < len(prefix) < len(prompt.input_ids) and prompt.input_ids[:len(prefix)] == prefix

    assert chat_model.warm(prefix) == len(prefix)
    assert chat_model.warm(prefix) == 0  # already there: nothing read again
    other = builder.build([], "Please summarize: the weather was cold and grey all week.")
    assert "".join(chat_model.stream(other, greedy, cache_slot="background"))
    warmed_reply = "".join(chat_model.stream(prompt, greedy))
    assert chat_model.last_stats.reused_prompt_tokens == len(prefix)

    chat_model.reuse_prefix_cache = False
    try:
        assert "".join(chat_model.stream(prompt, greedy)) == warmed_reply
    finally:
        chat_model.reuse_prefix_cache = True


def test_warming_stops_between_chunks_when_cancelled(chat_model):
    builder = PromptBuilder(chat_model.tokenizer, "You are a kind listener. " * 20, context_window=1024)
    prefix = builder.context_prefix_ids(builder.build([], "Hello."))
    cancel = threading.Event()
    cancel.set()
    assert chat_model.warm(prefix, cancel, chunk=8, cache_slot="cold") == 0
