"""The durable alert log: synced lines, survives a crash, failures raise."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from esbot_dialogue.safety.alert_log import AlertLog, AlertLogError, AlertRecord, ModeReset, read_alert_log

RECORD = AlertRecord("a1", 3, "suicide_self_harm", "u7", "i took 30 pills", "crisis_response_spoken", 1.5)


def test_append_creates_the_directory_and_reads_back(tmp_path):
    log = AlertLog(tmp_path / "deep" / "dir" / "alerts.jsonl")
    log.append(RECORD)
    log.append(ModeReset("nurse ana", "spoke with the resident", 2.0))
    assert read_alert_log(log.path) == [RECORD, ModeReset("nurse ana", "spoke with the resident", 2.0)]


def test_append_syncs_to_disk(tmp_path, monkeypatch):
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    AlertLog(tmp_path / "alerts.jsonl").append(RECORD)
    assert synced


def test_the_alert_survives_a_crash_right_after(tmp_path):
    path = tmp_path / "alerts.jsonl"
    package = Path(__file__).resolve().parents[1]
    code = (f"import sys, os; sys.path.insert(0, {str(package)!r})\n"
            "from esbot_dialogue.safety.alert_log import AlertLog, AlertRecord\n"
            f"AlertLog({str(path)!r}).append(AlertRecord('a1', 3, 'x', 'u', 't', 'spoken', 1.0))\n"
            "os._exit(9)  # no interpreter shutdown, no buffer flushing\n")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    assert read_alert_log(path)[0].alert_id == "a1"


def test_write_failure_raises_with_the_record(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(AlertLogError) as raised:
        AlertLog(blocker / "alerts.jsonl").append(RECORD)
    assert raised.value.entry == RECORD


def test_torn_last_line_is_skipped_but_corruption_elsewhere_raises(tmp_path):
    path = tmp_path / "alerts.jsonl"
    AlertLog(path).append(RECORD)
    with open(path, "a") as stream:
        stream.write('{"alert_id": "a2", "lev')
    assert read_alert_log(path) == [RECORD]
    with open(path, "a") as stream:
        stream.write("\n")
    AlertLog(path).append(RECORD)
    with pytest.raises(ValueError, match=":2 is not a JSON line"):
        read_alert_log(path)
    assert read_alert_log(tmp_path / "absent.jsonl") == []
