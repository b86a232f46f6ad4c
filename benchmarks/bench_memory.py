"""Memory benchmark: how many past utterances each history representation fits in a fixed
context budget, what that costs in answer quality, and what the memory adds to each turn.

On ESConv test dialogues (read in place) with the default model's tokenizer, every supporter
turn is a target: the history before it goes through the dialogue node's own memory
(ContextMemory over a conversation store, turn by turn as on the robot, folding into the
summary after each supporter turn in the summary modes) and the context is built for the
seeker's utterance(s) just before it.

1. Capacity (all test dialogues, no generation): past utterances in the context, over the
   targets whose history overflows the raw budget. In the summary modes the summary's length
   is pinned to its maximum (a stand-in text), since only its token count matters here; the
   utterances it covers are counted as "represented" apart from the ones shown.
2. Quality (a fixed small subset, greedy generation by the default model, real LLM summaries):
   BERTScore-F1 and ROUGE-L of the reply against ESConv's supporter reply, with the evaluation
   package's metric functions (training/esbot_training/evaluation/metrics.py).
3. Latency the memory adds per turn: building the context, storing a turn (synced SQLite),
   and how long a reply waits for a summary being written to stop (preemption).

    python benchmarks/bench_memory.py [--quality-dialogues 6] [--esconv ../shared/data/esconv]

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
sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / "esbot_dialogue"))
sys.path.insert(0, str(ROOT / "training"))

from esbot_dialogue.generation import ChatModel, GenerationSettings  # noqa: E402
from esbot_dialogue.history import ConversationHistory, Turn  # noqa: E402
from esbot_dialogue.memory.context_memory import MEMORY_MODES, SUMMARY_MODES, ContextMemory  # noqa: E402
from esbot_dialogue.memory.conversation_store import ConversationStore  # noqa: E402
from esbot_dialogue.memory.summarizer import Summarizer  # noqa: E402
from esbot_dialogue.model_store import resolve_model  # noqa: E402
from esbot_dialogue.prompting import PromptBuilder  # noqa: E402

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


def new_memory(builder: PromptBuilder, mode: str, summarizer, store_path=None) -> ContextMemory:
    store = ConversationStore(store_path)
    return ContextMemory(builder, ConversationHistory(store, "bench"), mode,
                         summarizer if mode in SUMMARY_MODES else None)


def walk(memory: ContextMemory, dialogue: list[Turn], wanted: set[int], fold_timeout: float = 600.0):
    """Feed the dialogue turn by turn; at each wanted target, yield (target, prompt, build seconds)."""
    spans = dict((index, start) for start, index in targets(dialogue))
    stored_through = 0
    for index in sorted(wanted):
        start = spans[index]
        for turn in dialogue[stored_through:start]:
            memory.history.append(turn)
            if turn.role == "assistant":  # a robot turn is complete: folding is considered
                memory.consider_folding()
                if not memory.wait_for_summaries(fold_timeout):
                    raise RuntimeError("a summary did not finish in time")
        stored_through = start
        current = " ".join(t.text for t in dialogue[start:index])
        started = time.perf_counter()
        prompt = memory.build(current)
        yield index, prompt, time.perf_counter() - started


def represented(memory: ContextMemory, prompt) -> int:
    summary = memory.summary() if prompt.summary_text else None
    return prompt.history_turns_used + (summary.covered_turns if summary else 0)


def capacity(dialogues, tokenizer, builder, summary_tokens: int) -> dict:
    stand_in = FixedLengthSummarizer(tokenizer, summary_tokens)
    rows = {mode: [] for mode in MEMORY_MODES}
    for mode in MEMORY_MODES:
        for number, dialogue in enumerate(dialogues):
            memory = new_memory(builder, mode, stand_in)
            wanted = {index for _, index in targets(dialogue)}
            for index, prompt, seconds in walk(memory, dialogue, wanted):
                rows[mode].append({"dialogue": number, "target": index, "shown": prompt.history_turns_used,
                                   "represented": represented(memory, prompt), "dropped": prompt.history_turns_dropped,
                                   "prompt_tokens": prompt.prompt_tokens, "build_ms": seconds * 1000})
            memory.close()
    overflow = {(r["dialogue"], r["target"]) for r in rows["raw"] if r["dropped"] > 0}
    result = {"targets": len(rows["raw"]), "overflowing_targets": len(overflow), "modes": {}}
    raw_shown = statistics.mean(r["shown"] for r in rows["raw"] if (r["dialogue"], r["target"]) in overflow)
    for mode, mode_rows in rows.items():
        chosen = [r for r in mode_rows if (r["dialogue"], r["target"]) in overflow]
        shown = statistics.mean(r["shown"] for r in chosen)
        rep = statistics.mean(r["represented"] for r in chosen)
        builds = sorted(r["build_ms"] for r in mode_rows)
        result["modes"][mode] = {
            "shown_utterances": shown, "represented_utterances": rep,
            "shown_vs_raw": shown / raw_shown, "represented_vs_raw": rep / raw_shown,
            "mean_prompt_tokens": statistics.mean(r["prompt_tokens"] for r in chosen),
            "build_ms_mean": statistics.mean(builds), "build_ms_p95": builds[int(0.95 * (len(builds) - 1))],
        }
    return result


def quality(dialogues, chat_model, builder, count: int, summary_tokens: int, reply_tokens: int) -> dict:
    from esbot_training.evaluation.metrics import BertScore, rouge

    # The subset: the first test dialogues' last target whose history overflows the raw budget.
    subset = []
    for number, dialogue in enumerate(dialogues):
        for start, index in reversed(targets(dialogue)):
            probe = new_memory(builder, "raw", None)
            overflow = [p.history_turns_dropped for _, p, _ in walk(probe, dialogue, {index})][0] > 0
            probe.close()
            if overflow:
                subset.append((number, index))
                break
        if len(subset) == count:
            break
    summarizer = Summarizer(chat_model, summary_tokens, builder.context_window)
    settings = GenerationSettings(max_new_tokens=reply_tokens, do_sample=False, repetition_penalty=1.1)
    rows = []
    for mode in MEMORY_MODES:
        for number, index in subset:
            memory = new_memory(builder, mode, summarizer)
            started = time.perf_counter()
            [(_, prompt, _)] = list(walk(memory, dialogues[number], {index}))
            fold_s = time.perf_counter() - started
            pieces = chat_model.stream(prompt, settings)
            reply = " ".join("".join(pieces).split())
            summary = memory.summary()
            rows.append({"mode": mode, "dialogue": number, "target": index, "reply": reply,
                         "reference": dialogues[number][index].text, "prompt_tokens": prompt.prompt_tokens,
                         "shown": prompt.history_turns_used, "represented": represented(memory, prompt),
                         "summary": prompt.summary_text, "summary_calls_s": fold_s if mode in SUMMARY_MODES else 0.0,
                         "summary_covers": summary.covered_turns if summary else 0,
                         **rouge(reply, dialogues[number][index].text)})
            memory.close()
            print(f"[quality] {mode} dialogue {number}: {reply[:80]!r}", flush=True)
    scorer = BertScore()
    for row, scores in zip(rows, scorer.score([r["reply"] for r in rows], [r["reference"] for r in rows])):
        row.update(scores)
    by_mode = {}
    for mode in MEMORY_MODES:
        chosen = [r for r in rows if r["mode"] == mode]
        by_mode[mode] = {"bertscore_f1": statistics.mean(r["bertscore_f1"] for r in chosen),
                         "rougeL": statistics.mean(r["rougeL"] for r in chosen),
                         "represented_utterances": statistics.mean(r["represented"] for r in chosen),
                         "shown_utterances": statistics.mean(r["shown"] for r in chosen)}
    return {"subset": [{"dialogue": n, "target": i} for n, i in subset], "encoder": scorer.describe(),
            "rows": rows, "modes": by_mode}


def latency(dialogues, chat_model, builder, summary_tokens: int, trials: int) -> dict:
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
        summarizer = Summarizer(chat_model, summary_tokens, builder.context_window)
        for trial in range(trials):
            memory = new_memory(builder, "summary", summarizer, Path(folder) / f"preempt{trial}.sqlite3")
            for turn in dialogues[trial][:16]:
                memory.history.append(turn)
            memory.consider_folding()
            time.sleep(rng.uniform(0.5, 4.0))
            started = time.perf_counter()
            with memory.replying():
                waits.append((time.perf_counter() - started) * 1000)
            memory.close()
    writes.sort()
    return {"store_write_ms_mean": statistics.mean(writes), "store_write_ms_p95": writes[int(0.95 * (len(writes) - 1))],
            "preemption_wait_ms": waits, "preemption_wait_ms_max": max(waits) if waits else None}


def write_results(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "memory_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    cap, qual, lat = result["capacity"], result.get("quality"), result["latency"]
    raw_f1 = qual["modes"]["raw"]["bertscore_f1"] if qual else None
    lines = [f"# Memory: capacity, quality and latency ({result['date']})", "",
             f"{result['model']} tokenizer, fixed budget: context_window {result['context_window']} - "
             f"max_new_tokens {result['max_new_tokens']} = {result['budget']} tokens (system prompt "
             f"{result['system_prompt_tokens']} of them); summary at most {result['summary_max_tokens']} tokens. "
             f"ESConv test split ({result['esconv']}), {cap['targets']} supporter turns, "
             f"{cap['overflowing_targets']} of them with more history than raw fits.", "",
             "| representation | utterances shown | vs raw | utterances represented | vs raw | context build ms "
             "(mean / p95) | BERTScore-F1 | vs raw | ROUGE-L | target met |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for mode, c in cap["modes"].items():
        q = qual["modes"][mode] if qual else None
        loss = (raw_f1 - q["bertscore_f1"]) / raw_f1 if q else None
        met = (c["represented_vs_raw"] >= TARGET_CAPACITY and loss is not None and loss <= TARGET_LOSS)
        lines.append(
            f"| {mode} | {c['shown_utterances']:.1f} | {c['shown_vs_raw']:.2f}x | {c['represented_utterances']:.1f} | "
            f"{c['represented_vs_raw']:.2f}x | {c['build_ms_mean']:.1f} / {c['build_ms_p95']:.1f} | "
            + (f"{q['bertscore_f1']:.2f} | {-100 * loss:+.1f}% | {q['rougeL']:.2f} | " if q else "- | - | - | ")
            + ("yes" if met else "no") + " |")
    lines += ["", f"Target: at least {TARGET_CAPACITY}x raw's capacity with at most {100 * TARGET_LOSS:.0f}% relative "
              "loss of BERTScore-F1. \"Shown\": past utterances in the prompt (as said, or compressed); "
              "\"represented\": shown plus those folded into the summary in the prompt."]
    if qual:
        lines += ["", f"Quality: {len(qual['subset'])} dialogues (the first test dialogues' last supporter turn whose "
                  f"history overflows raw), greedy replies of at most {result['reply_tokens']} tokens, scored against "
                  f"ESConv's supporter reply. BERTScore: {qual['encoder']}; ROUGE-L F1 (rouge-score), both x100, via "
                  "training/esbot_training/evaluation/metrics.py. With this few samples and a 135M model, differences "
                  "of a few percent are within noise."]
    lines += ["", f"Latency the memory adds per turn (CPU, {result['machine']['cores']} cores shared): building the "
              f"context as above; storing a turn {lat['store_write_ms_mean']:.1f} ms mean / "
              f"{lat['store_write_ms_p95']:.1f} ms p95 (SQLite WAL, synchronous=FULL, twice per turn); a reply that "
              "arrives while a summary is being written waits "
              + ", ".join(f"{w:.0f}" for w in lat["preemption_wait_ms"]) + " ms for it to stop. Summaries are "
              "written after the reply, off its critical path."]
    if qual:
        summary_rows = [r for r in qual["rows"] if r["mode"] == "summary" and r["summary"]]
        if summary_rows:
            lines += ["", f"Example summary (dialogue {summary_rows[0]['dialogue']}, covering "
                      f"{summary_rows[0]['summary_covers']} utterances): \"{summary_rows[0]['summary']}\""]
    lines += ["", "![capacity and quality](memory_benchmark.png)", ""]
    (RESULTS / "memory_benchmark.md").write_text("\n".join(lines))

    modes = list(cap["modes"])
    figure, axes = plt.subplots(1, 2 if qual else 1, figsize=(11 if qual else 6, 4), squeeze=False)
    axis = axes[0][0]
    axis.bar(modes, [cap["modes"][m]["shown_utterances"] for m in modes], label="shown")
    axis.bar(modes, [cap["modes"][m]["represented_utterances"] - cap["modes"][m]["shown_utterances"] for m in modes],
             bottom=[cap["modes"][m]["shown_utterances"] for m in modes], label="in the summary")
    axis.axhline(TARGET_CAPACITY * cap["modes"]["raw"]["shown_utterances"], color="gray", linestyle="--",
                 label=f"{TARGET_CAPACITY}x raw")
    axis.set_ylabel("past utterances in the context")
    axis.set_title(f"Capacity at a {result['budget']}-token budget")
    axis.legend()
    if qual:
        axis = axes[0][1]
        axis.bar(modes, [qual["modes"][m]["bertscore_f1"] for m in modes])
        axis.axhline((1 - TARGET_LOSS) * raw_f1, color="gray", linestyle="--", label="raw - 5%")
        low = min(qual["modes"][m]["bertscore_f1"] for m in modes)
        axis.set_ylim(low - 5, max(qual["modes"][m]["bertscore_f1"] for m in modes) + 2)
        axis.set_ylabel("BERTScore-F1 (MiniLM, x100)")
        axis.set_title(f"Reply quality, {len(qual['subset'])} ESConv dialogues")
        axis.legend()
    figure.tight_layout()
    figure.savefig(RESULTS / "memory_benchmark.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--esconv", type=Path, default=DEFAULT_ESCONV)
    parser.add_argument("--context-window", type=int, default=512)
    parser.add_argument("--max-new-tokens", type=int, default=64, help="reply budget kept out of the context")
    parser.add_argument("--summary-max-tokens", type=int, default=64)
    parser.add_argument("--reply-tokens", type=int, default=40, help="tokens generated per quality reply")
    parser.add_argument("--quality-dialogues", type=int, default=6, help="0 = capacity and latency only")
    parser.add_argument("--preemption-trials", type=int, default=3)
    args = parser.parse_args()

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(MODEL), local_files_only=True)
    builder = PromptBuilder(tokenizer, context_window=args.context_window, max_new_tokens=args.max_new_tokens)
    dialogues = esconv_dialogues(args.esconv)
    started = time.perf_counter()
    result = {"date": time.strftime("%Y-%m-%d"), "model": MODEL, "esconv": str(args.esconv),
              "context_window": args.context_window, "max_new_tokens": args.max_new_tokens,
              "budget": builder.budget, "system_prompt_tokens": builder.fixed_tokens,
              "summary_max_tokens": args.summary_max_tokens, "reply_tokens": args.reply_tokens,
              "machine": {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                          "python": platform.python_version()}}
    result["capacity"] = capacity(dialogues, tokenizer, builder, args.summary_max_tokens)
    print(json.dumps(result["capacity"], indent=1), flush=True)
    chat_model = ChatModel.load(MODEL, device="cpu")
    builder = PromptBuilder(chat_model.tokenizer, context_window=args.context_window,
                            max_new_tokens=args.max_new_tokens)
    result["latency"] = latency(dialogues, chat_model, builder, args.summary_max_tokens, args.preemption_trials)
    print(json.dumps(result["latency"], indent=1), flush=True)
    if args.quality_dialogues:
        result["quality"] = quality(dialogues, chat_model, builder, args.quality_dialogues,
                                    args.summary_max_tokens, args.reply_tokens)
    result["seconds"] = time.perf_counter() - started
    write_results(result)
    print((RESULTS / "memory_benchmark.md").read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
