"""The memory's context building (budget arithmetic on the real tokenizer, every representation,
the order things go in), its folding into a summary off the reply's path, and its durability
inside the dialogue engine. The real model writes summaries in test_memory_summary_model.py."""

import itertools
import random
import threading
import time

import pytest

from esbot_dialogue.context_representation import represent
from esbot_dialogue.dialogue_engine import DialogueEngine
from esbot_dialogue.llm import GenerationSettings
from esbot_dialogue.history import ConversationHistory
from esbot_dialogue.memory.context_memory import (
    MEMORY_MODES,
    ContextMemory,
    check_memory_mode,
    memory_mode_for,
)
from esbot_dialogue.memory.conversation_store import ConversationStore
from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, SUMMARY_HEADING, PromptBuilder
from esbot_dialogue.turn import Turn
from test_dialogue_engine import ScriptedModel, words

SENTENCES = [
    "I have been feeling really anxious about my exams next week.",
    "My parents keep asking me about my grades and it makes it worse.",
    "That sounds like a lot of pressure. What worries you most?",
    "I am afraid that I will fail the chemistry exam again.",
    "Have you been able to talk to your teacher about it?",
    "Not really, I feel embarrassed to ask for help.",
    "It is very common to feel that way, and asking is a sign of strength.",
    "My best friend moved away in the summer so I have nobody to study with.",
]


class NotesSummarizer:
    """Stands in for the LLM summarizer: 'summarizes' by listing the first word of each turn."""

    def __init__(self, max_tokens=24, gate=None):
        self.max_tokens = max_tokens
        self.calls = []  # (previous, [texts]) per call, including cancelled ones
        self.cancelled = 0
        self.gate = gate  # an Event the summary waits for (or for cancel), to test preemption

    def turn_room(self, previous):
        return 400

    def summarize(self, previous, turns, cancel=None):
        self.calls.append((previous, [t.text for t in turns]))
        if self.gate is not None:
            while not self.gate.is_set():
                if cancel is not None and cancel.is_set():
                    self.cancelled += 1
                    return None
                time.sleep(0.005)
        notes = " ".join(t.text.split()[0] for t in turns)
        return f"{previous} {notes}".strip()


def history_of(texts, start=0):
    return [Turn("user" if (start + i) % 2 == 0 else "assistant", text, float(i), f"id{start + i}")
            for i, text in enumerate(texts)]


def fill(memory, turns):
    for turn in turns:
        memory.history.append(turn)


def contents(prompt):
    return [m["content"] for m in prompt.messages]


@pytest.fixture
def builder(tokenizer):
    return PromptBuilder(tokenizer, context_window=400, max_new_tokens=64)


def test_modes_are_checked_and_the_adapter_manifest_still_decides_by_default():
    assert MEMORY_MODES == ("raw", "keypos", "nostopwords", "summary", "hybrid")
    with pytest.raises(ValueError, match="raw, keypos, nostopwords, summary, hybrid"):
        check_memory_mode("summaries")

    class Manifest:
        context_representation = "keypos"

    assert memory_mode_for(Manifest(), "") == "keypos"  # trained with KeyPOS: served KeyPOS
    assert memory_mode_for(Manifest(), "hybrid") == "hybrid"  # the operator's choice wins
    assert memory_mode_for(None, "") == "raw"
    with pytest.raises(ValueError):
        memory_mode_for(None, "bogus")


@pytest.mark.parametrize("mode", MEMORY_MODES)
def test_the_context_never_exceeds_the_budget_and_keeps_the_utterance(builder, mode):
    rng = random.Random(7)
    memory = ContextMemory(builder, mode=mode, summarizer=NotesSummarizer(), recent_tokens=120)
    summary_text = "The person is anxious about exams and feels alone since a friend moved away."
    if mode in ("summary", "hybrid"):
        memory.history.append(Turn("user", "an old turn the summary covers", 0.0, "old"))
        seq = memory.history.store.turns(memory.history.session_id)[-1].seq
        assert memory.history.store.save_summary(memory.history.session_id, summary_text, seq, 1, 0)
    fill(memory, history_of([rng.choice(SENTENCES) for _ in range(60)], start=1))
    for utterance in ("Hi.", "I still can't sleep. " * 20, "word " * 2000):
        prompt = memory.build(utterance)
        assert prompt.prompt_tokens <= builder.budget
        assert prompt.messages[-1]["role"] == "user"
        if not prompt.user_text_truncated:
            assert prompt.messages[-1]["content"].endswith(utterance)  # whole, as said
        else:
            assert prompt.history_turns_used == 0 and not prompt.summary_text  # everything else gave way
            assert utterance.strip().endswith(prompt.user_text.strip())  # its end is kept
        assert prompt.history_turns_used + prompt.history_turns_dropped >= 1
        if mode == "raw":
            assert prompt.history_turns_used + prompt.history_turns_dropped == 60


