import itertools
import threading
from pathlib import Path

import pytest

from esbot_dialogue.dialogue_engine import DialogueEngine
from esbot_dialogue.llm import GenerationSettings, GenerationStats, LLMBackend
from esbot_dialogue.prompting import PromptBuilder
from esbot_dialogue.safety.alert_log import read_alert_log
from esbot_dialogue.safety.policy import LOW_RISK_INSTRUCTION, SafetyPolicy


class ScriptedModel:
    """A fake LLMBackend: each stream() call plays the next scripted list of pieces."""

    model_id = "scripted"
    tokenizer = None
    adapter_path = None

    def __init__(self, *replies):
        self.replies = list(replies)
        self.settings_used = []
        self.prompts = []
        self.yielded = 0
        self.last_stats = None

    def warm(self, tokens, cancel=None, chunk=32, cache_slot="reply"):
        return 0

    def forget_caches(self):
        pass

    def load_adapter(self, path, allow_base_mismatch=False):
        raise NotImplementedError

    def unload_adapter(self):
        pass

    def count_tokens(self, text):
        return len(text.split())

    def describe(self):
        return {"backend": "scripted", "model": self.model_id, "device": "", "dtype": "", "adapter": ""}

    def close(self):
        pass

    def stream(self, prompt, settings=None, cancel=None, prefill_chunk=0, cache_slot="reply"):
        self.settings_used.append(settings)
        self.prompts.append(prompt)
        for piece in self.replies.pop(0):
            if cancel is not None and cancel.is_set():
                break  # like the real model: generation stops at the next token
            self.yielded += 1
            yield piece
        self.last_stats = GenerationStats(len(prompt.input_ids), self.yielded, 0.1, 0.2, 5.0, False)


def test_the_scripted_model_is_an_llm_backend():
    assert isinstance(ScriptedModel(), LLMBackend)


def words(text):
    return [piece + " " for piece in text.split(" ")]


@pytest.fixture
def scripted_engine(tokenizer):
    def make(*replies, settings=GenerationSettings(seed=3)):
        ticks = itertools.count()
        return DialogueEngine(ScriptedModel(*replies), PromptBuilder(tokenizer), settings,
                              clock=lambda: float(next(ticks)))
    return make


