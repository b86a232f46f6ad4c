"""End to end: the evaluation CLI on two ESConv test dialogues with the real default model.

Small enough for 2 CPU cores: the first 2 supporter turns of each dialogue, 8 new tokens, a
512-token context window (so the representations' windows really fill on 4 dialogues), the
judge on (16 tokens, one dialogue). Base model vs a tiny random LoRA adapter (lora_test_adapters), all three
representations: every artefact of the report is checked. Then the same command again must
reuse every cached reply and judge answer, and a run whose cache lost its last records (a crash)
generates exactly those again.
"""

import csv
import json

import pytest

from lora_test_adapters import make_test_adapters

from esbot_training.evaluate import main

CONFIG = "training/configs/eval_esconv_cpu.yaml"
ARTEFACTS = ("summary.json", "results.csv", "per_turn.csv", "judge.csv", "representations.csv", "curves.csv",
             "report.md", "perplexity_vs_utterances.png", "context_length_vs_utterances.png", "utterances_fit.png",
             "metric_bars.png")


def arguments(root, adapter):
    settings = [
        f"model.adapters=[{adapter}]", "model.context_window=512",
        "data.max_dialogues=2", "data.max_turns_per_dialogue=2",
        "generation.max_new_tokens=8", "generation.batch_size=8",
        "metrics.curve_utterances=[0,1,2]", "metrics.curve_max_turns=4", "metrics.analysis_dialogues=4",
        "judge.max_new_tokens=16", "judge.enabled=true", "judge.max_dialogues=1",
        f"report.output_dir={root / 'report'}", f"report.cache_dir={root / 'cache'}", "report.progress=false",
    ]
    return ["--config", CONFIG] + [item for setting in settings for item in ("--set", setting)]


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, model_dir, esconv_dir):
    root = tmp_path_factory.mktemp("evaluation")
    adapter = make_test_adapters(model_dir, root / "adapters") / "matching"
    assert main(arguments(root, adapter)) == 0
    return root, adapter, json.loads((root / "report" / "summary.json").read_text())


def rows(path):
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


def test_every_artefact_is_written(first_run):
    root, _, summary = first_run
    report = root / "report"
    for name in ARTEFACTS:
        assert (report / name).is_file() and (report / name).stat().st_size > 0, name
    for name in ARTEFACTS:
        if name.endswith(".png"):
            assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and (report / name).stat().st_size > 10_000
    assert summary["subset"] == {"dataset": "esconv", "split": "test", "dialogues": 2,
                                 "dialogue_ids": ["esconv-test-0", "esconv-test-1"], "turns": 4,
                                 "max_turns_per_dialogue": 2}
    assert summary["cache"]["generated_now"] == 24  # 2 models x 3 representations x 4 turns


def test_metrics_per_model_and_representation(first_run):
    root, _, summary = first_run
    results = rows(root / "report" / "results.csv")
    assert [(r["system"], r["representation"]) for r in results] == [
        ("base", "raw"), ("base", "keypos"), ("base", "nostopwords"),
        ("matching", "raw"), ("matching", "keypos"), ("matching", "nostopwords")]
    for result in summary["results"]:
        assert result["turns"] == 4 and result["perplexity_turns"] == 4
        assert 1 < result["perplexity"] < 10_000
        for name in ("bleu2", "bleu4", "rouge2", "rougeL", "meteor", "bertscore_p", "bertscore_r", "bertscore_f1"):
            assert 0 <= result[name] <= 100, name
        assert 0 < result["bertscore_f1"] and result["mean_new_tokens"] <= 8
        assert result["mean_seconds_per_response"] > 0
    base = {r["representation"]: r for r in summary["results"] if r["kind"] == "base"}
    tuned = {r["representation"]: r for r in summary["results"] if r["kind"] == "fine-tuned"}
    # a random LoRA changes the model: the same prompts get another reference perplexity
    assert all(abs(base[rep]["perplexity"] - tuned[rep]["perplexity"]) > 1e-3 for rep in base)
    delta = summary["fine_tuned_minus_base"][0]
    assert delta["perplexity"] == pytest.approx(tuned["raw"]["perplexity"] - base["raw"]["perplexity"])
    per_turn = rows(root / "report" / "per_turn.csv")
    assert len(per_turn) == 24 and "generated" not in per_turn[0]
    assert {r["dialogue_id"] for r in per_turn} == {"esconv-test-0", "esconv-test-1"}
    # keypos and nostopwords shorten the history, never the current utterance
    prompt = {rep: sum(int(r["prompt_tokens"]) for r in per_turn if r["representation"] == rep) for rep in base}
    assert prompt["keypos"] < prompt["raw"] and prompt["nostopwords"] < prompt["raw"]
    assert "tokenize=13a" in summary["metric_notes"]["bleu2"] and "wordpunct" in summary["metric_notes"]["meteor"]
    assert summary["bertscore"].startswith("all-MiniLM-L6-v2, layer 6")