def test_each_representation_on_hand_checked_turns(builder):
    turns = history_of(["I'm worried because my mother's job isn't safe.", "That sounds hard. What happened?",
                        "She said that it is fine.", "Do you believe her?"])
    expected = {
        "raw": [t.text for t in turns],
        "keypos": ["I worried because my mother job safe", "That sounds hard What happened", "She said that it fine",
                   "you believe her"],
        "nostopwords": ["worried mother job safe.", "sounds hard. happened?", "said fine.", "believe?"],
        # hybrid: KeyPOS except the last exchange, which stays as said
        "hybrid": ["I worried because my mother job safe", "That sounds hard What happened",
                   "She said that it is fine.", "Do you believe her?"],
        "summary": [t.text for t in turns],
    }
    for mode, texts in expected.items():
        memory = ContextMemory(builder, mode=mode, summarizer=NotesSummarizer())
        fill(memory, turns)
        prompt = memory.build("I don't know.")
        assert contents(prompt) == [DEFAULT_SYSTEM_PROMPT, *texts, "I don't know."], mode
        assert prompt.history_turns_used == 4 and prompt.history_turns_dropped == 0


def test_the_oldest_turns_go_first_and_the_kept_ones_are_the_newest(builder):
    memory = ContextMemory(builder, mode="nostopwords")
    texts = [f"{SENTENCES[i % len(SENTENCES)]} ({i})" for i in range(40)]
    fill(memory, history_of(texts))
    prompt = memory.build("What should I do?")
    kept = prompt.history_turns_used
    assert 0 < kept < 40 and prompt.history_turns_dropped == 40 - kept
    assert contents(prompt)[1:-1] == represent(texts[-kept:], "nostopwords")


def test_compressed_representations_fit_about_twice_the_turns(builder):
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(80)]
    fitted = {}
    for mode in ("raw", "keypos", "nostopwords"):  # the builder's capacity (the memory's window moves in steps)
        fitted[mode] = builder.build(history_of(texts), "Thanks.", history_representation=mode).history_turns_used
    # These pronoun-heavy turns compress less under KeyPOS (it keeps PRON, VERB, ADP) than under
    # NoStopwords; benchmarks/bench_memory.py measures both on ESConv.
    assert fitted["keypos"] >= 1.3 * fitted["raw"] and fitted["nostopwords"] >= 1.5 * fitted["raw"], fitted


def test_the_summary_yields_only_to_the_utterance(builder):
    memory = ContextMemory(builder, mode="summary", summarizer=NotesSummarizer())
    fill(memory, history_of([SENTENCES[i % len(SENTENCES)] for i in range(30)]))
    seq = memory.history.store.turns(memory.history.session_id)[9].seq
    memory.history.store.save_summary(memory.history.session_id, "The person fears failing chemistry.", seq, 10, 0)

    prompt = memory.build("Thanks.")
    assert prompt.summary_text == "The person fears failing chemistry."
    assert contents(prompt)[0] == f"{DEFAULT_SYSTEM_PROMPT}\n\n{SUMMARY_HEADING} The person fears failing chemistry."
    # Only the 20 turns after the summary are offered; the budget left after the summary
    # keeps the newest of them.
    assert prompt.history_turns_used + prompt.history_turns_dropped == 20
    assert prompt.history_turns_dropped > 0 and prompt.prompt_tokens <= builder.budget

    # A longer and longer utterance: the turns give way first, then the summary, and only
    # then would the utterance itself be cut.
    previous = prompt
    for repeats in range(1, 200):
        utterance = "I keep going over it. " * repeats
        prompt = memory.build(utterance)
        assert prompt.prompt_tokens <= builder.budget and not prompt.user_text_truncated
        assert prompt.messages[-1]["content"] == utterance
        if not prompt.summary_text:
            break
        previous = prompt
    assert previous.summary_text and previous.history_turns_used == 0  # the turns went before the summary
    assert prompt.messages[0]["content"] == DEFAULT_SYSTEM_PROMPT and prompt.history_turns_used == 0


