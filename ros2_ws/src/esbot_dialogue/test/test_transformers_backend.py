import threading

import pytest
import torch

from esbot_dialogue.llm import GenerationSettings, ModelLoadError
from esbot_dialogue.llm.transformers_backend import TransformersBackend, pick_device, pick_dtype
from esbot_dialogue.prompting import PromptBuilder

GREEDY = GenerationSettings(do_sample=False, max_new_tokens=24)


@pytest.fixture(scope="module")
def prompt(session_transformers_llm):
    return PromptBuilder(session_transformers_llm.tokenizer).build([], "I failed my exam and I feel terrible.")


def test_loads_the_local_copy_on_cpu_in_float32(transformers_llm, model_dir):
    assert transformers_llm.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert transformers_llm._base_model.name_or_path == model_dir  # the prepared copy, offline
    assert transformers_llm.device.type == "cpu"
    assert transformers_llm.dtype == torch.float32
    assert transformers_llm.count_tokens("I feel lonely.") == len(transformers_llm.tokenizer.encode("I feel lonely."))


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
        TransformersBackend.load(str(tmp_path / "no-such-model"))
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ModelLoadError, match="cannot be loaded"):
        TransformersBackend.load(str(broken))


def test_streamed_pieces_join_to_the_full_greedy_reply(transformers_llm, prompt):
    pieces = list(transformers_llm.stream(prompt, GREEDY))
    assert len(pieces) > 3  # really streamed, not one block

    output = transformers_llm.model.generate(
        torch.tensor([prompt.input_ids]), max_new_tokens=24, do_sample=False, repetition_penalty=1.1
    )
    expected = transformers_llm.tokenizer.decode(output[0, len(prompt.input_ids):], skip_special_tokens=True)
    assert "".join(pieces) == expected

    stats = transformers_llm.last_stats
    assert stats.prompt_tokens == len(prompt.input_ids)
    assert stats.new_tokens == output.shape[1] - len(prompt.input_ids)
    assert 0 < stats.time_to_first_text_s < stats.total_s
    assert stats.tokens_per_s > 0
    assert not stats.stopped_early


def test_cancel_stops_generation_early(transformers_llm, prompt):
    cancel = threading.Event()
    pieces = []
    for piece in transformers_llm.stream(prompt, GenerationSettings(do_sample=False, max_new_tokens=64), cancel):
        pieces.append(piece)
        cancel.set()
    assert transformers_llm.last_stats.stopped_early
    assert transformers_llm.last_stats.new_tokens < 10
    assert len(pieces) < 5


def test_closing_the_stream_stops_generation(transformers_llm, prompt):
    stream = transformers_llm.stream(prompt, GenerationSettings(do_sample=False, max_new_tokens=64))
    next(stream)
    stream.close()
    assert transformers_llm.last_stats.stopped_early
    assert transformers_llm.last_stats.new_tokens < 10


def test_a_seed_makes_sampling_reproducible(transformers_llm, prompt):
    seeded = GenerationSettings(seed=5, max_new_tokens=12)
    first = "".join(transformers_llm.stream(prompt, seeded))
    assert first and "".join(transformers_llm.stream(prompt, seeded)) == first


@pytest.mark.parametrize("device, message", [("gpu", "Unknown device 'gpu'"), ("cuda:0", "sees no CUDA GPU")])
def test_a_wrong_device_is_refused_clearly(device, message):
    if device.startswith("cuda") and torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ValueError, match=message):
        TransformersBackend.load("HuggingFaceTB/SmolLM2-135M-Instruct", device=device)


def test_the_next_turn_reuses_the_conversations_cached_prefix_with_unchanged_output(transformers_llm):
    """A conversation's next prompt starts with the last one: only the rest is read again, and
    greedy output is the same token for token as with the cache turned off."""
    from esbot_dialogue.turn import Turn

    builder = PromptBuilder(transformers_llm.tokenizer, "You are a kind listener.", context_window=1024, max_new_tokens=24)
    greedy = GenerationSettings(do_sample=False, max_new_tokens=24)
    first = builder.build([], "I failed my exam today.")
    reply = "".join(transformers_llm.stream(first, greedy))
    history = [Turn("user", "I failed my exam today.", 0.0, "u1"), Turn("assistant", reply, 1.0, "a1")]
    second = builder.build(history, "My parents will be disappointed.")

    with_cache = "".join(transformers_llm.stream(second, greedy))
    reused = transformers_llm.last_stats.reused_prompt_tokens
    assert reused >= len(first.input_ids) - 1 and reused < len(second.input_ids)
    transformers_llm.reuse_prefix_cache = False
    try:
        without_cache = "".join(transformers_llm.stream(second, greedy))
        assert transformers_llm.last_stats.reused_prompt_tokens == 0
    finally:
        transformers_llm.reuse_prefix_cache = True
    assert with_cache == without_cache


def test_a_warmed_prefix_is_reused_other_slots_leave_it_alone_and_output_is_unchanged(transformers_llm):
    """warm() reads a coming prompt's beginning ahead; generation in another cache slot (the
    summarizer's) does not evict it; the reply then reads only the rest, with the same output."""
    from esbot_dialogue.turn import Turn

    builder = PromptBuilder(transformers_llm.tokenizer, "You are a kind listener.", context_window=1024, max_new_tokens=16)
    greedy = GenerationSettings(do_sample=False, max_new_tokens=16)
    past = [Turn("user", "I moved to a new city last month.", 0.0, "u1"),
            Turn("assistant", "That is a big change. How are you settling in?", 1.0, "a1")]
    prompt = builder.build(past, "My sister has not called me for weeks.")
    prefix = builder.context_prefix_ids(prompt)
    assert 16 < len(prefix) < len(prompt.input_ids) and prompt.input_ids[:len(prefix)] == prefix

    assert transformers_llm.warm(prefix) == len(prefix)
    assert transformers_llm.warm(prefix) == 0  # already there: nothing read again
    other = builder.build([], "Please summarize: the weather was cold and grey all week.")
    assert "".join(transformers_llm.stream(other, greedy, cache_slot="background"))
    warmed_reply = "".join(transformers_llm.stream(prompt, greedy))
    assert transformers_llm.last_stats.reused_prompt_tokens == len(prefix)

    transformers_llm.reuse_prefix_cache = False
    try:
        assert "".join(transformers_llm.stream(prompt, greedy)) == warmed_reply
    finally:
        transformers_llm.reuse_prefix_cache = True


def test_warming_stops_between_chunks_when_cancelled(transformers_llm):
    builder = PromptBuilder(transformers_llm.tokenizer, "You are a kind listener. " * 20, context_window=1024)
    prefix = builder.context_prefix_ids(builder.build([], "Hello."))
    cancel = threading.Event()
    cancel.set()
    assert transformers_llm.warm(prefix, cancel, chunk=8, cache_slot="cold") == 0
