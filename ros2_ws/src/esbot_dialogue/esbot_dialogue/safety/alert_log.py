"""The durable alert log: one JSON line per alert or careful-mode reset, synced to disk.

An alert is written before the robot does anything about it (and before it is published),
with flush + os.fsync, so it survives a crash right after and is there even when no operator
is subscribed. A failure to write raises AlertLogError carrying the record, so the caller can
still publish it and report the failure loudly instead of losing it.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class AlertRecord:
    """The fields of esbot_msgs/SafetyAlert (stamp: seconds since the epoch)."""

    alert_id: str
    level: int
    category: str
    utterance_id: str
    text: str
    action_taken: str
    stamp: float
    kind: str = "alert"


@dataclass(frozen=True)
class ModeReset:
    """An operator ended careful mode (esbot_msgs/srv/ResetSafetyMode)."""

    operator: str
    reason: str
    stamp: float
    kind: str = "careful_mode_reset"


LogEntry = Union[AlertRecord, ModeReset]


class AlertLogError(OSError):
    """The entry could not be made durable; entry (and decision, when known) are attached."""

    def __init__(self, message: str, entry: LogEntry) -> None:
        super().__init__(message)
        self.entry = entry
        self.decision = None  # set by SafetyPolicy so the caller can still act on it


#: Where the dialogue node keeps its alert log unless told otherwise.
DEFAULT_ALERT_LOG = Path("~/.local/share/esbot/safety/alerts.jsonl")


class AlertLog:
    def __init__(self, path: Union[str, Path]) -> None:
        self.path = Path(path).expanduser()

    def append(self, entry: LogEntry) -> None:
        """Append one entry and sync it to disk; raises AlertLogError on any failure."""
        line = json.dumps(dataclasses.asdict(entry), ensure_ascii=False) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as stream:
                stream.write(line)
                stream.flush()
                os.fsync(stream.fileno())
        except OSError as error:
            raise AlertLogError(f"could not write the safety alert log {self.path}: {error}", entry) from error


def read_alert_log(path: Union[str, Path]) -> list[LogEntry]:
    """Every entry of the log, oldest first ([] when it does not exist yet).

    A torn last line (power lost mid-write) is skipped; a malformed line elsewhere raises.
    """
    path = Path(path).expanduser()
    if not path.exists():
        return []
    lines = path.read_text(encoding="utf-8").splitlines()
    entries: list[LogEntry] = []
    for number, line in enumerate(lines, 1):
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            if number == len(lines):
                break
            raise ValueError(f"{path}:{number} is not a JSON line")
        entries.append(ModeReset(**data) if data.get("kind") == "careful_mode_reset" else AlertRecord(**data))
    return entries
