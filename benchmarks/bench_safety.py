"""Safety detection benchmark: the risk assessor on the labeled test set.

Runs the assessor twice, rules alone and rules + the MiniLM semantic tier, over
tests/data/safety_cases.jsonl (each case with its earlier user turns as context, a fresh
assessor per case) and reports what matters for a robot that hears people in danger:
recall of high+immediate risk (a miss leaves someone without help), recall per level and
category, the false-positive rate on negatives (idioms, negations, films, the news,
someone else's past, everyday sadness), the confusion matrix and the time per assessment.

    python benchmarks/bench_safety.py [--cases tests/data/safety_cases.jsonl] [--rules-only]

Writes results/safety_benchmark.{json,md}.
"""

from __future__ import annotations

import argparse
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

TEST_CASES = ROOT / "tests" / "data" / "safety_cases.jsonl"
DEV_CASES = ROOT / "tests" / "data" / "safety_dev_cases.jsonl"
RESULTS = ROOT / "results"
HIGH = int(RiskLevel.HIGH)
# The test set was written in three batches. Each batch's figures the first time the
# assessor saw it (before any fix its errors led to) are the honest held-out estimates;
# the figures this script measures now include tuning on b1 and b2, and on b3's misses.
FIRST_CONTACT = [
    ("b1", 475, "rules tuned on the dev set only", "recall 0.954 (11/239 missed), FP 0.024 (4/170)"),
    ("b2", 64, "written after the b1 run, before the b1 fixes",
     "recall 0.714 (25/35), FP 0.042 (1/24)"),
    ("b3", 52, "written after all b1/b2 tuning, evaluated once",
     "rules recall 0.452 (14/31), FP 0.105 (2/19); rules + MiniLM recall 0.548 (17/31), FP 0.105"),
]


