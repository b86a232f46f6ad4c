"""System test: the spoken graph (dialogue, ASR, TTS and the mock humanoid in separate processes)
with the real models on CPU. The mock humanoid plays espeak-ng recordings into a 44.1 kHz stereo
microphone stream that also carries the robot's own voice as an echo; the test adds bad audio
(silence, noise, clipping, an over-long utterance, malformed frames) and a barge-in."""

import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import yaml

import esbot_interfaces as interfaces
from action_msgs.msg import GoalStatus
from esbot_common.model_store import default_models_dir
from esbot_interfaces import seconds_of
from esbot_msgs.msg import AudioFrame
from esbot_sim.turn_summary import summarize_turns
from esbot_sim.wav_files import WavRecorder, read_wav, read_wav_at
from graph_harness import GraphClient, LaunchedGraph, looks_like_english, wait_for_event


pytestmark = pytest.mark.system

ROOT = Path(__file__).resolve().parent.parent
UTTERANCES = yaml.safe_load((ROOT / "ros2_ws/src/esbot_sim/config/user_utterances.yaml").read_text())["utterances"]
USER_AUDIO = default_models_dir() / "user_audio"
LONG_TEXT = ("I lost my job last week and I do not know what to do and I am worried about paying my rent this "
             "month and my father is in the hospital and my son is having a hard time at school")  # max_utterance_s 6


def write_wav(path: Path, audio: np.ndarray, rate: int = 16000) -> str:
    recorder = WavRecorder(path)
    recorder.write(audio.astype(np.float32), rate)
    recorder.close()
    return str(path)


def content_words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z']+", text.lower()) if len(w) > 3}


@pytest.fixture(scope="module")
def spoken_session(tmp_path_factory):
    if not (USER_AUDIO / "friend.wav").is_file():
        pytest.fail(f"user recordings missing in {USER_AUDIO}: run `make setup` (scripts/prepare_user_audio.py)")
    folder = tmp_path_factory.mktemp("spoken_graph")
    silence = write_wav(folder / "silence.wav", np.zeros(3 * 16000))
    noise = write_wav(folder / "noise.wav", np.random.default_rng(7).normal(0, 0.05, 3 * 16000))
    clipped = write_wav(folder / "clipped.wav", np.clip(10 * read_wav_at(USER_AUDIO / "friend.wav", 16000), -1, 1))
    # One run-on sentence of about 12 s, without the pauses that would end an utterance.
    subprocess.run(["espeak-ng", "-v", "en-us+f3", "-s", "150", "-w", str(folder / "long.wav"), LONG_TEXT], check=True)
    long = str(folder / "long.wav")
    script = "\n".join([
        "!audio friend.wav", "!audio sleep.wav",
        "!audio_nowait work.wav", "!bargein interrupt.wav 1.0", "!wait",
        f"!audio {silence}", f"!audio {noise}", f"!audio {clipped}", f"!audio {long}",
        "!audio thanks.wav",
    ])
    (folder / "script.txt").write_text(script)
    session_log = folder / "session.jsonl"
    graph = LaunchedGraph("spoken_sim", {
        "dialogue.max_new_tokens": 40, "dialogue.do_sample": "false", "dialogue.context_window": 1024,
        "dialogue.safety_alert_log": folder / "alerts.jsonl",
        "asr.max_utterance_s": 6.0,
        "mock_humanoid.script_file": folder / "script.txt",
        "mock_humanoid.session_log": session_log,
        "mock_humanoid.robot_speech_wav": folder / "robot.wav",
        "mock_humanoid.microphone_rate": 44100, "mock_humanoid.microphone_channels": 2,
        "mock_humanoid.transcript_timeout": 30.0,
        "mock_humanoid.exit_when_done": "false", "mock_humanoid.echo": "false",
    }, folder / "launcher.log")
    client = GraphClient()
    try:
        wait_for_event(session_log, "robot_ready", timeout=300)
        # Malformed frames from a second publisher on the microphone topic.
        bad_pub = client.node.create_publisher(AudioFrame, interfaces.MICROPHONE_AUDIO, interfaces.STREAM_QOS)
        for frame in (AudioFrame(sample_rate=16000, channels=1, encoding="pcm_s16le", data=b"\x01\x02\x03"),
                      AudioFrame(sample_rate=16000, channels=1, encoding="mp3", data=b"\x00" * 64),
                      AudioFrame(sample_rate=0, channels=1, encoding="pcm_s16le", data=b"\x00" * 64),
                      AudioFrame(sample_rate=16000, channels=0, encoding="pcm_s16le", data=b"\x00" * 64)):
            bad_pub.publish(frame)
        records = wait_for_event(session_log, "script_finished", timeout=900)
        yield graph, client, records, folder
    finally:
        client.close()
        code = graph.stop()
        print(graph.output()[-6000:])
        assert code == 0, "the launcher did not stop cleanly"
        assert "Traceback" not in graph.output()


def recordings_by_transcript(records):
    """Each transcript with the recording it came from (the last one started before its speech)."""
    plays = [r for r in records if r["event"] == "user_audio"]
    return [(t, [p for p in plays if p["start"] <= t["speech_start"] + 0.5][-1]["file"])
            for t in records if t["event"] == "transcript"]


def source_words(file: str) -> set[str]:
    name = Path(file).stem
    if name == "long":
        return content_words(LONG_TEXT)
    return content_words(UTTERANCES["friend" if name == "clipped" else name])


