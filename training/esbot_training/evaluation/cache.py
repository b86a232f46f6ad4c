"""Append-only JSONL caches keyed by everything that determines a result.

A run that crashes or is stopped loses at most the record being written: every finished
record is one flushed line, so a rerun finds it and does not compute it again. A last line
cut off mid-write is skipped (counted in ``damaged_lines``), never half-read.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def cache_key(**parts: Any) -> str:
    """A stable hash of the parts (JSON with sorted keys)."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes (adapter weights: a retrained adapter is a new cache entry)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


class JsonlCache:
    """key -> record, loaded from and appended to one JSONL file."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        self.damaged_lines = 0
        self.hits = 0
        self.writes = 0
        if self.path.is_file():
            with self.path.open(encoding="utf-8") as handle:
                for line in handle:
                    if not line.strip():
                        continue
                    try:
                        record = json.loads(line)
                        self.records[record["key"]] = record
                    except (json.JSONDecodeError, KeyError, TypeError):
                        self.damaged_lines += 1
        self.loaded = len(self.records)

    def get(self, key: str) -> dict[str, Any] | None:
        record = self.records.get(key)
        if record is not None:
            self.hits += 1
        return record

    def __contains__(self, key: str) -> bool:
        return key in self.records

    def put(self, key: str, record: dict[str, Any]) -> dict[str, Any]:
        record = {"key": key, **record}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # A line cut off by a crash would otherwise swallow the next record: start clean.
        needs_newline = self.path.is_file() and self.path.stat().st_size > 0 and not self._ends_with_newline()
        with self.path.open("a", encoding="utf-8") as handle:
            if needs_newline:
                handle.write("\n")
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.records[key] = record
        self.writes += 1
        return record

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as handle:
            handle.seek(-1, os.SEEK_END)
            return handle.read(1) == b"\n"

    def stats(self) -> dict[str, int]:
        return {"loaded": self.loaded, "hits": self.hits, "written": self.writes, "damaged_lines": self.damaged_lines}
