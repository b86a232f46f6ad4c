import threading

import pytest

from esbot_dialogue.history import ConversationHistory
from esbot_dialogue.turn import Turn


def test_turns_are_kept_in_order_and_copied():
    history = ConversationHistory()
    history.append(Turn("user", "I feel lonely.", 1.0, "u1"))
    history.append(Turn("assistant", "That sounds", 2.0, "t1", interrupted=True))
    turns = history.turns()
    assert [t.text for t in turns] == ["I feel lonely.", "That sounds"]
    assert turns[1].interrupted and not turns[0].interrupted
    turns.clear()  # a copy: the history is untouched
    assert len(history) == 2


def test_clear_returns_the_number_cleared():
    history = ConversationHistory()
    for i in range(3):
        history.append(Turn("user", f"text {i}", float(i), f"u{i}"))
    assert history.clear() == 3
    assert len(history) == 0
    assert history.clear() == 0


def test_role_is_checked():
    with pytest.raises(ValueError):
        Turn("system", "hi", 0.0, "x")


def test_concurrent_appends_are_all_kept():
    history = ConversationHistory()

    def add(prefix):
        for i in range(500):
            history.append(Turn("user", f"{prefix}{i}", 0.0, f"{prefix}{i}"))

    threads = [threading.Thread(target=add, args=(p,)) for p in "abcd"]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(history) == 2000
