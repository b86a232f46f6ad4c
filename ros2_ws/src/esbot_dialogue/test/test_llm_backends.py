"""The LLM backends behind one interface: llama.cpp (the CPU default), transformers, and an
OpenAI-compatible server (llama.cpp's own, started here on 127.0.0.1) with the onboard model
finishing the turn when the server dies. Real models throughout."""

import dataclasses
import logging
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

from esbot_dialogue.adapters import AdapterError
from esbot_dialogue.llm import (BackendConfig, BackendUnavailable, GenerationSettings, LLMBackend, load_backend,
                                resolve_backend)
from esbot_dialogue.llm.failover import FailoverBackend
from esbot_dialogue.llm.llama_cpp_backend import LlamaCppBackend, find_gguf
from esbot_dialogue.llm.openai_backend import OpenAIBackend
from esbot_dialogue.prompting import PromptBuilder
from lora_test_adapters import make_test_adapters
from llm_server import LlamaServer
from model_fixtures import MODEL_ID

GREEDY = GenerationSettings(do_sample=False, repetition_penalty=1.0, max_new_tokens=24)
UTTERANCES = [
    "I've been feeling really lonely since I moved to a new city.",
    "My exams are next week and I can't sleep at night.",
    "I had a fight with my best friend and now she won't talk to me.",
    "Work has been so stressful lately, my boss keeps piling things on me.",
    "I miss my grandmother, she passed away last spring.",
    "I don't know how to tell my parents that I failed my driving test.",
]


@pytest.fixture(scope="module")
def llama_backend(model_dir):
    backend = LlamaCppBackend.load(MODEL_ID, threads=2)
    yield backend
    backend.close()


@pytest.fixture
def llama(llama_backend):
    yield llama_backend
    llama_backend.unload_adapter()


@pytest.fixture(scope="module")
def builder(tokenizer):
    return PromptBuilder(tokenizer)


def reply_tokens(backend, prompt, settings=GREEDY):
    text = "".join(backend.stream(prompt, settings))
    return backend.tokenizer(text, add_special_tokens=False)["input_ids"], text


