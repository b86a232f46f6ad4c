"""The dialogue's memory: what of the stored conversation goes into the model's context.

The budget is the model's window minus the reply's tokens (PromptBuilder: context_window -
max_new_tokens); the system prompt comes out of it first. Within it, by mode:

* ``raw`` / ``keypos`` / ``nostopwords``: every past turn in that representation
  (context_representation.py, the same code training uses), newest first while they fit.
  KeyPOS and NoStopwords roughly halve a turn's tokens, so about twice as many turns fit.
* ``summary``: older turns are folded into a running summary written by the LLM itself
  (recursive summarization, memory/summarizer.py); the prompt holds that summary and the
  turns it does not cover yet, as said.
* ``hybrid``: the summary, the last exchange (two turns) as said, and the uncovered turns
  before it in KeyPOS: the compression keeps more turns nearly verbatim before anything
  has to go through the (lossy, small-model) summary. KeyPOS, not NoStopwords, although
  NoStopwords compresses ESConv's pronoun-heavy turns more (1.7x against 1.33x the raw turns
  fitted): shown NoStopwords turns, an untrained model (SmolLM2-135M) answered in broken,
  repetitive text ("remember. remember. ..."), KeyPOS turns it did not (benchmarks/bench_memory.py).

Order of what goes when even that overflows (PromptBuilder does the one fitting): the current
utterance is always there in full (cut, keeping its end, only if alone it exceeds the budget);
then the summary (left out only if it does not fit beside the utterance); then past turns,
newest first, so the oldest are the first to go. In the summary modes the turns that did not
fit are exactly the next to be folded into the summary.

Folding runs in a background worker after each turn, never while a reply is produced nor
while the user speaks (pause_background): when the uncovered turns take more than
``recent_tokens``, the oldest ones are folded until they take at most two thirds of it (the
hysteresis spares a summarizer call, seconds of CPU on a robot's processor, at most turns),
always leaving the last exchange out of the summary (speech output may still correct it
after a barge-in).

Then, with a chat model to warm, the same worker reads the next prompt's beginning (system
prompt, summary, past turns: everything but the next utterance) into the model's reply KV
cache (TransformersBackend.warm). A new summary changes the prompt right after the system prompt, so
without this the next reply would read its whole context again; with it the memory adds
no prompt reading to the next answer (benchmarks/bench_memory.py measures both).
Pure Python, no rclpy.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from ..context_representation import REPRESENTATIONS, represent
from ..history import ConversationHistory
from ..prompting import BuiltPrompt, PromptBuilder
from ..turn import Turn
from .conversation_store import StoredTurn, Summary
from .summarizer import BackgroundWorker, Summarizer

SUMMARY_MODES = ("summary", "hybrid")
MEMORY_MODES = REPRESENTATIONS + SUMMARY_MODES
#: The compressed representation of the hybrid mode's middle turns.
HYBRID_COMPRESSION = "keypos"
#: Folding stops once the uncovered turns take at most this share of recent_tokens.
FOLD_TO_FRACTION = 2 / 3
#: Room kept for the next utterance when the recent-turns budget is derived automatically.
UTTERANCE_RESERVE_TOKENS = 64
#: The last exchange: never folded into the summary, and kept as said in the hybrid mode.
RECENT_EXCHANGE_TURNS = 2
#: Stands in for the next utterance when its context is prepared ahead (a typical spoken
#: sentence's length, so the same past turns are chosen as for the real one).
#: When the raw history overflows, the window of past turns moves on until they take at most this
#: share of the prompt budget (ContextMemory._build_in_window).
WINDOW_REFILL_SHARE = 0.7
NEXT_UTTERANCE_PLACEHOLDER = "I have been thinking about what we talked about and how I feel about it now."
#: Background work stops for at most this long after the user starts speaking (pause_background).
MAX_SPEECH_PAUSE_S = 30.0


def check_memory_mode(mode: str) -> str:
    if mode not in MEMORY_MODES:
        raise ValueError(f"Unknown history representation {mode!r}; valid ones are: {', '.join(MEMORY_MODES)}.")
    return mode


def memory_mode_for(adapter_info: Any, configured: str) -> str:
    """The configured mode if set, else the representation the adapter was trained with, else raw
    (adapters.history_representation_for, extended by the modes no adapter is trained with)."""
    from ..adapters import history_representation_for

    if configured in SUMMARY_MODES:
        return configured
    return history_representation_for(adapter_info, configured)


@dataclass(frozen=True)
class FoldPlan:
    previous: Summary | None
    turns: list[StoredTurn]  # the oldest uncovered turns, to fold into the summary


class ContextMemory:
    """Builds each turn's prompt from one session's stored history, and keeps its summary."""

    def __init__(
        self,
        prompt_builder: PromptBuilder,
        history: ConversationHistory | None = None,
        mode: str | None = None,
        summarizer: Summarizer | None = None,
        recent_tokens: int = 0,
        on_warning: Callable[[str], None] = lambda message: None,
        warm_model: Any = None,
        next_instruction: Callable[[], str] = lambda: "",
        window_refill_share: float = WINDOW_REFILL_SHARE,
    ) -> None:
        """mode None = the builder's history_representation; the summary modes need a
        summarizer. recent_tokens 0 = everything the budget leaves beside the system prompt, the
        summary and a typical utterance. warm_model (an LLMBackend): read the next prompt's
        beginning into its reply cache after each turn; None = do not. next_instruction: what the
        next ordinary turn will add to the system prompt (the safety policy's careful mode), so
        the prompt read ahead is the one that comes. window_refill_share: how far an overflowing
        raw history's window moves (1.0 = only as far as needed, every turn: the most history,
        but a prompt beginning that changes every turn)."""
        self.builder = prompt_builder
        self.history = history if history is not None else ConversationHistory()
        self.summarizer = summarizer
        self.mode = mode or prompt_builder.history_representation
        self.on_warning = on_warning
        summary_tokens = summarizer.max_tokens if summarizer is not None else 0
        self.recent_tokens = recent_tokens or (
            prompt_builder.budget - prompt_builder.fixed_tokens - summary_tokens - UTTERANCE_RESERVE_TOKENS)
        if self.recent_tokens <= 0:
            raise ValueError(
                f"The context budget ({prompt_builder.budget} tokens) leaves no room for past turns beside the "
                f"system prompt ({prompt_builder.fixed_tokens}), the summary ({summary_tokens}) and the utterance "
                f"({UTTERANCE_RESERVE_TOKENS}); raise context_window or lower summary_max_tokens.")
        self.warm_model = warm_model
        self.next_instruction = next_instruction
        self.window_refill_share = window_refill_share
        self._window_after: str | None = None  # past turns in the prompt start after this turn (raw modes)
        self.last_build_s = 0.0
        self.last_warmed_tokens = 0  # prompt tokens the last background warm read ahead
        self._worker = (BackgroundWorker(self._prepare_next_turn, self._report_background_error)
                        if summarizer is not None or warm_model is not None else None)

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        if check_memory_mode(mode) in SUMMARY_MODES and self.summarizer is None:
            raise ValueError(f"The {mode} history representation needs a summarizer.")
        self._mode = mode

    @property
    def summarizing(self) -> bool:
        return self._mode in SUMMARY_MODES

    # --- building the context ---------------------------------------------------------------
    def build(self, user_text: str, extra_instruction: str = "") -> BuiltPrompt:
        """The prompt for the current utterance, from everything stored before it."""
        started = time.perf_counter()
        prompt = self._build(user_text, extra_instruction)
        self.last_build_s = time.perf_counter() - started
        return prompt

    def _build(self, user_text: str, extra_instruction: str = "") -> BuiltPrompt:
        if self.summarizing:
            summary, recent = self._uncovered()
            prompt = self.builder.build(self._represent(recent), user_text, extra_instruction,
                                        summary=summary.text if summary else "", history_representation="raw")
        else:
            representation = self._mode if self._mode in REPRESENTATIONS else "raw"
            prompt = self._build_in_window(self.history.turns(), user_text, extra_instruction, representation)
        return prompt

    def _build_in_window(self, turns: list[Turn], user_text: str, extra_instruction: str,
                         representation: str) -> BuiltPrompt:
        """The prompt over a window of the newest turns whose start moves only when the window
        overflows, and then far enough that the kept turns take at most WINDOW_REFILL_SHARE of the
        room past turns have (window_refill_share). Dropping just the oldest turn at every turn would change the prompt right after
        the system prompt each time, and the model would read the whole history again every turn;
        this way the beginning stays the same for several turns and its KV cache holds."""
        start = self._window_start(turns)

        def build(first: int) -> BuiltPrompt:
            return self.builder.build(turns[first:], user_text, extra_instruction,
                                      history_representation=representation)

        prompt = build(start)
        if prompt.history_turns_dropped:
            # The share is of the room past turns have beside the system prompt and this utterance.
            without_history = build(len(turns)).prompt_tokens
            target = without_history + int((self.builder.budget - without_history) * self.window_refill_share)
            fitting = start + prompt.history_turns_dropped  # the builder's own cut: the newest turns that fit
            low, high = fitting, len(turns)
            while low < high:  # the first start whose prompt is within the target (size falls as start grows)
                middle = (low + high) // 2
                if build(middle).prompt_tokens <= target:
                    high = middle
                else:
                    low = middle + 1
            start = low if low < len(turns) else fitting  # never all history for the sake of the window
            self._window_after = turns[start - 1].turn_id
            prompt = build(start)
        return dataclasses.replace(prompt, history_turns_dropped=prompt.history_turns_dropped + start)

    def _window_start(self, turns: list[Turn]) -> int:
        if self._window_after is not None:
            for index, turn in enumerate(turns):
                if turn.turn_id == self._window_after:
                    return index + 1
        return 0  # no window yet, or its turns were cleared or forgotten

    def summary(self) -> Summary | None:
        return self.history.store.summary(self.history.session_id)

    def _uncovered(self) -> tuple[Summary | None, list[StoredTurn]]:
        # One read of the summary, then the turns after it: a fold saved in between only
        # makes the turns overlap the summary for this one prompt, never leaves a gap.
        summary = self.summary()
        turns = self.history.store.turns(self.history.session_id, summary.through_seq if summary else 0)
        return summary, turns

    def _represented_texts(self, stored: list[StoredTurn]) -> list[str]:
        """The uncovered turns' texts as they go into the prompt, one per turn ("" = left out)."""
        texts = [s.turn.text for s in stored]
        if self._mode == "hybrid":
            older = max(len(texts) - RECENT_EXCHANGE_TURNS, 0)
            texts[:older] = represent(texts[:older], HYBRID_COMPRESSION)
        return texts

    def _represent(self, stored: list[StoredTurn]) -> list[Turn]:
        """The uncovered turns, already represented (the builder is told "raw")."""
        return [dataclasses.replace(s.turn, text=text)
                for s, text in zip(stored, self._represented_texts(stored)) if text]

    # --- around each reply ------------------------------------------------------------------
    @contextmanager
    def replying(self) -> Iterator[None]:
        """Bracket one reply: no background work while inside (a summary being written is
        stopped at its next token), and the next turn is prepared once the reply is done."""
        with self._worker.hold() if self._worker is not None else nullcontext():
            yield
        self.prepare_next_turn()

    def prepare_next_turn(self) -> None:
        """Ask the background worker to fold older turns into the summary if they no longer fit
        in recent_tokens, then to warm the next prompt (it checks, off the caller's thread)."""
        if self._worker is not None:
            self._worker.request()

    def pause_background(self, user_speaking: bool) -> None:
        """The user started (True) or stopped (False) speaking: background work stops meanwhile
        (for at most MAX_SPEECH_PAUSE_S), leaving the CPU to speech recognition and the reply."""
        if self._worker is not None:
            if user_speaking:
                self._worker.pause_for(MAX_SPEECH_PAUSE_S)
            else:
                self._worker.resume()

    @property
    def background_paused(self) -> bool:
        return self._worker is not None and self._worker.paused

    def wait_for_background(self, timeout: float) -> bool:
        """True once no background work is pending or running (tests, benchmarks)."""
        return self._worker.wait_idle(timeout) if self._worker is not None else True

    def close(self) -> None:
        if self._worker is not None:
            self._worker.close()

    # --- folding ----------------------------------------------------------------------------
    def _turn_tokens(self, text: str) -> int:
        return self.builder.count_text_tokens(text) + self.builder.turn_overhead_tokens if text else 0

    def fold_plan(self) -> FoldPlan | None:
        """Which oldest uncovered turns to fold now, or None while they fit in recent_tokens."""
        if not self.summarizing:
            return None
        summary, stored = self._uncovered()
        stored = [s for s in stored if s.turn.text]
        sizes = [self._turn_tokens(text) for text in self._represented_texts(stored)]
        total = sum(sizes)
        if total <= self.recent_tokens:
            return None
        room = self.summarizer.turn_room(summary.text if summary else "")
        chosen: list[StoredTurn] = []
        raw_tokens = 0
        for stored_turn, size in zip(stored[:len(stored) - RECENT_EXCHANGE_TURNS], sizes):
            if total <= self.recent_tokens * FOLD_TO_FRACTION:
                break
            turn_raw = self._turn_tokens(stored_turn.turn.text)
            if chosen and raw_tokens + turn_raw > room:
                break  # the rest goes into the next call
            chosen.append(stored_turn)
            raw_tokens += turn_raw
            total -= size
        return FoldPlan(summary, chosen) if chosen else None

    def _prepare_next_turn(self, cancel: threading.Event) -> bool:
        """The background work after a turn: one fold, then (nothing left to fold) the warm-up.
        True if there may be more to do (the worker calls again)."""
        if self.summarizing:
            try:
                if self._fold_once(cancel):
                    return True
            except Exception as error:  # reported; the turns stay as they are
                self._report_fold_error(error)
        if self.warm_model is not None and not cancel.is_set():
            prefix = self.builder.context_prefix_ids(self._build(NEXT_UTTERANCE_PLACEHOLDER, self.next_instruction()))
            self.last_warmed_tokens = self.warm_model.warm(prefix, cancel)
        return False

    def _fold_once(self, cancel: threading.Event) -> bool:
        """One summarizer call; True if it saved a summary (there may be more to fold)."""
        plan = self.fold_plan()
        if plan is None or cancel.is_set():
            return False
        previous = plan.previous.text if plan.previous else ""
        text = self.summarizer.summarize(previous, [s.turn for s in plan.turns], cancel)
        if text is None:
            return False  # preempted by a reply: the worker tries again afterwards
        covered = (plan.previous.covered_turns if plan.previous else 0) + len(plan.turns)
        return self.history.store.save_summary(self.history.session_id, text, plan.turns[-1].seq, covered,
                                               plan.previous.through_seq if plan.previous else 0)

    def _report_fold_error(self, error: Exception) -> None:
        self.on_warning(f"memory: the running summary could not be updated ({error!r}); older turns stay "
                        "unsummarized and the oldest are left out of the context when it is full")

    def _report_background_error(self, error: Exception) -> None:
        self.on_warning(f"memory: the next prompt could not be prepared ahead ({error!r}); the next reply "
                        "reads its whole context itself")
