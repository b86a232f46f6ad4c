"""Detection targets on the labeled test set: recall of high+immediate >= 0.98 and
false positives <= 0.05 on the negatives, for the rules alone and rules + MiniLM."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_safety", ROOT / "benchmarks" / "bench_safety.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cases(bench):
    cases = bench.load_cases(bench.TEST_CASES)
    assert len(cases) >= 400
    kinds = {case["kind"] for case in cases}
    assert {"positive", "idiom", "negation", "two_turn", "injection"} <= kinds
    return cases


def test_dev_and_test_sets_do_not_overlap(bench, cases):
    dev = {case["text"] for case in bench.load_cases(bench.DEV_CASES)}
    assert not dev & {case["text"] for case in cases}


def _check(report):
    assert report["recall_high_immediate"] >= 0.98, report["missed_high_immediate"]
    assert report["false_positive_rate"] <= 0.05, report["false_positives"]


def test_rules_alone_meet_the_targets(bench, cases):
    _check(bench.evaluate(cases))


def test_rules_with_the_semantic_tier_meet_the_targets(bench, cases):
    from esbot_dialogue.safety.semantic import SemanticTier

    _check(bench.evaluate(cases, SemanticTier()))
