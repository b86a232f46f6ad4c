"""Per-turn summaries of a spoken session, from the mock humanoid's session log records.

For every transcript the ASR published: what the user said (and the recording it came from),
the robot's reply as generated and as actually spoken, its gestures, and the voice-to-voice
latency from the end of the user's speech in the microphone stream to the first sample of the
robot's reply, broken down into end-of-speech detection, ASR, the first reply sentence and its
synthesis. The demo prints these and the voice benchmark aggregates them: one implementation.
All stamps are seconds on the ROS clock.
"""

from dataclasses import dataclass, field

# The ASR's end of speech may fall this far before the recording's last voiced sample (a quiet
# final syllable) and still be the end of the user's speech.
SPLIT_TOLERANCE_S = 1.0


@dataclass
class TurnSummary:
    utterance_id: str
    heard: str  # the transcript
    recording: str = ""  # the user's WAV file, when the mock played one
    user_speech_end: float | None = None  # true end of voice in the microphone stream
    turn_id: str = ""
    reply: str = ""  # as generated
    spoken: str = ""  # as heard by the user
    interrupted: bool = False
    spoken_s: float = 0.0
    gestures: list = field(default_factory=list)  # (name, start_offset_s, duration_s)
    latency: dict = field(default_factory=dict)  # stage -> seconds; voice_to_voice_s is the total


def summarize_turns(records: list[dict]) -> list[TurnSummary]:
    by_event: dict[str, list[dict]] = {}
    for record in records:
        by_event.setdefault(record["event"], []).append(record)
    recordings = by_event.get("user_audio", [])
    chunks = by_event.get("reply_chunk", [])
    speaking = {r["turn_id"]: r["stamp"] for r in by_event.get("robot_speaking", []) if r["speaking"]}
    spoken = {r["turn_id"]: r for r in by_event.get("spoken_reply", [])}
    summaries = []
    for transcript in by_event.get("transcript", []):
        turn = TurnSummary(transcript["utterance_id"], transcript["text"])
        # The recording this transcript came from: the last one that had started by its speech.
        source = [r for r in recordings if r["start"] <= transcript["speech_start"] + 0.5]
        if source:
            turn.recording = source[-1]["file"]
            # A part of an over-long utterance split while the user was still talking has no
            # end of speech to measure from.
            if transcript["speech_end"] > source[-1]["voiced_end"] - SPLIT_TOLERANCE_S:
                turn.user_speech_end = source[-1]["voiced_end"]
        own = sorted((c for c in chunks if c["utterance_id"] == turn.utterance_id), key=lambda c: c["chunk_index"])
        if own:
            turn.turn_id = own[0]["turn_id"]
            turn.reply = " ".join(c["text"] for c in own if c["text"])
        report = spoken.get(turn.turn_id)
        if report is not None:
            turn.spoken, turn.interrupted, turn.spoken_s = (report["spoken_text"], report["interrupted"],
                                                            report["spoken_duration"])
        turn.gestures = [(g["name"], g["start_offset"], g["duration"]) for g in by_event.get("gesture", [])
                         if g["turn_id"] == turn.turn_id]
        first_text = next((c for c in own if c["text"]), None)
        audio_start = speaking.get(turn.turn_id)
        if turn.user_speech_end is not None and first_text is not None and audio_start is not None:
            recognised_at = transcript["stamp"]
            turn.latency = {
                "end_of_speech_detection_s": recognised_at - transcript["processing_time"] - turn.user_speech_end,
                "asr_s": transcript["processing_time"],
                "first_sentence_s": first_text["stamp"] - recognised_at,
                "tts_first_sentence_s": audio_start - first_text["stamp"],
                "voice_to_voice_s": audio_start - turn.user_speech_end,
            }
        summaries.append(turn)
    return summaries


def format_turn(number: int, turn: TurnSummary) -> str:
    lines = [f"turn {number}: user said ({turn.recording or 'typed'}): {turn.heard}",
             f"  robot: {turn.spoken or turn.reply or '(no reply)'}"
             + (" [cut short by the user]" if turn.interrupted else "")]
    if turn.gestures:
        lines.append("  gestures: " + ", ".join(f"{name}@{start:.1f}s" for name, start, _ in turn.gestures))
    if turn.latency:
        stages = turn.latency
        lines.append(f"  voice-to-voice {stages['voice_to_voice_s']:.2f} s = end of speech "
                     f"{stages['end_of_speech_detection_s']:.2f} + ASR {stages['asr_s']:.2f} + first sentence "
                     f"{stages['first_sentence_s']:.2f} + TTS {stages['tts_first_sentence_s']:.2f}; "
                     f"spoke {turn.spoken_s:.1f} s")
    return "\n".join(lines)
