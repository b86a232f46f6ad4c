"""The SQLite conversation store: durability, sessions, forgetting, retention and store faults."""

import multiprocessing
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from esbot_dialogue.history import ConversationHistory
from esbot_dialogue.memory.conversation_store import (
    ConversationStore,
    StoreCorrupt,
    StoreError,
    StoreUnavailable,
    open_store,
)
from esbot_dialogue.turn import Turn

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def user(text, stamp=1.0, turn_id=None):
    return Turn("user", text, stamp, turn_id or f"u-{text}")


def robot(text, stamp=2.0, turn_id=None, interrupted=False):
    return Turn("assistant", text, stamp, turn_id or f"t-{text}", interrupted)


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "memory" / "conversations.sqlite3"


def test_turns_survive_reopening_with_every_field(store_path):
    store = ConversationStore(store_path)
    store.append_turn("s1", user("I feel lonely.", 10.0, "utt-1"), user_name="ana")
    store.append_turn("s1", robot("That sounds hard.", 11.0, "turn-1", interrupted=True))
    store.close()  # what a killed process leaves is the committed state: reopen and read it

    again = ConversationStore(store_path)
    assert [s.turn for s in again.turns("s1")] == [
        Turn("user", "I feel lonely.", 10.0, "utt-1"), Turn("assistant", "That sounds hard.", 11.0, "turn-1", True)]
    assert [s.seq for s in again.turns("s1")] == sorted(s.seq for s in again.turns("s1"))
    [session] = again.sessions()
    assert (session.session_id, session.user_name, session.turns, session.last_active) == ("s1", "ana", 2, 11.0)


