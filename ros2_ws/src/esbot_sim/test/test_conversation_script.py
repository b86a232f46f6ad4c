import json
from pathlib import Path

import pytest

from esbot_sim.conversation_script import (
    Repeat, Reset, Say, ScriptError, Sleep, WaitForReplies, load_script, parse_line, parse_script,
)


def test_plain_lines_are_said_and_waited_for():
    assert parse_line("  Hello there.  ") == Say("Hello there.")


def test_comments_and_blank_lines_are_skipped():
    assert parse_script("# a comment\n\n   \nHi\n") == [Say("Hi")]


def test_json_lines_carry_control_characters_and_whitespace():
    assert parse_line(json.dumps("a\u0007b\u0000")) == Say("a\u0007b\u0000")
    assert parse_line("!nowait " + json.dumps("   ")) == Say("   ", wait_for_reply=False)


def test_commands():
    assert parse_script("!nowait hi\n!repeat\n!sleep 1.5\n!reset\n!wait") == [
        Say("hi", wait_for_reply=False), Repeat(), Sleep(1.5), Reset(), WaitForReplies()]


@pytest.mark.parametrize("line, message", [
    ("!sleep soon", "number of seconds"),
    ("!sleep -1", "non-negative"),
    ("!nowait", "needs the text"),
    ("!dance", "unknown command"),
    ("!reset now", "unknown command"),
    ('"unterminated', "invalid JSON"),
    ("[1, 2]", None),  # not starting with a quote: plain text
])
def test_bad_lines_name_the_problem_and_the_line(line, message):
    if message is None:
        assert parse_line(line) == Say(line)
        return
    with pytest.raises(ScriptError, match=message) as error:
        parse_line(line, 7)
    assert "line 7" in str(error.value)


def test_a_quoted_line_must_be_exactly_one_json_string():
    with pytest.raises(ScriptError, match="invalid JSON"):
        parse_line('"one" "two"', 1)


def test_load_script_reports_unreadable_files(tmp_path):
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "missing.txt")
    (tmp_path / "bad.txt").write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ScriptError, match="cannot read"):
        load_script(tmp_path / "bad.txt")


def test_the_packaged_demo_script_parses():
    steps = load_script(Path(__file__).resolve().parents[1] / "scripts" / "demo_conversation.txt")
    assert len(steps) == 5 and all(isinstance(s, Say) and s.wait_for_reply for s in steps)