@pytest.mark.parametrize("mode", ["raw", "keypos"])
def test_an_overflowing_history_moves_its_window_rarely_so_the_prompt_beginning_stays(builder, mode):
    """Turn after turn past the budget, the first kept turn (where the prompt's beginning, what the
    KV cache holds, would change) moves only now and then, and then the kept turns take at most
    70 % of the room past turns have; every prompt fits and none of the newest turns is left out."""
    memory = ContextMemory(builder, mode=mode)
    first_kept, moves, overflowing = 0, 0, 0
    for index in range(60):
        prompt = memory.build(SENTENCES[index % len(SENTENCES)])
        assert prompt.prompt_tokens <= builder.budget
        assert prompt.history_turns_used + prompt.history_turns_dropped == index
        if prompt.history_turns_dropped:
            overflowing += 1
        if prompt.history_turns_dropped != first_kept:
            moves += 1
            first_kept = prompt.history_turns_dropped
            bare = builder.build([], SENTENCES[index % len(SENTENCES)]).prompt_tokens
            assert prompt.prompt_tokens - bare <= 0.7 * (builder.budget - bare), prompt.prompt_tokens  # room to spare
        memory.history.append(Turn("user" if index % 2 == 0 else "assistant", SENTENCES[index % len(SENTENCES)],
                                   float(index), f"w{index}"))
    assert overflowing > 30 and 1 <= moves <= overflowing // 3, (moves, overflowing)  # one turn at a time: every turn


@pytest.fixture
def scripted(tokenizer, tmp_path):
    """An engine over a store file, with a scripted model answering every turn."""
    def make(mode="raw", summarizer=None, recent_tokens=0, replies=20, context_window=400, path=None):
        store = ConversationStore(path or tmp_path / "conversations.sqlite3")
        builder = PromptBuilder(tokenizer, context_window=context_window, max_new_tokens=64)
        memory = ContextMemory(builder, ConversationHistory(store, "s1"), mode, summarizer, recent_tokens)
        ticks = itertools.count()
        model = ScriptedModel(*[words(f"I hear you, tell me more about point {i}.") for i in range(replies)])
        return DialogueEngine(model, builder, GenerationSettings(seed=1), clock=lambda: float(next(ticks)),
                              memory=memory)
    return make


def test_the_utterance_is_durable_before_the_first_chunk_and_the_reply_when_complete(scripted, tmp_path):
    engine = scripted()
    observer = ConversationStore(tmp_path / "conversations.sqlite3")  # another connection, as after a crash
    seen = []

    def emit(chunk):
        seen.append([(s.turn.role, s.turn.text) for s in observer.turns("s1")])

    engine.answer("u1", "My dog is ill.", emit)
    assert seen[0] == [("user", "My dog is ill.")]  # stored before anything was said
    assert [role for role, _ in seen[-1]] == ["user"]  # the reply only once it is complete
    assert [(s.turn.role, s.turn.text) for s in observer.turns("s1")] == [
        ("user", "My dog is ill."), ("assistant", "I hear you, tell me more about point 0.")]


def test_what_was_spoken_after_a_barge_in_is_stored_even_when_it_overtakes_the_turn(scripted, tmp_path):
    engine = scripted()
    reports = []

    def emit(chunk):
        if not chunk.is_final and not reports:  # speech output reports before the turn is stored
            engine.record_spoken(chunk.turn_id, "I hear you,", True)
            reports.append(chunk.turn_id)

    outcome = engine.answer("u1", "I lost my job.", emit)
    assert outcome.reply_text == "I hear you," and outcome.interrupted
    engine.answer("u2", "And my rent is due.", lambda c: None)
    engine.record_spoken(engine.history.turns()[-1].turn_id, "I hear you, tell", True)  # after it was stored
    stored = [s.turn for s in ConversationStore(tmp_path / "conversations.sqlite3").turns("s1")]
    assert [(t.text, t.interrupted) for t in stored if t.role == "assistant"] == [
        ("I hear you,", True), ("I hear you, tell", True)]


def test_a_restarted_engine_continues_the_conversation_from_the_store(scripted, tmp_path):
    first = scripted()
    first.answer("u1", "My name is Sam and I moved to Oslo.", lambda c: None)
    first.answer("u2", "I miss my sister.", lambda c: None)
    first.history.store.close()  # the process dies

    again = scripted()  # a new process on the same file and session
    outcome = again.answer("u3", "What did I tell you?", lambda c: None)
    assert outcome.prompt.history_turns_used == 4
    assert "My name is Sam and I moved to Oslo." in contents(outcome.prompt)
    assert len(again.history) == 6


def test_older_turns_are_folded_into_the_summary_after_replies(scripted):
    summarizer = NotesSummarizer()
    engine = scripted("summary", summarizer, recent_tokens=90)
    for i, sentence in enumerate(SENTENCES):
        engine.answer(f"u{i}", sentence, lambda c: None)
        assert engine.memory.wait_for_background(10)
    summary = engine.memory.summary()
    assert summary is not None and summary.covered_turns >= 4
    stored = engine.history.store.turns("s1")
    covered = [s for s in stored if s.seq <= summary.through_seq]
    assert len(covered) == summary.covered_turns
    assert stored[-1].seq > summary.through_seq and stored[-2].seq > summary.through_seq  # last exchange kept

    prompt = engine.memory.build("One more thing.")
    assert prompt.summary_text == summary.text
    assert not set(t.turn.text for t in covered) & set(contents(prompt)[1:])  # the summary replaces them
    uncovered = engine.memory.history.store.turns("s1", summary.through_seq)
    assert prompt.history_turns_used == len(uncovered)
    # Recursive: the first call starts from nothing, every later one from the previous summary.
    assert summarizer.calls[0][0] == "" and len(summarizer.calls) >= 2
    assert all(previous for previous, _ in summarizer.calls[1:])


