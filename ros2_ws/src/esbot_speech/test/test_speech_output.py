"""The TTS core with the real Piper voice: real-time playback, timed gestures, barge-in."""

import threading
import time
from pathlib import Path

import pytest

from esbot_speech.gestures import load_gesture_config
from esbot_speech.speech_output import AudioOut, GestureOut, SpeakingChanged, SpeechOutput, TurnSpoken
from esbot_speech.voice import Voice, VoiceLoadError

GESTURES = Path(__file__).resolve().parents[1] / "config" / "gestures.yaml"
REPLY = ["I'm so sorry to hear that.", "That sounds really lonely.", "What do you miss most about your friend?"]


@pytest.fixture(scope="module")
def voice():
    return Voice()


class Recorder:
    def __init__(self):
        self.events = []
        self.done = threading.Event()

    def __call__(self, event):
        self.events.append((time.time(), event))
        if isinstance(event, TurnSpoken):
            self.done.set()

    def of(self, kind):
        return [event for _, event in self.events if isinstance(event, kind)]


@pytest.fixture
def speak(voice):
    outputs = []

    def make(**options):
        recorder = Recorder()
        output = SpeechOutput(voice.synthesize, voice.sample_rate, load_gesture_config(GESTURES), recorder, **options)
        outputs.append(output)
        return output, recorder

    yield make
    for output in outputs:
        output.close()


def test_a_whole_reply_is_played_in_real_time_with_gestures_inside_its_speech(speak, voice):
    output, recorder = speak()
    started = time.time()
    for sentence in REPLY:
        output.say("t1", sentence)
    output.say("t1", "", final=True)
    assert recorder.done.wait(30)
    [report] = recorder.of(TurnSpoken)
    assert report.spoken_text == " ".join(REPLY) and not report.interrupted
    frames = recorder.of(AudioOut)
    audio_s = sum(len(f.samples) for f in frames) / voice.sample_rate
    assert report.spoken_s == pytest.approx(audio_s) and audio_s > 3.0
    assert all(f.sample_rate == voice.sample_rate == 22050 for f in frames)
    assert time.time() - started >= audio_s - 0.1  # played at the real rate, not dumped at once
    stamps = [f.stamp for f in frames]
    assert stamps == sorted(stamps) and report.speech_start == stamps[0]
    gestures = [g.plan for g in recorder.of(GestureOut)]
    assert [g.name for g in gestures] == ["hand_on_chest", "hand_on_chest", "head_tilt"]  # sorry, lonely, question
    speech_end = stamps[-1] - stamps[0] + len(frames[-1].samples) / voice.sample_rate
    assert all(0 <= g.start_offset_s < speech_end and g.start_offset_s + g.duration_s <= speech_end + 1e-6
               for g in gestures)
    assert [e.speaking for e in recorder.of(SpeakingChanged)] == [True, False]


def test_barge_in_stops_the_voice_within_a_frame_and_reports_what_was_heard(speak, voice):
    output, recorder = speak(frame_s=0.02)
    for sentence in REPLY:
        output.say("t2", sentence)
    while not recorder.of(AudioOut) or time.time() - recorder.events[0][0] < 2.2:
        time.sleep(0.01)  # let it speak into the second sentence
    interrupted_at = time.time()
    assert output.interrupt() == "t2"
    assert recorder.done.wait(5)
    last_frame_sent = max(t for t, e in recorder.events if isinstance(e, AudioOut))
    assert last_frame_sent - interrupted_at < 0.05  # at most the frame already under way
    [report] = recorder.of(TurnSpoken)
    assert report.interrupted and report.spoken_text.startswith(REPLY[0])
    assert REPLY[2] not in report.spoken_text and report.spoken_text != " ".join(REPLY)
    assert recorder.of(SpeakingChanged)[-1].speaking is False
    # The rest of the interrupted turn, arriving late, is never spoken.
    frames = len(recorder.of(AudioOut))
    output.say("t2", "And one more thing.", final=True)
    time.sleep(1.0)
    assert len(recorder.of(AudioOut)) == frames and len(recorder.of(TurnSpoken)) == 1
    assert output.interrupt("t2") == ""  # already stopped


def test_a_reply_whose_end_never_comes_is_closed_after_the_idle_timeout(speak):
    output, recorder = speak(turn_idle_timeout_s=1.0)
    output.say("t3", "Hello there.")
    assert recorder.done.wait(10)
    [report] = recorder.of(TurnSpoken)
    assert report.spoken_text == "Hello there." and not report.interrupted


def test_a_missing_voice_is_a_clear_error(tmp_path):
    with pytest.raises(VoiceLoadError, match="not found"):
        Voice(str(tmp_path / "nope.onnx"))
