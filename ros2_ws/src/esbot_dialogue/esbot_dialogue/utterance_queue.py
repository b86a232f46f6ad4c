"""Utterances waiting to be answered, in arrival order, each answered at most once.

ASR or a re-sending client may publish the same final transcript twice; answering it twice
would make the robot repeat itself, so ids already queued or answered are refused.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueuedUtterance:
    utterance_id: str
    text: str
    received_at: float = field(default=0.0, compare=False)  # time.monotonic() when it was queued


class UtteranceQueue:
    """Thread-safe FIFO that refuses an utterance id it has seen among the last `remember` ids."""

    def __init__(self, remember: int = 1000) -> None:
        if remember < 1:
            raise ValueError("UtteranceQueue must remember at least one id")
        self._remember = remember
        self._seen: OrderedDict[str, None] = OrderedDict()  # insertion order = age
        self._items: deque[QueuedUtterance] = deque()
        self._ready = threading.Condition()

    def put(self, utterance_id: str, text: str) -> bool:
        """Queue an utterance; False (and nothing queued) if its id was already seen."""
        with self._ready:
            if utterance_id in self._seen:
                return False
            self._seen[utterance_id] = None
            if len(self._seen) > self._remember:
                self._seen.popitem(last=False)
            self._items.append(QueuedUtterance(utterance_id, text, time.monotonic()))
            self._ready.notify()
            return True

    def get(self, timeout: float | None = None) -> QueuedUtterance | None:
        """The oldest utterance, waiting up to timeout seconds (None: forever); None if none came."""
        with self._ready:
            if not self._ready.wait_for(lambda: self._items, timeout):
                return None
            return self._items.popleft()

    def pending(self) -> int:
        """How many utterances are waiting."""
        with self._ready:
            return len(self._items)
