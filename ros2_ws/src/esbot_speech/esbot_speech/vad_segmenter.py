"""Utterances from a stream of (audio window, speech probability) pairs: the ASR node's ears.

States: idle -> candidate (a window reached `threshold`) -> speaking (the candidate stayed
speech for `min_speech_ms`: SpeechStarted, the barge-in signal) -> idle again after
`end_silence_ms` of silence (Utterance). Hysteresis as in Silero's own segmentation: once
speech has started, windows down to `negative_threshold` still count as speech, and a silence
run, once begun below `negative_threshold`, only ends on a window back above `threshold`.

Every Utterance is preceded by exactly one SpeechStarted. Its audio is the stream from
`start_sample` (the detected onset minus up to `pre_speech_ms`, never reaching back into the
previous utterance) to `end_sample` (where the ending silence began). Sample indices count
from the first window pushed after construction or reset().
"""

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SpeechStarted:
    start_sample: int  # first sample of the window where speech was detected (no pre-roll)


@dataclass(frozen=True, eq=False)  # eq=False: comparing numpy arrays with == is elementwise
class Utterance:
    audio: np.ndarray  # float32, exactly the stream's samples [start_sample, end_sample)
    start_sample: int
    end_sample: int
    cut_reason: str  # "silence", "max_length" or "end_of_stream"
    speech_start_sample: int  # the detected onset (start_sample plus the pre-roll actually used)


class VadSegmenter:
    def __init__(self, threshold: float = 0.5, negative_threshold: float | None = None,
                 min_speech_ms: float = 250, end_silence_ms: float = 600, pre_speech_ms: float = 300,
                 max_utterance_s: float = 20, sample_rate: int = 16000):
        if negative_threshold is None:
            negative_threshold = max(threshold - 0.15, 0.01)
        if not 0 < negative_threshold <= threshold <= 1:
            raise ValueError(f"need 0 < negative_threshold ({negative_threshold}) <= threshold "
                             f"({threshold}) <= 1")
        if min(min_speech_ms, end_silence_ms, pre_speech_ms) < 0 or sample_rate <= 0:
            raise ValueError("durations must not be negative and the sample rate must be positive")
        self.threshold, self.negative_threshold = threshold, negative_threshold
        self._min_speech = round(min_speech_ms * sample_rate / 1000)
        self._end_silence = round(end_silence_ms * sample_rate / 1000)
        self._pre_speech = round(pre_speech_ms * sample_rate / 1000)
        self._max_utterance = round(max_utterance_s * sample_rate)
        if self._max_utterance <= self._pre_speech + self._min_speech:
            raise ValueError(f"max_utterance_s ({max_utterance_s}) must leave room for "
                             f"pre_speech_ms + min_speech_ms")
        self.reset()

    def reset(self) -> None:
        self._chunks: list[tuple[int, np.ndarray]] = []  # (stream index, samples), kept as needed
        self._now = 0  # samples pushed so far
        self._floor = 0  # earliest sample a pre-roll may use: the end of the last utterance
        self._speech_start = None  # onset of the candidate or utterance; None when idle
        self._audio_start = 0  # onset minus pre-roll
        self._confirmed = False
        self._silence_start = None  # where the current silence run began, if one is under way

    @property
    def samples_pushed(self) -> int:
        """Stream position: samples pushed since construction or reset()."""
        return self._now

    def push(self, window: np.ndarray, probability: float) -> list:
        """Feed the next window of audio (any length; 512 samples from the VAD) and its probability."""
        window = np.array(window, dtype=np.float32)  # a copy: callers may reuse their frame buffers
        start, end = self._now, self._now + len(window)
        self._chunks.append((start, window))
        self._now = end
        events = []
        if self._speech_start is None:
            if probability < self.threshold:
                self._forget_before(max(self._floor, end - self._pre_speech))
                return events
            self._speech_start, self._confirmed, self._silence_start = start, False, None
            self._audio_start = max(self._floor, start - self._pre_speech)
        elif probability >= self.threshold:
            self._silence_start = None
        elif probability < self.negative_threshold and self._silence_start is None:
            self._silence_start = start

        if not self._confirmed:
            if self._silence_start is not None:
                # A blip: shorter than min_speech before it fell silent. Back to idle; its audio
                # stays available as pre-roll for a real onset just after it.
                self._speech_start = None
                self._forget_before(max(self._floor, end - self._pre_speech))
            elif end - self._speech_start >= self._min_speech:
                self._confirmed = True
                events.append(SpeechStarted(self._speech_start))
        elif self._silence_start is not None and end - self._silence_start >= self._end_silence:
            events.append(self._emit(self._silence_start, "silence"))
        elif end - self._audio_start > self._max_utterance:
            if self._silence_start is not None:
                # Speech already stopped: end it there rather than start a silent continuation.
                events.append(self._emit(self._silence_start, "max_length"))
            else:
                cut = self._audio_start + self._max_utterance
                events.append(self._emit(cut, "max_length"))
                # The speaker is still talking: the next utterance continues seamlessly.
                self._speech_start = self._audio_start = cut
                self._confirmed = True
                events.append(SpeechStarted(cut))
        return events

    def flush(self) -> list:
        """End of stream: an utterance under way is emitted (cut_reason "end_of_stream"); then reset."""
        events = []
        if self._confirmed:
            end = self._silence_start if self._silence_start is not None else self._now
            events.append(self._emit(end, "end_of_stream"))
        self.reset()
        return events

    def _emit(self, end: int, cut_reason: str) -> Utterance:
        utterance = Utterance(self._slice(self._audio_start, end), self._audio_start, end, cut_reason,
                              self._speech_start)
        self._floor = end
        self._speech_start, self._confirmed, self._silence_start = None, False, None
        self._forget_before(end)  # the idle state trims the rest down to the pre-roll
        return utterance

    def _slice(self, begin: int, end: int) -> np.ndarray:
        parts = [chunk[max(begin - start, 0):end - start] for start, chunk in self._chunks
                 if start < end and start + len(chunk) > begin]
        return np.concatenate(parts) if parts else np.zeros(0, np.float32)

    def _forget_before(self, sample: int) -> None:
        while self._chunks and self._chunks[0][0] + len(self._chunks[0][1]) <= sample:
            self._chunks.pop(0)