def test_the_store_file_is_in_wal_mode(store_path):
    ConversationStore(store_path).close()
    db = sqlite3.connect(store_path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # persistent in the file


def test_revising_what_was_spoken_is_stored(store_path):
    history = ConversationHistory(ConversationStore(store_path), "s1")
    history.append(user("My cat died."))
    history.append(robot("I am so sorry. Do you want to talk about her?", turn_id="t1"))
    assert history.revise_spoken("t1", "I am so sorry.", True)
    assert not history.revise_spoken("nope", "x", True)
    assert not history.revise_spoken("u-My cat died.", "x", True)  # only robot turns are revised
    reopened = ConversationHistory(ConversationStore(store_path), "s1")
    assert reopened.turns()[-1] == Turn("assistant", "I am so sorry.", 2.0, "t1", True)


def test_storing_the_same_turn_again_updates_it(store_path):
    store = ConversationStore(store_path)
    first = store.append_turn("s", user("hello", 1.0, "u1"))
    assert store.append_turn("s", user("hello again", 2.0, "u1")) == first
    assert [s.turn.text for s in store.turns("s")] == ["hello again"]


def test_sessions_are_resolved_by_name_user_and_idle_time(store_path):
    store = ConversationStore(store_path)
    named, had_turns = store.resolve_session("evening", "", now=100.0)
    assert (named, had_turns) == ("evening", False)
    store.append_turn("evening", user("hi", 100.0))
    assert store.resolve_session("evening", "ana", now=200.0) == ("evening", True)  # tied to ana now
    with pytest.raises(ValueError, match="belongs to user 'ana'"):
        store.resolve_session("evening", "bo", now=200.0)

    # A named user's conversation always continues, even days later (longitudinal).
    assert store.resolve_session("", "ana", new_after_s=3600, now=100.0 + 30 * 86400) == ("evening", True)
    fresh, had = store.resolve_session("", "bo", now=300.0)
    assert fresh != "evening" and not had

    # An anonymous one continues only while recently active.
    anonymous, _ = store.resolve_session("", "", now=1000.0)
    store.append_turn(anonymous, user("anyone there?", 1000.0))
    assert store.resolve_session("", "", new_after_s=3600, now=1000.0 + 60) == (anonymous, True)
    later, had = store.resolve_session("", "", new_after_s=3600, now=1000.0 + 7200)
    assert later != anonymous and not had
    assert store.resolve_session("", "", new_after_s=0, now=1e9)[0] == later  # 0 = always continue


def test_clear_forget_and_retention(store_path):
    store = ConversationStore(store_path)
    for session, name in (("a1", "ana"), ("a2", "ana"), ("b1", "bo")):
        store.append_turn(session, user(f"{session} old", 10.0), user_name=name)
        store.append_turn(session, robot(f"{session} reply", 20.0), user_name=name)
    last_seq = store.turns("a1")[-1].seq
    assert store.save_summary("a1", "Ana is sad.", last_seq, 2, replaces_through_seq=0)

    assert store.clear_session("b1") == 2
    assert store.turns("b1") == [] and [s.session_id for s in store.sessions("bo")] == ["b1"]  # session kept

    assert store.forget(user_name="ana") == (2, 4)
    assert store.turns("a1") == [] and store.summary("a1") is None and store.sessions("ana") == []
    with pytest.raises(ValueError):
        store.forget()

    store.append_turn("c1", user("old", 10.0))
    store.append_turn("c1", user("new", 1000.0, "u-new2"))
    store.save_summary("c1", "About old things.", store.turns("c1")[0].seq, 1, 0)
    assert store.purge_older_than(500.0) == 1
    assert [s.turn.text for s in store.turns("c1")] == ["new"]
    assert store.summary("c1") is None  # it held what retention had to remove
    assert "b1" not in {s.session_id for s in store.sessions()}  # empty and idle since before the cutoff


def test_a_summary_is_saved_only_over_the_one_it_was_written_from(store_path):
    store = ConversationStore(store_path)
    for i in range(4):
        store.append_turn("s", user(f"turn {i}", float(i), f"u{i}"))
    seqs = [s.seq for s in store.turns("s")]
    assert store.save_summary("s", "first", seqs[1], 2, replaces_through_seq=0)
    assert not store.save_summary("s", "stale", seqs[2], 3, replaces_through_seq=0)  # another writer was quicker
    assert store.save_summary("s", "second", seqs[2], 3, replaces_through_seq=seqs[1])
    store.clear_session("s")
    assert not store.save_summary("s", "after reset", seqs[3], 4, replaces_through_seq=0)  # its turns are gone
    assert store.summary("s") is None


def test_a_file_that_is_not_a_database_is_moved_aside_and_a_fresh_store_started(store_path):
    store_path.parent.mkdir(parents=True)
    garbage = b"this is not SQLite at all" * 100
    store_path.write_bytes(garbage)
    with pytest.raises(StoreCorrupt):
        ConversationStore(store_path)

    store, errors = open_store(store_path)
    assert store.persistent and store.path == store_path
    [aside] = list(store_path.parent.glob("conversations.sqlite3.corrupt-*"))
    assert aside.read_bytes() == garbage  # kept for inspection, never overwritten
    assert len(errors) == 1 and str(aside) in errors[0] and "fresh store" in errors[0]
    store.append_turn("s", user("works"))
    assert ConversationStore(store_path).count_turns("s") == 1


def test_a_damaged_or_foreign_database_is_moved_aside(store_path):
    store_path.parent.mkdir(parents=True)
    foreign = sqlite3.connect(store_path)
    foreign.execute("CREATE TABLE recipes (name TEXT)")
    foreign.commit()
    foreign.close()
    store, errors = open_store(store_path)
    assert store.persistent and "schema version 0" in errors[0]

    # Damage the pages of a real store (header intact): caught by the integrity check.
    store.append_turn("s", user("x" * 20000))
    store.close()
    data = bytearray(store_path.read_bytes())
    data[4096:12288] = b"\xff" * 8192
    store_path.write_bytes(bytes(data))
    store, errors = open_store(store_path)
    assert store.persistent and errors and "moved aside" in errors[0]
    assert len(list(store_path.parent.glob("conversations.sqlite3.corrupt-*"))) == 2


def test_an_unusable_location_falls_back_to_memory_with_a_clear_error(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    with pytest.raises(StoreUnavailable):
        ConversationStore(blocker / "conversations.sqlite3")
    store, errors = open_store(blocker / "conversations.sqlite3")
    assert not store.persistent and "NOT persistent" in store.describe()
    assert "IN MEMORY ONLY" in errors[-1]
    store.append_turn("s", user("still works"))
    assert store.count_turns("s") == 1


READ_ONLY_CHECK = """
import sys
from esbot_dialogue.memory.conversation_store import open_store, ConversationStore, StoreUnavailable
folder = sys.argv[1]
store, errors = open_store(folder + "/conversations.sqlite3")
assert not store.persistent, "a store was created in a read-only folder"
assert any("cannot" in e for e in errors) and "IN MEMORY ONLY" in errors[-1], errors
try:
    ConversationStore(__import__("pathlib").Path(folder) / "existing.sqlite3")
except StoreUnavailable as error:
    print("unavailable:", error)
else:
    raise AssertionError("an existing store in a read-only folder was opened for writing")
print("ok")
"""


def test_a_read_only_folder_is_reported_and_nothing_is_overwritten():
    # Root ignores permissions, so as root the check runs in a child process as nobody, with a
    # system Python nobody may run (the store needs only the standard library).
    python, kwargs = sys.executable, {}
    if os.geteuid() == 0:
        python, kwargs = shutil.which("python3", path="/usr/bin:/usr/local/bin"), {"user": 65534, "group": 65534}
        if python is None:
            pytest.skip("running as root and no system python3 to run the check as nobody")
    folder = Path(tempfile.mkdtemp(prefix="esbot-readonly-"))
    try:
        ConversationStore(folder / "existing.sqlite3").close()
        existing = (folder / "existing.sqlite3").read_bytes()
        os.chmod(folder / "existing.sqlite3", 0o444)
        os.chmod(folder, 0o555)
        env = {**os.environ, "PYTHONPATH": str(PACKAGE_ROOT)}
        result = subprocess.run([python, "-c", READ_ONLY_CHECK, str(folder)], capture_output=True,
                                text=True, env=env, timeout=120, **kwargs)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.strip().endswith("ok") and "unavailable:" in result.stdout
        assert (folder / "existing.sqlite3").read_bytes() == existing
        assert sorted(p.name for p in folder.iterdir()) == ["existing.sqlite3"]
    finally:
        os.chmod(folder, 0o755)
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()


def _writer(path: str, session: str, count: int, ready) -> None:
    store = ConversationStore(Path(path))
    ready.wait()
    for i in range(count):
        store.append_turn(session, Turn("user" if i % 2 == 0 else "assistant", f"{session} {i}", float(i),
                                        f"{session}-{i}"))
        if i % 10 == 0:
            store.revise_spoken(session, f"{session}-{i - 9}", f"{session} revised", True)
            store.turns(session)


def test_two_processes_writing_at_once_lose_nothing(store_path):
    ConversationStore(store_path).close()
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    writers = [context.Process(target=_writer, args=(str(store_path), session, 150, ready))
               for session in ("shared", "shared-too")]
    for writer in writers:
        writer.start()
    ready.set()
    # This process writes to one of the same sessions meanwhile, as a node would.
    store = ConversationStore(store_path)
    for i in range(50):
        store.append_turn("shared", user(f"main {i}", 1000.0 + i, f"main-{i}"))
    for writer in writers:
        writer.join(120)
        assert writer.exitcode == 0
    assert store.count_turns("shared") == 200 and store.count_turns("shared-too") == 150
    seqs = [s.seq for s in store.turns("shared")]
    assert len(set(seqs)) == 200 and seqs == sorted(seqs)
    assert sqlite3.connect(store_path).execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_a_write_that_cannot_get_the_lock_fails_clearly(store_path, monkeypatch):
    import esbot_dialogue.memory.conversation_store as module

    ConversationStore(store_path).close()
    blocker = sqlite3.connect(store_path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock...
    monkeypatch.setattr(module, "BUSY_TIMEOUT_MS", 200)  # ...longer than we wait
    store = ConversationStore(store_path)
    with pytest.raises(StoreError, match="write failed: database is locked"):
        store.append_turn("s", user("hello"))
    blocker.execute("ROLLBACK")
    store.append_turn("s", user("hello"))  # and works again once the lock is free
    assert store.count_turns("s") == 1


def test_the_command_line_lists_shows_and_forgets_while_another_connection_is_open(store_path, capsys):
    from esbot_dialogue.memory.__main__ import main

    node = ConversationStore(store_path)  # a node holding the store open meanwhile
    node.append_turn("s1", user("I feel lonely.", 10.0), user_name="ana")
    node.append_turn("s1", robot("I am here.", 11.0, interrupted=True), user_name="ana")
    assert main(["--store", str(store_path), "sessions"]) == 0
    assert "s1  user=ana  turns=2" in capsys.readouterr().out
    assert main(["--store", str(store_path), "show", "s1"]) == 0
    shown = capsys.readouterr().out
    assert "user: I feel lonely." in shown and "assistant (interrupted): I am here." in shown
    assert main(["--store", str(store_path), "forget", "--user", "ana"]) == 0
    assert "forgot 1 sessions, 2 turns" in capsys.readouterr().out
    assert node.turns("s1") == []  # the node sees it at once
    assert main(["--store", str(store_path.parent / "none.sqlite3"), "sessions"]) == 1
