import json
import threading

from esbot_sim.session_log import SessionLog, read_session_log


def test_records_round_trip_with_stamps_in_order(tmp_path):
    clock = iter([10.0, 11.5])
    log = SessionLog(tmp_path / "deep" / "session.jsonl", clock=lambda: next(clock))
    log.write("user_utterance", utterance_id="u1", text="héllo \u0007")
    log.write("reply_chunk", chunk_index=0, is_final=True)
    log.close()
    assert read_session_log(log.path) == [
        {"t": 10.0, "event": "user_utterance", "utterance_id": "u1", "text": "héllo \u0007"},
        {"t": 11.5, "event": "reply_chunk", "chunk_index": 0, "is_final": True},
    ]


def test_every_line_is_on_disk_before_close(tmp_path):
    log = SessionLog(tmp_path / "s.jsonl")
    log.write("state", state="listening")
    assert json.loads((tmp_path / "s.jsonl").read_text())["state"] == "listening"
    log.close()


def test_concurrent_writers_never_interleave_lines(tmp_path):
    log = SessionLog(tmp_path / "s.jsonl")
    threads = [threading.Thread(target=lambda n=n: [log.write("e", n=n, i=i, pad="x" * 500) for i in range(200)])
               for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log.close()
    records = read_session_log(tmp_path / "s.jsonl")
    assert len(records) == 800
    for n in range(4):
        assert [r["i"] for r in records if r["n"] == n] == list(range(200))


def test_a_torn_last_line_is_skipped(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"t": 1, "event": "a"}\n{"t": 2, "ev')
    assert read_session_log(path) == [{"t": 1, "event": "a"}]