def load_cases(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def evaluate(cases: list[dict], model_tier=None) -> dict:
    """Metrics of one assessor configuration on the cases (see the module docstring)."""
    predictions, latencies = [], []
    for case in cases:
        assessor = RiskAssessor(model_tier)
        for turn in case["context"]:
            assessor.assess(turn)
        started = time.perf_counter()
        result = assessor.assess(case["text"])
        latencies.append((time.perf_counter() - started) * 1000)
        predictions.append(result)

    crisis = [(c, p) for c, p in zip(cases, predictions) if c["level"] >= HIGH]
    negatives = [(c, p) for c, p in zip(cases, predictions) if c["level"] == 0]
    by_level, by_category, by_kind, by_batch = defaultdict(list), defaultdict(list), defaultdict(list), defaultdict(list)
    for case, pred in zip(cases, predictions):
        by_kind[case["kind"]].append((case, pred))
        by_batch[case.get("batch", "")].append((case, pred))
        if case["level"] > 0:
            by_level[case["level"]].append(pred.level >= case["level"])
        if case["level"] >= HIGH:
            by_category[case["category"]].append(pred.level >= HIGH)
    confusion = Counter((case["level"], int(pred.level)) for case, pred in zip(cases, predictions))
    detected = [(c, p) for c, p in crisis if p.level >= HIGH]

    def summary(pairs):
        pos = [p.level >= HIGH for c, p in pairs if c["level"] >= HIGH]
        neg = [p.level > 0 for c, p in pairs if c["level"] == 0]
        return {"cases": len(pairs), "recall_high_immediate": _rate(sum(pos), len(pos)),
                "false_positive_rate": _rate(sum(neg), len(neg))}

    return {
        "cases": len(cases),
        "recall_high_immediate": _rate(sum(p.level >= HIGH for _, p in crisis), len(crisis)),
        "missed_high_immediate": [c["text"] for c, p in crisis if p.level < HIGH],
        "false_positive_rate": _rate(sum(p.level > 0 for _, p in negatives), len(negatives)),
        "false_positive_rate_high": _rate(sum(p.level >= HIGH for _, p in negatives), len(negatives)),
        "false_positives": [{"text": c["text"], "level": int(p.level), "reasons": list(p.reasons)}
                            for c, p in negatives if p.level > 0],
        "negatives": len(negatives),
        "recall_at_or_above_level": {str(level): _rate(sum(v), len(v)) for level, v in sorted(by_level.items())},
        "recall_high_immediate_by_category": {k: _rate(sum(v), len(v)) for k, v in sorted(by_category.items())},
        "category_accuracy_when_detected": _rate(sum(p.category == c["category"] for c, p in detected), len(detected)),
        "by_kind": {k: summary(v) for k, v in sorted(by_kind.items())},
        "by_batch": {k: summary(v) for k, v in sorted(by_batch.items())},
        "confusion": {f"{gold}->{pred}": n for (gold, pred), n in sorted(confusion.items())},
        "latency_ms": {"median": round(statistics.median(latencies), 3),
                       "p90": round(sorted(latencies)[int(0.9 * (len(latencies) - 1))], 3),
                       "max": round(max(latencies), 3)},
    }


def _confusion_table(confusion: dict) -> list[str]:
    names = ["none", "low", "high", "immediate"]
    lines = ["| gold \\ predicted | " + " | ".join(names) + " |", "|---|" + "---|" * 4]
    for gold in range(4):
        lines.append(f"| {names[gold]} | " + " | ".join(str(confusion.get(f"{gold}->{p}", 0)) for p in range(4)) + " |")
    return lines


def write_report(report: dict) -> None:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "safety_benchmark.json").write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    lines = ["# Safety detection benchmark", "",
             f"Test set `{report['test_set']}`: {report['test_cases']} cases; dev set (used for tuning) "
             f"`{report['dev_set']}`. Machine: {report['machine']}.", ""]
    lines += ["## Held-out history (read this first)", "",
              "| batch | cases | when first evaluated | figures at first contact |", "|---|---|---|---|"]
    lines += [f"| {b} | {n} | {when} | {figures} |" for b, n, when, figures in FIRST_CONTACT]
    lines += ["", "Unseen phrasings are what the rule tier misses: expect recall on new speech well below the "
              "figures below, which were measured after tuning on these batches' errors.", ""]
    for name, r in report["tiers"].items():
        lines += [f"## {name}", "",
                  "| figure | value |", "|---|---|",
                  f"| recall, high + immediate | {r['recall_high_immediate']} |",
                  f"| false positives on negatives (any level) | {r['false_positive_rate']} ({len(r['false_positives'])}"
                  f" of {r['negatives']}) |",
                  f"| false positives on negatives (high+) | {r['false_positive_rate_high']} |",
                  f"| recall at or above the gold level (1 low, 2 high, 3 immediate) | "
                  f"{r['recall_at_or_above_level']} |",
                  f"| recall high + immediate per category | {r['recall_high_immediate_by_category']} |",
                  f"| category right when detected | {r['category_accuracy_when_detected']} |",
                  f"| per batch | {r['by_batch']} |",
                  f"| latency per assessment, ms (median / p90 / max) | {r['latency_ms']['median']} / "
                  f"{r['latency_ms']['p90']} / {r['latency_ms']['max']} |", "",
                  "Confusion matrix (test set):", ""] + _confusion_table(r["confusion"]) + [""]
        if r["missed_high_immediate"]:
            lines += ["Missed high/immediate: " + "; ".join(f'"{t}"' for t in r["missed_high_immediate"]), ""]
        if r["false_positives"]:
            lines += ["False positives: " + "; ".join(f'"{f["text"]}" ({f["level"]})' for f in r["false_positives"]), ""]
        lines += ["Per kind: ", "", "| kind | cases | recall high+imm | FP rate |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['cases']} | {v['recall_high_immediate']} | {v['false_positive_rate']} |"
                  for k, v in r["by_kind"].items()] + [""]
    (RESULTS / "safety_benchmark.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=TEST_CASES)
    parser.add_argument("--rules-only", action="store_true", help="skip the MiniLM semantic tier")
    args = parser.parse_args()
    cases = load_cases(args.cases)
    tiers = {"rules only": evaluate(cases)}
    if not args.rules_only:
        from esbot_dialogue.safety.semantic import SemanticTier

        tiers["rules + MiniLM semantic tier"] = evaluate(cases, SemanticTier())
    report = {"test_set": str(args.cases.relative_to(ROOT) if args.cases.is_relative_to(ROOT) else args.cases),
              "test_cases": len(cases), "dev_set": str(DEV_CASES.relative_to(ROOT)),
              "machine": f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
              "tiers": tiers}
    write_report(report)
    for name, r in tiers.items():
        print(f"{name}: recall high+imm {r['recall_high_immediate']}, FP {r['false_positive_rate']}, "
              f"latency median {r['latency_ms']['median']} ms")


if __name__ == "__main__":
    main()
