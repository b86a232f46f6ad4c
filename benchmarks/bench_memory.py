"""Memory benchmark: how many past utterances each history representation fits in a fixed
context budget, what that costs in answer quality, and what the memory adds to each turn.

On ESConv test dialogues (read in place) with the default model's tokenizer, every supporter
turn is a target: the history before it goes through the dialogue node's own memory
(ContextMemory over a conversation store, turn by turn as on the robot, folding into the
summary after each supporter turn in the summary modes) and the context is built for the
seeker's utterance(s) just before it.

1. Capacity (all test dialogues, no generation): past utterances in the context, over the
   targets whose history overflows the raw budget, and over those whose history is long
   enough to show the target ratio at all (at least 2.5x what raw fits); also at other
   budgets (--sweep-windows). In the summary modes the summary's length is pinned to its
   maximum (a stand-in text), since only its token count matters here; the utterances it
   covers are counted as "represented" apart from the ones shown.
2. Quality (a fixed seeded subset: one overflowing target per dialogue, greedy generation by
   the default model, real LLM summaries): BERTScore-F1 and ROUGE-L of the reply against
   ESConv's supporter reply, with the evaluation package's metric functions
   (training/esbot_training/evaluation/metrics.py), and a paired bootstrap interval of each
   mode's relative BERTScore-F1 change against raw on the same targets.
3. Latency the memory adds per turn: building the context, storing a turn (synced SQLite),
   how long a reply waits for background work to stop (preemption), and how many prompt
   tokens the next reply reads itself, with and without the background warm-up (time to
   the first token of the reply, per mode). Run it on a quiet machine.

    python benchmarks/bench_memory.py [--parts capacity,latency,quality] [--quality-dialogues 40]

Writes results/memory_benchmark.{json,md,png}; parts not run keep their earlier figures.

Writes results/memory_benchmark.{json,md,png}.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "ros2_ws" / "src" / "esbot_common", ROOT / "ros2_ws" / "src" / "esbot_dialogue", ROOT / "training"):
    sys.path.insert(0, str(path))

from esbot_common.model_store import resolve_model  # noqa: E402
from esbot_dialogue.llm import GenerationSettings  # noqa: E402
from esbot_dialogue.llm.transformers_backend import TransformersBackend
from esbot_dialogue.history import ConversationHistory  # noqa: E402
from esbot_dialogue.memory.context_memory import MEMORY_MODES, SUMMARY_MODES, ContextMemory  # noqa: E402
from esbot_dialogue.memory.conversation_store import ConversationStore  # noqa: E402
from esbot_dialogue.memory.summarizer import Summarizer  # noqa: E402
from esbot_dialogue.prompting import PromptBuilder  # noqa: E402
from esbot_dialogue.turn import Turn  # noqa: E402

MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
DEFAULT_ESCONV = ROOT.parent / "shared" / "data" / "esconv"
RESULTS = ROOT / "results"
TARGET_CAPACITY, TARGET_LOSS = 2.5, 0.05


def esconv_dialogues(folder: Path) -> list[list[Turn]]:
    dialogues = []
    with (folder / "test.jsonl").open(encoding="utf-8") as lines:
        for number, line in enumerate(lines):
            turns = [Turn("user" if u["speaker"] == "usr" else "assistant", " ".join(u["text"].split()), float(i),
                          f"d{number}-{i}") for i, u in enumerate(json.loads(line)["dialog"]) if u["text"].strip()]
            dialogues.append(turns)
    return dialogues


def spans_of(dialogue: list[Turn]) -> dict[int, int]:
    """target index -> start of the seeker utterances it answers (= the history's length)."""
    return {index: start for start, index in targets(dialogue)}


def targets(dialogue: list[Turn]) -> list[tuple[int, int]]:
    """(start, index) per supporter turn preceded by seeker utterances: dialogue[start:index] is
    what the seeker just said (the current utterance), dialogue[:start] the history."""
    found = []
    for index, turn in enumerate(dialogue):
        if turn.role == "assistant" and index and dialogue[index - 1].role == "user":
            start = index
            while start and dialogue[start - 1].role == "user":
                start -= 1
            if start:
                found.append((start, index))
    return found


class FixedLengthSummarizer:
    """Capacity runs: a summary of exactly max_tokens tokens, whatever it covers."""

    def __init__(self, tokenizer, max_tokens: int):
        self.max_tokens = max_tokens
        text = "The person talked about their situation."
        while len(tokenizer(text, add_special_tokens=False)["input_ids"]) < max_tokens:
            text += " They feel worried."
        self.text = text

    def turn_room(self, previous: str) -> int:
        return 10_000

    def summarize(self, previous, turns, cancel=None):
        return self.text


def new_memory(builder: PromptBuilder, mode: str, summarizer, store_path=None, warm_model=None) -> ContextMemory:
    store = ConversationStore(store_path)
    # window_refill_share 1.0: each representation's full capacity, what this benchmark compares (the
    # robot's raw modes move their window in steps to keep the prompt cached, keeping 70-100 % of it).
    return ContextMemory(builder, ConversationHistory(store, "bench"), mode,
                         summarizer if mode in SUMMARY_MODES else None, warm_model=warm_model,
                         window_refill_share=1.0)


def walk(memory: ContextMemory, dialogue: list[Turn], wanted: set[int], fold_timeout: float = 600.0):
    """Feed the dialogue turn by turn; at each wanted target, yield (target, prompt, build seconds)."""
    spans = spans_of(dialogue)
    stored_through = 0
    for index in sorted(wanted):
        start = spans[index]
        for turn in dialogue[stored_through:start]:
            memory.history.append(turn)
            if turn.role == "assistant":  # a robot turn is complete: the next one is prepared
                memory.prepare_next_turn()
                if not memory.wait_for_background(fold_timeout):
                    raise RuntimeError("a summary did not finish in time")
        stored_through = start
        current = " ".join(t.text for t in dialogue[start:index])
        started = time.perf_counter()
        prompt = memory.build(current)
        yield index, prompt, time.perf_counter() - started


def represented(memory: ContextMemory, prompt) -> int:
    summary = memory.summary() if prompt.summary_text else None
    return prompt.history_turns_used + (summary.covered_turns if summary else 0)


def capacity(dialogues, tokenizer, builder, summary_tokens: int, progress: str = "") -> dict:
    stand_in = FixedLengthSummarizer(tokenizer, summary_tokens)
    rows = {mode: [] for mode in MEMORY_MODES}
    for mode in MEMORY_MODES:
        for number, dialogue in enumerate(dialogues):
            memory = new_memory(builder, mode, stand_in)
            wanted = {index for _, index in targets(dialogue)}
            for index, prompt, seconds in walk(memory, dialogue, wanted):
                rows[mode].append({"dialogue": number, "target": index, "history": len(dialogue[:spans_of(dialogue)[index]]),
                                   "shown": prompt.history_turns_used,
                                   "represented": represented(memory, prompt), "dropped": prompt.history_turns_dropped,
                                   "prompt_tokens": prompt.prompt_tokens, "build_ms": seconds * 1000})
            memory.close()
    overflow = {(r["dialogue"], r["target"]) for r in rows["raw"] if r["dropped"] > 0}
    # Only where the history holds at least TARGET_CAPACITY times what raw shows can any
    # representation be seen to fit that much: the rest are capped by the dialogue's length.
    long_enough = {(r["dialogue"], r["target"]) for r in rows["raw"]
                   if r["dropped"] > 0 and r["history"] >= TARGET_CAPACITY * r["shown"]}
    result = {"context_window": builder.context_window, "budget": builder.budget, "targets": len(rows["raw"]),
              "overflowing_targets": len(overflow), "long_history_targets": len(long_enough), "modes": {}}

    def mean_of(mode, key, chosen):
        return statistics.mean(r[key] for r in rows[mode] if (r["dialogue"], r["target"]) in chosen)

    for mode, mode_rows in rows.items():
        builds = sorted(r["build_ms"] for r in mode_rows)
        entry = {"mean_prompt_tokens": mean_of(mode, "prompt_tokens", overflow),
                 "history_utterances": mean_of(mode, "history", overflow),
                 "build_ms_mean": statistics.mean(builds), "build_ms_p95": builds[int(0.95 * (len(builds) - 1))]}
        for prefix, chosen in (("", overflow), ("long_", long_enough)):
            if not chosen:
                continue
            raw_shown = mean_of("raw", "shown", chosen)
            shown, represented_ = mean_of(mode, "shown", chosen), mean_of(mode, "represented", chosen)
            entry.update({f"{prefix}shown_utterances": shown, f"{prefix}represented_utterances": represented_,
                          f"{prefix}shown_vs_raw": shown / raw_shown,
                          f"{prefix}represented_vs_raw": represented_ / raw_shown,
                          f"{prefix}history_utterances": mean_of(mode, "history", chosen)})
        result["modes"][mode] = entry
    print(f"[capacity{progress}] window {builder.context_window}: " + ", ".join(
        f"{mode} {entry['represented_vs_raw']:.2f}x" for mode, entry in result["modes"].items()), flush=True)
    return result


def quality_subset(dialogues, builder, count: int, seed: int = 11) -> list[tuple[int, int]]:
    """One target per dialogue, in dialogue order, drawn (seeded) among its long-history ones
    (the history holds at least TARGET_CAPACITY times what raw fits: where the capacity target
    is measured), so the quality is that of the conversations the memory is for."""
    rng = random.Random(seed)
    subset = []
    for number, dialogue in enumerate(dialogues):
        probe = new_memory(builder, "raw", None)
        spans = spans_of(dialogue)
        overflowing = [index for index, prompt, _ in walk(probe, dialogue, set(spans))
                       if prompt.history_turns_dropped > 0 and spans[index] >= TARGET_CAPACITY * prompt.history_turns_used]
        probe.close()
        if overflowing:
            subset.append((number, rng.choice(overflowing)))
        if len(subset) == count:
            break
    return subset


def paired_change(raw: list[float], other: list[float], resamples: int = 4000, seed: int = 5) -> dict:
    """Relative change of the mean against raw on the same targets, with a 95 % paired
    bootstrap interval (targets resampled together)."""
    rng = random.Random(seed)
    count = len(raw)
    changes = []
    for _ in range(resamples):
        picks = [rng.randrange(count) for _ in range(count)]
        base = sum(raw[i] for i in picks)
        changes.append(sum(other[i] for i in picks) / base - 1)
    changes.sort()
    return {"change": sum(other) / sum(raw) - 1, "low": changes[int(0.025 * resamples)],
            "high": changes[int(0.975 * resamples) - 1]}


def quality(dialogues, transformers_llm, builder, count: int, summary_tokens: int, reply_tokens: int) -> dict:
    from esbot_training.evaluation.metrics import BertScore, rouge
    from tqdm import tqdm

    subset = quality_subset(dialogues, builder, count)
    summarizer = Summarizer(transformers_llm, summary_tokens, builder.context_window)
    settings = GenerationSettings(max_new_tokens=reply_tokens, do_sample=False, repetition_penalty=1.1)
    rows = []
    for mode, (number, index) in tqdm([(m, t) for m in MEMORY_MODES for t in subset], desc="quality replies"):
        memory = new_memory(builder, mode, summarizer)
        started = time.perf_counter()
        [(_, prompt, _)] = list(walk(memory, dialogues[number], {index}))
        fold_s = time.perf_counter() - started
        pieces = transformers_llm.stream(prompt, settings)
        reply = " ".join("".join(pieces).split())
        summary = memory.summary()
        rows.append({"mode": mode, "dialogue": number, "target": index, "reply": reply,
                     "reference": dialogues[number][index].text, "prompt_tokens": prompt.prompt_tokens,
                     "shown": prompt.history_turns_used, "represented": represented(memory, prompt),
                     "summary": prompt.summary_text, "summary_calls_s": fold_s if mode in SUMMARY_MODES else 0.0,
                     "summary_covers": summary.covered_turns if summary else 0,
                     **rouge(reply, dialogues[number][index].text)})
        memory.close()
    scorer = BertScore()
    for row, scores in zip(rows, scorer.score([r["reply"] for r in rows], [r["reference"] for r in rows])):
        row.update(scores)
    by_mode = {}
    raw_f1 = [r["bertscore_f1"] for r in rows if r["mode"] == "raw"]
    for mode in MEMORY_MODES:
        chosen = [r for r in rows if r["mode"] == mode]
        by_mode[mode] = {"bertscore_f1": statistics.mean(r["bertscore_f1"] for r in chosen),
                         "bertscore_f1_change": paired_change(raw_f1, [r["bertscore_f1"] for r in chosen]),
                         "rougeL": statistics.mean(r["rougeL"] for r in chosen),
                         "represented_utterances": statistics.mean(r["represented"] for r in chosen),
                         "shown_utterances": statistics.mean(r["shown"] for r in chosen)}
    return {"subset": [{"dialogue": n, "target": i} for n, i in subset], "encoder": scorer.describe(),
            "reply_tokens": reply_tokens, "rows": rows, "modes": by_mode}


def next_reply_reading(dialogues, transformers_llm, builder, summary_tokens: int, count: int) -> dict:
    """Per mode, with and without the background warm-up: prompt tokens the reply to each
    seeker turn reads itself (not reused from the KV cache) and its time to the first token,
    over `count` dialogues walked target by target as on the robot (the reply is cut after
    one token: only its start is measured, and ESConv's own supporter turn is stored)."""
    from tqdm import tqdm

    summarizer = Summarizer(transformers_llm, summary_tokens, builder.context_window)
    first_token = GenerationSettings(max_new_tokens=1, do_sample=False)
    chosen = [d for d in dialogues if len(targets(d)) >= 10][:count]
    rows = []
    for mode, warm in tqdm([(m, w) for m in ("raw", "summary", "hybrid") for w in (True, False)],
                           desc="next-reply reading"):
        for dialogue in chosen:
            transformers_llm.forget_caches()  # every dialogue starts cold, as after a restart
            memory = new_memory(builder, mode, summarizer, warm_model=transformers_llm if warm else None)
            for number, (index, prompt, _) in enumerate(walk(memory, dialogue, set(spans_of(dialogue)))):
                with memory.replying():
                    # The build above ran outside the hold; the reply itself starts inside it.
                    "".join(transformers_llm.stream(prompt, first_token))
                stats = transformers_llm.last_stats
                rows.append({"mode": mode, "warm": warm, "target": index, "first": number == 0,
                             "prompt_tokens": stats.prompt_tokens,
                             "read_tokens": stats.prompt_tokens - stats.reused_prompt_tokens,
                             "first_token_ms": 1000 * stats.total_s, "summary": bool(prompt.summary_text)})
            memory.close()
    result = {}
    for mode in ("raw", "summary", "hybrid"):
        for warm in (True, False):
            chosen_rows = [r for r in rows if r["mode"] == mode and r["warm"] == warm and not r["first"]]
            reads = sorted(r["read_tokens"] for r in chosen_rows)
            times = sorted(r["first_token_ms"] for r in chosen_rows)
            result[f"{mode}{'' if warm else '_unwarmed'}"] = {
                "replies": len(chosen_rows), "prompt_tokens_mean": statistics.mean(r["prompt_tokens"] for r in chosen_rows),
                "read_tokens_median": statistics.median(reads), "read_tokens_p90": reads[int(0.9 * (len(reads) - 1))],
                "first_token_ms_median": statistics.median(times),
                "first_token_ms_p90": times[int(0.9 * (len(times) - 1))]}
    return {"dialogues": len(chosen), "by_mode": result}


def latency(dialogues, transformers_llm, builder, summary_tokens: int, trials: int, reading_dialogues: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        store = ConversationStore(Path(folder) / "conversations.sqlite3")
        writes = []
        for turn in [t for d in dialogues[:10] for t in d][:200]:
            started = time.perf_counter()
            store.append_turn("bench", turn)
            writes.append((time.perf_counter() - started) * 1000)
        store.close()
        # A reply arriving while a summary is being written: how long until it may start.
        waits = []
        rng = random.Random(3)
        summarizer = Summarizer(transformers_llm, summary_tokens, builder.context_window)
        for trial in range(trials):
            memory = new_memory(builder, "summary", summarizer, Path(folder) / f"preempt{trial}.sqlite3", transformers_llm)
            for turn in dialogues[trial][:16]:
                memory.history.append(turn)
            memory.prepare_next_turn()
            time.sleep(rng.uniform(0.5, 4.0))
            started = time.perf_counter()
            with memory.replying():
                waits.append((time.perf_counter() - started) * 1000)
            memory.close()
    writes.sort()
    return {"store_write_ms_mean": statistics.mean(writes), "store_write_ms_p95": writes[int(0.95 * (len(writes) - 1))],
            "preemption_wait_ms": waits, "preemption_wait_ms_max": max(waits) if waits else None,
            "next_reply": next_reply_reading(dialogues, transformers_llm, builder, summary_tokens, reading_dialogues)}


def _capacity_rows(cap: dict, qual: dict | None, prefix: str = "") -> list[str]:
    lines = ["| representation | utterances shown | vs raw | utterances represented | vs raw | BERTScore-F1 | "
             "vs raw (95% CI) | ROUGE-L | target met |", "|---|---|---|---|---|---|---|---|---|"]
    for mode, c in cap["modes"].items():
        q = qual["modes"][mode] if qual else None
        change = q["bertscore_f1_change"] if q else None
        if c[f"{prefix}represented_vs_raw"] < TARGET_CAPACITY or change is None or -change["change"] > TARGET_LOSS:
            met = "no"
        else:  # the interval says whether this subset shows it, or only its mean does
            met = "yes" if -change["low"] <= TARGET_LOSS else "mean only"
        quality_cells = (f"{q['bertscore_f1']:.2f} | {100 * change['change']:+.1f}% ({100 * change['low']:+.1f} to "
                         f"{100 * change['high']:+.1f}) | {q['rougeL']:.2f} | " if q else "- | - | - | ")
        lines.append(f"| {mode} | {c[f'{prefix}shown_utterances']:.1f} | {c[f'{prefix}shown_vs_raw']:.2f}x | "
                     f"{c[f'{prefix}represented_utterances']:.1f} | {c[f'{prefix}represented_vs_raw']:.2f}x | "
                     + quality_cells + met + " |")
    return lines


def write_results(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    cap, qual, lat = result["capacity"], result.get("quality"), result["latency"]
    lines = [f"# Memory: capacity, quality and latency ({result['date']})", "",
             f"{result['model']} tokenizer, fixed budget: context_window {result['context_window']} - "
             f"max_new_tokens {result['max_new_tokens']} = {result['budget']} tokens (system prompt "
             f"{result['system_prompt_tokens']} of them); summary at most {result['summary_max_tokens']} tokens. "
             f"ESConv test split ({result['esconv']}), {cap['targets']} supporter turns, "
             f"{cap['overflowing_targets']} of them with more history than raw fits.", "",
             f"Target: at least {TARGET_CAPACITY}x raw's capacity with at most {100 * TARGET_LOSS:.0f}% relative "
             "loss of BERTScore-F1. \"Shown\": past utterances in the prompt (as said, or compressed); "
             "\"represented\": shown plus those folded into the summary in the prompt.", "",
             f"## All {cap['overflowing_targets']} targets whose history overflows raw "
             f"(history {cap['modes']['raw']['history_utterances']:.1f} utterances on average)", ""]
    lines += _capacity_rows(cap, None)
    if cap["long_history_targets"]:
        lines += ["", f"## The {cap['long_history_targets']} targets whose history is at least {TARGET_CAPACITY}x what "
                  f"raw fits (history {cap['modes']['raw']['long_history_utterances']:.1f} utterances on average)", "",
                  "On the others no representation can be seen to fit 2.5x raw: the dialogue ends first (ESConv "
                  "dialogues are short). Quality: a subset of these targets (below).", ""]
        lines += _capacity_rows(cap, qual, "long_")
    sweep = result.get("capacity_sweep", [])
    if sweep:
        lines += ["", "## Capacity at other budgets (utterances represented vs raw, overflowing targets)", "",
                  "| context_window | budget | overflowing targets | " + " | ".join(cap["modes"]) + " |",
                  "|---|---|---|" + "---|" * len(cap["modes"])]
        for entry in sweep:
            lines.append(f"| {entry['context_window']} | {entry['budget']} | {entry['overflowing_targets']} | "
                         + " | ".join(f"{m['represented_vs_raw']:.2f}x" for m in entry["modes"].values()) + " |")
    if qual:
        lines += ["", f"Quality: {len(qual['subset'])} ESConv test dialogues, one long-history supporter turn each "
                  "(seeded draw), greedy replies of at most "
                  f"{qual['reply_tokens']} tokens by the untrained default model, scored against ESConv's supporter "
                  f"reply. BERTScore: {qual['encoder']}; ROUGE-L F1 (rouge-score), both x100, via "
                  "training/esbot_training/evaluation/metrics.py. The interval is a 95% paired bootstrap over the "
                  "targets; \"yes\": even its low end is within the 5% loss, \"mean only\": the mean is, but "
                  "this subset cannot exclude a larger loss."]
        summary_rows = [r for r in qual["rows"] if r["mode"] == "summary" and r["summary"]]
        if summary_rows:
            lines += ["", f"Example summary (dialogue {summary_rows[0]['dialogue']}, covering "
                      f"{summary_rows[0]['summary_covers']} utterances): \"{summary_rows[0]['summary']}\""]
    machine = lat.get("machine", result["machine"])
    lines += ["", f"## Latency the memory adds per turn (CPU, {machine['cores']} cores, {lat.get('date', '')})", "",
              "- Building the context: " + ", ".join(f"{mode} {c['build_ms_mean']:.1f} ms mean / {c['build_ms_p95']:.1f} "
                                                    "p95" for mode, c in cap["modes"].items()) + ".",
              f"- Storing a turn: {lat['store_write_ms_mean']:.1f} ms mean / {lat['store_write_ms_p95']:.1f} ms p95 "
              "(SQLite WAL, synchronous=FULL, twice per turn).",
              "- A reply that arrives while background work (a summary being written, the next prompt being read "
              "ahead) is running waits " + ", ".join(f"{w:.0f}" for w in lat["preemption_wait_ms"])
              + " ms for it to stop.", ""]
    reading = lat.get("next_reply")
    if reading:
        lines += [f"Prompt tokens the next reply reads itself (the rest comes from the KV cache) and its time to the "
                  f"first token, over {reading['dialogues']} ESConv dialogues walked turn by turn:", "",
                  "| memory | warm-up | replies | prompt tokens | read by the reply (median / p90) | "
                  "first token ms (median / p90) |", "|---|---|---|---|---|---|"]
        for key, row in reading["by_mode"].items():
            mode, _, unwarmed = key.partition("_")
            lines.append(f"| {mode} | {'no' if unwarmed else 'yes'} | {row['replies']} | "
                         f"{row['prompt_tokens_mean']:.0f} | {row['read_tokens_median']:.0f} / "
                         f"{row['read_tokens_p90']:.0f} | {row['first_token_ms_median']:.0f} / "
                         f"{row['first_token_ms_p90']:.0f} |")
    lines += ["", "![capacity and quality](memory_benchmark.png)", ""]
    (RESULTS / "memory_benchmark.md").write_text("\n".join(lines))

    modes = list(cap["modes"])
    figure, axes = plt.subplots(1, 3 if qual else 2, figsize=(16 if qual else 11, 4), squeeze=False)
    axis = axes[0][0]
    axis.bar(modes, [cap["modes"][m]["shown_utterances"] for m in modes], label="shown")
    axis.bar(modes, [cap["modes"][m]["represented_utterances"] - cap["modes"][m]["shown_utterances"] for m in modes],
             bottom=[cap["modes"][m]["shown_utterances"] for m in modes], label="in the summary")
    axis.axhline(TARGET_CAPACITY * cap["modes"]["raw"]["shown_utterances"], color="gray", linestyle="--",
                 label=f"{TARGET_CAPACITY}x raw")
    axis.set_ylabel("past utterances in the context")
    axis.set_title(f"Capacity at a {result['budget']}-token budget")
    axis.legend()
    axis = axes[0][1]
    for mode in modes:
        axis.plot([e["budget"] for e in sweep], [e["modes"][mode]["represented_vs_raw"] for e in sweep], marker="o",
                  label=mode)
    axis.axhline(TARGET_CAPACITY, color="gray", linestyle="--")
    axis.set_xlabel("token budget")
    axis.set_ylabel("utterances represented vs raw")
    axis.set_title("Capacity by budget (overflowing targets)")
    axis.legend()
    if qual:
        axis = axes[0][2]
        changes = [qual["modes"][m]["bertscore_f1_change"] for m in modes]
        axis.bar(modes, [100 * c["change"] for c in changes],
                 yerr=[[100 * (c["change"] - c["low"]) for c in changes], [100 * (c["high"] - c["change"]) for c in changes]],
                 capsize=4)
        axis.axhline(-100 * TARGET_LOSS, color="gray", linestyle="--", label="-5%")
        axis.axhline(0, color="black", linewidth=0.5)
        axis.set_ylabel("BERTScore-F1 change vs raw, % (95% CI)")
        axis.set_title(f"Reply quality, {len(qual['subset'])} ESConv dialogues")
        axis.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "memory_benchmark.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esconv", type=Path, default=DEFAULT_ESCONV)
    parser.add_argument("--parts", default="capacity,latency,quality",
                        help="comma-separated; parts not run keep the figures of results/memory_benchmark.json")
    parser.add_argument("--context-window", type=int, default=512)
    parser.add_argument("--sweep-windows", default="384,448,640,768,1024", help="capacity at these windows too")
    parser.add_argument("--max-new-tokens", type=int, default=64, help="reply budget kept out of the context")
    parser.add_argument("--summary-max-tokens", type=int, default=64)
    parser.add_argument("--reply-tokens", type=int, default=40, help="tokens generated per quality reply")
    parser.add_argument("--quality-dialogues", type=int, default=40)
    parser.add_argument("--preemption-trials", type=int, default=6)
    parser.add_argument("--reading-dialogues", type=int, default=3, help="dialogues of the next-reply measurement")
    args = parser.parse_args()
    parts = set(args.parts.split(","))

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(MODEL), local_files_only=True)
    builder = PromptBuilder(tokenizer, context_window=args.context_window, max_new_tokens=args.max_new_tokens)
    dialogues = esconv_dialogues(args.esconv)
    earlier = RESULTS / "memory_benchmark.json"
    result = json.loads(earlier.read_text()) if earlier.exists() and parts != {"capacity", "latency", "quality"} else {}
    result.update({"date": time.strftime("%Y-%m-%d"), "model": MODEL, "esconv": str(args.esconv),
                   "context_window": args.context_window, "max_new_tokens": args.max_new_tokens,
                   "budget": builder.budget, "system_prompt_tokens": builder.fixed_tokens,
                   "summary_max_tokens": args.summary_max_tokens,
                   "machine": {"cpu": platform.processor() or platform.machine(),
                               "cores": len(os.sched_getaffinity(0)), "python": platform.python_version()}})
    if "capacity" in parts:
        result["capacity"] = capacity(dialogues, tokenizer, builder, args.summary_max_tokens)
        windows = sorted({int(w) for w in args.sweep_windows.split(",") if w} - {args.context_window})
        result["capacity_sweep"] = sorted([result["capacity"]] + [
            capacity(dialogues, tokenizer, PromptBuilder(tokenizer, context_window=window,
                                                         max_new_tokens=args.max_new_tokens),
                     args.summary_max_tokens, f" sweep {number + 1}/{len(windows)}")
            for number, window in enumerate(windows)], key=lambda entry: entry["budget"])
    if parts & {"latency", "quality"}:
        transformers_llm = TransformersBackend.load(MODEL, device="cpu")
        builder = PromptBuilder(transformers_llm.tokenizer, context_window=args.context_window,
                                max_new_tokens=args.max_new_tokens)
    if "latency" in parts:
        started = time.perf_counter()
        result["latency"] = latency(dialogues, transformers_llm, builder, args.summary_max_tokens, args.preemption_trials,
                                    args.reading_dialogues)
        result["latency"].update(date=time.strftime("%Y-%m-%d %H:%M"), machine=result["machine"],
                                 seconds=time.perf_counter() - started)
        print(json.dumps(result["latency"]["next_reply"]["by_mode"], indent=1), flush=True)
    if "quality" in parts:
        result["quality"] = quality(dialogues, transformers_llm, builder, args.quality_dialogues,
                                    args.summary_max_tokens, args.reply_tokens)
    write_results(result)
    print((RESULTS / "memory_benchmark.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
