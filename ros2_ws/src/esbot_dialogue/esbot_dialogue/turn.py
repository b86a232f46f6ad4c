"""One turn of the conversation: what the prompt, the memory, the store and training pass around."""

from __future__ import annotations

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
