"""Dialogue latency benchmark: time to the first reply chunk and generation speed.

Measures the engine the dialogue node runs, built by the same function the node uses
(esbot_dialogue.assembly.build_engine) from the dialogue section of config/esbot_params.yaml:
the model, the safety policy (rules and learned tier) assessing every utterance and checking
every reply sentence, and the memory over a conversation store with its background warm-up of
the next prompt. Only what must not touch the robot's own files is changed: the conversation
store and the safety alert log are temporary, and the seed is fixed (1234). It runs in-process
over a real conversation: the user turns of ESConv test dialogues, history growing as it does
on the robot (one session per dialogue; careful mode, if a dialogue sets it, is ended before
the next). Each turn starts once the memory's background work after the previous one is done,
as on the robot, where it runs while the reply is spoken. ROS transport is left out on purpose
(localhost DDS adds well under a millisecond); what is measured is what the person waits for:
from the utterance to the first sentence.

The figures are those of the turns the LLM answered; a turn the safety policy answers with its
crisis response (no LLM) is counted apart.

    python benchmarks/bench_dialogue.py [--turns 24] [--esconv ../shared/data/esconv]

Writes results/dialogue_benchmark.{json,md,png}.
"""

import argparse
import dataclasses
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
for package in ("esbot_common", "esbot_dialogue"):
    sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / package))

from esbot_dialogue.assembly import EngineConfig, build_engine  # noqa: E402

DEFAULT_ESCONV = ROOT.parent / "shared" / "data" / "esconv"
RESULTS = ROOT / "results"
DIALOGUE_PACKAGE = ROOT / "ros2_ws" / "src" / "esbot_dialogue"  # its config/ as installed in share/
SEED = 1234
BACKGROUND_TIMEOUT_S = 600.0


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


def node_config(folder: Path) -> EngineConfig:
    """The dialogue node's configuration, with its store and alert log in folder."""
    params = yaml.safe_load((ROOT / "config" / "esbot_params.yaml").read_text())["dialogue"]["ros__parameters"]
    config = EngineConfig.from_parameters(params)
    return dataclasses.replace(config, memory_store_path=str(folder / "conversations.sqlite3"),
                               safety_alert_log=str(folder / "alerts.jsonl"),
                               generation=dataclasses.replace(config.generation, seed=SEED))


def run(turns: int, esconv: Path) -> dict:
    from rich.progress import Progress

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as folder:
        config = node_config(Path(folder))
        started = time.perf_counter()
        engine = build_engine(config, DIALOGUE_PACKAGE, log=logging.getLogger("bench_dialogue"))
        build_seconds = time.perf_counter() - started
        llm = engine.llm.describe()
        records, without_llm = [], []
        try:
            with Progress() as progress:
                task = progress.add_task("dialogue turns", total=turns)
                for dialogue_number, dialogue in enumerate(esconv_user_turns(esconv, turns)):
                    engine.reset()
                    engine.reset_safety_mode("bench_dialogue", "the next dialogue is another person's")
                    for text in dialogue:
                        if not engine.memory.wait_for_background(BACKGROUND_TIMEOUT_S):
                            raise RuntimeError("the memory's background work did not finish in time")
                        first_chunk = []
                        t0 = time.perf_counter()
                        outcome = engine.answer(f"bench-{len(records) + len(without_llm)}", text,
                                                lambda chunk: first_chunk or first_chunk.append(time.perf_counter() - t0))
                        stats = outcome.stats
                        if stats is None:  # the safety policy's crisis response, not the LLM
                            without_llm.append({"dialogue": dialogue_number, "time_to_first_chunk_s": first_chunk[0],
                                                "safety_level": outcome.safety.risk.level.name.lower()})
                        else:
                            records.append({
                                "dialogue": dialogue_number, "prompt_tokens": stats.prompt_tokens,
                                "prompt_tokens_reused": stats.reused_prompt_tokens, "new_tokens": stats.new_tokens,
                                "time_to_first_chunk_s": first_chunk[0], "generation_s": stats.total_s,
                                "tokens_per_s": stats.tokens_per_s,
                                "history_turns_used": outcome.prompt.history_turns_used,
                                "reply_replaced": outcome.reply_replaced,
                            })
                        progress.advance(task)
        finally:
            engine.close()

    def summary(key):
        values = [r[key] for r in records]
        return {"median": statistics.median(values), "p90": percentile(values, 0.9),
                "min": min(values), "max": max(values)}

    return {
        "benchmark": "dialogue engine latency (benchmarks/bench_dialogue.py)",
        "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version(), "backend": llm["backend"], "device": llm["device"],
                    "dtype": llm["dtype"]},
        "model": config.llm.model, "adapter": config.adapter_path or None,
        "engine": {"safety": "rules + learned tier" if config.safety_learned_tier else "rules only",
                   "memory_mode": engine.memory.mode, "warm_next_prompt": config.warm_next_prompt},
        "settings": {"context_window": config.context_window, **dataclasses.asdict(config.generation)},
        "data": f"user turns of the first ESConv test dialogues ({os.path.relpath(esconv, ROOT)})",
        "turns": len(records), "turns_without_llm": without_llm, "engine_build_s": build_seconds,
        "time_to_first_chunk_s": summary("time_to_first_chunk_s"),
        "tokens_per_s": summary("tokens_per_s"),
        "new_tokens": summary("new_tokens"), "prompt_tokens": summary("prompt_tokens"),
        "prompt_tokens_reused": summary("prompt_tokens_reused"),
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
        f"{result['model']} on {result['machine']['backend']}, {result['machine']['device']} ({result['machine']['dtype']}), "
        f"{result['machine']['cores']} cores; the dialogue node's engine (build_engine): safety "
        f"{result['engine']['safety']}, memory {result['engine']['memory_mode']} with the next prompt warmed "
        f"{'ahead' if result['engine']['warm_next_prompt'] else 'not at all'}; {result['turns']} LLM turns of "
        f"{result['data']} ({len(result['turns_without_llm'])} more answered by the safety policy's crisis "
        f"response, without the LLM); settings {result['settings']}.\n\n"
        "| figure | median | p90 | min | max |\n|---|---|---|---|---|\n"
        f"| time to first reply chunk (s) | {ttfc['median']:.2f} | {ttfc['p90']:.2f} | {ttfc['min']:.2f} | {ttfc['max']:.2f} |\n"
        f"| generation speed (tokens/s) | {tps['median']:.1f} | {tps['p90']:.1f} | {tps['min']:.1f} | {tps['max']:.1f} |\n"
        f"| new tokens per reply | {result['new_tokens']['median']:.0f} | {result['new_tokens']['p90']:.0f} | "
        f"{result['new_tokens']['min']:.0f} | {result['new_tokens']['max']:.0f} |\n"
        f"| prompt tokens | {result['prompt_tokens']['median']:.0f} | {result['prompt_tokens']['p90']:.0f} | "
        f"{result['prompt_tokens']['min']:.0f} | {result['prompt_tokens']['max']:.0f} |\n"
        f"| prompt tokens from the KV cache | {result['prompt_tokens_reused']['median']:.0f} | "
        f"{result['prompt_tokens_reused']['p90']:.0f} | {result['prompt_tokens_reused']['min']:.0f} | "
        f"{result['prompt_tokens_reused']['max']:.0f} |\n\n"
        f"Engine build (model, safety tiers, memory): {result['engine_build_s']:.1f} s. p90 of tokens/s is the "
        "90th percentile (a fast turn).\n\n"
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
