"""The conversation store: every turn of every session in one local SQLite file.

Why SQLite: a turn must be durable before the robot answers it (killing the node loses
nothing), and a second process (another node, an operator's CLI) may touch the same file.
SQLite gives atomic, synced transactions and safe multi-process access with no server:

* WAL journal, so readers never wait for a writer and a crash mid-write leaves the last
  committed state; ``synchronous=FULL``, so a committed turn also survives a power cut.
* A busy timeout, so two writers queue instead of failing, and ``BEGIN IMMEDIATE`` for every
  read-modify-write, so two processes never interleave inside one.
* A file that is not a usable esbot store (not SQLite, damaged, another schema) is never
  overwritten: it is renamed aside with a clear error and a fresh store is started
  (``open_store``). A location that cannot be written at all gets an in-memory store, again
  with a clear error, so the robot keeps talking but knows it will forget.

Nothing here ever leaves the machine. Pure Python (stdlib sqlite3), no rclpy.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from ..turn import Turn

#: Where the dialogue node keeps its store unless told otherwise.
DEFAULT_STORE_PATH = Path("~/.local/share/esbot/memory/conversations.sqlite3")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE sessions (
    session_id  TEXT PRIMARY KEY,
    user_name   TEXT NOT NULL DEFAULT '',       -- '' = anonymous
    created     REAL NOT NULL,
    last_active REAL NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_name, last_active);
CREATE TABLE turns (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,  -- order of the turns, across processes
    session_id  TEXT NOT NULL REFERENCES sessions (session_id) ON DELETE CASCADE,
    turn_id     TEXT NOT NULL,                      -- the utterance id (user) or the reply's turn id
    role        TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    text        TEXT NOT NULL,                      -- for the robot: what the person actually heard
    stamp       REAL NOT NULL,                      -- seconds since the epoch
    interrupted INTEGER NOT NULL DEFAULT 0,         -- the reply was cut short (barge-in)
    revised     REAL,                               -- when speech output last corrected the text
    UNIQUE (session_id, role, turn_id)
);
CREATE INDEX turns_by_session ON turns (session_id, seq);
CREATE INDEX turns_by_stamp ON turns (stamp);
CREATE TABLE summaries (                            -- the running summary of a session's older turns
    session_id    TEXT PRIMARY KEY REFERENCES sessions (session_id) ON DELETE CASCADE,
    text          TEXT NOT NULL,
    through_seq   INTEGER NOT NULL,                 -- it covers the session's turns up to this seq
    covered_turns INTEGER NOT NULL,
    updated       REAL NOT NULL
);
"""


class StoreError(RuntimeError):
    """The store could not be read or written (locked too long, disk full, ...)."""


class StoreUnavailable(StoreError):
    """The store's location cannot be used at all (read-only, not a folder, no permission)."""


class StoreCorrupt(StoreError):
    """The file is not a usable esbot conversation store."""


@dataclass(frozen=True)
class StoredTurn:
    seq: int
    turn: Turn


@dataclass(frozen=True)
class Summary:
    text: str
    through_seq: int
    covered_turns: int
    updated: float


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    user_name: str
    created: float
    last_active: float
    turns: int


def new_session_id(now: float | None = None) -> str:
    """Sortable by creation time and unique across processes."""
    return time.strftime("%Y%m%d-%H%M%S", time.localtime(now)) + "-" + uuid.uuid4().hex[:8]


