"""The mock humanoid's session log: one JSON object per line, each with a wall-clock stamp.

Tests and the demo read it back with read_session_log(); every line is flushed as it is
written so a crashed run still leaves everything it saw.
"""

import json
import threading
import time
from pathlib import Path


def default_session_log_path() -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return Path.home() / ".local" / "share" / "esbot" / "sessions" / f"sim-{stamp}.jsonl"


class SessionLog:
    def __init__(self, path: str | Path, clock=time.time):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._clock = clock
        self._lock = threading.Lock()  # ROS callbacks and the script thread both write
        self._file = self.path.open("a", encoding="utf-8")

    def write(self, event: str, **fields) -> dict:
        record = {"t": self._clock(), "event": event, **fields}
        line = json.dumps(record, ensure_ascii=False)
        with self._lock:
            self._file.write(line + "\n")
            self._file.flush()
        return record

    def close(self) -> None:
        with self._lock:
            self._file.close()


def read_session_log(path: str | Path) -> list[dict]:
    """All records of a session log; a torn last line (a crash mid-write) is skipped."""
    records = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records
