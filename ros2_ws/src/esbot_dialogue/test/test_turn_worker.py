"""The turn worker over a fake engine: order, barge-in, waiting for the reply in progress, failures."""

import logging
import threading
import time

import pytest

from esbot_dialogue.dialogue_engine import ReplyChunk, TurnOutcome
from esbot_dialogue.llm import GenerationStats
from esbot_dialogue.prompting import BuiltPrompt
from esbot_dialogue.turn_worker import TurnWorker

WAIT_S = 5.0


class FakeEngine:
    """Answers with one sentence per word of the utterance. An utterance starting with "hold" waits
    after its first sentence until released or cancelled; "crisis" is answered without the LLM;
    "boom" fails; "" is ignored."""

    def __init__(self):
        self.answered = []  # (utterance id, cancelled)
        self.holding = threading.Event()  # a "hold" turn has sent its first sentence
        self.release = threading.Event()

    def answer(self, utterance_id, raw_text, emit, cancel=None):
        if raw_text == "boom":
            raise RuntimeError("the model fell over")
        if not raw_text:
            return TurnOutcome("", utterance_id, "", "", 0, ignored=True, warnings=("nothing to answer",))
        turn_id = f"turn-{utterance_id}"
        words = raw_text.split()
        sent = 0
        for word in words:
            if cancel.is_set():
                break
            emit(ReplyChunk(turn_id, utterance_id, sent, word, False, 0.0))
            sent += 1
            if words[0] == "hold" and sent == 1:
                self.holding.set()
                while not (self.release.is_set() or cancel.is_set()):
                    time.sleep(0.01)
        emit(ReplyChunk(turn_id, utterance_id, sent, "", True, 0.0))
        self.answered.append((utterance_id, cancel.is_set()))
        llm = words[0] != "crisis"
        prompt = BuiltPrompt([], "", [1] * 40, 40, 3, 1, raw_text, False) if llm else None
        stats = GenerationStats(40, sent, 0.25, 0.5, 12.0, cancel.is_set(), 32) if llm else None
        return TurnOutcome(turn_id, utterance_id, raw_text, raw_text, sent, interrupted=cancel.is_set(),
                           stats=stats, prompt=prompt, prompt_build_s=0.002 if llm else 0.0)


@pytest.fixture
def running(caplog):
    """(worker, engine, chunks, states, caplog) with the worker started; stopped afterwards."""
    caplog.set_level(logging.INFO, logger="test_turn_worker")
    engine = FakeEngine()
    chunks, states = [], []
    worker = TurnWorker(engine, lambda chunk, since: chunks.append((chunk, since)),
                        lambda: states.append((worker.busy, worker.generating_turn, worker.pending())),
                        logging.getLogger("test_turn_worker"))
    worker.start()
    yield worker, engine, chunks, states, caplog
    engine.release.set()
    worker.stop()


def wait_until(condition):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_utterances_are_answered_in_order_and_once(running):
    worker, engine, chunks, states, log = running
    assert worker.submit("u1", "one two") and worker.submit("u2", "three")
    assert not worker.submit("u1", "one two")  # already queued: not answered twice
    wait_until(lambda: worker.turns_answered == 2)
    assert [answered for answered, _ in engine.answered] == ["u1", "u2"]
    assert [(c.utterance_id, c.text, c.is_final) for c, _ in chunks] == [
        ("u1", "one", False), ("u1", "two", False), ("u1", "", True), ("u2", "three", False), ("u2", "", True)]
    assert all(0 <= since < WAIT_S for _, since in chunks)  # seconds since the utterance was queued
    # Busy from the start of each turn, the turn named from its first sentence, idle after it.
    assert any(busy and turn == "turn-u1" for busy, turn, _ in states)
    wait_until(lambda: states[-1] == (False, "", 0))
    assert worker.llm_replies == 2 and not log.records