def test_every_transcript_is_the_users_speech_never_the_robots(spoken_session):
    _, _, records, _ = spoken_session
    pairs = recordings_by_transcript(records)
    heard = {Path(file).stem for _, file in pairs}
    assert {"friend", "sleep", "work", "interrupt", "clipped", "long", "thanks"} <= heard
    for transcript, file in pairs:
        assert transcript["text"].strip(), "an empty transcript was published"
        assert content_words(transcript["text"]) & source_words(file), (transcript["text"], file)
        assert 0 < transcript["confidence"] <= 1 and transcript["language"] == "en"
        assert transcript["speech_end"] > transcript["speech_start"] and transcript["processing_time"] > 0
    texts = {Path(file).stem: t["text"].lower() for t, file in pairs}
    assert "friend" in texts["friend"] and "sleep" in texts["sleep"] and "thank" in texts["thanks"]


def test_the_asr_reports_when_the_user_speaks_and_when_it_is_idle_again(spoken_session):
    """listening_state, which keeps the dialogue's background memory work off the CPU while the
    user speaks, turns to speaking before every transcript and ends idle."""
    _, _, records, _ = spoken_session
    events = [r for r in records if r["event"] in ("listening_state", "transcript")]
    since_last_transcript = []
    for event in events:
        if event["event"] == "transcript":
            assert any(e["user_speaking"] for e in since_last_transcript), event["text"]
            since_last_transcript = []
        else:
            since_last_transcript.append(event)
    assert events[-1]["event"] == "listening_state"
    assert not events[-1]["user_speaking"] and not events[-1]["transcribing"]


def test_each_turn_is_answered_spoken_and_gestured_inside_its_speech(spoken_session):
    _, _, records, folder = spoken_session
    turns = [t for t in summarize_turns(records) if Path(t.recording).stem in ("friend", "sleep", "thanks")]
    assert len(turns) == 3
    for turn in turns:
        assert looks_like_english(turn.reply) and turn.spoken and not turn.interrupted
        assert turn.spoken_s > 0.5 and turn.latency["voice_to_voice_s"] > 0
        for name, start, duration in turn.gestures:
            assert 0 <= start < turn.spoken_s + 0.5, (name, start, turn.spoken_s)
    assert any(turn.gestures for turn in turns)
    audio, rate = read_wav(folder / "robot.wav")
    assert rate == 22050 and len(audio) / rate > sum(t.spoken_s for t in turns) - 0.1
    assert np.abs(audio).max() > 0.1  # speech, not silence


def test_barge_in_stops_the_voice_and_the_history_keeps_only_what_was_said(spoken_session):
    _, client, records, _ = spoken_session
    # (The over-long recording later barges in too, legitimately: the robot answers its first
    # part while the user is still talking.)
    [interrupt] = [r for r in records if r["event"] == "user_audio" and r["file"] == "interrupt.wav"]
    # (The onset may be stamped a VAD window before the recording: the room noise before it.)
    [barge_in] = [r for r in records
                  if r["event"] == "barge_in" and interrupt["start"] - 0.3 <= r["stamp"] <= interrupt["end"]]
    interrupted_turn = barge_in["interrupted_turn_id"]
    [report] = [r for r in records if r["event"] == "spoken_reply" and r["turn_id"] == interrupted_turn]
    generated = " ".join(r["text"] for r in records if r["event"] == "reply_chunk" and r["turn_id"] == interrupted_turn)
    assert report["interrupted"] and len(report["spoken_text"]) < len(generated)
    # The voice stopped soon after the user's onset: no robot audio later than that (plus reaction time).
    stop = next(r for r in records if r["event"] == "robot_speaking" and not r["speaking"]
                and r["t"] >= barge_in["t"] - 1.0)
    assert stop["stamp"] - barge_in["stamp"] < 1.0
    history = client.history()
    robot_turn = next(t for t in history.turns if t.turn_id == interrupted_turn)
    assert robot_turn.interrupted and robot_turn.text == report["spoken_text"]
    # ... and the interrupting utterance was answered normally afterwards.
    interrupt_turn = next(t for t in summarize_turns(records) if Path(t.recording).stem == "interrupt")
    assert looks_like_english(interrupt_turn.reply)


def test_bad_audio_is_survived_with_clear_warnings(spoken_session):
    graph, _, records, _ = spoken_session
    output = graph.output()
    no_transcript = {Path(r["file"]).stem for r in records if r["event"] == "no_transcript"}
    assert {"silence", "noise"} <= no_transcript
    pairs = recordings_by_transcript(records)
    assert sum(Path(file).stem == "long" for _, file in pairs) >= 2  # split, each part answered
    assert "longer than max_utterance_s" in output
    assert "is clipped" in output
    assert "microphone frame dropped" in output
    assert Path(pairs[-1][1]).stem == "thanks"  # still transcribing the next good utterance


def test_the_say_action_speaks_and_can_be_cancelled(spoken_session):
    _, client, _, _ = spoken_session
    client.wait_until_idle(timeout=120)  # the last reply has been spoken
    text = "Hello, I am here with you. Take your time. There is no hurry at all."
    result, feedback = client.say_aloud(text)
    assert result.status == GoalStatus.STATUS_SUCCEEDED
    assert result.result.completed and result.result.spoken_text == text
    assert [f.current_sentence for f in feedback] == ["Hello, I am here with you.", "Take your time.",
                                                      "There is no hurry at all."]
    result, _ = client.say_aloud("This is a much longer announcement that will not be finished, because it is "
                           "cancelled after about one second of speech.", cancel_after_s=1.5)
    assert result.status == GoalStatus.STATUS_CANCELED
    assert not result.result.completed and result.result.spoken_text.endswith("…")
    assert 0.5 < seconds_of(result.result.spoken_duration) < 3.0
