"""Recursive summarization: the LLM folds older turns into a running summary, off the reply's path.

Summarizer writes one new summary from the previous one and the turns to fold in (the
recursive summarization of long-term dialogue memory: summary_n = LLM(summary_n-1, turns)),
in its own KV cache slot, so the reply's cache stays as the last reply left it.
BackgroundWorker runs such work in its own thread, only while no reply is being produced
and not while the user speaks (pause_for): a new utterance preempts a summary being written
(generation stops at its next token, or after the 32-token piece of the prompt being read;
the half-written summary is thrown away) and the work is tried again once the reply is
done, so summarizing never delays an answer by more than one such step of the summarizer's.
Pure Python over an LLM backend, no rclpy.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Sequence

from esbot_common.sentence_stream import ends_like_a_sentence

from ..llm import GenerationSettings, LLMBackend
from ..prompting import PromptBuilder
from ..turn import Turn

# A small instruction model follows a plain "Summarize the following conversation" request
# (SmolLM2 was tuned on such requests) far better than note-keeping instructions in a system
# prompt, with which SmolLM2-135M role-played the conversation instead (tried on ESConv).
SUMMARY_SYSTEM_PROMPT = "You are a helpful assistant who writes short, factual summaries."
SUMMARY_REQUEST = (
    "Summarize the following conversation in two or three sentences, in the third person, focusing on "
    "the Person's situation and feelings and on what the Companion asked or suggested."
)
SPEAKERS = {"user": "Person", "assistant": "Companion"}
#: The prompt is read in pieces this long, so a reply preempts the summary within one piece.
PREFILL_CHUNK_TOKENS = 32
#: The summarizer's KV cache slot (LLMBackend.stream): apart from the replies' one.
SUMMARY_CACHE = "summary"


class SummaryError(RuntimeError):
    """The model wrote no usable summary."""


class Summarizer:
    """Writes running summaries with the dialogue's own LLM (greedy, so they are repeatable)."""

    def __init__(self, llm: LLMBackend, max_tokens: int = 96, context_window: int = 2048) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self.builder = PromptBuilder(llm.tokenizer, SUMMARY_SYSTEM_PROMPT, context_window, max_tokens)
        self.settings = GenerationSettings(max_new_tokens=max_tokens, do_sample=False, repetition_penalty=1.2)

    @staticmethod
    def request_text(previous: str, turns: Sequence[Turn]) -> str:
        lines = [f"{SPEAKERS[turn.role]}: {turn.text}" for turn in turns if turn.text]
        earlier = f"Summary of the conversation before this part: {previous}\n\n" if previous else ""
        return f"{SUMMARY_REQUEST}\n\n{earlier}" + "\n".join(lines)

    def turn_room(self, previous: str) -> int:
        """Tokens of conversation one summarizer call can take besides the previous summary."""
        empty = self.builder.build([], self.request_text(previous, []))
        return self.builder.budget - empty.prompt_tokens

    def summarize(self, previous: str, turns: Sequence[Turn], cancel: threading.Event | None = None) -> str | None:
        """The new running summary; None if cancel was set before it was complete."""
        prompt = self.builder.build([], self.request_text(previous, turns))
        pieces = self.llm.stream(prompt, self.settings, cancel, prefill_chunk=PREFILL_CHUNK_TOKENS,
                                        cache_slot=SUMMARY_CACHE)
        try:
            text = "".join(pieces)
        finally:
            pieces.close()
        if cancel is not None and cancel.is_set():
            return None
        text = " ".join(text.split())
        stats = self.llm.last_stats
        if stats is not None and stats.new_tokens >= self.max_tokens and not ends_like_a_sentence(text):
            # Cut off by the token limit: keep the complete sentences, a fragment misleads.
            last_end = max(text.rfind(". "), text.rfind("! "), text.rfind("? "))
            text = text[:last_end + 1] if last_end > 0 else text
        if not text:
            raise SummaryError("the model wrote an empty summary")
        return text


class BackgroundWorker:
    """Runs work(cancel) -> more_wanted in a daemon thread, never while a reply is in progress.

    request() asks for a run; hold() brackets a reply: it stops a run in progress (cancel is
    set, and hold waits for work to return) and starts none until the reply is done.
    pause_for(seconds) stops a run the same way without waiting for it, and starts none until
    resume() or the time is up (the user is speaking: the ASR and the coming reply need the
    CPU; the time limit keeps a lost resume from stopping the work for good). Work that was
    cancelled or wants more runs again afterwards. Errors go to on_error.
    """

    def __init__(self, work: Callable[[threading.Event], bool], on_error: Callable[[Exception], None],
                 name: str = "esbot-memory") -> None:
        self._work = work
        self._on_error = on_error
        self._changed = threading.Condition()
        self._cancel = threading.Event()
        self._wanted = False
        self._running = False
        self._holds = 0
        self._paused_until = 0.0  # time.monotonic()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        self._thread.start()

    def request(self) -> None:
        with self._changed:
            self._wanted = True
            self._changed.notify_all()

    @contextmanager
    def hold(self) -> Iterator[None]:
        """While inside, no background work runs. Entering waits only as long as the run in
        progress takes to notice its cancel (one token of the summarizer's generation)."""
        with self._changed:
            self._holds += 1
            self._cancel.set()
            self._changed.wait_for(lambda: not self._running)
        try:
            yield
        finally:
            with self._changed:
                self._holds -= 1
                self._changed.notify_all()

    def pause_for(self, seconds: float) -> None:
        with self._changed:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)
            self._cancel.set()
            self._changed.notify_all()

    def resume(self) -> None:
        with self._changed:
            self._paused_until = 0.0
            self._changed.notify_all()

    @property
    def paused(self) -> bool:
        return time.monotonic() < self._paused_until

    def wait_idle(self, timeout: float) -> bool:
        """True once nothing is wanted or running (tests and benchmarks)."""
        with self._changed:
            return self._changed.wait_for(lambda: not (self._wanted or self._running), timeout)

    def close(self, timeout: float = 10.0) -> None:
        with self._changed:
            self._closed = True
            self._cancel.set()
            self._changed.notify_all()
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            with self._changed:
                while not self._closed and not (self._wanted and not self._holds and not self.paused):
                    # Woken by every change; a pause also ends by itself.
                    pause_left = self._paused_until - time.monotonic()
                    self._changed.wait(pause_left if pause_left > 0 else None)
                if self._closed:
                    return
                self._wanted = False
                self._running = True
                self._cancel.clear()
            more = False
            try:
                more = self._work(self._cancel)
            except Exception as error:  # reported, and the robot goes on without a new summary
                self._on_error(error)
            finally:
                with self._changed:
                    self._running = False
                    if self._cancel.is_set() or more:
                        self._wanted = True  # preempted, or more to fold: again after the reply
                    self._changed.notify_all()
