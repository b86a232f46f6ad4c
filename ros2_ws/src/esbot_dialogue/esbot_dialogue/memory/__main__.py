"""The conversation store from the command line, for operators (works while a node uses it):

    python -m esbot_dialogue.memory [--store PATH] sessions [--user NAME]
    python -m esbot_dialogue.memory [--store PATH] show SESSION
    python -m esbot_dialogue.memory [--store PATH] forget (--session SESSION | --user NAME)

A running node sees a forgotten conversation disappear at its next turn (it reads the store
every turn). The store is only opened, never moved aside or created here: a damaged store is
reported, and left for the node to deal with.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .conversation_store import DEFAULT_STORE_PATH, ConversationStore, StoreError


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m esbot_dialogue.memory", description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", type=Path, default=DEFAULT_STORE_PATH.expanduser(),
                        help=f"the SQLite store (default {DEFAULT_STORE_PATH})")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("sessions", help="list sessions, most recent first")
    listing.add_argument("--user")
    commands.add_parser("show", help="print a session's turns and summary").add_argument("session")
    forget = commands.add_parser("forget", help="delete a session, or every session of a user, for good")
    target = forget.add_mutually_exclusive_group(required=True)
    target.add_argument("--session")
    target.add_argument("--user")
    args = parser.parse_args(argv)

    if not args.store.is_file():
        print(f"no conversation store at {args.store}", file=sys.stderr)
        return 1
    try:
        store = ConversationStore(args.store)
        if args.command == "sessions":
            for info in store.sessions(args.user):
                print(f"{info.session_id}  user={info.user_name or '-'}  turns={info.turns}  "
                      f"last active {_when(info.last_active)}")
        elif args.command == "show":
            summary = store.summary(args.session)
            if summary is not None:
                print(f"[summary of the first {summary.covered_turns} turns] {summary.text}\n")
            for stored in store.turns(args.session):
                turn = stored.turn
                cut = " (interrupted)" if turn.interrupted else ""
                print(f"{_when(turn.stamp)} {turn.role}{cut}: {turn.text}")
        else:
            sessions, turns = store.forget(session_id=args.session or "", user_name=args.user or "")
            print(f"forgot {sessions} sessions, {turns} turns")
        store.close()
    except StoreError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
