"""The ASR node's ears: microphone frames in, speech onsets and whole utterances out.

Frames (any rate, any channel count, stamped with the time of their first sample) are
resampled to 16 kHz, cut into Silero's 32 ms windows, scored by the VAD and, while the robot's
voice can be in the microphone, passed through the echo gate: a window that is only the robot's
echo counts as silence, so the robot never hears itself, while the user talking over the robot
still starts an utterance (barge-in). Pure Python over numpy and onnxruntime: no ROS.
"""

from dataclasses import dataclass

import numpy as np

from esbot_speech.audio_format import ASR_SAMPLE_RATE, Resampler, clipping_fraction
from esbot_speech.echo_gate import EchoGate
from esbot_speech.silero_vad import WINDOW_SAMPLES, StreamingSileroVad
from esbot_speech.vad_segmenter import SpeechStarted, Utterance, VadSegmenter

# A stamp further than this from where the stream should be means frames were lost (or the
# source restarted): the stream restarts there rather than smearing time.
MAX_STAMP_DRIFT_S = 0.5


@dataclass(frozen=True)
class SpeechOnset:
    stamp: float  # first voiced sample
    over_robot_speech: bool  # the robot's voice was playing: this is a barge-in


@dataclass(frozen=True, eq=False)
class HeardUtterance:
    audio: np.ndarray  # float32 mono 16 kHz, pre-speech buffer included
    speech_start: float  # stamp of the first voiced sample
    speech_end: float  # stamp where the closing silence began
    closed_at: float  # stamp of the audio that ended it (speech_end + the end-of-speech silence)
    cut_reason: str  # "silence", "max_length" (split: the user is still talking) or "end_of_stream"
    clipped_fraction: float  # share of samples at full scale


class UtteranceDetector:
    def __init__(self, segmenter: VadSegmenter, vad: StreamingSileroVad, echo_gate: EchoGate | None = None,
                 reference_wait_s: float = 0.0):
        """reference_wait_s: how far behind the newest microphone audio windows are judged, so
        the robot's speaker audio (the echo reference, which travels on its own topic and may
        arrive after the microphone frames carrying its echo) is there when they are."""
        self.segmenter = segmenter
        self.vad = vad
        self.echo_gate = echo_gate
        self._held_back = round(reference_wait_s * ASR_SAMPLE_RATE)
        self._resampler: Resampler | None = None
        self._input_rate = None
        self._pending = np.zeros(0, np.float32)  # 16 kHz samples not yet a whole window
        self._stream_origin = None  # stamp of stream sample 0 (the segmenter's sample index)
        self._expected_stamp = None  # where the next input frame should start
        self._onset_over_robot = False

    def reset(self) -> None:
        """Forget the stream (a new source, or a gap): the utterance in progress is dropped."""
        self.segmenter.reset()
        self.vad.reset()
        self._resampler = None
        self._pending = np.zeros(0, np.float32)
        self._stream_origin = self._expected_stamp = None

    def push(self, audio: np.ndarray, sample_rate: int, stamp: float) -> list:
        """Mono float samples at `sample_rate`, the first one captured at `stamp`; returns the
        SpeechOnset and HeardUtterance events they complete, in order."""
        events = []
        if sample_rate != self._input_rate:
            events += self.flush() if self._input_rate else []
            self._input_rate = sample_rate
            self._resampler = None
        if self._expected_stamp is not None and abs(stamp - self._expected_stamp) > MAX_STAMP_DRIFT_S:
            events += self.flush()
        self._expected_stamp = stamp + len(audio) / sample_rate
        if self._resampler is None and sample_rate != ASR_SAMPLE_RATE:
            self._resampler = Resampler(sample_rate, ASR_SAMPLE_RATE)
        samples = self._resampler.process(audio) if self._resampler else np.asarray(audio, np.float32)
        # Anchor the stream's clock to every frame's stamp rather than counting samples from the
        # first one: after lost frames, counting would put every later stamp early, and the echo
        # gate would then look for the robot's voice at the wrong time.
        self._stream_origin = stamp - (self.segmenter.samples_pushed + len(self._pending)) / ASR_SAMPLE_RATE
        self._pending = np.concatenate([self._pending, samples])
        return events + self._score_windows(keep=self._held_back)

    def _score_windows(self, keep: int) -> list:
        count = max(0, (len(self._pending) - keep) // WINDOW_SAMPLES)
        if count == 0:
            return []
        ready = self._pending[:count * WINDOW_SAMPLES]
        self._pending = self._pending[count * WINDOW_SAMPLES:]
        # One VAD run for all ready windows: after a busy spell the backlog is cleared at once.
        probabilities = [probability for _, probability in self.vad.process(ready)]
        events = []
        for index, probability in enumerate(probabilities):
            events += self._score(ready[index * WINDOW_SAMPLES:(index + 1) * WINDOW_SAMPLES], probability)
        return events

    def flush(self) -> list:
        """End of stream: judge what was held back, close the utterance in progress, if any,
        and start afresh."""
        events = self._score_windows(keep=0) if self._stream_origin is not None else []
        position = self.segmenter.samples_pushed
        events += [self._heard(utterance, position) for utterance in self.segmenter.flush()]
        self.reset()
        return events

    def _score(self, window: np.ndarray, probability: float) -> list:
        start = self._stamp(self.segmenter.samples_pushed)
        if self.echo_gate is not None and not self.echo_gate.user_present(start, window, ASR_SAMPLE_RATE):
            probability = 0.0  # the robot's own voice: not speech as far as listening goes
        events = []
        for event in self.segmenter.push(window, probability):
            if isinstance(event, SpeechStarted):
                stamp = self._stamp(event.start_sample)
                over_robot = self.echo_gate is not None and self.echo_gate.robot_audible(stamp, stamp + 0.05)
                events.append(SpeechOnset(stamp, over_robot))
            else:
                events.append(self._heard(event, self.segmenter.samples_pushed))
        return events

    def _stamp(self, sample: int) -> float:
        return self._stream_origin + sample / ASR_SAMPLE_RATE

    def _heard(self, utterance: Utterance, closed_at_sample: int) -> HeardUtterance:
        return HeardUtterance(
            audio=utterance.audio, speech_start=self._stamp(utterance.speech_start_sample),
            speech_end=self._stamp(utterance.end_sample), closed_at=self._stamp(closed_at_sample),
            cut_reason=utterance.cut_reason, clipped_fraction=clipping_fraction(utterance.audio))
