"""The conversation so far, stored in full; what fits the context is decided in prompting."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Literal

Role = Literal["user", "assistant"]


@dataclass(frozen=True)
class Turn:
    """One turn. For the robot, text is what was actually said (cut short on barge-in)."""

    role: Role
    text: str
    stamp: float  # seconds since the epoch
    turn_id: str
    interrupted: bool = False

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant"):
            raise ValueError(f"A turn's role must be 'user' or 'assistant', not {self.role!r}")


class ConversationHistory:
    """Append-only list of turns, safe to read from one thread while another appends.

    The dialogue worker appends while ROS service callbacks (get history, reset) read or
    clear, hence the lock.
    """

    def __init__(self) -> None:
        self._turns: list[Turn] = []
        self._lock = threading.Lock()

    def append(self, turn: Turn) -> None:
        with self._lock:
            self._turns.append(turn)

    def turns(self) -> list[Turn]:
        """A copy, oldest first, so callers can't change the history by accident."""
        with self._lock:
            return list(self._turns)

    def __len__(self) -> int:
        with self._lock:
            return len(self._turns)

    def clear(self) -> int:
        """Forget every turn; returns how many there were."""
        with self._lock:
            cleared = len(self._turns)
            self._turns.clear()
            return cleared