def test_representation_statistics_and_curves(first_run):
    _, _, summary = first_run
    stats = {r["representation"]: r for r in summary["representations"]}
    assert stats["keypos"]["mean_tokens"] < stats["raw"]["mean_tokens"]
    assert stats["nostopwords"]["mean_tokens"] < stats["raw"]["mean_tokens"]
    for rep in stats.values():
        assert rep["samples"] >= 1 and rep["budget_tokens"] == 512 - 8
    # shorter utterances: more of them fit the same window
    assert stats["nostopwords"]["mean_utterances"] > stats["raw"]["mean_utterances"]
    curves = summary["curves"]
    assert len(curves) == 2 * 3 * 3
    raw_base = {c["past_utterances"]: c for c in curves if c["system"] == "base" and c["representation"] == "raw"}
    assert raw_base[0]["mean_history_turns_used"] == 0
    assert raw_base[2]["turns"] <= raw_base[0]["turns"] and raw_base[2]["mean_history_turns_used"] == 2


def test_judge_results_carry_their_provenance(first_run):
    root, _, summary = first_run
    judged = rows(root / "report" / "judge.csv")
    assert len(judged) == 2 * 3 * 1 * 2  # models x representations x dialogues x rubrics
    assert {r["dialogue_id"] for r in judged} == {"esconv-test-0"}
    hashes = {r["template_hash"] for r in judged}
    assert len(hashes) == 2
    assert {r["judge"] for r in judged} == {"local:HuggingFaceTB/SmolLM2-135M-Instruct"}
    for row in judged:
        assert row["parsed_as"] in ("json", "list", "none") and row["error"] == ""
        # every criterion is either scored in range, or reported missing / out of range
        criteria = ["engagement", "comforting", "appropriateness", "suggestion"] + (
            ["fluency"] if row["rubric"] == "dialogue_0to10" else [])
        reported = set(filter(None, row["missing"].split(";"))) | {
            item.split("=")[0] for item in filter(None, row["out_of_range"].split(";"))}
        assert {c for c in criteria if row[c] != ""} | reported == set(criteria)
    assert summary["judge"]["rubrics"][0]["template_hash"] in hashes
    report = (root / "report" / "report.md").read_text()
    for heading in ("## Automatic metrics", "Fine-tuned minus base", "## LLM judge", "## Context representations",
                    "## How the numbers were computed", "| base | base | raw | 4 |"):
        assert heading in report


def test_a_rerun_reuses_the_cache(first_run):
    root, adapter, first = first_run
    assert main(arguments(root, adapter)) == 0
    again = json.loads((root / "report" / "summary.json").read_text())
    assert again["cache"]["generated_now"] == 0
    assert again["cache"]["generations"]["written"] == 0 and again["cache"]["generations"]["hits"] == 24
    assert again["cache"]["reference_nll"]["written"] == 0
    assert again["judge"]["cache"]["written"] == 0 and again["judge"]["cache"]["hits"] == 12
    for before, after in zip(first["results"], again["results"]):
        assert after["bleu2"] == before["bleu2"] and after["perplexity"] == before["perplexity"]


def test_a_crashed_run_generates_only_what_is_missing(first_run):
    root, adapter, _ = first_run
    cache = root / "cache" / "generations.jsonl"
    lines = cache.read_text().splitlines()
    cache.write_text("\n".join(lines[:-3]) + "\n" + lines[-3][: len(lines[-3]) // 2])  # 2 lost, 1 cut off
    # The judge is left out here: new replies make new dialogues to judge, which is not the point.
    assert main(arguments(root, adapter) + ["--set", "judge.enabled=false"]) == 0
    summary = json.loads((root / "report" / "summary.json").read_text())
    assert summary["cache"]["generated_now"] == 3
    assert summary["cache"]["generations"]["damaged_lines"] == 1
