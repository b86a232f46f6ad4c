"""What the mock user says: parsing a conversation script into steps.

Script syntax, one step per line:
  plain text            the user says it, and the mock waits for the robot's whole reply
  "json string"         the same, decoded as a JSON string, so tests can send control characters,
                        whitespace-only text or other awkward input
  !nowait TEXT          says TEXT (plain or "json") without waiting for a reply: a burst of these
                        arrives while the robot is still answering, and an ignored input gets no reply
  !repeat               re-sends the previous utterance with the same utterance id (a duplicate)
  !sleep SECONDS        pauses
  !reset                asks the robot to reset the conversation (the reset_conversation service)
  !wait                 waits until every reply still outstanding has finished
  !audio FILE           the user speaks: plays a WAV recording into the robot's microphone in real
                        time, then waits for the robot's spoken answer (FILE relative to the user
                        audio folder, or absolute)
  !audio_nowait FILE    the same without waiting
  !bargein FILE [S]     waits until the robot is speaking, lets it speak S more seconds (default
                        1.0), then plays FILE over its voice (barge-in); does not wait
  # comment / blank     ignored
"""

import json
from dataclasses import dataclass
from pathlib import Path


class ScriptError(ValueError):
    """A script line that cannot be understood; the message names the line."""


@dataclass(frozen=True)
class Say:
    text: str
    wait_for_reply: bool = True


@dataclass(frozen=True)
class Repeat:
    pass


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Reset:
    pass


@dataclass(frozen=True)
class WaitForReplies:
    pass


@dataclass(frozen=True)
class PlayAudio:
    file: str
    wait_for_reply: bool = True
    over_robot_speech_after_s: float | None = None  # barge-in: start this long into the robot's speech


Step = Say | Repeat | Sleep | Reset | WaitForReplies | PlayAudio


def _utterance_text(raw: str, line_number: int) -> str:
    if raw.startswith('"'):
        try:
            return json.loads(raw)  # starts with a quote, so it is a string or invalid
        except json.JSONDecodeError as error:
            raise ScriptError(f"line {line_number}: invalid JSON string: {error}") from error
    return raw


def parse_line(line: str, line_number: int = 0) -> Step | None:
    """One script line to a step; None for blank lines and comments."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#"):
        return None
    if not stripped.startswith("!"):
        return Say(_utterance_text(stripped, line_number))
    command, _, argument = stripped[1:].partition(" ")
    argument = argument.strip()
    if command == "nowait":
        if not argument:
            raise ScriptError(f"line {line_number}: !nowait needs the text to say")
        return Say(_utterance_text(argument, line_number), wait_for_reply=False)
    if command == "sleep":
        try:
            seconds = float(argument)
        except ValueError as error:
            raise ScriptError(f"line {line_number}: !sleep needs a number of seconds, got {argument!r}") from error
        if seconds < 0:
            raise ScriptError(f"line {line_number}: !sleep needs a non-negative duration")
        return Sleep(seconds)
    if command in ("audio", "audio_nowait"):
        if not argument:
            raise ScriptError(f"line {line_number}: !{command} needs a WAV file")
        return PlayAudio(argument, wait_for_reply=command == "audio")
    if command == "bargein":
        file, _, delay = argument.partition(" ")
        try:
            after = float(delay) if delay.strip() else 1.0
        except ValueError as error:
            raise ScriptError(f"line {line_number}: !bargein FILE [SECONDS]: {delay!r} is not a number") from error
        if not file or after < 0:
            raise ScriptError(f"line {line_number}: !bargein needs a WAV file and a non-negative delay")
        return PlayAudio(file, wait_for_reply=False, over_robot_speech_after_s=after)
    simple = {"repeat": Repeat, "reset": Reset, "wait": WaitForReplies}
    if command in simple and not argument:
        return simple[command]()
    raise ScriptError(f"line {line_number}: unknown command {stripped!r}")


def parse_script(text: str) -> list[Step]:
    """Every step of a script, or ScriptError naming the first bad line."""
    steps = []
    for number, line in enumerate(text.splitlines(), start=1):
        step = parse_line(line, number)
        if step is not None:
            steps.append(step)
    return steps


def load_script(path: str | Path) -> list[Step]:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ScriptError(f"cannot read conversation script {path}: {error}") from error
    return parse_script(text)
