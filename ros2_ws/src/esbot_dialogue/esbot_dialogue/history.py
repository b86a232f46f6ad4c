"""The conversation so far (turns: turn.py), stored in full; what goes into the context is decided by
memory/context_memory.py."""

from __future__ import annotations

from .memory.conversation_store import ConversationStore
from .turn import Turn


class ConversationHistory:
    """One session's turns, as a view over the conversation store (memory/conversation_store.py).

    Every change is written through to the store before the call returns, so what the history
    shows is durable; every read comes from the store, so another process forgetting the
    session (an operator's CLI) takes effect at the next turn. Without a store the turns are
    kept in an in-memory store (tests, tools). Safe to use from several threads: the dialogue
    worker appends while ROS service callbacks read or clear.
    """

    def __init__(self, store: ConversationStore | None = None, session_id: str = "conversation", user_name: str = "") -> None:
        self.store = store if store is not None else ConversationStore(None)
        self.session_id = session_id
        self.user_name = user_name

    def append(self, turn: Turn) -> int:
        """Store the turn (durable on return); its sequence number in the store."""
        return self.store.append_turn(self.session_id, turn, self.user_name)

    def revise_spoken(self, turn_id: str, spoken_text: str, interrupted: bool) -> bool:
        """Replace a robot turn's text by what was actually spoken (barge-in); False if no such turn."""
        return self.store.revise_spoken(self.session_id, turn_id, spoken_text, interrupted)

    def turns(self) -> list[Turn]:
        """Oldest first; a fresh list, so callers can't change the history by accident."""
        return [stored.turn for stored in self.store.turns(self.session_id)]

    def __len__(self) -> int:
        return self.store.count_turns(self.session_id)

    def clear(self) -> int:
        """Forget every turn of the session (and its summary); returns how many there were."""
        return self.store.clear_session(self.session_id)