def test_settings_and_interface_import_without_torch():
    code = ("import sys; import esbot_dialogue.llm as llm; llm.GenerationSettings(); llm.BackendConfig(); "
            "assert 'torch' not in sys.modules and 'llama_cpp' not in sys.modules, sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_every_backend_is_an_llm_backend(llama, transformers_llm, tokenizer):
    remote = OpenAIBackend("http://127.0.0.1:9/v1", "x", tokenizer, MODEL_ID)
    for backend in (llama, transformers_llm, remote, FailoverBackend(remote, lambda: llama, logging.getLogger("t"))):
        assert isinstance(backend, LLMBackend), type(backend).__name__


def test_auto_is_llama_cpp_on_a_cpu_and_unknown_names_are_refused():
    assert resolve_backend("auto") == "llama_cpp"  # no CUDA here
    with pytest.raises(ValueError, match="Unknown backend 'vllm'"):
        resolve_backend("vllm")
    with pytest.raises(ValueError, match="needs openai_url"):
        load_backend(BackendConfig(backend="openai"))


def test_the_default_model_has_its_gguf_prepared(model_dir):
    assert find_gguf(MODEL_ID).name == "SmolLM2-135M-Instruct.Q8_0.gguf"


def test_greedy_output_of_llama_cpp_and_transformers_agree_on_the_same_weights(llama, transformers_llm, builder):
    """The same Q4_1 weights (transformers runs them dequantized to fp32; llama.cpp multiplies the
    4-bit blocks by 8-bit-quantized activations), so the logits differ in the third or fourth digit
    and greedy decoding follows the same path until two candidates are that close; from there
    the texts may part. Measured: see results/engine_benchmark.md."""
    agreeing_prefix = []
    for utterance in UTTERANCES:
        prompt = builder.build([], utterance)
        ours, _ = reply_tokens(llama, prompt)
        theirs, _ = reply_tokens(transformers_llm, prompt)
        same = 0
        for a, b in zip(ours, theirs):
            if a != b:
                break
            same += 1
        agreeing_prefix.append(same)
    # Every reply starts the same way, and most agree on at least 8 tokens.
    assert min(agreeing_prefix) >= 3, agreeing_prefix
    assert sum(n >= 8 for n in agreeing_prefix) >= len(UTTERANCES) // 2, agreeing_prefix


def test_llama_cpp_scores_text_like_transformers(llama, transformers_llm, builder, tokenizer):
    prompt = builder.build([], UTTERANCES[0])
    targets = tokenizer("That sounds really hard. What has been the hardest part?",
                        add_special_tokens=False)["input_ids"]
    ours = np.array(llama.token_logprobs(prompt.input_ids, targets))
    theirs = np.array(transformers_llm.token_logprobs(prompt.input_ids, targets))
    # Q8_0 re-rounds the 4-bit weights and llama.cpp rounds activations to 8 bits: close, not equal.
    assert np.abs(ours - theirs).max() < 0.5, (ours - theirs)
    assert abs(ours.mean() - theirs.mean()) < 0.05


@pytest.fixture(scope="module")
def all_module_adapter(model_dir, tmp_path_factory):
    """A random LoRA on all seven projections (q and k included: llama.cpp stores those permuted)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(1)
    base = AutoModelForCausalLM.from_pretrained(model_dir, local_files_only=True)
    config = LoraConfig(r=4, lora_alpha=8, init_lora_weights=False,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"])
    peft_model = get_peft_model(base, config)
    with torch.no_grad():  # random but moderate: the text stays language, the scores move clearly
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.mul_(0.5)
    folder = tmp_path_factory.mktemp("lora") / "all-modules"
    peft_model.save_pretrained(folder)
    return folder


@pytest.mark.parametrize("adapter_name", ["all-modules", "matching"])
def test_an_adapter_changes_llama_cpp_as_it_changes_peft(adapter_name, llama, transformers_llm, builder, tokenizer,
                                                         all_module_adapter, adapters):
    adapter = all_module_adapter if adapter_name == "all-modules" else adapters / "matching"
    prompt = builder.build([], UTTERANCES[1])
    targets = tokenizer("I hear you. Exams can feel overwhelming, and sleep is hard when your mind races.",
                        add_special_tokens=False)["input_ids"]
    base = {name: np.array(b.token_logprobs(prompt.input_ids, targets)) for name, b in
            (("llama", llama), ("peft", transformers_llm))}
    llama.load_adapter(str(adapter))
    transformers_llm.load_adapter(str(adapter))
    tuned = {name: np.array(b.token_logprobs(prompt.input_ids, targets)) for name, b in
             (("llama", llama), ("peft", transformers_llm))}
    delta_llama, delta_peft = tuned["llama"] - base["llama"], tuned["peft"] - base["peft"]
    assert np.abs(delta_peft).mean() > 0.3  # the adapter matters
    assert np.corrcoef(delta_llama, delta_peft)[0, 1] > 0.95
    assert np.abs(delta_llama - delta_peft).mean() < 0.15 * np.abs(delta_peft).mean() + 0.05
    assert llama.describe()["adapter"] == str(adapter)


def test_adapters_that_do_not_fit_are_refused_and_the_previous_one_keeps_serving(llama, adapters, builder):
    llama.load_adapter(str(adapters / "matching"))
    prompt = builder.build([], UTTERANCES[2])
    before, _ = reply_tokens(llama, prompt)
    with pytest.raises(AdapterError, match="Shape mismatch"):
        llama.load_adapter(str(adapters / "tiny"))
    assert llama.adapter_path == str(adapters / "matching")
    assert reply_tokens(llama, prompt)[0] == before


def test_hot_swap_under_load_waits_for_each_reply_and_never_reloads_the_model(llama, adapters, builder):
    """Replies stream without pause in one thread while another swaps the adapter in and out:
    every reply completes, and each one is what that adapter state gives on its own."""
    prompt = builder.build([], UTTERANCES[3])
    llama.unload_adapter()
    base_reply = reply_tokens(llama, prompt)[1]
    llama.load_adapter(str(adapters / "matching"))
    tuned_reply = reply_tokens(llama, prompt)[1]
    llama.unload_adapter()
    assert base_reply != tuned_reply
    model_handle = llama._contexts["reply"].model
    replies, errors, stop = [], [], threading.Event()

    def talk():
        try:
            while not stop.is_set():
                replies.append(reply_tokens(llama, prompt)[1])
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    talker = threading.Thread(target=talk)
    talker.start()
    for _ in range(4):
        llama.load_adapter(str(adapters / "matching"))
        time.sleep(0.2)
        llama.unload_adapter()
        time.sleep(0.2)
    stop.set()
    talker.join()
    assert not errors
    assert len(replies) >= 3
    assert set(replies) <= {base_reply, tuned_reply}
    assert llama._contexts["reply"].model == model_handle


def barge_in(backend, prompt):
    cancel = threading.Event()
    pieces = []
    for piece in backend.stream(prompt, GenerationSettings(max_new_tokens=100, seed=3), cancel):
        pieces.append(piece)
        if len(pieces) == 2:
            cancel.set()
    return pieces, backend.last_stats


def test_barge_in_stops_llama_cpp_within_one_token(llama, builder):
    pieces, stats = barge_in(llama, builder.build([], UTTERANCES[4]))
    assert len(pieces) == 2 and stats.stopped_early and stats.new_tokens <= 3


def test_barge_in_stops_transformers_within_one_token(transformers_llm, builder):
    """Generation runs in a thread a token or two ahead of the reader; nothing it made after the
    cancel is yielded, and it stops at its next token."""
    pieces, stats = barge_in(transformers_llm, builder.build([], UTTERANCES[4]))
    assert len(pieces) == 2 and stats.stopped_early and stats.new_tokens <= 5


def test_a_kept_prefix_is_not_read_again(llama, builder):
    first = builder.build([], UTTERANCES[0])
    "".join(llama.stream(first, GREEDY))
    second = builder.build([], UTTERANCES[1])
    "".join(llama.stream(second, GREEDY))
    stats = llama.last_stats
    system_tokens = builder.build([], "").prompt_tokens - 8
    assert stats.reused_prompt_tokens >= system_tokens
    assert stats.prompt_tokens == len(second.input_ids)


def test_a_background_slot_leaves_the_conversations_prefix_in_place(llama, builder):
    prompt = builder.build([], UTTERANCES[5])
    "".join(llama.stream(prompt, GREEDY))
    other = PromptBuilder(builder.tokenizer, "You write short summaries.").build([], "Summarize: a long day.")
    "".join(llama.stream(other, GREEDY, cache_slot="summary", prefill_chunk=32))
    "".join(llama.stream(prompt, GREEDY))
    assert llama.last_stats.reused_prompt_tokens == len(prompt.input_ids) - 1


def test_warm_reads_ahead_and_a_cancelled_warm_keeps_what_it_read(llama, builder):
    prompt = builder.build([], UTTERANCES[2])
    llama.forget_caches()
    cancel = threading.Event()
    cancel.set()
    assert llama.warm(prompt.input_ids[:-4], cancel) == 0
    assert llama.warm(prompt.input_ids[:-4]) == len(prompt.input_ids) - 4
    "".join(llama.stream(prompt, GREEDY))
    assert llama.last_stats.reused_prompt_tokens == len(prompt.input_ids) - 4


# --- the openai backend, against llama.cpp's OpenAI-compatible server on 127.0.0.1 -----------------

@pytest.fixture
def server(model_dir, tmp_path):
    running = LlamaServer(find_gguf(MODEL_ID), threads=1, log_path=tmp_path / "server.log").start()
    yield running
    running.kill()


def test_openai_backend_streams_a_reply_and_cancel_closes_the_stream(server, tokenizer, builder):
    remote = OpenAIBackend(server.url, "", tokenizer, MODEL_ID)
    assert remote.served_models() == ["smollm2"]
    prompt = builder.build([], UTTERANCES[0])
    text = "".join(remote.stream(prompt, GREEDY))
    assert len(text.split()) >= 5
    assert remote.last_stats.backend == "openai" and remote.last_stats.time_to_first_text_s is not None
    pieces, stats = barge_in(remote, prompt)
    assert len(pieces) == 2 and stats.stopped_early
    # The server is free again at once: a closed stream does not keep it generating.
    started = time.monotonic()
    assert "".join(remote.stream(prompt, GREEDY))
    assert time.monotonic() - started < 10
    with pytest.raises(AdapterError, match="does not serve an adapter named 'esconv'"):
        remote.load_adapter("esconv")


def test_a_server_that_is_not_there_is_backend_unavailable(tokenizer, builder):
    remote = OpenAIBackend("http://127.0.0.1:9/v1", "smollm2", tokenizer, MODEL_ID)
    with pytest.raises(BackendUnavailable):
        "".join(remote.stream(builder.build([], "hello"), GREEDY))


def test_the_onboard_model_finishes_a_reply_when_the_server_dies_mid_reply(server, tokenizer, builder, llama):
    """kill -9 on the server after the first words: the reply goes on from those words on the
    onboard llama.cpp model, the state is degraded in describe(), and once the server is back the
    robot returns to it."""
    remote = OpenAIBackend(server.url, "", tokenizer, MODEL_ID, read_timeout_s=3)
    failover = FailoverBackend(remote, lambda: llama, logging.getLogger("test"), retry_after_s=1.0)
    prompt = builder.build([], UTTERANCES[1])
    pieces = []
    for piece in failover.stream(prompt, GenerationSettings(max_new_tokens=60, seed=1)):
        pieces.append(piece)
        if len(pieces) == 3:
            server.kill()
    reply = "".join(pieces)
    assert failover.failovers == 1
    assert failover.last_stats.backend == "llama_cpp"  # the end of the reply came from the robot
    assert len(reply) > len("".join(pieces[:3])) and len(reply.split()) >= 6
    state = failover.describe()["state"]
    assert state.startswith("degraded: llama_cpp answers since"), state
    # While the server is away, the next turn goes to the onboard model directly.
    assert "".join(failover.stream(builder.build([], UTTERANCES[2]), GREEDY))
    assert failover.last_stats.backend == "llama_cpp" and failover.failovers == 1
    # The server comes back (same port): after the retry interval a probe in the background finds
    # it (that turn is still answered onboard, without waiting), and the robot uses it again.
    server.start()
    time.sleep(1.1)
    assert "".join(failover.stream(builder.build([], UTTERANCES[3]), GREEDY))
    deadline = time.monotonic() + 10
    while failover.degraded_since is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert failover.describe()["state"] == "remote"
    assert "".join(failover.stream(builder.build([], UTTERANCES[3]), GREEDY))
    assert failover.last_stats.backend == "openai"


def test_load_backend_builds_the_failover_from_the_parameters(server):
    backend = load_backend(BackendConfig(backend="openai", openai_url=server.url, onboard_backend="llama_cpp",
                                         llm_threads=1))
    assert isinstance(backend, FailoverBackend) and backend.onboard is None  # loaded lazily
    assert backend.describe()["device"] == server.url
    with pytest.raises(ValueError, match="onboard_backend 'gpu'"):
        load_backend(dataclasses.replace(BackendConfig(backend="openai", openai_url=server.url), onboard_backend="gpu"))


def test_a_conversation_goes_on_through_a_killed_server(server, tokenizer, llama):
    """The dialogue engine on the openai backend: the server is killed during the second turn; that
    turn is still answered in full, every utterance and reply is in the history, /diagnostics says
    degraded, and the third turn is answered too."""
    from esbot_dialogue.dialogue_engine import DialogueEngine

    remote = OpenAIBackend(server.url, "", tokenizer, MODEL_ID, read_timeout_s=3)
    failover = FailoverBackend(remote, lambda: llama, logging.getLogger("test"), retry_after_s=60)
    engine = DialogueEngine(failover, PromptBuilder(tokenizer), GenerationSettings(max_new_tokens=48, seed=2))
    outcomes = [engine.answer("u1", UTTERANCES[0], lambda chunk: None)]
    assert engine.status().values["state"] == "remote" and outcomes[0].stats.backend == "openai"

    def kill_after_first_sentence(chunk):
        if chunk.chunk_index == 0 and not chunk.is_final:
            server.kill()

    outcomes.append(engine.answer("u2", UTTERANCES[1], kill_after_first_sentence))
    outcomes.append(engine.answer("u3", UTTERANCES[2], lambda chunk: None))
    assert all(outcome.reply_text and not outcome.empty_reply for outcome in outcomes)
    assert [o.stats.backend for o in outcomes[1:]] == ["llama_cpp", "llama_cpp"]
    roles = [(turn.role, turn.text) for turn in engine.history.turns()]
    assert roles[0::2] == [("user", text) for text in UTTERANCES[:3]]
    assert [text for _, text in roles[1::2]] == [o.reply_text for o in outcomes]
    status = engine.status()  # (the in-memory store would also warn, more quietly: the server comes first)
    assert status.level == "warn" and status.message.startswith("LLM server away, the onboard model answers")
    assert status.values["failovers"] == "1"


def test_an_adapter_asked_for_while_the_server_is_away_is_loaded_onboard(tokenizer, llama, adapters, builder):
    remote = OpenAIBackend("http://127.0.0.1:9/v1", "smollm2", tokenizer, MODEL_ID)
    failover = FailoverBackend(remote, lambda: llama, logging.getLogger("test"), retry_after_s=60)
    failover.load_adapter(str(adapters / "matching"))
    assert failover.adapter_path == "matching" and llama.adapter_path == str(adapters / "matching")
    assert failover.describe()["state"].startswith("degraded")
    assert "".join(failover.stream(builder.build([], UTTERANCES[0]), GREEDY))
    assert failover.last_stats.backend == "llama_cpp"
