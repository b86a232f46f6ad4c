"""Dialogue latency benchmark: time to the first reply chunk and generation speed.

Runs the dialogue node's own engine (DialogueEngine over ChatModel, built from the
dialogue section of config/esbot_params.yaml, the node's defaults) in-process over a real
conversation: the user turns of ESConv test dialogues, history growing as it does on the
robot. ROS transport is left out on purpose (localhost DDS adds well under a millisecond);
what is measured is what the person waits for: from the utterance to the first sentence.

    python benchmarks/bench_dialogue.py [--turns 24] [--esconv ../shared/data/esconv]

Writes results/dialogue_benchmark.{json,md,png}.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / "esbot_dialogue"))

from esbot_dialogue.dialogue_engine import DialogueEngine  # noqa: E402
from esbot_dialogue.generation import ChatModel, GenerationSettings  # noqa: E402
from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder  # noqa: E402

DEFAULT_ESCONV = ROOT.parent / "shared" / "data" / "esconv"
RESULTS = ROOT / "results"


def esconv_user_turns(folder: Path, count: int) -> list[list[str]]:
    """User utterances of the first ESConv test dialogues, grouped per dialogue, `count` in all."""
    dialogues, total = [], 0
    with (folder / "test.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            turns = [t["text"] for t in json.loads(line)["dialog"] if t["speaker"] == "usr" and t["text"].strip()]
            turns = turns[: count - total]
            dialogues.append(turns)
            total += len(turns)
            if total >= count:
                return dialogues
    raise SystemExit(f"{folder}/test.jsonl has only {total} user turns; asked for {count}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = q * (len(ordered) - 1)
    low, high = int(index), min(int(index) + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (index - low)


def build_engine(params: dict) -> DialogueEngine:
    chat_model = ChatModel.load(params["model"], device=params["device"], dtype=params["dtype"],
                                models_dir=params["models_dir"] or None)
    builder = PromptBuilder(chat_model.tokenizer, params["system_prompt"] or DEFAULT_SYSTEM_PROMPT,
                            params["context_window"], params["max_new_tokens"])
    settings = GenerationSettings(temperature=params["temperature"], top_p=params["top_p"], top_k=params["top_k"],
                                  max_new_tokens=params["max_new_tokens"], do_sample=params["do_sample"],
                                  repetition_penalty=params["repetition_penalty"], seed=1234)
    return DialogueEngine(chat_model, builder, settings)


def run(turns: int, esconv: Path) -> dict:
    from rich.progress import Progress

    params = yaml.safe_load((ROOT / "config" / "esbot_params.yaml").read_text())["dialogue"]["ros__parameters"]
    started = time.perf_counter()
    engine = build_engine(params)
    load_seconds = time.perf_counter() - started
    records = []
    with Progress() as progress:
        task = progress.add_task("dialogue turns", total=turns)
        for dialogue_number, dialogue in enumerate(esconv_user_turns(esconv, turns)):
            engine.reset()
            for text in dialogue:
                first_chunk = []
                t0 = time.perf_counter()
                outcome = engine.answer(f"bench-{len(records)}", text,
                                        lambda chunk: first_chunk or first_chunk.append(time.perf_counter() - t0))
                stats = outcome.stats
                records.append({
                    "dialogue": dialogue_number, "prompt_tokens": stats.prompt_tokens, "new_tokens": stats.new_tokens,
                    "time_to_first_chunk_s": first_chunk[0], "generation_s": stats.total_s,
                    "tokens_per_s": stats.tokens_per_s, "history_turns_used": outcome.prompt.history_turns_used,
                })
                progress.advance(task)
    chat_model = engine.chat_model

    def summary(key):
        values = [r[key] for r in records]
        return {"median": statistics.median(values), "p90": percentile(values, 0.9),
                "min": min(values), "max": max(values)}

    return {
        "benchmark": "dialogue engine latency (benchmarks/bench_dialogue.py)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "device": str(chat_model.device),
                    "dtype": str(chat_model.dtype)},
        "model": params["model"], "adapter": None,
        "settings": {k: params[k] for k in ("context_window", "max_new_tokens", "temperature", "top_p", "top_k",
                                            "do_sample", "repetition_penalty")} | {"seed": 1234},
        "data": f"user turns of the first ESConv test dialogues ({os.path.relpath(esconv, ROOT)})",
        "turns": len(records), "model_load_s": load_seconds,
        "time_to_first_chunk_s": summary("time_to_first_chunk_s"),
        "tokens_per_s": summary("tokens_per_s"),
        "new_tokens": summary("new_tokens"), "prompt_tokens": summary("prompt_tokens"),
        "per_turn": records,
    }


def write_results(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dialogue_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    ttfc, tps = result["time_to_first_chunk_s"], result["tokens_per_s"]
    (RESULTS / "dialogue_benchmark.md").write_text(
        f"# Dialogue latency ({result['date']})\n\n"
        f"{result['model']} on {result['machine']['device']} ({result['machine']['dtype']}), "
        f"{result['machine']['cores']} cores; {result['turns']} turns of {result['data']}; "
        f"settings {result['settings']}.\n\n"
        "| figure | median | p90 | min | max |\n|---|---|---|---|---|\n"
        f"| time to first reply chunk (s) | {ttfc['median']:.2f} | {ttfc['p90']:.2f} | {ttfc['min']:.2f} | {ttfc['max']:.2f} |\n"
        f"| generation speed (tokens/s) | {tps['median']:.1f} | {tps['p90']:.1f} | {tps['min']:.1f} | {tps['max']:.1f} |\n"
        f"| new tokens per reply | {result['new_tokens']['median']:.0f} | {result['new_tokens']['p90']:.0f} | "
        f"{result['new_tokens']['min']:.0f} | {result['new_tokens']['max']:.0f} |\n"
        f"| prompt tokens | {result['prompt_tokens']['median']:.0f} | {result['prompt_tokens']['p90']:.0f} | "
        f"{result['prompt_tokens']['min']:.0f} | {result['prompt_tokens']['max']:.0f} |\n\n"
        f"Model load: {result['model_load_s']:.1f} s. p90 of tokens/s is the 90th percentile (a fast turn).\n\n"
        "![per-turn latency](dialogue_benchmark.png)\n")
    per_turn = result["per_turn"]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.scatter([r["prompt_tokens"] for r in per_turn], [r["time_to_first_chunk_s"] for r in per_turn])
    left.set(xlabel="prompt tokens", ylabel="time to first reply chunk (s)", title="Time to first chunk")
    right.scatter([r["prompt_tokens"] for r in per_turn], [r["tokens_per_s"] for r in per_turn], color="tab:orange")
    right.set(xlabel="prompt tokens", ylabel="tokens / s", title="Generation speed")
    figure.suptitle(f"{result['model']} on {result['machine']['device']}, {result['turns']} turns")
    figure.tight_layout()
    figure.savefig(RESULTS / "dialogue_benchmark.png", dpi=100)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--turns", type=int, default=24, help="dialogue turns to measure (at least 20)")
    parser.add_argument("--esconv", type=Path, default=DEFAULT_ESCONV, help="ESConv folder with test.jsonl")
    args = parser.parse_args()
    if args.turns < 20:
        parser.error("--turns must be at least 20 for stable medians")
    result = run(args.turns, args.esconv)
    write_results(result)
    print((RESULTS / "dialogue_benchmark.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
