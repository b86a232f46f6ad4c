"""The ASR node's pipeline without ROS: microphone audio in; barge-ins, the listening state and
accepted transcripts out, through callbacks.

Whoever receives the audio (a ROS subscription, a sound device callback) only queues it, so a
busy spell (transcribing, the LLM on the same cores) never makes the transport drop frames. A
listener thread judges the queued frames in batches (listening.UtteranceDetector: resampling,
Silero VAD, echo gate, segmentation), so a backlog is cleared in one VAD run, and hands each
utterance heard to a transcription thread: the microphone is never left unread while Whisper
runs. Bad audio or a failed transcription is logged and the pipeline goes on listening.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Protocol

import numpy as np

from esbot_common.log import Log
from esbot_speech.audio_format import ASR_SAMPLE_RATE, AudioFormatError, decode_frame
from esbot_speech.listening import HeardUtterance, SpeechOnset, UtteranceDetector
from esbot_speech.transcriber import Recognition, rejection_reason

# A warning of one kind is logged at most this often, so a bad stream does not flood the log.
WARNING_INTERVAL_S = 5.0


class SpeechRecognizer(Protocol):
    """What the pipeline needs of transcriber.Transcriber."""

    def transcribe(self, audio_16k: np.ndarray) -> Recognition: ...


class AsrPipeline:
    def __init__(self, detector: UtteranceDetector, recognizer: SpeechRecognizer, *, min_confidence: float,
                 max_no_speech_probability: float, max_utterance_s: float,
                 on_barge_in: Callable[[str, float], None], on_listening: Callable[[bool, bool], None],
                 on_transcript: Callable[[Recognition, HeardUtterance], None], log: Log) -> None:
        """on_barge_in(interrupted turn id or "", stamp of the user's onset); on_listening(user
        speaking, utterances waiting to be transcribed), called when either changes;
        on_transcript(recognition, what was heard) for every transcript worth answering. The
        thresholds are rejection_reason's; max_utterance_s is the detector's, for the log."""
        self.detector = detector
        self.recognizer = recognizer
        self.min_confidence = min_confidence
        self.max_no_speech_probability = max_no_speech_probability
        self.max_utterance_s = max_utterance_s
        self.on_barge_in = on_barge_in
        self.on_listening = on_listening
        self.on_transcript = on_transcript
        self.log = log
        self.counters = {name: 0 for name in ("frames", "frames_rejected", "utterances", "transcripts",
                                              "utterances_rejected", "utterances_split", "barge_ins",
                                              "clipped_utterances")}
        self.microphone_format: tuple[int, int, str] | None = None  # (rate, channels, encoding) of the last frame
        self._heard_frames: queue.Queue = queue.Queue()  # (mono audio, rate, stamp) from the microphone
        self._utterances: queue.Queue = queue.Queue()
        self._detector_lock = threading.Lock()  # microphone and speaker audio may come in parallel
        self._listening_lock = threading.Lock()
        self._user_speaking = False
        self._untranscribed = 0  # utterances heard and not transcribed yet
        self._speaking_turn = ""  # the robot's turn being spoken, "" when silent
        self._last_warning: dict[str, float] = {}  # kind -> monotonic time
        self._stopping = threading.Event()
        self._transcription = threading.Thread(target=self._transcribe_utterances, name="asr-worker", daemon=True)
        self._listener = threading.Thread(target=self._listen, name="asr-listener", daemon=True)

    def start(self) -> None:
        self._transcription.start()
        self._listener.start()

    def stop(self) -> None:
        """Stop both threads (a transcription in progress may take a while to finish)."""
        self._stopping.set()
        self._transcription.join(timeout=10.0)
        self._listener.join(timeout=2.0)

    # --- audio in --------------------------------------------------------------------------
    def hear_frame(self, data: bytes, encoding: str, channels: int, sample_rate: int, stamp: float) -> None:
        """An encoded microphone frame whose first sample was captured at stamp."""
        self.counters["frames"] += 1
        try:
            audio = decode_frame(data, encoding, channels, sample_rate)
        except AudioFormatError as error:
            self.counters["frames_rejected"] += 1
            self.warn_now_and_then("format", f"microphone frame dropped: {error}")
            return
        audio_format = (sample_rate, channels, encoding)
        if self.microphone_format is not None and audio_format != self.microphone_format:
            self.log.warning(f"microphone format changed from {self.microphone_format} to {audio_format}: "
                             "resampling and downmixing to 16 kHz mono from here on")
        self.microphone_format = audio_format
        self.hear_samples(audio, sample_rate, stamp)

    def hear_samples(self, audio: np.ndarray, sample_rate: int, stamp: float) -> None:
        """Mono float microphone samples whose first one was captured at stamp."""
        self._heard_frames.put((audio, sample_rate, stamp))

    def hear_robot(self, data: bytes, encoding: str, channels: int, sample_rate: int, stamp: float) -> None:
        """An encoded frame of the robot's own voice as played: the echo reference."""
        try:
            audio = decode_frame(data, encoding, channels, sample_rate)
        except AudioFormatError as error:
            self.warn_now_and_then("reference", f"speaker frame not usable as echo reference: {error}")
            return
        with self._detector_lock:
            self.detector.echo_gate.add_reference(stamp, audio, sample_rate)

    def set_robot_speaking(self, turn_id: str) -> None:
        """The robot's turn being spoken ("" when silent): the user speaking now is a barge-in."""
        self._speaking_turn = turn_id

    def warn_now_and_then(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -1e9) >= WARNING_INTERVAL_S:
            self._last_warning[kind] = now
            self.log.warning(message)

    def status(self) -> dict[str, str]:
        """The pipeline's diagnostics."""
        return {"loudest_echo_loss_db": f"{self.detector.echo_gate.min_echo_loss_db:.1f}",
                "microphone_format": str(self.microphone_format or "none yet"),
                **{name: str(value) for name, value in self.counters.items()}}

    # --- listening ---------------------------------------------------------------------------
    def _listen(self) -> None:
        while not self._stopping.is_set():
            try:
                audio, rate, stamp = self._heard_frames.get(timeout=0.2)
            except queue.Empty:
                continue
            while True:  # join the frames that follow on at the same rate
                try:
                    more, more_rate, _ = self._heard_frames.queue[0]
                except IndexError:
                    break
                if more_rate != rate:
                    break
                self._heard_frames.get_nowait()
                audio = np.concatenate([audio, more])
            try:
                self._hear(audio, rate, stamp)
            except Exception as error:  # bad audio must never stop the robot listening
                self.log.error(f"microphone audio could not be processed: {error!r}")

    def _hear(self, audio: np.ndarray, sample_rate: int, stamp: float) -> None:
        with self._detector_lock:
            events = self.detector.push(audio, sample_rate, stamp)
        for event in events:
            if isinstance(event, SpeechOnset):
                self._update_listening(user_speaking=True)
                if event.over_robot_speech or self._speaking_turn:
                    self.counters["barge_ins"] += 1
                    self.on_barge_in(self._speaking_turn, event.stamp)
                    self.log.info(f"barge-in: the user speaks over turn {self._speaking_turn or '?'}")
            elif isinstance(event, HeardUtterance):
                self._update_listening(user_speaking=False, untranscribed=+1)
                self._utterances.put(event)

    def _update_listening(self, user_speaking: bool | None = None, untranscribed: int = 0) -> None:
        """Report the listening state when it changes (the listener and transcription threads)."""
        with self._listening_lock:
            before = (self._user_speaking, self._untranscribed > 0)
            if user_speaking is not None:
                self._user_speaking = user_speaking
            self._untranscribed += untranscribed
            now = (self._user_speaking, self._untranscribed > 0)
            if now != before:
                self.on_listening(*now)

    # --- transcribing ------------------------------------------------------------------------
    def _transcribe_utterances(self) -> None:
        while not self._stopping.is_set():
            try:
                heard = self._utterances.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._transcribe(heard)
            except Exception as error:  # one bad utterance must not stop the robot listening
                self.log.error(f"transcription failed: {error!r}")
            finally:
                self._update_listening(untranscribed=-1)

    def _transcribe(self, heard: HeardUtterance) -> None:
        self.counters["utterances"] += 1
        length = len(heard.audio) / ASR_SAMPLE_RATE
        if heard.cut_reason == "max_length":
            self.counters["utterances_split"] += 1
            self.log.warning(f"speech longer than max_utterance_s ({self.max_utterance_s} s): split, and each "
                             "part answered as it comes")
        if heard.clipped_fraction > 0.01:
            self.counters["clipped_utterances"] += 1
            self.log.warning(f"{heard.clipped_fraction:.1%} of the utterance is clipped: the microphone gain is "
                             "too high; transcribing it anyway")
        recognition = self.recognizer.transcribe(heard.audio)
        reason = rejection_reason(recognition, self.min_confidence, self.max_no_speech_probability)
        if reason is not None:
            self.counters["utterances_rejected"] += 1
            self.log.warning(f"{length:.1f} s of speech not published: {reason}")
            return
        self.on_transcript(recognition, heard)
        self.counters["transcripts"] += 1
        self.log.info(f"heard ({recognition.confidence:.2f}, {recognition.processing_s:.2f} s for "
                      f"{length:.1f} s): {recognition.text}")
