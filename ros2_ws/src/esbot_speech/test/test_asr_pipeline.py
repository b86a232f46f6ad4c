"""The ASR pipeline without ROS: frames batched on the listener thread, barge-ins, the listening
state, utterances handed to a (fake) recognizer, failures logged; and once end to end with the
real detector on spoken audio."""

import logging
import struct
import threading
import time

import numpy as np
import pytest

from esbot_speech.asr_pipeline import AsrPipeline
from esbot_speech.echo_gate import EchoGate
from esbot_speech.listening import HeardUtterance, SpeechOnset, UtteranceDetector
from esbot_speech.silero_vad import StreamingSileroVad
from esbot_speech.transcriber import Recognition
from esbot_speech.vad_segmenter import VadSegmenter

RATE = 16000
WAIT_S = 10.0
LOGGER = "test_asr_pipeline"


class FakeEchoGate:
    min_echo_loss_db = 21.5

    def __init__(self):
        self.references = []

    def add_reference(self, stamp, audio, sample_rate):
        self.references.append((stamp, len(audio), sample_rate))


class ScriptedDetector:
    """Records each push (samples, rate, stamp) and returns the next scripted list of events."""

    def __init__(self, *events):
        self.events = list(events)
        self.pushes = []
        self.echo_gate = FakeEchoGate()

    def push(self, audio, sample_rate, stamp):
        self.pushes.append((len(audio), sample_rate, stamp))
        return self.events.pop(0) if self.events else []


class FakeRecognizer:
    """Hears, utterance after utterance, the texts it is given: a text (confident), a (text,
    confidence) pair, or "boom", which fails."""

    def __init__(self, *heard):
        self.heard = list(heard)

    def transcribe(self, audio_16k):
        item = self.heard.pop(0)
        text, confidence = item if isinstance(item, tuple) else (item, 0.9)
        if text == "boom":
            raise RuntimeError("decoder failed")
        return Recognition(text, "en", confidence, 0.01, 0.2)


def heard(seconds=1.0, cut_reason="silence", clipped=0.0, start=1.0):
    return HeardUtterance(np.zeros(round(seconds * RATE), np.float32), start, start + seconds, start + seconds + 0.5,
                          cut_reason, clipped)


class Outputs:
    def __init__(self):
        self.barge_ins, self.listening, self.transcripts = [], [], []
        self.done = threading.Event()


def pipeline_for(detector, recognizer, outputs):
    def on_transcript(recognition, utterance):
        outputs.transcripts.append((recognition.text, utterance.speech_start))

    def on_listening(user_speaking, transcribing):
        outputs.listening.append((user_speaking, transcribing))
        if outputs.listening[-1] == (False, False):
            outputs.done.set()

    return AsrPipeline(detector, recognizer, min_confidence=0.35,
                       max_no_speech_probability=0.6, max_utterance_s=20.0,
                       on_barge_in=lambda turn_id, stamp: outputs.barge_ins.append((turn_id, stamp)),
                       on_listening=on_listening, on_transcript=on_transcript, log=logging.getLogger(LOGGER))


