"""The ASR node's ears without ROS: real Silero VAD, the echo gate, the robot's real voice as echo."""

import numpy as np
import pytest

from esbot_speech.audio_format import resample
from esbot_speech.echo_gate import EchoGate, rms
from esbot_speech.listening import HeardUtterance, SpeechOnset, UtteranceDetector
from esbot_speech.silero_vad import StreamingSileroVad
from esbot_speech.vad_segmenter import VadSegmenter

RATE = 16000
ECHO_GAIN, ECHO_DELAY = 0.1, 0.05  # as the mock humanoid's defaults: 20 dB down, 50 ms late


def silence(seconds):
    return np.zeros(round(seconds * RATE), np.float32)


def listen(mic, rate=RATE, reference=None, reference_start=0.0, frame_s=0.02, gate=True):
    """Push `mic` frame by frame (stamps from 0) with the reference already known; the events."""
    echo_gate = EchoGate(echo_loss_db=20.0) if gate else None
    if reference is not None:
        for begin in range(0, len(reference), 320):
            echo_gate.add_reference(reference_start + begin / RATE, reference[begin:begin + 320], RATE)
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), echo_gate)
    frame = round(frame_s * rate)
    events = []
    for begin in range(0, len(mic), frame):
        events += detector.push(mic[begin:begin + frame], rate, begin / rate)
    return events + detector.flush()


def with_echo(robot, start, total_s):
    mic = silence(total_s)
    begin = round((start + ECHO_DELAY) * RATE)
    mic[begin:begin + len(robot)] += ECHO_GAIN * robot[:len(mic) - begin]
    return mic


def test_user_alone_gives_one_onset_and_one_utterance_with_true_stamps(espeak):
    user = espeak("I have been feeling really stressed about my exams lately.")
    events = listen(np.concatenate([silence(1.0), user, silence(1.0)]))
    assert [type(e) for e in events] == [SpeechOnset, HeardUtterance]
    onset, heard = events
    assert not onset.over_robot_speech
    assert 0.9 < heard.speech_start < 1.3 and heard.speech_start == onset.stamp
    assert abs(heard.speech_end - (1.0 + len(user) / RATE)) < 0.35
    assert heard.closed_at - heard.speech_end == pytest.approx(0.5, abs=0.07)  # end_silence_ms
    assert heard.cut_reason == "silence" and heard.clipped_fraction == 0.0


def test_the_robots_own_voice_in_its_microphone_is_not_heard(piper_speech):
    events = listen(with_echo(piper_speech, 1.0, 6.0), reference=piper_speech, reference_start=1.0)
    assert events == []
    # Without the gate, Silero takes the echo for speech: the gate is what keeps it out.
    assert any(isinstance(e, HeardUtterance) for e in listen(with_echo(piper_speech, 1.0, 6.0), gate=False))


def test_the_user_talking_over_the_robot_is_a_barge_in(piper_speech, espeak):
    user = espeak("Sorry, wait, can I tell you something else?")
    mic = with_echo(piper_speech, 1.0, 9.0)
    mic[round(2.5 * RATE):round(2.5 * RATE) + len(user)] += user
    events = listen(mic, reference=piper_speech, reference_start=1.0)
    onsets = [e for e in events if isinstance(e, SpeechOnset)]
    assert len(onsets) == 1 and onsets[0].over_robot_speech
    assert 2.4 < onsets[0].stamp < 3.3  # noticed within the user's first words
    assert len([e for e in events if isinstance(e, HeardUtterance)]) == 1


def test_48k_input_and_a_rate_change_mid_stream(espeak):
    user = espeak("My best friend moved away and I feel lonely.")
    at_48k = resample(np.concatenate([silence(0.5), user, silence(1.0)]), RATE, 48000)
    gate = EchoGate()
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), gate)
    events = []
    for begin in range(0, len(at_48k), 960):
        events += detector.push(at_48k[begin:begin + 960], 48000, begin / 48000)
    heard = [e for e in events if isinstance(e, HeardUtterance)]
    assert len(heard) == 1 and abs(len(heard[0].audio) / RATE - len(user) / RATE) < 0.8
    # Mid-utterance switch to 16 kHz: what was heard so far is closed, the new stream starts afresh.
    half = len(at_48k) // 2
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), gate)
    events = detector.push(at_48k[:half], 48000, 0.0)
    events += detector.push(resample(at_48k[half:], 48000, RATE), RATE, half / 48000)
    assert [e.cut_reason for e in events if isinstance(e, HeardUtterance)][0] == "end_of_stream"


def test_noise_and_silence_give_nothing():
    rng = np.random.default_rng(1)
    assert listen(np.concatenate([silence(1.0), rng.normal(0, 0.05, 3 * RATE).astype(np.float32)])) == []


def test_echo_gate_levels():
    gate = EchoGate(echo_loss_db=20.0, margin_db=6.0, max_echo_delay_s=0.2, tail_s=0.1)
    loud = np.full(512, 0.2, np.float32)
    gate.add_reference(10.0, np.full(16000, 0.2, np.float32), RATE)  # the robot spoke 10.0-11.0
    assert not gate.user_present(10.5, loud * 0.1, RATE)  # -20 dB: its echo
    assert gate.user_present(10.5, loud * 0.5, RATE)  # -6 dB: someone louder than any echo
    assert gate.min_echo_loss_db == pytest.approx(20.0, abs=0.01)
    assert gate.user_present(11.5, loud * 0.1, RATE)  # after delay and tail, anything is the user
    assert gate.robot_audible(11.2, 11.25) and not gate.robot_audible(11.5, 11.55)
    assert rms(loud) == pytest.approx(0.2)
    with pytest.raises(ValueError):
        EchoGate(margin_db=-1)


@pytest.mark.parametrize("reference_wait_s, heard_itself", [(0.0, True), (0.5, False)])
def test_a_late_echo_reference_is_waited_for(piper_speech, reference_wait_s, heard_itself):
    """The speaker audio travels on its own topic and can arrive after the microphone frames that
    carry its echo; judging the microphone a little behind real time keeps the robot deaf to itself."""
    mic = with_echo(piper_speech, 1.0, 6.0)
    gate = EchoGate(echo_loss_db=20.0)
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), gate,
                                 reference_wait_s=reference_wait_s)
    late = 0.4  # each speaker frame reaches the ASR 400 ms after the microphone frame of its time
    events, fed = [], 0
    for begin in range(0, len(mic), 320):
        now = begin / RATE
        while fed < len(piper_speech) and 1.0 + fed / RATE <= now - late:
            gate.add_reference(1.0 + fed / RATE, piper_speech[fed:fed + 320], RATE)
            fed += 320
        events += detector.push(mic[begin:begin + 320], RATE, now)
    events += detector.flush()
    assert any(isinstance(e, HeardUtterance) for e in events) == heard_itself


def test_stamps_follow_the_frames_after_lost_audio(espeak):
    """Frames lost on the way must not shift later stamps (they are compared with the robot's)."""
    user = espeak("I can't sleep at night because I keep worrying.")
    mic = np.concatenate([silence(2.0), user, silence(1.0)])
    detector = UtteranceDetector(VadSegmenter(end_silence_ms=500), StreamingSileroVad(), EchoGate())
    events = []
    for begin in range(0, len(mic), 320):
        if 0.5 <= begin / RATE < 0.9:
            continue  # 0.4 s of frames lost
        events += detector.push(mic[begin:begin + 320], RATE, 100.0 + begin / RATE)
    [heard] = [e for e in events if isinstance(e, HeardUtterance)]
    assert abs(heard.speech_start - 102.0) < 0.2