def test_one_real_turn(transformers_llm):
    engine = DialogueEngine(transformers_llm, PromptBuilder(transformers_llm.tokenizer),
                            GenerationSettings(do_sample=False, max_new_tokens=24))
    chunks = []
    outcome = engine.answer("utt-1", " I failed my\x00 exam and I feel\tterrible. ", chunks.append)

    assert [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert [c.is_final for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].text == ""
    sentences = [c.text for c in chunks[:-1]]
    assert sentences and all(sentences)
    assert all(c.turn_id == outcome.turn_id and c.utterance_id == "utt-1" for c in chunks)
    times = [c.seconds_since_start for c in chunks]
    assert times == sorted(times)

    assert outcome.reply_text == " ".join(sentences)
    assert outcome.user_text == "I failed my exam and I feel terrible."
    assert outcome.sentence_chunks == len(sentences)
    assert not (outcome.ignored or outcome.interrupted or outcome.empty_reply)
    assert outcome.warnings[0] == "Removed 1 invisible or control character(s) from the transcript."
    # 24 tokens may end mid-sentence; that fragment is then reported, not spoken
    assert all("not spoken" in w for w in outcome.warnings[1:])
    assert outcome.stats.new_tokens > 0 and outcome.prompt.history_turns_used == 0

    user, assistant = engine.history.turns()
    assert (user.role, user.text, user.turn_id) == ("user", outcome.user_text, "utt-1")
    assert (assistant.role, assistant.text, assistant.turn_id) == ("assistant", outcome.reply_text, outcome.turn_id)
    assert not assistant.interrupted
    assert engine.reset() == 2
    assert len(engine.history) == 0


def test_sentences_are_emitted_while_the_reply_streams(scripted_engine):
    engine = scripted_engine(words("That sounds really hard. How long has it been going on?"))
    seen_at_emit = []
    engine.answer("u", "My job is awful.", lambda c: seen_at_emit.append((c.text, engine.llm.yielded)))
    assert seen_at_emit[0] == ("That sounds really hard.", 5)  # as soon as "How" arrived
    assert seen_at_emit[1][0] == "How long has it been going on?"
    assert seen_at_emit[2] == ("", 11)


def test_history_feeds_the_next_prompt(scripted_engine):
    engine = scripted_engine(words("I hear you, that is hard."), words("What else is on your mind?"))
    engine.answer("u1", "Work is hard.", lambda c: None)
    outcome = engine.answer("u2", "And my family too.", lambda c: None)
    assert outcome.prompt.history_turns_used == 2
    assert [m["content"] for m in outcome.prompt.messages[1:]] == [
        "Work is hard.", "I hear you, that is hard.", "And my family too."
    ]
    assert len(engine.history) == 4
    assert engine.reset() == 4


def test_empty_input_is_ignored(scripted_engine):
    engine = scripted_engine()
    chunks = []
    outcome = engine.answer("u", " \u200b\n ", chunks.append)
    assert outcome.ignored and outcome.turn_id == ""
    assert "empty" in outcome.warnings[-1]
    assert chunks == [] and len(engine.history) == 0


def test_barge_in_stops_speech_and_marks_the_turn(scripted_engine):
    engine = scripted_engine(words("I am so sorry. That must hurt a lot. Do you want to talk?"))
    cancel = threading.Event()
    chunks = []

    def emit(chunk):
        chunks.append(chunk)
        cancel.set()  # the person starts speaking during the first sentence

    outcome = engine.answer("u", "My cat died.", emit, cancel)
    assert [(c.text, c.is_final) for c in chunks] == [("I am so sorry.", False), ("", True)]
    assert outcome.interrupted and outcome.reply_text == "I am so sorry."
    assistant = engine.history.turns()[-1]
    assert assistant.interrupted and assistant.text == outcome.reply_text


def test_cancelled_before_a_word_still_closes_the_turn(scripted_engine):
    engine = scripted_engine(words("Hello there, I am listening."))
    cancel = threading.Event()
    cancel.set()
    chunks = []
    outcome = engine.answer("u", "Hi.", chunks.append, cancel)
    assert [(c.chunk_index, c.text, c.is_final) for c in chunks] == [(0, "", True)]
    assert outcome.interrupted and not outcome.empty_reply
    user, assistant = engine.history.turns()
    assert assistant.text == "" and assistant.interrupted


def test_an_empty_reply_is_retried_once_with_other_sampling(scripted_engine):
    engine = scripted_engine([], words("I am here with you."), settings=GenerationSettings(do_sample=False, seed=3))
    chunks = []
    outcome = engine.answer("u", "I feel empty.", chunks.append)
    assert [c.text for c in chunks] == ["I am here with you.", ""]
    first, retry = engine.llm.settings_used
    assert (first.do_sample, first.seed) == (False, 3)
    assert (retry.do_sample, retry.seed) == (True, 4)
    assert not outcome.empty_reply
    assert outcome.warnings == ("The model produced an empty reply; retrying once with different sampling.",)


def test_a_reply_empty_twice_is_reported_not_invented(scripted_engine):
    engine = scripted_engine([], ["  ", "\n"])
    chunks = []
    outcome = engine.answer("u", "Hello?", chunks.append)
    assert [(c.text, c.is_final) for c in chunks] == [("", True)]
    assert outcome.empty_reply and outcome.reply_text == ""
    assert "empty reply twice" in outcome.warnings[-1]
    [user] = engine.history.turns()  # the person spoke; the robot said nothing
    assert user.role == "user"


def test_an_overlong_utterance_is_truncated_with_a_warning(tokenizer):
    engine = DialogueEngine(ScriptedModel(words("Thank you for telling me.")),
                            PromptBuilder(tokenizer, context_window=400, max_new_tokens=100))
    outcome = engine.answer("u", "and then " * 400 + "what should I do?", lambda c: None)
    assert outcome.prompt.user_text_truncated
    assert outcome.prompt.user_text.endswith("what should I do?")
    assert "too long for the context window" in outcome.warnings[-1]
    assert engine.history.turns()[0].text.startswith("and then")  # history keeps it all


def test_a_sentence_cut_by_the_token_limit_is_not_spoken(scripted_engine):
    pieces = words("I really hear you. That must be hard. Have you tried")
    engine = scripted_engine(pieces, settings=GenerationSettings(max_new_tokens=len(pieces)))
    chunks = []
    outcome = engine.answer("u", "I can't sleep.", chunks.append)
    assert [c.text for c in chunks] == ["I really hear you.", "That must be hard.", ""]
    assert outcome.reply_text == "I really hear you. That must be hard."
    assert engine.history.turns()[-1].text == outcome.reply_text  # the history holds what was said
    assert any("not spoken: 'Have you tried'" in w for w in outcome.warnings)


def test_an_unfinished_reply_is_spoken_when_nothing_else_was(scripted_engine):
    pieces = words("I hear you and I")
    engine = scripted_engine(pieces, settings=GenerationSettings(max_new_tokens=len(pieces)))
    chunks = []
    engine.answer("u", "I can't sleep.", chunks.append)
    assert [c.text for c in chunks] == ["I hear you and I", ""]


def test_a_reply_ended_by_the_model_is_spoken_whole(scripted_engine):
    engine = scripted_engine(words("I really hear you. Take care of yourself"))  # ended before max_new_tokens
    chunks = []
    outcome = engine.answer("u", "I can't sleep.", chunks.append)
    assert [c.text for c in chunks] == ["I really hear you.", "Take care of yourself", ""]
    assert not any("not spoken" in w for w in outcome.warnings)


# --- safety in the turn -------------------------------------------------------------------
HOTLINES = Path(__file__).resolve().parents[1] / "config" / "safety_hotlines.yaml"


@pytest.fixture
def safe_engine(tokenizer, tmp_path):
    """An engine with the safety policy (US hotlines) and a scripted model; alerts collected."""
    def make(*replies):
        alerts = []
        policy = SafetyPolicy.from_config(HOTLINES, "US", tmp_path / "alerts.jsonl")
        engine = DialogueEngine(ScriptedModel(*replies), PromptBuilder(tokenizer), GenerationSettings(seed=3),
                                safety=policy, on_alert=alerts.append)
        return engine, alerts
    return make


def test_a_crisis_utterance_gets_the_crisis_response_and_never_reaches_the_llm(safe_engine):
    engine, alerts = safe_engine(words("This must never be said."))
    chunks = []
    outcome = engine.answer("u1", "I have the pills in my hand and I'm going to take them all tonight", chunks.append)
    assert engine.llm.prompts == []  # the LLM was not asked
    said = " ".join(c.text for c in chunks)
    assert "988" in said and "911" in said and "never be said" not in said
    assert [c.is_final for c in chunks][-1] and [c.chunk_index for c in chunks] == list(range(len(chunks)))
    assert len(alerts) == 1 and alerts[0].level == 3 and alerts[0].category == "suicide_self_harm"
    assert read_alert_log(engine.safety.alert_log.path) == alerts  # durable before anything was said
    assert outcome.safety.skip_llm and outcome.stats is None
    user, robot = engine.history.turns()
    assert robot.text == outcome.reply_text == said.strip()


def test_an_unsafe_sentence_is_withheld_generation_stops_and_a_safe_one_is_said(safe_engine):
    pieces = words("I hear how heavy this feels for you. You could just take twenty sleeping pills at once. "
                   "Then you would sleep for a long time.")
    engine, alerts = safe_engine(pieces)
    chunks = []
    outcome = engine.answer("u1", "I can't sleep at all lately.", chunks.append)
    said = " ".join(c.text for c in chunks)
    assert said.startswith("I hear how heavy this feels for you.")
    assert "pills" not in said and "long time" not in said
    assert engine.llm.yielded < len(pieces)  # generation was stopped
    assert outcome.reply_replaced and len(alerts) == 1 and "unsafe_reply_replaced" in alerts[0].action_taken
    assert engine.history.turns()[-1].text == outcome.reply_text == said.strip()


def test_low_risk_adds_a_check_in_instruction_for_the_llm(safe_engine):
    engine, alerts = safe_engine(words("That sounds really painful."))
    engine.answer("u1", "i feel so hopeless", lambda chunk: None)
    assert LOW_RISK_INSTRUCTION in engine.llm.prompts[0].messages[0]["content"]
    assert alerts == []


def test_careful_mode_holds_after_a_crisis_and_survives_a_conversation_reset(safe_engine):
    engine, _ = safe_engine(words("I am glad you are still talking with me."), words("Thank you for telling me."))
    engine.answer("u1", "I'm going to kill myself tonight", lambda chunk: None)
    engine.reset()
    chunks = []
    engine.answer("u2", "ok", chunks.append)
    said = " ".join(c.text for c in chunks)
    assert "988" in said  # the way to human help is repeated after the LLM's reply
    assert "988" in engine.llm.prompts[0].messages[0]["content"]  # careful instruction
    engine.safety.reset_careful_mode("operator", "checked in person")
    engine.answer("u3", "thanks", lambda chunk: None)
    assert "988" not in engine.llm.prompts[1].messages[0]["content"]