@pytest.fixture
def log(caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    return caplog


def lines(log, level):
    return [record.getMessage() for record in log.records if record.levelname == level]


def wait_until(condition):
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def pcm(samples):
    return struct.pack(f"<{len(samples)}h", *samples)


def test_frames_waiting_are_judged_together_until_the_rate_changes(log):
    detector = ScriptedDetector()
    pipeline = pipeline_for(detector, FakeRecognizer(), Outputs())
    for index in range(3):
        pipeline.hear_samples(np.zeros(320, np.float32), RATE, 10.0 + 0.02 * index)
    pipeline.hear_samples(np.zeros(960, np.float32), 48000, 10.06)
    pipeline.hear_samples(np.zeros(320, np.float32), RATE, 10.08)
    pipeline.start()
    try:
        wait_until(lambda: len(detector.pushes) == 3)
    finally:
        pipeline.stop()
    # A backlog is one VAD run, stamped with its first frame's time; a rate change starts the next.
    assert detector.pushes == [(960, RATE, 10.0), (960, 48000, 10.06), (320, RATE, 10.08)]


def test_speech_over_the_robot_is_a_barge_in_and_each_utterance_is_transcribed(log):
    detector = ScriptedDetector([SpeechOnset(1.0, over_robot_speech=True), heard(start=1.0)],
                                [SpeechOnset(5.0, over_robot_speech=False), heard(start=5.0)],
                                [SpeechOnset(9.0, over_robot_speech=False), heard(start=9.0)])
    outputs = Outputs()
    pipeline = pipeline_for(detector, FakeRecognizer("Sorry, wait.", "I mean it.", "Thank you."), outputs)
    pipeline.start()
    try:
        pipeline.set_robot_speaking("turn-7")
        for number, stamp in enumerate((1.0, 5.0, 9.0)):
            if stamp == 9.0:
                pipeline.set_robot_speaking("")  # the robot is silent now: speaking is no barge-in
            pipeline.hear_samples(np.zeros(320, np.float32), RATE, stamp)  # an onset and an utterance
            wait_until(lambda: len(outputs.listening) == 3 * (number + 1))  # ...transcribed
    finally:
        pipeline.stop()
    assert outputs.barge_ins == [("turn-7", 1.0), ("turn-7", 5.0)]
    assert outputs.transcripts == [("Sorry, wait.", 1.0), ("I mean it.", 5.0), ("Thank you.", 9.0)]
    # Each utterance: the user speaks, then it waits to be transcribed, then nothing is pending.
    assert outputs.listening == [(True, False), (False, True), (False, False)] * 3
    status = pipeline.status()
    assert (status["barge_ins"], status["utterances"], status["transcripts"]) == ("2", "3", "3")
    assert lines(log, "INFO")[0] == "barge-in: the user speaks over turn turn-7"


def test_doubtful_split_clipped_and_failed_utterances(log):
    detector = ScriptedDetector([heard(cut_reason="max_length"), heard(clipped=0.05), heard(), heard()])
    outputs = Outputs()
    pipeline = pipeline_for(detector, FakeRecognizer("boom", "Thank you.", ("Mm hm.", 0.2), "Still here."), outputs)
    pipeline.hear_samples(np.zeros(320, np.float32), RATE, 1.0)
    pipeline.start()
    try:
        wait_until(lambda: pipeline.counters["utterances"] == 4)
    finally:
        pipeline.stop()  # lets the last utterance finish
    assert outputs.transcripts == [("Thank you.", 1.0), ("Still here.", 1.0)]
    assert outputs.listening[-1] == (False, False)
    assert lines(log, "ERROR") == ["transcription failed: RuntimeError('decoder failed')"]
    assert lines(log, "WARNING") == [
        "speech longer than max_utterance_s (20.0 s): split, and each part answered as it comes",
        "5.0% of the utterance is clipped: the microphone gain is too high; transcribing it anyway",
        "1.0 s of speech not published: confidence 0.20 below 0.35: 'Mm hm.'"]
    status = pipeline.status()
    assert [status[name] for name in ("utterances", "utterances_split", "clipped_utterances", "utterances_rejected",
                                      "transcripts")] == ["4", "1", "1", "1", "2"]


def test_encoded_frames_echo_reference_and_diagnostics(log):
    detector = ScriptedDetector()
    pipeline = pipeline_for(detector, FakeRecognizer(), Outputs())
    pipeline.hear_frame(pcm([0] * 320), "pcm_s16le", 1, RATE, 1.0)
    pipeline.hear_frame(pcm([0] * 1920), "pcm_s16le", 2, 48000, 1.02)  # stereo 48 kHz: downmixed
    pipeline.hear_frame(b"\x00", "pcm_s16le", 1, RATE, 1.04)  # half a sample
    pipeline.hear_frame(b"\x00", "pcm_s16le", 1, RATE, 1.06)  # again: not logged again so soon
    pipeline.hear_robot(pcm([0] * 320), "pcm_s16le", 1, RATE, 1.0)
    pipeline.hear_robot(b"", "opus", 1, RATE, 1.02)
    assert detector.echo_gate.references == [(1.0, 320, RATE)]
    warnings = lines(log, "WARNING")
    assert warnings[0] == ("microphone format changed from (16000, 1, 'pcm_s16le') to (48000, 2, 'pcm_s16le'): "
                           "resampling and downmixing to 16 kHz mono from here on")
    assert [w.split(":")[0] for w in warnings[1:]] == ["microphone frame dropped", "speaker frame not usable as echo "
                                                                                   "reference"]
    assert pipeline.status() == {
        "loudest_echo_loss_db": "21.5", "microphone_format": "(48000, 2, 'pcm_s16le')", "frames": "4",
        "frames_rejected": "2", "utterances": "0", "transcripts": "0", "utterances_rejected": "0",
        "utterances_split": "0", "barge_ins": "0", "clipped_utterances": "0"}


def test_spoken_audio_through_the_real_detector(espeak, log):
    user = espeak("I have been feeling really stressed about my exams lately.")
    audio = np.concatenate([np.zeros(RATE, np.float32), user, np.zeros(RATE, np.float32)])
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), EchoGate())
    outputs = Outputs()
    pipeline = pipeline_for(detector, FakeRecognizer("I have been feeling really stressed."), outputs)
    pipeline.start()
    try:
        for begin in range(0, len(audio), 320):
            pipeline.hear_samples(audio[begin:begin + 320], RATE, 100.0 + begin / RATE)
        assert outputs.done.wait(WAIT_S)
    finally:
        pipeline.stop()
    [(text, speech_start)] = outputs.transcripts
    assert text == "I have been feeling really stressed." and 100.9 < speech_start < 101.3
    assert outputs.barge_ins == [] and outputs.listening == [(True, False), (False, True), (False, False)]
