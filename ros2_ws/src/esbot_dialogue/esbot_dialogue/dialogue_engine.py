"""One conversational turn, from a raw transcript to streamed sentence chunks and history, and
what else the robot does to its conversation: adapters, forgetting, retention, status.

Pure Python over an LLM backend (llm.LLMBackend), so the ROS node stays a thin adapter and the behaviour
can be tested without ROS. assembly.build_engine puts an engine together from its config.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from esbot_common.log import Log
from esbot_common.sentence_stream import SentenceChunker, ends_like_a_sentence

from .adapters import read_adapter_info
from .llm import GenerationSettings, GenerationStats, LLMBackend

from .memory.context_memory import ContextMemory, memory_mode_for
from .memory.conversation_store import ConversationStore, StoreError
from .prompting import BuiltPrompt, PromptBuilder
from .safety.alert_log import AlertLogError, AlertRecord
from .safety.policy import Decision, SafetyPolicy
from .text_input import clean_user_text
from .turn import Turn


@dataclass(frozen=True)
class ReplyChunk:
    """A piece of the reply to speak. Sentence chunks come first (is_final False), then
    exactly one final chunk with empty text that only marks the end of the turn, so a
    consumer never has to guess whether more speech is coming."""

    turn_id: str
    utterance_id: str
    chunk_index: int  # 0, 1, 2, ... within the turn, the final chunk included
    text: str
    is_final: bool
    seconds_since_start: float  # since answer() received the utterance


@dataclass(frozen=True)
class TurnOutcome:
    turn_id: str  # "" when the utterance was ignored
    utterance_id: str
    user_text: str  # the cleaned utterance
    reply_text: str  # what was emitted, sentence chunks joined by spaces
    sentence_chunks: int
    ignored: bool = False  # nothing to answer (empty after cleaning); nothing was emitted
    interrupted: bool = False  # cancel was set before the reply was complete
    empty_reply: bool = False  # the model said nothing, even on the retry
    warnings: tuple[str, ...] = ()  # human-readable, for the node to log
    stats: GenerationStats | None = None  # of the last generation attempt; None when the LLM was not asked
    prompt: BuiltPrompt | None = None
    safety: Decision | None = None  # the safety policy's decision on the utterance
    reply_replaced: bool = False  # an unsafe sentence was withheld and a safe response spoken instead
    prompt_build_s: float = 0.0  # how long the memory took to build the prompt (0 without one)


@dataclass(frozen=True)
class Forgotten:
    session_id: str  # the session forgotten; "" when every session of a user was
    sessions: int
    turns: int
    current: bool  # the conversation in progress was among them: it starts afresh


@dataclass(frozen=True)
class EngineStatus:
    """What the engine reports for diagnostics: the level and message say whether the
    conversation store works, values are the figures (all strings)."""

    level: str  # "ok", "warn" (the store is not persistent) or "error" (the store cannot be read)
    message: str
    values: dict[str, str]


def history_mode_for(adapter_path: str | None, configured: str) -> str:
    """How past turns go into the context: the configured mode if set, else the representation
    the adapter was trained with (its manifest, when the adapter is a local folder: a server's
    adapter is a name), else raw."""
    local = adapter_path and Path(adapter_path).expanduser().is_dir()
    return memory_mode_for(read_adapter_info(adapter_path) if local else None, configured)


def purge_expired_turns(store: ConversationStore, retention_days: int, log: Log) -> None:
    """Retention: delete stored turns older than retention_days (0 keeps them). A failure is
    logged, never raised: the robot goes on talking."""
    if retention_days <= 0:
        return
    try:
        deleted = store.purge_older_than(time.time() - retention_days * 86400)
    except StoreError as error:
        log.error(f"memory: retention purge failed: {error}")
        return
    if deleted:
        log.info(f"memory: {deleted} turns older than {retention_days} days deleted (retention_days)")


class DialogueEngine:
    """Answers utterances one at a time, streaming sentences, and keeps the history."""

    def __init__(
        self,
        llm: LLMBackend,
        prompt_builder: PromptBuilder,
        settings: GenerationSettings | None = None,
        clock: Callable[[], float] = time.time,
        chunker_factory: Callable[[], SentenceChunker] = SentenceChunker,
        safety: SafetyPolicy | None = None,
        on_alert: Callable[[AlertRecord], None] = lambda record: None,
        memory: ContextMemory | None = None,
        configured_representation: str = "",
        retention_days: int = 0,
        log: Log = logging.getLogger("esbot_dialogue"),
    ) -> None:
        """safety checks every utterance before the LLM and every sentence before it is emitted;
        on_alert is called with each safety alert (already in the durable log) as it happens.
        memory builds each prompt from the stored conversation (default: an in-memory store,
        the prompt builder's representation, no summary). configured_representation is the
        memory mode asked for ("" = the loaded adapter's, re-read when the adapter changes);
        retention_days how long stored turns are kept (0 = until forgotten)."""
        self.llm = llm
        self.safety = safety
        self.on_alert = on_alert
        self.prompt_builder = prompt_builder
        self.settings = settings or GenerationSettings()
        self.clock = clock
        self.chunker_factory = chunker_factory
        self.memory = memory if memory is not None else ContextMemory(prompt_builder)
        self.history = self.memory.history
        self.configured_representation = configured_representation
        self.retention_days = retention_days
        self.log = log
        # What speech output reported as actually spoken, for turns not yet in the history
        # (the report can overtake the end of the turn after a barge-in).
        self._spoken_reports: dict[str, tuple[str, bool]] = {}
        self._spoken_lock = threading.Lock()

    def answer(
        self,
        utterance_id: str,
        raw_text: str,
        emit: Callable[[ReplyChunk], None],
        cancel: threading.Event | None = None,
    ) -> TurnOutcome:
        """Answer one utterance, calling emit for each sentence as soon as it is complete.

        If cancel is set (barge-in), generation stops, nothing more is spoken, the final
        chunk still closes the turn and the history records what had been said, marked
        interrupted. The utterance is stored before the first chunk is emitted and the reply
        once it is complete. Errors from the model propagate; the utterance stays stored (it
        was said), with no reply after it.
        """
        started = self.clock()
        cleaned = clean_user_text(raw_text)
        if not cleaned.text:
            return TurnOutcome(
                turn_id="", utterance_id=utterance_id, user_text="", reply_text="",
                sentence_chunks=0, ignored=True, warnings=cleaned.warnings,
            )
        warnings = list(cleaned.warnings)
        with self.memory.replying():  # no background summarizing while this turn is produced
            return self._answer(utterance_id, cleaned.text, started, warnings, emit, cancel)

    def _answer(self, utterance_id: str, user_text: str, started: float, warnings: list[str],
                emit: Callable[[ReplyChunk], None], cancel: threading.Event | None) -> TurnOutcome:
        turn_id = uuid.uuid4().hex
        decision = self._assess(utterance_id, user_text, warnings)
        spoken: list[str] = []

        def send(text: str, is_final: bool = False) -> None:
            # The final chunk's index follows the last sentence's.
            emit(ReplyChunk(turn_id, utterance_id, len(spoken), text, is_final, self.clock() - started))
            if not is_final:
                spoken.append(text)

        if decision is not None and decision.skip_llm:
            # High or immediate risk: the crisis response is spoken, the LLM is not asked.
            self._record_user(utterance_id, user_text, started, warnings)
            return self._finish(utterance_id, turn_id, user_text, spoken, send, warnings,
                                self._say(decision.response_text, cancel, send), False, None, decision)
        prompt = self.memory.build(user_text, decision.extra_instruction if decision else "")
        if prompt.user_text_truncated:
            warnings.append(
                "The utterance was too long for the context window; only its end was kept "
                f"({len(prompt.user_text)} of {len(user_text)} characters)."
            )
        self._record_user(utterance_id, user_text, started, warnings)
        replaced: list[bool] = []
        interrupted = self._speak(prompt, self.settings, cancel, send, warnings, replaced)
        if not spoken and not interrupted:
            # Small instruction models sometimes end a reply at once (end-of-turn as the first
            # token). Saying nothing would leave the person hanging and a canned line would be
            # hollow, so try once more with different sampling; greedy decoding would only
            # repeat itself, hence sampling on the retry.
            warnings.append("The model produced an empty reply; retrying once with different sampling.")
            retry = dataclasses.replace(
                self.settings,
                do_sample=True,
                seed=None if self.settings.seed is None else self.settings.seed + 1,
            )
            interrupted = self._speak(prompt, retry, cancel, send, warnings, replaced)
        if decision is not None and decision.reminder_text and spoken and not interrupted:
            interrupted = self._say(decision.reminder_text, cancel, send)  # careful mode: the way to human help
        return self._finish(utterance_id, turn_id, user_text, spoken, send, warnings, interrupted,
                            bool(replaced), prompt, decision)

    def _record_user(self, utterance_id: str, text: str, started: float, warnings: list[str]) -> None:
        """Store the utterance before anything is said: a node killed mid-reply still knows it
        after a restart. A store failure must not silence the robot: it is reported instead."""
        try:
            self.history.append(Turn("user", text, started, utterance_id))
        except StoreError as error:
            warnings.append(f"The utterance was NOT saved in the conversation store: {error}")

    def _finish(self, utterance_id: str, turn_id: str, user_text: str, spoken: list[str],
                send: Callable[..., None], warnings: list[str], interrupted: bool, replaced: bool,
                prompt: BuiltPrompt | None, decision: Decision | None) -> TurnOutcome:
        """Close the turn with its final chunk and store the reply (the utterance already is)."""
        empty_reply = not spoken and not interrupted
        if empty_reply:
            warnings.append("The model produced an empty reply twice; the utterance stays unanswered.")
        send("", is_final=True)

        reply_text = " ".join(spoken)
        with self._spoken_lock:  # so a report of what was spoken is never lost between the two
            report = self._spoken_reports.pop(turn_id, None)
            if report is not None:
                reply_text, heard_interrupted = report
                interrupted = interrupted or heard_interrupted
            if reply_text or interrupted:
                # Even an interruption before the first sentence is kept: it is part of what
                # happened, and the prompt builder skips turns without text.
                try:
                    self.history.append(Turn("assistant", reply_text, self.clock(), turn_id, interrupted))
                except StoreError as error:
                    warnings.append(f"The reply was NOT saved in the conversation store: {error}")
        return TurnOutcome(
            turn_id=turn_id, utterance_id=utterance_id, user_text=user_text,
            reply_text=reply_text, sentence_chunks=len(spoken), interrupted=interrupted,
            empty_reply=empty_reply, warnings=tuple(warnings),
            stats=self.llm.last_stats if prompt is not None else None, prompt=prompt,
            safety=decision, reply_replaced=replaced,
            prompt_build_s=self.memory.last_build_s if prompt is not None else 0.0,
        )

    def _assess(self, utterance_id: str, text: str, warnings: list[str]) -> Decision | None:
        """The safety policy's decision on the utterance; its alert goes out before anything is said."""
        if self.safety is None:
            return None
        try:
            decision = self.safety.on_user_utterance(utterance_id, text)
        except AlertLogError as error:
            # The alert could not be made durable: act on it all the same, and say so loudly.
            decision = error.decision
            warnings.append(f"SAFETY ALERT NOT WRITTEN TO THE DURABLE LOG: {error}")
        if decision.alert is not None:
            self.on_alert(decision.alert)
        return decision

    def _say(self, text: str, cancel: threading.Event | None, send: Callable[[str], None]) -> bool:
        """Emit a fixed text (crisis response, safe replacement, reminder) sentence by sentence;
        True if cancelled before the end."""
        chunker = self.chunker_factory()
        for sentence in chunker.feed(text) + chunker.flush():
            if cancel is not None and cancel.is_set():
                return True
            send(sentence)
        return False

    def record_spoken(self, turn_id: str, spoken_text: str, interrupted: bool) -> None:
        """Speech output's report of what the user actually heard of a reply: after a barge-in
        the history must hold that, not what was generated. Works whether the turn is already
        in the history or still being finished."""
        with self._spoken_lock:
            try:
                if not self.history.revise_spoken(turn_id, spoken_text, interrupted):
                    self._spoken_reports[turn_id] = (spoken_text, interrupted)
            except StoreError as error:  # called from a ROS callback: report, never raise
                self.memory.on_warning(f"what was actually spoken of turn {turn_id} was NOT saved: {error}")

    def reset(self) -> int:
        """Forget the conversation; returns how many turns were cleared (careful mode stays on)."""
        if self.safety is not None:
            self.safety.reset_conversation()
        return self.history.clear()

    # --- what the robot's operator and its other parts do to the conversation ---------------
    @property
    def adapter_path(self) -> str | None:
        return self.llm.adapter_path

    def set_adapter(self, path: str) -> str:
        """Serve the LoRA adapter at path ("" = the base model) and put past turns in the context
        the way it was trained to read them (unless a mode is configured); what was done, as a
        sentence. AdapterError on refusal: the previous adapter keeps serving."""
        if path:
            self.llm.load_adapter(path)
            message = f"adapter {self.llm.adapter_path} loaded"
        else:
            self.llm.unload_adapter()
            message = "adapter unloaded: serving the base model"
        self.memory.mode = history_mode_for(path or None, self.configured_representation)
        return f"{message}; past turns in {self.memory.mode} representation"

    def _forget_target(self, session_id: str, user_name: str) -> tuple[str, bool]:
        session_id = session_id or ("" if user_name else self.history.session_id)
        current = session_id == self.history.session_id or bool(user_name and user_name == self.history.user_name)
        return session_id, current

    def forgets_current_conversation(self, session_id: str = "", user_name: str = "") -> bool:
        """Whether forget() with these arguments takes the conversation in progress with it."""
        return self._forget_target(session_id, user_name)[1]

    def forget(self, session_id: str = "", user_name: str = "") -> Forgotten:
        """Delete from the store a session (neither given: the current one) or every session of a
        user, with their turns and summaries. StoreError, or ValueError when both are given."""
        session_id, current = self._forget_target(session_id, user_name)
        sessions, turns = self.history.store.forget(session_id=session_id, user_name=user_name)
        return Forgotten(session_id, sessions, turns, current)

    def purge_expired(self) -> None:
        """Apply retention now (the node does it hourly, build_engine at start)."""
        purge_expired_turns(self.history.store, self.retention_days, self.log)

    def reset_safety_mode(self, operator: str, reason: str) -> None:
        """End the safety policy's careful mode; AlertLogError if the reset could not be put on
        record (it then does not take effect)."""
        if self.safety is not None:
            self.safety.reset_careful_mode(operator, reason)

    def pause_background(self, user_busy: bool) -> None:
        """The user is speaking or being transcribed (True) or done (False): the memory's
        background work gives way to them meanwhile."""
        self.memory.pause_background(user_busy)

    def status(self) -> EngineStatus:
        """The model, safety and memory figures the dialogue node publishes on /diagnostics."""
        llm, memory, history = self.llm, self.memory, self.history
        values = dict(llm.describe())
        if self.safety is not None:
            values["safety_careful_mode"] = str(self.safety.careful_mode)
        values |= {"memory_store": history.store.describe(), "memory_session": history.session_id,
                   "memory_user": history.user_name, "memory_mode": memory.mode}
        level, message = "ok", "ready"
        if not history.store.persistent:
            level, message = "warn", "conversation memory is not persistent (see the log)"
        if values.get("state", "").startswith("degraded"):  # a remote backend's failover answers
            level, message = "warn", f"LLM server away, the onboard model answers ({values['state']})"
        try:
            summary = memory.summary()
            values["history_turns"] = str(len(history))
            values["memory_summary_covers_turns"] = str(summary.covered_turns if summary else 0)
        except StoreError as error:
            level, message = "error", f"conversation store unreadable: {error}"
        values["memory_background_paused"] = str(memory.background_paused)  # the user is speaking
        values["memory_last_warmed_tokens"] = str(memory.last_warmed_tokens)
        return EngineStatus(level, message, values)

    def close(self) -> None:
        """Stop the memory's background work (a summary being written), close the store and the LLM."""
        self.memory.close()
        self.history.store.close()
        self.llm.close()

    def _speak(
        self,
        prompt: BuiltPrompt,
        settings: GenerationSettings,
        cancel: threading.Event | None,
        send: Callable[[str], None],
        warnings: list[str],
        replaced: list[bool],
    ) -> bool:
        """Stream one generation into sentence chunks; True if it was cancelled.

        With a safety policy every sentence is checked before it is emitted: an unsafe one is
        never said, generation stops, and the policy's safe replacement is said instead
        (replaced gets an entry)."""

        def cancelled() -> bool:
            return cancel is not None and cancel.is_set()

        def say_checked(sentence: str) -> bool:
            """Emit a sentence if it is safe; False once generation must stop."""
            if self.safety is None:
                send(sentence)
                return True
            check = self.safety.on_reply_chunk(sentence)
            if check.safe:
                send(sentence)
                return True
            if check.alert is not None:
                self.on_alert(check.alert)
            warnings.append(f"An unsafe reply sentence was withheld ({check.reason}) and replaced.")
            replaced.append(True)
            self._say(check.replacement, cancel, send)
            return False

        chunker = self.chunker_factory()
        sent = 0
        pieces = self.llm.stream(prompt, settings, cancel)
        try:
            for piece in pieces:
                for sentence in chunker.feed(piece):
                    if cancelled():
                        return True  # barge-in: not one more word
                    if not say_checked(sentence):
                        return cancelled()
                    sent += 1
        finally:
            pieces.close()  # stops generation if we left the loop early
        rest = chunker.flush()
        stats = self.llm.last_stats
        if sent and rest and not ends_like_a_sentence(rest[-1]) and stats and stats.new_tokens >= settings.max_new_tokens:
            # Cut off by max_new_tokens mid-sentence: a robot saying half a sentence sounds broken,
            # so the fragment is left unsaid (and out of the history) when whole sentences came before.
            warnings.append(f"The reply reached max_new_tokens mid-sentence; not spoken: {rest[-1]!r}")
            rest = rest[:-1]
        for sentence in rest:
            if cancelled():
                return True
            if not say_checked(sentence):
                break
        return cancelled()