def test_status_reports_the_counters_and_the_last_turns_context(running):
    worker, engine, chunks, states, log = running
    assert worker.status() == {"turns_answered": "0", "llm_replies": "0", "pending_utterances": "0"}
    worker.submit("u1", "hello there")
    wait_until(lambda: worker.turns_answered == 1)
    assert worker.status() == {
        "turns_answered": "1", "llm_replies": "1", "pending_utterances": "0",
        "last_history_turns_used": "3", "last_history_turns_dropped": "1", "last_summary_used": "False",
        "last_prompt_tokens": "40", "last_memory_build_ms": "2.0",
        "last_time_to_first_text_s": "0.250", "last_tokens_per_s": "12.0", "last_prompt_tokens_reused": "32"}
    # A crisis response is a turn answered, not an LLM reply, and leaves no context figures.
    worker.submit("u2", "crisis words")
    wait_until(lambda: worker.turns_answered == 2)
    assert worker.status() == {"turns_answered": "2", "llm_replies": "1", "pending_utterances": "0"}


def test_barge_in_stops_only_the_turn_being_generated(running):
    worker, engine, chunks, states, log = running
    worker.submit("u1", "hold on a moment")
    worker.submit("u2", "next one")
    assert engine.holding.wait(WAIT_S)
    assert worker.generating_turn == "turn-u1"
    assert worker.barge_in("turn-older") == ""  # its generation is over: nothing to stop
    assert worker.busy and not engine.answered
    assert worker.barge_in("turn-u1") == "turn-u1"
    wait_until(lambda: worker.turns_answered == 2)
    assert engine.answered == [("u1", True), ("u2", False)]  # the queued utterance is still answered
    assert [c.text for c, _ in chunks if c.utterance_id == "u2"] == ["next", "one", ""]
    assert worker.barge_in("") == ""  # nothing is being generated


def test_exclusive_waits_for_the_reply_in_progress(running):
    worker, engine, chunks, states, log = running
    worker.submit("u1", "hold this reply")
    assert engine.holding.wait(WAIT_S)
    entered = threading.Event()

    def change_adapter():
        with worker.exclusive():
            entered.set()

    changer = threading.Thread(target=change_adapter)
    changer.start()
    assert not entered.wait(0.3)  # the reply is still being generated
    engine.release.set()
    assert entered.wait(WAIT_S)
    changer.join()
    assert engine.answered == [("u1", False)]  # finished, not cancelled


def test_exclusive_can_stop_the_reply_first(running):
    worker, engine, chunks, states, log = running
    worker.submit("u1", "hold this reply")
    assert engine.holding.wait(WAIT_S)
    with worker.exclusive(cancel_reply=True):  # a reset: the reply belongs to what is forgotten
        assert engine.answered == [("u1", True)]
    worker.submit("u2", "fresh start")
    wait_until(lambda: worker.turns_answered == 2)
    assert engine.answered[-1] == ("u2", False)  # the next turn is not cancelled


def test_a_failing_turn_is_logged_and_the_worker_goes_on(running):
    worker, engine, chunks, states, log = running
    worker.submit("u1", "boom")
    worker.submit("u2", "")
    worker.submit("u3", "still here")
    wait_until(lambda: worker.turns_answered == 1)
    assert [(r.levelname, r.getMessage()) for r in log.records] == [
        ("ERROR", "answering u1 failed: RuntimeError('the model fell over')"), ("WARNING", "u2: nothing to answer")]
    assert [u for u, _ in engine.answered] == ["u3"]
    wait_until(lambda: states[-1] == (False, "", 0))


def test_stop_ends_the_worker_within_a_reply(running):
    worker, engine, chunks, states, log = running
    worker.submit("u1", "hold on")
    assert engine.holding.wait(WAIT_S)
    worker.stop(timeout=WAIT_S)
    assert not worker._thread.is_alive()
    assert engine.answered == [("u1", True)]  # generation stopped at once
