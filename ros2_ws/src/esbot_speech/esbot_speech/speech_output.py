"""The TTS node's voice: reply sentences in, audio frames at the real playback rate out.

Sentences are synthesized as they arrive (one thread) and played frame by frame at real time
(another), so the next sentence is usually ready before the current one ends. While a turn
plays, everything a listener needs is reported as events: the speaking state, each audio frame
at its play time, the gestures for each sentence as it starts (offsets measured from the
turn's first sample, so they fall inside the speech they accompany), and at the end of the
turn what was actually spoken. interrupt() (barge-in) stops the audio within one frame and
drops the rest of that turn; the report then holds only the words the user heard
(barge_in.spoken_text). Pure Python: the node turns the events into ROS messages.
"""

import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from esbot_speech.barge_in import spoken_text
from esbot_speech.gestures import GestureConfig, GesturePlan, plan_gestures


@dataclass(frozen=True)
class SpeakingChanged:
    speaking: bool
    turn_id: str
    stamp: float


@dataclass(frozen=True, eq=False)
class AudioOut:
    turn_id: str
    samples: np.ndarray  # float32 mono
    sample_rate: int
    stamp: float  # when its first sample plays


@dataclass(frozen=True)
class GestureOut:
    turn_id: str
    plan: GesturePlan  # start_offset_s from the turn's first sample


@dataclass(frozen=True)
class SentenceStarted:
    turn_id: str
    text: str
    stamp: float


@dataclass(frozen=True)
class TurnSpoken:
    turn_id: str
    spoken_text: str  # what the user heard
    interrupted: bool
    spoken_s: float  # audio actually played
    speech_start: float | None  # stamp of the first sample; None if nothing was played
    synthesis_s: float  # total TTS compute for the turn's sentences


@dataclass
class _Sentence:
    turn_id: str
    text: str
    audio: np.ndarray | None  # None for the end-of-turn marker
    strategy: str = ""
    affect: str = ""
    synthesis_s: float = 0.0


@dataclass
class _Turn:
    turn_id: str
    strategy: str
    affect: str
    sentences: list = field(default_factory=list)  # (text, duration_s) of sentences started
    played_s: float = 0.0
    speech_start: float | None = None
    synthesis_s: float = 0.0


