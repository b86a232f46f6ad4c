"""The report folder: JSON and CSV summaries, Markdown tables shaped like the papers', PNG plots.

Files::

    summary.json       everything below plus the configuration, provenance and library versions
    results.csv        one row per model x representation: automatic metrics, judge means, timing
    per_turn.csv       one row per evaluated turn (scores, lengths, timing; no texts)
    judge.csv          one row per judged dialogue and rubric (scores, missing, out of range, judge, template)
    representations.csv  tokens per utterance and utterances that fit, per representation
    curves.csv         perplexity and prompt length against the number of past utterances
    report.md          the tables, the metric notes, a few sample replies
    perplexity_vs_utterances.png, context_length_vs_utterances.png, utterances_fit.png, metric_bars.png
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Sequence

from .metrics import METRIC_NOTES
from .rubrics import RUBRICS

AUTOMATIC = [("perplexity", "PPL", 2), ("bleu2", "BLEU-2", 2), ("bleu4", "BLEU-4", 2), ("rouge2", "ROUGE-2", 2),
             ("rougeL", "ROUGE-L", 2), ("meteor", "METEOR", 2), ("bertscore_p", "BERTScore P", 2),
             ("bertscore_r", "BERTScore R", 2), ("bertscore_f1", "BERTScore F1", 2)]
TIMING = [("mean_new_tokens", "reply tokens", 1), ("mean_seconds_per_response", "s / reply", 2),
          ("mean_prompt_tokens", "prompt tokens", 0)]


def _fmt(value: Any, digits: int) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _write_csv(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    fields: list[str] = []
    for row in rows:
        fields += [key for key in row if key not in fields]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def flat_results(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for result in results:
        row = {key: value for key, value in result.items() if key != "judge"}
        for rubric, summary in result.get("judge", {}).items():
            for criterion, mean in summary["means"].items():
                row[f"judge_{rubric}_{criterion}"] = mean
            row[f"judge_{rubric}_complete"] = f"{summary['complete']}/{summary['judged']}"
        rows.append(row)
    return rows


def write_report(out: Path, summary: dict[str, Any], per_turn: Sequence[dict[str, Any]],
                 judge_rows: Sequence[dict[str, Any]], samples: Sequence[dict[str, Any]]) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    _write_csv(out / "results.csv", flat_results(summary["results"]))
    _write_csv(out / "per_turn.csv", per_turn)
    _write_csv(out / "judge.csv", judge_rows)
    _write_csv(out / "representations.csv", summary["representations"])
    _write_csv(out / "curves.csv", summary["curves"])
    (out / "report.md").write_text(markdown(summary, samples), encoding="utf-8")
    plots(out, summary)
    return sorted(out.iterdir())


def markdown(summary: dict[str, Any], samples: Sequence[dict[str, Any]]) -> str:
    results = summary["results"]
    subset = summary["subset"]
    parts = [
        f"# Evaluation: {summary['model_id']} on {subset['dataset']} {subset['split']}",
        "",
        f"{subset['dialogues']} dialogues ({', '.join(subset['dialogue_ids'])}), "
        f"{subset['turns']} supporter turns per model and representation "
        f"(first {subset['max_turns_per_dialogue'] or 'all'} supporter replies of each dialogue). "
        f"Sampling: {summary['generation_settings']}. Context window {summary['context_window']} tokens "
        f"(prompts built by the robot's PromptBuilder). Generated on {summary['device']}.",
        "",
        "## Automatic metrics",
        "",
        "All scores x100 except perplexity (PPL, of the reference reply). How each was computed is below the tables.",
        "",
        _table(["model", "kind", "representation", "turns"] + [label for _, label, _ in AUTOMATIC + TIMING],
               [[r["system"], r["kind"], r["representation"], r["turns"]]
                + [_fmt(r.get(key), digits) for key, _, digits in AUTOMATIC + TIMING] for r in results]),
        "",
    ]
    deltas = summary.get("fine_tuned_minus_base", [])
    if deltas:
        parts += ["### Fine-tuned minus base (same representation; lower PPL is better, higher is better otherwise)", "",
                  _table(["model", "representation"] + [label for _, label, _ in AUTOMATIC],
                         [[d["system"], d["representation"]] + [_fmt(d.get(key), 2) for key, _, _ in AUTOMATIC]
                          for d in deltas]), ""]
    judge = summary.get("judge")
    if judge:
        parts += ["## LLM judge", "",
                  f"Judge: `{judge['judge']}`. Dialogue-level, with the reference dialogue. Means over the dialogues "
                  "whose reply gave that score; `complete` counts replies with every score present and in range "
                  "(missing or out-of-range scores are not invented, see judge.csv).", ""]
        for rubric in judge["rubrics"]:
            spec = RUBRICS[rubric["name"]]
            parts += [f"### {rubric['name']} (scores {spec.low}-{spec.high}; template `{rubric['template']}`, "
                      f"sha256 `{rubric['template_hash']}`)", "",
                      _table(["model", "representation"] + [c.capitalize() for c in spec.criteria]
                             + ["complete", "request errors"],
                             [[r["system"], r["representation"]]
                              + [_fmt(r["judge"][rubric["name"]]["means"].get(c), 2) for c in spec.criteria]
                              + [f"{r['judge'][rubric['name']]['complete']}/{r['judge'][rubric['name']]['judged']}",
                                 r["judge"][rubric["name"]]["errors"]]
                              for r in results if rubric["name"] in r.get("judge", {})]), ""]
    representations = summary["representations"]
    parts += ["## Context representations", "",
              f"Tokens per utterance with the model's tokenizer and how many past utterances the robot's "
              f"PromptBuilder keeps in a {summary['context_window']}-token window (on "
              f"{summary['analysis_dialogues']} dialogues of the split put one after another).", "",
              _table(["representation", "utterances", "mean tokens", "median tokens", "past utterances that fit (mean)",
                      "min", "max", "samples"],
                     [[r["representation"], r["utterances"], _fmt(r["mean_tokens"], 1), _fmt(r["median_tokens"], 1),
                       _fmt(r["mean_utterances"], 1), _fmt(r["min_utterances"], 0), _fmt(r["max_utterances"], 0),
                       r["samples"]] for r in representations]), "",
              "Figures: `perplexity_vs_utterances.png`, `context_length_vs_utterances.png`, `utterances_fit.png`, "
              "`metric_bars.png`; data in `curves.csv`.", "",
              "## How the numbers were computed", ""]
    parts += [f"- **{name}**: {note}" for name, note in METRIC_NOTES.items()]
    parts += [f"- **BERTScore encoder**: {summary['bertscore']}", ""]
    if samples:
        parts += ["## Sample replies", ""]
        for sample in samples:
            parts += [f"**{sample['system']} / {sample['representation']}**, {sample['dialogue_id']} turn "
                      f"{sample['reply_index']}", "",
                      f"> Help-seeker: {sample['utterance']}", ">",
                      f"> Reference: {sample['reference']}", ">",
                      f"> Generated: {sample['generated']}", ""]
    return "\n".join(parts) + "\n"


def plots(out: Path, summary: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = summary["curves"]
    series = sorted({(c["system"], c["representation"]) for c in curves})
    for key, ylabel, name in (("perplexity", "reference perplexity", "perplexity_vs_utterances.png"),
                              ("mean_prompt_tokens", "prompt length (tokens)", "context_length_vs_utterances.png")):
        figure, axis = plt.subplots(figsize=(7, 4.2))
        for system, representation in series:
            points = [(c["past_utterances"], c[key]) for c in curves
                      if c["system"] == system and c["representation"] == representation and c.get(key) is not None]
            if points:
                axis.plot(*zip(*points), "o-" if system == "base" else "s--", label=f"{system} / {representation}")
        axis.set_xlabel("past utterances in the prompt")
        axis.set_ylabel(ylabel)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(out / name, dpi=110)
        plt.close(figure)

    representations = summary["representations"]
    figure, axis = plt.subplots(figsize=(6, 3.8))
    names = [r["representation"] for r in representations]
    axis.bar(names, [r["mean_utterances"] or 0 for r in representations], color="#4c72b0")
    for index, r in enumerate(representations):
        axis.annotate(f"{_fmt(r['mean_tokens'], 1)} tok/utt", (index, r["mean_utterances"] or 0),
                      ha="center", va="bottom", fontsize=8)
    axis.set_ylabel(f"past utterances that fit in {summary['context_window']} tokens")
    figure.tight_layout()
    figure.savefig(out / "utterances_fit.png", dpi=110)
    plt.close(figure)

    results = summary["results"]
    metrics = [(key, label) for key, label, _ in AUTOMATIC if key != "perplexity"]
    figure, axis = plt.subplots(figsize=(10, 4.5))
    width = 0.8 / max(len(results), 1)
    for index, result in enumerate(results):
        xs = [m + index * width for m in range(len(metrics))]
        axis.bar(xs, [result.get(key) or 0 for key, _ in metrics], width,
                 label=f"{result['system']} / {result['representation']}")
    axis.set_xticks([m + width * (len(results) - 1) / 2 for m in range(len(metrics))])
    axis.set_xticklabels([label for _, label in metrics], fontsize=8)
    axis.set_ylabel("score (x100)")
    axis.legend(fontsize=7, ncol=2)
    axis.grid(alpha=0.3, axis="y")
    figure.tight_layout()
    figure.savefig(out / "metric_bars.png", dpi=110)
    plt.close(figure)
