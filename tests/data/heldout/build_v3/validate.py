"""Validate user_heldout_v3.jsonl against GUIDELINES.md (user-utterance section).

Checks: JSON parsing, exact field set and types, id format and uniqueness, level 0-3,
category "" iff level 0, valid categories and kinds, context 0-3 strings (two_turn needs one),
unique texts (after normalising), and near-duplicates (similar strings, high word overlap,
or a one-word swap). Prints counts. Exit status 1 on any error.

usage: nice python3 validate.py [file]
"""
import difflib, json, re, sys
from collections import Counter

PATH = sys.argv[1] if len(sys.argv) > 1 else "user_heldout_v3.jsonl"
FIELDS = {"id", "context", "text", "level", "category", "kind", "voice"}
CATS = {"suicide_self_harm", "harm_to_others", "abuse_violence", "medical_emergency"}
NEG_KINDS = {"everyday", "idiom", "negation", "fiction_media", "third_party", "recovered_past",
             "medical_benign", "hypothetical_or_academic", "two_turn"}
POS_KINDS = {"positive", "two_turn"}

errors, warns = [], []


def norm(s):
    return " ".join(re.sub(r"[^a-z0-9' ]+", " ", s.lower()).replace("'", "").split())


rows = []
with open(PATH, encoding="utf-8") as f:
    for n, line in enumerate(f, 1):
        if not line.strip():
            errors.append("line %d: blank line" % n)
            continue
        try:
            r = json.loads(line)
        except json.JSONDecodeError as e:
            errors.append("line %d: bad json: %s" % (n, e))
            continue
        if not isinstance(r, dict):
            errors.append("line %d: not an object" % n)
            continue
        rows.append((n, r))

ids, texts = {}, {}
for n, r in rows:
    where = "line %d (%s)" % (n, r.get("id"))
    if set(r) != FIELDS:
        errors.append("%s: fields %s" % (where, sorted(set(r) ^ FIELDS)))
        continue
    if not (isinstance(r["id"], str) and re.fullmatch(r"w\d{4}", r["id"])):
        errors.append("%s: bad id" % where)
    if r["id"] in ids:
        errors.append("%s: duplicate id of line %d" % (where, ids[r["id"]]))
    ids[r["id"]] = n
    if not isinstance(r["text"], str) or not r["text"].strip():
        errors.append("%s: empty text" % where)
        continue
    ctx = r["context"]
    if not (isinstance(ctx, list) and len(ctx) <= 3 and all(isinstance(c, str) and c.strip() for c in ctx)):
        errors.append("%s: context must be a list of 0-3 non-empty strings" % where)
    lvl = r["level"]
    if not (isinstance(lvl, int) and not isinstance(lvl, bool) and 0 <= lvl <= 3):
        errors.append("%s: level out of range" % where)
        continue
    cat, kind = r["category"], r["kind"]
    if lvl == 0:
        if cat != "":
            errors.append("%s: level 0 must have empty category" % where)
        if kind not in NEG_KINDS:
            errors.append("%s: bad level-0 kind %r" % (where, kind))
    else:
        if cat not in CATS:
            errors.append("%s: bad category %r for level %d" % (where, cat, lvl))
        if kind not in POS_KINDS:
            errors.append("%s: bad positive kind %r" % (where, kind))
    if kind == "two_turn" and not ctx:
        errors.append("%s: two_turn without context" % where)
    if kind != "two_turn" and ctx:
        warns.append("%s: context on a non-two_turn case" % where)
    if not isinstance(r["voice"], str) or not r["voice"].strip():
        errors.append("%s: empty voice" % where)
    t = norm(r["text"])
    if t in texts:
        errors.append("%s: duplicate text of line %d" % (where, texts[t]))
    texts[t] = n

# near duplicates over texts (and over contexts+text for two_turn cases)
items = [(n, r["id"], norm(r["text"])) for n, r in rows if isinstance(r.get("text"), str)]
near = []
for i in range(len(items)):
    ni, ii, a = items[i]
    wa = a.split()
    sa = set(wa)
    for j in range(i + 1, len(items)):
        nj, ij, b = items[j]
        wb = b.split()
        sb = set(wb)
        jac = len(sa & sb) / max(1, len(sa | sb))
        swap = len(wa) == len(wb) and sum(x != y for x, y in zip(wa, wb)) <= 1
        sm = difflib.SequenceMatcher(None, a, b)
        ratio = sm.ratio() if sm.quick_ratio() >= 0.8 else 0.0
        if swap or jac >= 0.7 or ratio >= 0.85:
            near.append("%s ~ %s (jaccard %.2f, ratio %.2f%s)\n    %s\n    %s" % (
                ii, ij, jac, ratio, ", one-word swap" if swap else "", a, b))
for x in near:
    errors.append("near duplicate: " + x)

# counts
R = [r for _, r in rows if set(r) == FIELDS]
print("file:", PATH)
print("cases:", len(R))
print("by level:", dict(sorted(Counter(r["level"] for r in R).items())))
cl = Counter((r["category"] or "(none)", r["level"]) for r in R)
print("category x level:")
for c in ["(none)"] + sorted(CATS):
    print("  %-18s %s  total %d" % (c, "  ".join("L%d=%d" % (l, cl[(c, l)]) for l in range(4)),
                                    sum(cl[(c, l)] for l in range(4))))
print("by kind (level 0):", dict(Counter(r["kind"] for r in R if r["level"] == 0).most_common()))
print("by kind (level>=1):", dict(Counter(r["kind"] for r in R if r["level"] > 0).most_common()))
print("two_turn by level:", dict(sorted(Counter(r["level"] for r in R if r["kind"] == "two_turn").items())))
vc = Counter(r["voice"] for r in R)
print("by voice:", ", ".join("%s=%d" % kv for kv in vc.most_common()))
print("asr share: %.1f%%" % (100.0 * vc["asr transcript"] / max(1, len(R))))
for w in warns:
    print("WARN", w)
for e in errors:
    print("ERROR", e)
print("errors: %d, warnings: %d" % (len(errors), len(warns)))
sys.exit(1 if errors else 0)
