import threading
import time

import pytest

from esbot_dialogue.utterance_queue import QueuedUtterance, UtteranceQueue


def test_fifo_order():
    queue = UtteranceQueue()
    assert queue.put("a", "first")
    assert queue.put("b", "second")
    assert queue.pending() == 2
    assert queue.get(timeout=0) == QueuedUtterance("a", "first")
    assert queue.get(timeout=0) == QueuedUtterance("b", "second")
    assert queue.pending() == 0


def test_duplicates_refused_while_queued_and_after_answering():
    queue = UtteranceQueue()
    assert queue.put("a", "hello")
    assert not queue.put("a", "hello again")  # still queued
    assert queue.get(timeout=0).text == "hello"
    assert not queue.put("a", "hello")  # already answered
    assert queue.pending() == 0


def test_memory_of_ids_is_bounded():
    queue = UtteranceQueue(remember=2)
    for utterance_id in "abc":
        assert queue.put(utterance_id, utterance_id)
    assert queue.put("a", "a again")  # forgotten: only b and c are remembered
    assert not queue.put("c", "c again")
    with pytest.raises(ValueError):
        UtteranceQueue(remember=0)


def test_get_times_out_with_none():
    started = time.monotonic()
    assert UtteranceQueue().get(timeout=0.05) is None
    assert time.monotonic() - started >= 0.05


def test_a_waiting_consumer_is_woken_by_put():
    queue = UtteranceQueue()
    received = []
    consumer = threading.Thread(target=lambda: received.append(queue.get(timeout=5)))
    consumer.start()
    time.sleep(0.05)
    queue.put("x", "are you there?")
    consumer.join(timeout=5)
    assert received == [QueuedUtterance("x", "are you there?")]