class ConversationStore:
    """One connection to the store, shared by the node's threads (guarded by a lock)."""

    def __init__(self, path: Path | None) -> None:
        """path None = an in-memory store (tests, or the fallback when the file is unusable).
        Raises StoreUnavailable or StoreCorrupt; open_store() handles both."""
        self.path = path
        self._lock = threading.Lock()
        target = ":memory:" if path is None else str(path)
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are begun explicitly (BEGIN IMMEDIATE) below.
            self._db = sqlite3.connect(target, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None,
                                       check_same_thread=False)
        except (OSError, sqlite3.OperationalError) as error:
            raise StoreUnavailable(f"cannot open the conversation store {target}: {error}") from error
        try:
            self._prepare()
        except sqlite3.OperationalError as error:  # read-only, locked, I/O: the file may be fine
            self._db.close()
            raise StoreUnavailable(f"cannot use the conversation store {target}: {error}") from error
        except sqlite3.DatabaseError as error:  # not a database, malformed
            self._db.close()
            raise StoreCorrupt(f"{target} is not a usable conversation store: {error}") from error
        except StoreCorrupt:
            self._db.close()
            raise

    @property
    def persistent(self) -> bool:
        return self.path is not None

    def describe(self) -> str:
        return str(self.path) if self.path is not None else "in memory only (NOT persistent)"

    def _prepare(self) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        db.execute("PRAGMA foreign_keys = ON")
        version = db.execute("PRAGMA user_version").fetchone()[0]
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if version == 0 and not tables:
            if self.path is not None:
                db.execute("PRAGMA journal_mode = WAL")
            db.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have created it between our check and our lock.
                if db.execute("PRAGMA user_version").fetchone()[0] == 0:
                    for statement in _SCHEMA.split(";"):
                        if statement.strip():
                            db.execute(statement)
                    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
        elif version != SCHEMA_VERSION:
            raise StoreCorrupt(f"{self.path} has schema version {version} and tables {sorted(tables)}; "
                               f"this esbot reads version {SCHEMA_VERSION}")
        else:
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise StoreCorrupt(f"{self.path} failed its integrity check: {'; '.join(problems[:5])}")
        if self.path is not None:
            mode = db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if mode.lower() != "wal":
                raise sqlite3.OperationalError(f"the WAL journal could not be enabled (got {mode})")
            db.execute("PRAGMA synchronous = FULL")

    # --- transactions -----------------------------------------------------------------------
    def _write(self, work):
        """Run work(db) in one IMMEDIATE transaction (the write lock is taken up front, so two
        processes never interleave a read-modify-write); StoreError on any failure."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    result = work(self._db)
                    self._db.execute("COMMIT")
                    return result
                except BaseException:
                    self._db.execute("ROLLBACK")
                    raise
            except sqlite3.Error as error:
                raise StoreError(f"conversation store {self.describe()}: write failed: {error}") from error

    def _read(self, sql: str, parameters: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._db.execute(sql, parameters).fetchall()
            except sqlite3.Error as error:
                raise StoreError(f"conversation store {self.describe()}: read failed: {error}") from error

    # --- sessions ---------------------------------------------------------------------------
    def resolve_session(self, session_id: str = "", user_name: str = "", new_after_s: float = 0.0,
                        now: float | None = None) -> tuple[str, bool]:
        """The session to talk in, and whether it already had turns.

        A named session is used as is (tied to user_name if it had no user yet; a session of
        another user is refused with ValueError). Without a name, the latest session of
        user_name is continued: a named user's conversation always continues (longitudinal),
        an anonymous one only if it was active less than new_after_s ago (0 = always), since
        someone else may be talking to the robot by now.
        """
        now = time.time() if now is None else now

        def work(db):
            if session_id:
                row = db.execute("SELECT user_name FROM sessions WHERE session_id = ?", (session_id,)).fetchone()
                if row is None:
                    db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (session_id, user_name, now, now))
                    return session_id, False
                if user_name and row[0] and row[0] != user_name:
                    raise ValueError(f"session {session_id!r} belongs to user {row[0]!r}, not {user_name!r}")
                if user_name and not row[0]:
                    db.execute("UPDATE sessions SET user_name = ? WHERE session_id = ?", (user_name, session_id))
                return session_id, self._has_turns(db, session_id)
            row = db.execute("SELECT session_id, last_active FROM sessions WHERE user_name = ? "
                             "ORDER BY last_active DESC LIMIT 1", (user_name,)).fetchone()
            if row is not None and (user_name or not new_after_s or now - row[1] < new_after_s):
                return row[0], self._has_turns(db, row[0])
            fresh = new_session_id(now)
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (fresh, user_name, now, now))
            return fresh, False

        return self._write(work)

    @staticmethod
    def _has_turns(db, session_id: str) -> bool:
        return db.execute("SELECT 1 FROM turns WHERE session_id = ? LIMIT 1", (session_id,)).fetchone() is not None

    def sessions(self, user_name: str | None = None) -> list[SessionInfo]:
        """Every session (or a user's), most recently active first."""
        where, parameters = ("WHERE s.user_name = ?", (user_name,)) if user_name is not None else ("", ())
        rows = self._read(
            "SELECT s.session_id, s.user_name, s.created, s.last_active, COUNT(t.seq) FROM sessions s "
            f"LEFT JOIN turns t ON t.session_id = s.session_id {where} "
            "GROUP BY s.session_id ORDER BY s.last_active DESC", parameters)
        return [SessionInfo(*row) for row in rows]

    # --- turns ------------------------------------------------------------------------------
    def append_turn(self, session_id: str, turn: Turn, user_name: str = "") -> int:
        """Store one turn (committed and synced on return); its seq. The session is created
        again if it was forgotten meanwhile. Storing the same turn twice updates it."""

        def work(db):
            db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
                       "last_active = max(last_active, excluded.last_active)",
                       (session_id, user_name, turn.stamp, turn.stamp))
            return db.execute(
                "INSERT INTO turns (session_id, turn_id, role, text, stamp, interrupted) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (session_id, role, turn_id) DO UPDATE SET text = excluded.text, "
                "stamp = excluded.stamp, interrupted = excluded.interrupted RETURNING seq",
                (session_id, turn.turn_id, turn.role, turn.text, turn.stamp, int(turn.interrupted))).fetchone()[0]

        return self._write(work)

    def revise_spoken(self, session_id: str, turn_id: str, spoken_text: str, interrupted: bool,
                      now: float | None = None) -> bool:
        """Replace a robot turn's text by what was actually spoken; False if there is no such turn."""
        now = time.time() if now is None else now
        return self._write(lambda db: db.execute(
            "UPDATE turns SET text = ?, interrupted = max(interrupted, ?), revised = ? "
            "WHERE session_id = ? AND role = 'assistant' AND turn_id = ?",
            (spoken_text, int(interrupted), now, session_id, turn_id)).rowcount > 0)

    def turns(self, session_id: str, after_seq: int = 0) -> list[StoredTurn]:
        """The session's turns, oldest first (only those after after_seq, if given)."""
        rows = self._read("SELECT seq, role, text, stamp, turn_id, interrupted FROM turns "
                          "WHERE session_id = ? AND seq > ? ORDER BY seq", (session_id, after_seq))
        return [StoredTurn(seq, Turn(role, text, stamp, turn_id, bool(interrupted)))
                for seq, role, text, stamp, turn_id, interrupted in rows]

    def count_turns(self, session_id: str) -> int:
        return self._read("SELECT COUNT(*) FROM turns WHERE session_id = ?", (session_id,))[0][0]

    def clear_session(self, session_id: str) -> int:
        """Delete a session's turns and summary, keeping the session itself; how many turns."""

        def work(db):
            db.execute("DELETE FROM summaries WHERE session_id = ?", (session_id,))
            return db.execute("DELETE FROM turns WHERE session_id = ?", (session_id,)).rowcount

        return self._write(work)

    # --- summaries --------------------------------------------------------------------------
    def summary(self, session_id: str) -> Summary | None:
        rows = self._read("SELECT text, through_seq, covered_turns, updated FROM summaries WHERE session_id = ?",
                          (session_id,))
        return Summary(*rows[0]) if rows else None

    def save_summary(self, session_id: str, text: str, through_seq: int, covered_turns: int,
                     replaces_through_seq: int, now: float | None = None) -> bool:
        """Store a new running summary, only if the one it was written from is still current
        (replaces_through_seq, 0 = none) and the last turn it covers still exists; False
        otherwise (the conversation was reset or forgotten, or another writer was quicker)."""
        now = time.time() if now is None else now

        def work(db):
            current = db.execute("SELECT through_seq FROM summaries WHERE session_id = ?", (session_id,)).fetchone()
            if (current[0] if current else 0) != replaces_through_seq:
                return False
            if db.execute("SELECT 1 FROM turns WHERE session_id = ? AND seq = ?",
                          (session_id, through_seq)).fetchone() is None:
                return False
            db.execute("INSERT INTO summaries VALUES (?, ?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE SET "
                       "text = excluded.text, through_seq = excluded.through_seq, "
                       "covered_turns = excluded.covered_turns, updated = excluded.updated",
                       (session_id, text, through_seq, covered_turns, now))
            return True

        return self._write(work)

    # --- forgetting -------------------------------------------------------------------------
    def forget(self, session_id: str = "", user_name: str = "") -> tuple[int, int]:
        """Delete a session, or every session of a user, with all their turns and summaries;
        (sessions, turns) deleted. Exactly one of the two must be given."""
        if bool(session_id) == bool(user_name):
            raise ValueError("forget needs exactly one of session_id and user_name")
        column, value = ("session_id", session_id) if session_id else ("user_name", user_name)

        def work(db):
            turns = db.execute(f"SELECT COUNT(*) FROM turns WHERE session_id IN "
                               f"(SELECT session_id FROM sessions WHERE {column} = ?)", (value,)).fetchone()[0]
            sessions = db.execute(f"DELETE FROM sessions WHERE {column} = ?", (value,)).rowcount
            return sessions, turns

        return self._write(work)

    def purge_older_than(self, cutoff: float) -> int:
        """Retention: delete turns stamped before cutoff, the summaries that covered any of them
        (a summary would otherwise keep what retention must remove) and sessions left empty
        and idle since before cutoff; how many turns were deleted."""

        def work(db):
            db.execute("DELETE FROM summaries WHERE session_id IN (SELECT DISTINCT t.session_id FROM turns t "
                       "JOIN summaries s ON s.session_id = t.session_id "
                       "WHERE t.stamp < ? AND t.seq <= s.through_seq)", (cutoff,))
            deleted = db.execute("DELETE FROM turns WHERE stamp < ?", (cutoff,)).rowcount
            db.execute("DELETE FROM sessions WHERE last_active < ? AND session_id NOT IN "
                       "(SELECT DISTINCT session_id FROM turns)", (cutoff,))
            return deleted

        return self._write(work)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _aside_name(path: Path, now: float) -> Path:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    candidate = path.with_name(f"{path.name}.corrupt-{stamp}")
    index = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.corrupt-{stamp}-{index}")
        index += 1
    return candidate


