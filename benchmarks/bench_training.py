"""Training throughput benchmark: LoRA fine-tuning tokens/s and peak memory on this machine.

Runs esbot_training's own run() (trl SFTTrainer + peft, the default config
training/configs/smollm2_cpu.yaml: SmolLM2-135M-Instruct, LoRA r 64 on q/k/v/o, fp32 on the CPU)
for a few optimizer steps on ESConv train examples built with the robot's prompt, in a
throw-away run directory, and measures:

* tokens/s: input tokens (prompt + reply, no padding) processed by training steps per second
  of training wall time (the trainer's own count, evaluation excluded);
* supervised tokens/s: of those, the supporter tokens that carry the loss;
* seconds per optimizer step, and peak resident memory of the process (RSS).

    python benchmarks/bench_training.py [--steps 8] [--batch 2] [--max-length 512] [--set key=value ...]

Writes results/training_throughput.{json,md}. Not a test: the figures depend on the machine
and on whatever else runs on it (record the load average with them).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT / "training", ROOT / "ros2_ws" / "src" / "esbot_common", ROOT / "ros2_ws" / "src" / "esbot_dialogue"):
    sys.path.insert(0, str(path))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from esbot_training.config import load_config  # noqa: E402
from esbot_training.train import run  # noqa: E402

RESULTS = ROOT / "results"
CONFIG = ROOT / "training" / "configs" / "smollm2_cpu.yaml"


def peak_rss_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    args = parser.parse_args()

    import torch

    with tempfile.TemporaryDirectory(prefix="esbot-bench-") as root:
        overrides = [
            f"train.output_root={root}", "train.run_name=bench",
            f"train.max_steps={args.steps}", f"train.per_device_train_batch_size={args.batch}",
            f"data.max_length={args.max_length}",
            "data.max_train_dialogues=40", "data.max_eval_dialogues=2", "data.max_eval_examples=2",
            # One evaluation at the very end only, so training time is training.
            "train.eval_strategy=steps", f"train.eval_steps={args.steps}",
            "train.logging_steps=1", "train.disable_tqdm=true", "train.early_stopping_patience=0",
            *args.overrides,
        ]
        config = load_config(CONFIG, overrides)
        load_before = os.getloadavg()
        started = time.perf_counter()
        results = run(config)
        wall = time.perf_counter() - started
        report = json.loads((Path(root) / "bench" / "data_report.json").read_text())

    train_seconds = results["train_seconds"]
    tokens = results["tokens_seen"]
    examples = args.steps * args.batch
    per_example_target = report["train"]["target_tokens"] / max(report["train"]["examples"], 1)
    result = {
        "model": config.model.model_id,
        "device": results["device"],
        "dtype": results["dtype"],
        "lora": {"r": config.lora.r, "alpha": config.lora.alpha, "target_modules": config.lora.target_modules},
        "trainable_parameters": results["trainable_parameters"],
        "steps": results["global_steps"],
        "batch_size": args.batch,
        "max_length": args.max_length,
        "examples_trained": examples,
        "tokens_seen": tokens,
        "mean_tokens_per_example": round(tokens / examples, 1) if examples else None,
        "train_seconds": train_seconds,
        "seconds_per_step": round(train_seconds / max(results["global_steps"], 1), 2),
        "tokens_per_second": results["tokens_per_second"],
        "supervised_tokens_per_second_estimate": round(per_example_target * examples / train_seconds, 1),
        "peak_rss_mib": round(peak_rss_mib(), 1),
        "wall_seconds_total": round(wall, 1),
        "first_train_loss": results["first_train_loss"],
        "last_train_loss": results["last_train_loss"],
        "machine": {
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "platform": platform.platform(),
            "python": platform.python_version(),
            "torch": torch.__version__,
        },
        "date": time.strftime("%Y-%m-%d %H:%M"),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "training_throughput.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    # One epoch of the whole ESConv train split, extrapolated from these dialogues' examples.
    dialogues_used = max(report["train"]["dialogues_used"], 1)
    mean_tokens = report["train"]["tokens_used"] / max(report["train"]["examples_used"], 1)
    epoch_tokens = mean_tokens * report["train"]["examples"] * 910 / dialogues_used
    result["esconv_train_epoch_estimate"] = {
        "examples": round(report["train"]["examples"] * 910 / dialogues_used),
        "tokens": round(epoch_tokens),
        "hours": round(epoch_tokens / results["tokens_per_second"] / 3600, 1) if results["tokens_per_second"] else None,
    }
    (RESULTS / "training_throughput.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    estimate = result["esconv_train_epoch_estimate"]
    md = f"""# Training throughput (LoRA, {config.model.model_id})

`python benchmarks/bench_training.py --steps {args.steps} --batch {args.batch} --max-length {args.max_length}`, {result['date']}.
{result['device']} ({result['machine']['cpus']} cores, {result['machine']['torch_threads']} torch threads), {result['dtype']},
LoRA r {config.lora.r} / alpha {config.lora.alpha} on {', '.join(config.lora.target_modules)} ({results['trainable_parameters']:,} trainable parameters),
ESConv train examples built with the robot's system prompt and PromptBuilder (max length {args.max_length} tokens).

| figure | value |
|---|---|
| optimizer steps x batch | {results['global_steps']} x {args.batch} ({examples} examples) |
| tokens processed (prompt + reply, no padding) | {tokens} ({result['mean_tokens_per_example']} per example) |
| training time | {train_seconds} s ({result['seconds_per_step']} s per step) |
| **throughput** | **{results['tokens_per_second']} tokens/s** |
| supervised (supporter) tokens/s, estimate | {result['supervised_tokens_per_second_estimate']} |
| peak RSS of the process | {result['peak_rss_mib']} MiB |
| load average before / after (1, 5, 15 min) | {result['machine']['load_average_before']} / {result['machine']['load_average_after']} |

The machine's 2 cores are shared with other work: the load average shows how much of them this
run had. Training time includes one evaluation of 2 examples at the last step. Extrapolated, one
epoch of ESConv train (~{estimate['examples']:,} examples, ~{estimate['tokens']:,} tokens at max length {args.max_length})
would take ~{estimate['hours']} h on this CPU: the 7B configurations (and full epochs) are for GPUs.
"""
    (RESULTS / "training_throughput.md").write_text(md, encoding="utf-8")
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
