"""Safety detection benchmark: the risk assessor and the reply check on labeled and held-out sets.

Runs the assessor as rules alone and as rules + the learned tier (the robot's default) over
- the blind held-out sets tests/data/heldout/ (user utterances, robot reply sentences), written
  by helpers who never saw the rules, the corpus or the model, frozen by SHA-256 before training;
- the older labeled set tests/data/safety_cases.jsonl (the rules were tuned on it, and the learned
  tier was trained on it: figures there are not held-out);
and reports what matters for a robot that hears people in danger: recall of high+immediate (a
miss leaves someone without help), immediate recognised as immediate, false alarms on the
negatives, per category and kind, the confusion matrix, and the time per assessment.

The first time a held-out set is evaluated at all (keyed by the set's hash) its figures are
recorded in results/safety_heldout_history.json with the release that met it, and never
overwritten: those are the first-contact figures. A set whose errors were looked at is spent:
later releases are measured on it too, but only a new blind set gives a new first contact.

    python benchmarks/bench_safety.py [--rules-only]

Writes results/safety_benchmark.{json,md}.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import statistics
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / "esbot_dialogue"))

from esbot_dialogue.safety.assessor import RiskAssessor  # noqa: E402
from esbot_dialogue.safety.levels import RiskLevel  # noqa: E402
from esbot_dialogue.safety.reply_check import check_reply  # noqa: E402

TEST_CASES = ROOT / "tests" / "data" / "safety_cases.jsonl"
DEV_CASES = ROOT / "tests" / "data" / "safety_dev_cases.jsonl"
HELDOUT = ROOT / "tests" / "data" / "heldout"
HELDOUT_USER = HELDOUT / "user_heldout.jsonl"
HELDOUT_REPLY = HELDOUT / "reply_heldout.jsonl"
# Blind user-utterance sets in the order they were written (v2 after v1's first contact).
HELDOUT_USER_SETS = {"heldout v1": HELDOUT_USER, "heldout v2": HELDOUT / "user_heldout_v2.jsonl",
                     "heldout v3": HELDOUT / "user_heldout_v3.jsonl"}
RESULTS = ROOT / "results"
HISTORY = RESULTS / "safety_heldout_history.json"
HIGH = int(RiskLevel.HIGH)
# The rule tier's own held-out history (before the learned tier existed): each batch's figures
# the first time the rules saw it, before any fix its errors led to.
RULES_FIRST_CONTACT = [
    ("b1", 475, "rules tuned on the dev set only", "recall 0.954 (11/239 missed), FP 0.024 (4/170)"),
    ("b2", 64, "written after the b1 run, before the b1 fixes",
     "recall 0.714 (25/35), FP 0.042 (1/24)"),
    ("b3", 52, "written after all b1/b2 tuning, evaluated once",
     "rules recall 0.452 (14/31), FP 0.105 (2/19); rules + MiniLM similarity recall 0.548 (17/31), FP 0.105"),
]


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def _latency(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"median": round(statistics.median(ordered), 3), "p90": round(ordered[int(0.9 * (len(ordered) - 1))], 3),
            "max": round(ordered[-1], 3)}


def evaluate(cases: list[dict], model_tier=None) -> dict:
    """Metrics of one assessor configuration on user cases (a fresh assessor per case)."""
    predictions, latencies = [], []
    for case in cases:
        assessor = RiskAssessor(model_tier)
        for turn in case["context"]:
            assessor.assess(turn)
        started = time.perf_counter()
        result = assessor.assess(case["text"])
        latencies.append((time.perf_counter() - started) * 1000)
        predictions.append(result)
    pairs = list(zip(cases, predictions))
    crisis = [(c, p) for c, p in pairs if c["level"] >= HIGH]
    immediate = [(c, p) for c, p in pairs if c["level"] == RiskLevel.IMMEDIATE]
    negatives = [(c, p) for c, p in pairs if c["level"] == 0]
    by_level, by_category, by_kind = defaultdict(list), defaultdict(list), defaultdict(list)
    for case, pred in pairs:
        by_kind[case.get("kind", "")].append((case, pred))
        if case["level"] > 0:
            by_level[case["level"]].append(pred.level >= case["level"])
        if case["level"] >= HIGH:
            by_category[case["category"]].append(pred.level >= HIGH)
    detected = [(c, p) for c, p in crisis if p.level >= HIGH]

    def summary(group):
        pos = [p.level >= HIGH for c, p in group if c["level"] >= HIGH]
        neg = [p.level >= HIGH for c, p in group if c["level"] == 0]
        return {"cases": len(group), "recall_high_immediate": _rate(sum(pos), len(pos)),
                "false_positive_rate_high": _rate(sum(neg), len(neg))}

    return {
        "cases": len(cases),
        "recall_high_immediate": _rate(sum(p.level >= HIGH for _, p in crisis), len(crisis)),
        "crisis_cases": len(crisis),
        "immediate_as_immediate": _rate(sum(p.level == RiskLevel.IMMEDIATE for _, p in immediate), len(immediate)),
        "missed_high_immediate": [{"text": c["text"], "context": c["context"], "gold": c["level"],
                                   "category": c["category"]} for c, p in crisis if p.level < HIGH],
        "false_positive_rate": _rate(sum(p.level > 0 for _, p in negatives), len(negatives)),
        "false_positive_rate_high": _rate(sum(p.level >= HIGH for _, p in negatives), len(negatives)),
        "false_positives": [{"text": c["text"], "level": int(p.level), "reasons": list(p.reasons)}
                            for c, p in negatives if p.level > 0],
        "negatives": len(negatives),
        "recall_at_or_above_level": {str(level): _rate(sum(v), len(v)) for level, v in sorted(by_level.items())},
        "recall_high_immediate_by_category": {k: _rate(sum(v), len(v)) for k, v in sorted(by_category.items())},
        "category_accuracy_when_detected": _rate(sum(p.category == c["category"] for c, p in detected), len(detected)),
        "by_kind": {k: summary(v) for k, v in sorted(by_kind.items())},
        "confusion": {f"{gold}->{pred}": n for (gold, pred), n in
                      sorted(Counter((c["level"], int(p.level)) for c, p in pairs).items())},
        "latency_ms": _latency(latencies),
    }


def evaluate_replies(cases: list[dict], model=None) -> dict:
    """The reply check on robot sentences: unsafe ones withheld, safe ones let through."""
    outcomes, latencies = [], []
    for case in cases:
        started = time.perf_counter()
        check = check_reply(case["text"], RiskLevel(case["user_risk"]), model=model)
        latencies.append((time.perf_counter() - started) * 1000)
        outcomes.append((case, check))
    unsafe = [(c, r) for c, r in outcomes if c["label"] != "safe"]
    safe = [(c, r) for c, r in outcomes if c["label"] == "safe"]
    by_label = defaultdict(list)
    for case, check in unsafe:
        by_label[case["label"]].append(not check.safe)
    return {
        "cases": len(cases),
        "unsafe_withheld": _rate(sum(not r.safe for _, r in unsafe), len(unsafe)),
        "unsafe_withheld_by_label": {k: _rate(sum(v), len(v)) for k, v in sorted(by_label.items())},
        "safe_withheld": _rate(sum(not r.safe for _, r in safe), len(safe)),
        "missed_unsafe": [{"text": c["text"], "label": c["label"], "user_risk": c["user_risk"]}
                          for c, r in unsafe if r.safe],
        "safe_withheld_cases": [{"text": c["text"], "reason": r.reason} for c, r in safe if not r.safe],
        "latency_ms": _latency(latencies),
    }


DEFAULT = "rules + learned tier (default)"
HEADLINE = ("recall_high_immediate", "immediate_as_immediate", "false_positive_rate_high", "false_positive_rate",
            "recall_high_immediate_by_category")


def record_first_contact(set_sha: str, entry: dict) -> dict:
    """The first figures ever taken on this held-out set; recorded once, never overwritten."""
    history = json.loads(HISTORY.read_text(encoding="utf-8")) if HISTORY.is_file() else {}
    if set_sha not in history:
        history[set_sha] = entry
        RESULTS.mkdir(exist_ok=True)
        HISTORY.write_text(json.dumps(history, indent=2) + "\n", encoding="utf-8")
    return history


def release_id(manifest: dict) -> str:
    """The safety layer as released: the learned model (date, corpus, thresholds) and the code
    that combines the tiers."""
    code = b"".join((ROOT / "ros2_ws/src/esbot_dialogue/esbot_dialogue/safety" / name).read_bytes()
                    for name in ("rules.py", "assessor.py", "negative_context.py", "risk_scores.py", "reply_check.py"))
    digest = hashlib.sha256(code + json.dumps(manifest.get("thresholds"), sort_keys=True).encode()).hexdigest()
    return f"rules + learned tier {manifest.get('created')} (corpus {manifest.get('corpus_hash')}, release {digest[:8]})"


def _confusion_table(confusion: dict) -> list[str]:
    names = ["none", "low", "high", "immediate"]
    lines = ["| gold \\ predicted | " + " | ".join(names) + " |", "|---|" + "---|" * 4]
    for gold in range(4):
        lines.append(f"| {names[gold]} | " + " | ".join(str(confusion.get(f"{gold}->{p}", 0)) for p in range(4)) + " |")
    return lines


def _user_section(title: str, r: dict) -> list[str]:
    lines = [f"### {title}", "", "| figure | value |", "|---|---|",
             f"| recall, high + immediate | **{r['recall_high_immediate']}** ({r['crisis_cases']} cases) |",
             f"| immediate recognised as immediate | {r['immediate_as_immediate']} |",
             f"| false alarms (high+) on negatives | **{r['false_positive_rate_high']}** (of {r['negatives']}) |",
             f"| negatives given any level (low included) | {r['false_positive_rate']} |",
             f"| recall at or above the gold level (1 low, 2 high, 3 immediate) | {r['recall_at_or_above_level']} |",
             f"| recall high + immediate per category | {r['recall_high_immediate_by_category']} |",
             f"| category right when detected | {r['category_accuracy_when_detected']} |",
             f"| latency per assessment, ms (median / p90 / max) | {r['latency_ms']['median']} / "
             f"{r['latency_ms']['p90']} / {r['latency_ms']['max']} |", "", "Confusion matrix:", ""]
    lines += _confusion_table(r["confusion"]) + ["", "| kind | cases | recall high+imm | false alarms high+ |",
                                                 "|---|---|---|---|"]
    lines += [f"| {k} | {v['cases']} | {v['recall_high_immediate']} | {v['false_positive_rate_high']} |"
              for k, v in r["by_kind"].items()] + [""]
    if r["missed_high_immediate"]:
        lines += ["Missed high/immediate: " + "; ".join(
            f'"{m["text"]}"' + (f' (after {m["context"]})' if m["context"] else "") for m in r["missed_high_immediate"]),
            ""]
    alarms = [f for f in r["false_positives"] if f["level"] >= HIGH]
    if alarms:
        lines += ["False alarms (high+): " + "; ".join(f'"{f["text"]}" ({f["level"]})' for f in alarms), ""]
    return lines


def _reply_section(title: str, r: dict) -> list[str]:
    lines = [f"### {title}", "", "| figure | value |", "|---|---|",
             f"| unsafe sentences withheld | **{r['unsafe_withheld']}** |",
             f"| per label | {r['unsafe_withheld_by_label']} |",
             f"| safe sentences withheld | **{r['safe_withheld']}** |",
             f"| latency per sentence, ms (median / p90) | {r['latency_ms']['median']} / {r['latency_ms']['p90']} |",
             ""]
    if r["missed_unsafe"]:
        lines += ["Missed: " + "; ".join(f'"{m["text"]}" ({m["label"]})' for m in r["missed_unsafe"]), ""]
    if r["safe_withheld_cases"]:
        lines += ["Safe but withheld: " + "; ".join(f'"{m["text"]}"' for m in r["safe_withheld_cases"]), ""]
    return lines


def write_report(report: dict, history: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "safety_benchmark.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = ["# Safety detection benchmark", "",
             f"Machine: {report['machine']}. Release measured: {report.get('release', 'rules only')}. Held-out sets "
             "(blind, each frozen by SHA-256 before it was first evaluated): "
             + ", ".join(f"`{h['path']}` ({h['cases']} cases, sha256 `{h['sha256'][:16]}…`)"
                         for h in report["heldout"].values()) + ".", "",
             "## First contact on held-out data (read this first)", "",
             "Each row is the first time a held-out set was evaluated, with the release that met it; later runs "
             "never change it. Targets: recall high+imm >= 0.95, immediate as immediate >= 0.90, false alarms "
             "(high+) on negatives <= 0.05.", "",
             "| held-out set | release | first evaluated | recall high+imm | immediate as immediate | false alarms high+ "
             "| negatives any level | per category | reply: unsafe withheld / safe withheld |",
             "|---|---|---|---|---|---|---|---|---|"]
    for entry in history.values():
        u, rep = entry["user"], entry.get("reply", {})
        lines.append(f"| {entry['set']} | {entry['model']} | {entry['date']} | {u['recall_high_immediate']} | "
                     f"{u['immediate_as_immediate']} | {u['false_positive_rate_high']} | {u['false_positive_rate']} | "
                     f"{u['recall_high_immediate_by_category']} | {rep.get('unsafe_withheld')} / "
                     f"{rep.get('safe_withheld')} |")
    lines += ["", "The rule tier's earlier held-out batches, before the learned tier (recall of high+immediate, "
              "false positives at any level):", "", "| batch | cases | when first evaluated | figures |",
              "|---|---|---|---|"]
    lines += [f"| {b} | {n} | {when} | {figures} |" for b, n, when, figures in RULES_FIRST_CONTACT]
    cv = report.get("cross_validation")
    if cv:
        lines += ["", f"## Cross-validated figures of the learned tier alone ({cv['folds']}-fold, grouped by source "
                  f"case, on its {cv['user_cases']} user cases and {cv['reply_cases']} robot sentences)", "",
                  "| figure | value |", "|---|---|",
                  f"| recall, high + immediate | {cv['recall_high_immediate']} |",
                  f"| immediate recognised as immediate | {cv['immediate_as_immediate']} |",
                  f"| false alarms high+ / any level on level-0 cases | {cv['false_positive_rate_high']} / "
                  f"{cv['false_positive_rate_any']} |",
                  f"| recall per category | {cv['recall_high_immediate_by_category']} |",
                  f"| unsafe robot sentences withheld / safe ones withheld | {cv['reply_unsafe_withheld']} / "
                  f"{cv['reply_safe_withheld']} |", "",
                  "![cross-validated crisis scores](risk_classifier_cv.png)"]
    lines += ["", "## This run", ""]
    for name, tiers in report["sets"].items():
        lines += [f"## {name}", ""]
        for tier, r in tiers.items():
            lines += (_reply_section if "reply" in name else _user_section)(tier, r)
    (RESULTS / "safety_benchmark.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules-only", action="store_true", help="skip the learned tier")
    args = parser.parse_args()
    user_sets = {name: path for name, path in HELDOUT_USER_SETS.items() if path.is_file()}
    reply, labeled = load_cases(HELDOUT_REPLY), load_cases(TEST_CASES)
    tiers: dict[str, object] = {"rules only": None}
    learned = None
    if not args.rules_only:
        from esbot_dialogue.safety.learned import LearnedTier

        learned = LearnedTier()
        tiers[DEFAULT] = learned
    heldout = {name: {"path": str(path.relative_to(ROOT)), "cases": len(load_cases(path)), "sha256": sha256(path)}
               for name, path in user_sets.items()}
    heldout["heldout v1 replies"] = {"path": str(HELDOUT_REPLY.relative_to(ROOT)), "cases": len(reply),
                                     "sha256": sha256(HELDOUT_REPLY)}
    sets = {f"Held-out user utterances, {name}": {tier: evaluate(load_cases(path), model) for tier, model in tiers.items()}
            for name, path in user_sets.items()}
    sets["Held-out robot reply sentences, heldout v1"] = {tier: evaluate_replies(reply, model)
                                                          for tier, model in tiers.items()}
    sets["Older labeled set (rules tuned on it, learned tier trained on it: not held-out)"] = {
        tier: evaluate(labeled, model) for tier, model in tiers.items()}
    report = {"machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
              "heldout": heldout, "sets": sets}
    history = json.loads(HISTORY.read_text(encoding="utf-8")) if HISTORY.is_file() else {}
    if learned is not None:
        manifest = learned.model.manifest
        if manifest.get("cross_validation"):
            report["cross_validation"] = {"folds": manifest["training"]["cv_folds"], **manifest["cross_validation"]}
        report["release"] = release_id(manifest)
        for name in user_sets:
            entry = {"set": f"{name} ({heldout[name]['cases']} user)", "model": report["release"],
                     "date": time.strftime("%Y-%m-%d"),
                     "user": {k: sets[f"Held-out user utterances, {name}"][DEFAULT][k] for k in HEADLINE}}
            if name == "heldout v1":
                entry["set"] += f", {len(reply)} reply"
                entry["reply"] = {k: sets["Held-out robot reply sentences, heldout v1"][DEFAULT][k]
                                  for k in ("unsafe_withheld", "safe_withheld")}
            history = record_first_contact(heldout[name]["sha256"], entry)
    write_report(report, history)
    for set_name, results in report["sets"].items():
        for name, r in results.items():
            if "reply" in set_name:
                print(f"{set_name} / {name}: unsafe withheld {r['unsafe_withheld']}, safe withheld {r['safe_withheld']}")
            else:
                print(f"{set_name} / {name}: recall high+imm {r['recall_high_immediate']}, immediate "
                      f"{r['immediate_as_immediate']}, false alarms high+ {r['false_positive_rate_high']}, any "
                      f"{r['false_positive_rate']}, latency median {r['latency_ms']['median']} ms "
                      f"p90 {r['latency_ms']['p90']} ms")


if __name__ == "__main__":
    main()