def _companions(path: Path) -> Iterator[Path]:
    """The database file and its WAL and shared-memory files, which belong with it."""
    for suffix in ("", "-wal", "-shm"):
        candidate = path.with_name(path.name + suffix)
        if candidate.exists():
            yield candidate


def open_store(path: str | os.PathLike | None) -> tuple[ConversationStore, list[str]]:
    """The store at path ("" or None: DEFAULT_STORE_PATH), never failing; and the errors to report.

    A corrupt or foreign file is moved aside (renamed ``<name>.corrupt-<time>``, with its -wal
    and -shm files) and a fresh store started in its place. If the location cannot be used at
    all, or moving aside fails, the store lives in memory for this run: the robot keeps
    talking, and the error says its conversations will not be kept.
    """
    path = Path(path or DEFAULT_STORE_PATH).expanduser()
    errors: list[str] = []
    try:
        return ConversationStore(path), errors
    except StoreCorrupt as error:
        aside = _aside_name(path, time.time())
        try:
            for companion in _companions(path):
                companion.rename(aside.with_name(aside.name + companion.name[len(path.name):]))
        except OSError as move_error:
            errors.append(f"{error}; it could not be moved aside ({move_error}), so it is left untouched")
        else:
            errors.append(f"{error}. It was moved aside to {aside} and a fresh store was started.")
            try:
                return ConversationStore(path), errors
            except StoreError as again:
                errors.append(str(again))
    except StoreUnavailable as error:
        errors.append(str(error))
    errors.append("Conversations are kept IN MEMORY ONLY for this run: they will be lost when the node stops.")
    return ConversationStore(None), errors