class SpeechOutput:
    def __init__(self, synthesize: Callable[[str], np.ndarray], sample_rate: int, gestures: GestureConfig,
                 on_event: Callable[[object], None], frame_s: float = 0.02, turn_idle_timeout_s: float = 15.0,
                 clock: Callable[[], float] = time.time):
        """synthesize: text -> float32 mono audio at sample_rate (Voice.synthesize).
        turn_idle_timeout_s: a turn whose end marker never comes (the dialogue node died) is
        closed this long after its last sentence, so the robot is not 'speaking' forever."""
        self._synthesize = synthesize
        self.sample_rate = sample_rate
        self.gestures = gestures
        self._on_event = on_event
        self._frame = max(1, round(frame_s * sample_rate))
        self._turn_idle_timeout_s = turn_idle_timeout_s
        self._clock = clock
        self._incoming: queue.Queue = queue.Queue()
        self._ready: queue.Queue = queue.Queue()
        self._cancelled: dict[str, None] = {}  # insertion-ordered set of interrupted turn ids
        self._reported: dict[str, None] = {}  # turns whose TurnSpoken went out (playback thread only)
        self._lock = threading.Lock()
        self._current: _Turn | None = None
        self._stopping = threading.Event()
        self._threads = [threading.Thread(target=self._synthesis_loop, name="tts-synthesis", daemon=True),
                         threading.Thread(target=self._playback_loop, name="tts-playback", daemon=True)]
        for thread in self._threads:
            thread.start()

    # --- called from any thread ---------------------------------------------------------------
    def say(self, turn_id: str, text: str, final: bool = False, strategy: str = "", affect: str = "") -> None:
        """Queue a sentence of a turn (text may be "" for the end marker alone); final ends the turn."""
        if text.strip():
            self._incoming.put(_Sentence(turn_id, text.strip(), np.zeros(0, np.float32), strategy, affect))
        if final:
            self._incoming.put(_Sentence(turn_id, "", None))

    def interrupt(self, turn_id: str = "") -> str:
        """Stop speaking turn_id ("" = whatever is playing) at once and drop the rest of it;
        returns the turn id that was stopped, or "" if there was nothing to stop."""
        with self._lock:
            target = turn_id or (self._current.turn_id if self._current else "")
            if not target or target in self._cancelled:
                return ""
            self._cancelled[target] = None
            while len(self._cancelled) > 256:
                self._cancelled.pop(next(iter(self._cancelled)))
        return target

    @property
    def current_turn(self) -> str:
        with self._lock:
            return self._current.turn_id if self._current else ""

    def close(self) -> None:
        self._stopping.set()
        self._incoming.put(None)
        self._ready.put(None)
        for thread in self._threads:
            thread.join(timeout=5.0)

    # --- threads ---------------------------------------------------------------------------
    def _is_cancelled(self, turn_id: str) -> bool:
        with self._lock:
            return turn_id in self._cancelled

    def _synthesis_loop(self) -> None:
        while not self._stopping.is_set():
            item = self._incoming.get()
            if item is None:
                return
            if item.audio is not None and not self._is_cancelled(item.turn_id):
                started = time.perf_counter()
                item.audio = self._synthesize(item.text)
                item.synthesis_s = time.perf_counter() - started
            self._ready.put(item)

    def _playback_loop(self) -> None:
        next_frame_at = 0.0  # when the audio queued so far has finished playing
        while not self._stopping.is_set():
            try:
                # While a turn is open, wake every frame: a barge-in during a pause between
                # sentences must end the turn at once, not when the next sentence arrives.
                item = self._ready.get(timeout=self._frame / self.sample_rate if self._current else 0.5)
            except queue.Empty:
                if self._current is not None and self._is_cancelled(self._current.turn_id):
                    self._end_turn(interrupted=True)
                elif self._current is not None and self._clock() - next_frame_at > self._turn_idle_timeout_s:
                    self._end_turn(interrupted=False)  # the end marker never came
                continue
            if item is None:
                return
            if self._current is not None and item.turn_id != self._current.turn_id:
                self._end_turn(interrupted=False)  # a new turn began without the last one's end marker
            if self._is_cancelled(item.turn_id):
                if self._current is not None:
                    self._end_turn(interrupted=True)
                elif item.audio is None and item.turn_id not in self._reported:  # cancelled before a word was said
                    self._report(TurnSpoken(item.turn_id, "", True, 0.0, None, 0.0))
                continue
            if item.audio is None:  # end of the turn, once its last frame has played
                time.sleep(max(0.0, next_frame_at - self._clock()))
                if self._current is not None:
                    self._end_turn(interrupted=False)
                else:
                    self._report(TurnSpoken(item.turn_id, "", False, 0.0, None, 0.0))  # nothing to say
                continue
            if self._current is None:
                with self._lock:
                    self._current = _Turn(item.turn_id, item.strategy, item.affect)
            self._current.synthesis_s += item.synthesis_s
            next_frame_at = self._play_sentence(item, max(next_frame_at, self._clock()))

    def _play_sentence(self, sentence: _Sentence, start_at: float) -> float:
        """Play one sentence from start_at on; returns when the next frame would play."""
        turn = self._current
        duration = len(sentence.audio) / self.sample_rate
        if duration == 0:
            return start_at
        if turn.speech_start is None:
            turn.speech_start = start_at
            self._on_event(SpeakingChanged(True, turn.turn_id, start_at))
        offset = start_at - turn.speech_start  # wall-clock: includes pauses between sentences
        turn.sentences.append((sentence.text, duration))
        self._on_event(SentenceStarted(turn.turn_id, sentence.text, start_at))
        already = sum(d for _, d in turn.sentences[:-1])
        for plan in plan_gestures(turn.sentences, turn.strategy, turn.affect, self.gestures):
            if plan.start_offset_s >= already:  # this sentence's gesture
                self._on_event(GestureOut(turn.turn_id, GesturePlan(
                    plan.name, plan.intensity, offset + plan.start_offset_s - already, plan.duration_s)))
        frame_at = start_at
        for begin in range(0, len(sentence.audio), self._frame):
            if self._is_cancelled(turn.turn_id) or self._stopping.is_set():
                self._end_turn(interrupted=True)
                return frame_at
            delay = frame_at - self._clock()
            if delay > 0:
                time.sleep(delay)
            samples = sentence.audio[begin:begin + self._frame]
            self._on_event(AudioOut(turn.turn_id, samples, self.sample_rate, frame_at))
            turn.played_s += len(samples) / self.sample_rate
            frame_at += len(samples) / self.sample_rate
        return frame_at

    def _report(self, spoken: TurnSpoken) -> None:
        """Each turn is reported once."""
        self._reported[spoken.turn_id] = None
        while len(self._reported) > 256:
            self._reported.pop(next(iter(self._reported)))
        self._on_event(spoken)

    def _end_turn(self, interrupted: bool) -> None:
        turn = self._current
        if turn is None:
            return
        with self._lock:
            self._current = None
        if interrupted:
            text, _ = spoken_text(turn.sentences, turn.played_s)
        else:  # every sentence played to its end (summing frame lengths would leave float crumbs)
            text = " ".join(sentence for sentence, _ in turn.sentences)
        self._report(TurnSpoken(turn.turn_id, text, interrupted, turn.played_s, turn.speech_start, turn.synthesis_s))
        if turn.speech_start is not None:
            self._on_event(SpeakingChanged(False, "", self._clock()))
