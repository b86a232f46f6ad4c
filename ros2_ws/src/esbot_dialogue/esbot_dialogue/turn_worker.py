"""The dialogue's turn worker: queued utterances answered one at a time, in order, each at most
once, on a thread of its own, so the node's callbacks never wait for the LLM.

A barge-in stops the reply being generated, and only that one (queued utterances stay). Reset,
forget and adapter changes take the engine between turns (exclusive()): they wait for the reply
in progress, or stop it first when it belongs to what they change. A turn that fails is logged
and the worker goes on. Pure Python: no rclpy; the node passes callbacks that publish.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator, Protocol

from esbot_common.log import Log

from .dialogue_engine import ReplyChunk, TurnOutcome
from .utterance_queue import QueuedUtterance, UtteranceQueue


class TurnEngine(Protocol):
    """What the worker needs of the DialogueEngine."""

    def answer(self, utterance_id: str, raw_text: str, emit: Callable[[ReplyChunk], None],
               cancel: threading.Event | None = None) -> TurnOutcome: ...


class TurnWorker:
    def __init__(self, engine: TurnEngine, on_chunk: Callable[[ReplyChunk, float], None],
                 on_state: Callable[[], None], log: Log) -> None:
        """on_chunk(chunk, seconds since its utterance was queued) gets every reply chunk as it
        comes; on_state() is called whenever busy, generating_turn or pending() may have changed."""
        self.engine = engine
        self.on_chunk = on_chunk
        self.on_state = on_state
        self.log = log
        self.queue = UtteranceQueue()
        self.generating_turn = ""  # the reply being generated, "" when none
        self.turns_answered = 0
        self.llm_replies = 0  # turns the LLM was asked for (a crisis response is not one)
        self.last_outcome: TurnOutcome | None = None  # of the last answered turn
        self._lock = threading.Lock()  # one turn, reset or adapter change at a time
        self._cancel = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dialogue-worker", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop generation at the next token and let the worker finish, so the process never
        exits with torch still running in a thread."""
        self._stopping.set()
        self._cancel.set()
        self._thread.join(timeout)

    def submit(self, utterance_id: str, text: str) -> bool:
        """Queue an utterance to answer; False (nothing queued) if its id was already seen."""
        return self.queue.put(utterance_id, text)

    def pending(self) -> int:
        return self.queue.pending()

    @property
    def busy(self) -> bool:
        """A turn, or a reset or adapter change, holds the engine."""
        return self._lock.locked()

    def barge_in(self, interrupted_turn_id: str) -> str:
        """The user talks over a reply ("" = whichever): stop generating it. The turn stopped, or
        "" when it is not the one being generated (an older turn's generation is over)."""
        generating = self.generating_turn
        if generating and interrupted_turn_id in ("", generating):
            self._cancel.set()
            return generating
        return ""

    @contextmanager
    def exclusive(self, cancel_reply: bool = False) -> Iterator[None]:
        """Hold the engine between turns: waits for the reply in progress, stopping it first
        when cancel_reply (it belongs to a conversation being reset or forgotten)."""
        if cancel_reply:
            self._cancel.set()
        with self._lock:
            yield

    def status(self) -> dict[str, str]:
        """The worker's diagnostics: counters, and what the last answered turn's context held."""
        values = {"turns_answered": str(self.turns_answered), "llm_replies": str(self.llm_replies),
                  "pending_utterances": str(self.pending())}
        outcome = self.last_outcome
        if outcome is not None and outcome.prompt is not None:  # what the memory put in the context
            prompt = outcome.prompt
            values["last_history_turns_used"] = str(prompt.history_turns_used)
            values["last_history_turns_dropped"] = str(prompt.history_turns_dropped)
            values["last_summary_used"] = str(bool(prompt.summary_text))
            values["last_prompt_tokens"] = str(prompt.prompt_tokens)
            values["last_memory_build_ms"] = f"{outcome.prompt_build_s * 1000:.1f}"
        if outcome is not None and outcome.stats is not None:
            stats = outcome.stats
            values["last_time_to_first_text_s"] = f"{stats.time_to_first_text_s or 0:.3f}"
            values["last_tokens_per_s"] = f"{stats.tokens_per_s:.1f}"
            values["last_prompt_tokens_reused"] = str(stats.reused_prompt_tokens)
        return values

    def _run(self) -> None:
        while not self._stopping.is_set():
            item = self.queue.get(timeout=0.2)
            if item is not None:
                self._answer(item)

    def _answer(self, item: QueuedUtterance) -> None:
        with self._lock:
            self._cancel.clear()
            self.on_state()
            try:
                outcome = self.engine.answer(item.utterance_id, item.text, lambda chunk: self._emit(chunk, item),
                                             self._cancel)
            except Exception as error:  # a failed turn must not stop the robot listening
                self.log.error(f"answering {item.utterance_id} failed: {error!r}")
                outcome = None
        if outcome is not None:
            for warning in outcome.warnings:
                self.log.warning(f"{item.utterance_id}: {warning}")
            if not outcome.ignored:
                self.turns_answered += 1
                self.llm_replies += outcome.stats is not None
                self.last_outcome = outcome
        self.generating_turn = ""
        self.on_state()

    def _emit(self, chunk: ReplyChunk, item: QueuedUtterance) -> None:
        self.on_chunk(chunk, time.monotonic() - item.received_at)
        if chunk.chunk_index == 0 and not chunk.is_final:
            self.generating_turn = chunk.turn_id
            self.on_state()
