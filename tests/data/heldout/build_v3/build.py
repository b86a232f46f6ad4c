"""Assemble held-out v3: hand-written negatives + positives, shuffled with a fixed seed.

usage: nice python3 build/build.py   (writes ../user_heldout_v3.jsonl)
"""
import json, os, random, sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from neg import N  # noqa: E402
from pos import P  # noqa: E402

SEED = 20261202
OUT = os.path.join(HERE, "..", "user_heldout_v3.jsonl")
KEYS = ["id", "context", "text", "level", "category", "kind", "voice"]


def main():
    rows = [dict(r) for r in N + P]
    random.Random(SEED).shuffle(rows)
    with open(OUT, "w", encoding="utf-8") as f:
        for i, r in enumerate(rows, 1):
            r["id"] = "w%04d" % i
            f.write(json.dumps({k: r[k] for k in KEYS}, ensure_ascii=False) + "\n")
    print("wrote %d cases (%d negatives, %d positives) to %s" % (len(rows), len(N), len(P), os.path.normpath(OUT)))


if __name__ == "__main__":
    main()