def test_a_reply_preempts_a_summary_being_written_and_it_is_retried_afterwards(scripted):
    gate = threading.Event()
    summarizer = NotesSummarizer(gate=gate)
    engine = scripted("hybrid", summarizer, recent_tokens=60)
    fill(engine.memory, history_of(SENTENCES))
    engine.memory.prepare_next_turn()
    deadline = time.monotonic() + 10
    while not summarizer.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert summarizer.calls, "no fold was started"

    started = time.monotonic()
    engine.answer("u-next", "Are you still there?", lambda c: None)  # while the summary is being written
    assert time.monotonic() - started < 2.0  # did not wait for the summary
    assert summarizer.cancelled == 1 and engine.memory.summary() is None
    gate.set()
    assert engine.memory.wait_for_background(10)
    assert engine.memory.summary() is not None and len(summarizer.calls) >= 2  # retried after the reply


def test_reset_clears_turns_and_summary(scripted):
    engine = scripted("summary", NotesSummarizer(), recent_tokens=60)
    for i, sentence in enumerate(SENTENCES[:6]):
        engine.answer(f"u{i}", sentence, lambda c: None)
        engine.memory.wait_for_background(10)
    assert engine.memory.summary() is not None
    assert engine.reset() == 12
    assert engine.memory.summary() is None and len(engine.history) == 0
    assert engine.answer("u9", "Hello again.", lambda c: None).prompt.history_turns_used == 0


def test_after_a_fold_the_next_reply_reads_only_its_utterance(transformers_llm, tmp_path):
    """The background work warms the reply cache with the next prompt's context (system prompt,
    new summary, past turns), so a fold adds no prompt reading to the next answer; without the
    warm-up the reply reads everything after the system prompt again."""
    after_fold = {}  # warm -> [(reused prompt tokens, context tokens)] of replies right after a new summary
    for warm in (True, False):
        store = ConversationStore(tmp_path / f"warm-{warm}.sqlite3")
        builder = PromptBuilder(transformers_llm.tokenizer, context_window=512, max_new_tokens=8)
        memory = ContextMemory(builder, ConversationHistory(store, "s1"), "summary", NotesSummarizer(),
                               recent_tokens=110, warm_model=transformers_llm if warm else None)
        engine = DialogueEngine(transformers_llm, builder, GenerationSettings(do_sample=False, max_new_tokens=8),
                                memory=memory)
        summary = None
        for i, sentence in enumerate(SENTENCES):
            outcome = engine.answer(f"u{i}", sentence, lambda c: None)
            if outcome.prompt.summary_text and outcome.prompt.summary_text != summary:
                summary = outcome.prompt.summary_text
                context = len(builder.context_prefix_ids(outcome.prompt))
                after_fold.setdefault(warm, []).append((outcome.stats.reused_prompt_tokens, context))
            assert memory.wait_for_background(60)
        memory.close()
    assert after_fold.get(True) and after_fold.get(False), after_fold
    assert all(reused == context for reused, context in after_fold[True]), after_fold
    assert all(reused < context - 20 for reused, context in after_fold[False]), after_fold


def test_background_work_waits_while_the_user_speaks(scripted):
    gate = threading.Event()
    summarizer = NotesSummarizer(gate=gate)
    engine = scripted("summary", summarizer, recent_tokens=60)
    memory = engine.memory
    fill(memory, history_of(SENTENCES))
    memory.prepare_next_turn()
    deadline = time.monotonic() + 10
    while not summarizer.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    memory.pause_background(True)  # the user starts speaking: the summary being written stops
    deadline = time.monotonic() + 10
    while not summarizer.cancelled and time.monotonic() < deadline:
        time.sleep(0.01)
    assert summarizer.cancelled == 1
    gate.set()
    time.sleep(0.3)
    assert len(summarizer.calls) == 1 and memory.summary() is None  # none started while paused
    memory.pause_background(False)
    assert memory.wait_for_background(10)
    assert memory.summary() is not None and len(summarizer.calls) >= 2


def test_a_pause_ends_by_itself_when_no_resume_comes():
    from esbot_dialogue.memory.summarizer import BackgroundWorker

    runs = []
    worker = BackgroundWorker(lambda cancel: runs.append(time.monotonic()) and False, lambda error: None)
    worker.pause_for(0.5)
    started = time.monotonic()
    worker.request()
    assert worker.wait_idle(10)
    assert len(runs) == 1 and runs[0] - started >= 0.45
    worker.close()
