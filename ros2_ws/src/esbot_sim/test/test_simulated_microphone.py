"""The mock humanoid's microphone, WAV files and per-turn summaries, without ROS."""

import numpy as np
import pytest

from esbot_sim.conversation_script import PlayAudio, ScriptError, parse_line
from esbot_sim.simulated_microphone import SimulatedMicrophone
from esbot_sim.turn_summary import format_turn, summarize_turns
from esbot_sim.wav_files import WavError, WavRecorder, read_wav, read_wav_at, voiced_end


def test_user_audio_plays_in_order_and_robot_echo_arrives_late_and_quiet():
    mic = SimulatedMicrophone(16000, echo_gain=0.1, echo_delay_s=0.05, noise_level=0.0)
    mic.start(100.0)
    start, end = mic.play_user_audio(np.full(1600, 0.5, np.float32))
    assert (start, end) == (100.0, 100.1)
    assert mic.play_user_audio(np.full(800, 0.25, np.float32)) == (100.1, 100.15)
    mic.add_robot_audio(np.full(22050, 1.0, np.float32), 22050, played_at=100.2)  # 1 s of robot voice
    stamp, frame = mic.next_frame(4000)  # 0.00-0.25 s
    assert stamp == 100.0
    assert np.allclose(frame[:1600], 0.5) and np.allclose(frame[1600:2400], 0.25)
    assert np.allclose(frame[2400:4000], 0.0, atol=1e-3)  # robot started at 0.2 s, echo due at 0.25 s
    stamp, frame = mic.next_frame(4000)
    assert stamp == 100.25 and np.median(frame[200:]) == pytest.approx(0.1, abs=0.01)
    assert not mic.user_audio_pending()


def test_wav_round_trip_and_where_voice_ends(tmp_path):
    recorder = WavRecorder(tmp_path / "robot.wav")
    tone = (0.3 * np.sin(np.arange(22050) / 22050 * 2 * np.pi * 440)).astype(np.float32)
    recorder.write(tone, 22050)
    recorder.write(np.zeros(22050, np.float32), 22050)
    recorder.close()
    audio, rate = read_wav(tmp_path / "robot.wav")
    assert rate == 22050 and len(audio) == 44100 and recorder.seconds == pytest.approx(2.0)
    assert abs(voiced_end(audio) - 22050) < 30
    assert len(read_wav_at(tmp_path / "robot.wav", 16000)) == pytest.approx(32000, abs=2)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....WAVEjunk")
    with pytest.raises(WavError, match="broken.wav"):
        read_wav(tmp_path / "broken.wav")


def test_audio_script_steps():
    assert parse_line("!audio exams.wav") == PlayAudio("exams.wav", True)
    assert parse_line("!audio_nowait a.wav") == PlayAudio("a.wav", False)
    assert parse_line("!bargein b.wav 0.5") == PlayAudio("b.wav", False, 0.5)
    assert parse_line("!bargein b.wav") == PlayAudio("b.wav", False, 1.0)
    for bad in ("!audio", "!bargein b.wav soon", "!bargein b.wav -1"):
        with pytest.raises(ScriptError):
            parse_line(bad, 3)


def test_turn_summary_latency_breakdown_adds_up():
    records = [
        {"event": "user_audio", "file": "exams.wav", "start": 10.0, "voiced_end": 13.0, "end": 13.1},
        {"event": "transcript", "utterance_id": "u1", "text": "I am stressed.", "speech_start": 10.05,
         "speech_end": 13.0, "processing_time": 0.8, "stamp": 14.3},
        {"event": "reply_chunk", "utterance_id": "u1", "turn_id": "r1", "chunk_index": 0, "text": "I hear you.",
         "stamp": 15.5},
        {"event": "reply_chunk", "utterance_id": "u1", "turn_id": "r1", "chunk_index": 1, "text": "",
         "stamp": 16.0},
        {"event": "robot_speaking", "speaking": True, "turn_id": "r1", "stamp": 15.7},
        {"event": "gesture", "turn_id": "r1", "name": "nod", "start_offset": 0.0, "duration": 1.0},
        {"event": "spoken_reply", "turn_id": "r1", "spoken_text": "I hear you.", "interrupted": False,
         "spoken_duration": 1.2},
    ]
    [turn] = summarize_turns(records)
    assert turn.recording == "exams.wav" and turn.reply == turn.spoken == "I hear you."
    latency = turn.latency
    assert latency["voice_to_voice_s"] == pytest.approx(2.7)
    assert latency["end_of_speech_detection_s"] == pytest.approx(0.5)
    assert sum(v for k, v in latency.items() if k != "voice_to_voice_s") == pytest.approx(2.7)
    assert "voice-to-voice 2.70 s" in format_turn(1, turn) and "nod@0.0s" in format_turn(1, turn)
