"""LLM engine benchmark: every backend side by side on the same conversation, and a fleet on one server.

Part 1, engines. Each engine runs in its own process (so its memory is its own) on the same
ESConv test conversation, built into a prompt of about 600 tokens by the robot's PromptBuilder:
  - cold prefill: time to the first token with nothing cached;
  - first token after a kept prefix: the next turns (the reply just given and a new utterance
    appended), the way the dialogue engine asks, median over 5 turns; and the same turns in the
    robot's flow, where the memory has read the history (reply included) ahead while the person
    listened (warm_next_prompt), so only the new utterance is left to read;
  - decode speed: tokens per second after the first token, greedy, up to 96 tokens;
  - peak RSS of the process;
  - quality: perplexity of the ESConv supporters' replies (test split, the first dialogues'
    supporter turns after up to 6 turns of context), computed from each engine's own logits.
Engines: transformers fp32 (what the robot ran until now), llama.cpp on the packaged Q4_1 GGUF,
and llama.cpp on Q8_0 (made at setup: the CPU default) and F16 files made from it by llama.cpp's
quantizer, to decide the default quantization by measurement.

Part 2, fleet. The openai backend against llama.cpp's OpenAI-compatible server (llama_cpp.server)
on 127.0.0.1, with 1, 2, 4 and 8 conversations at once (threads, 3 turns each): median time to
first token and the server's total decode throughput. That server runs one request at a time over
one KV cache; a vLLM GPU server batches them and keeps each conversation's prefix, so this table
shows the shape of the measurement, scaled down to what a 2-core machine can serve, not vLLM's figures.

    python benchmarks/bench_engines.py [--esconv ../shared/data/esconv] [--threads 2]

Writes results/engine_benchmark.{json,md,png}.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
for package in ("esbot_common", "esbot_dialogue"):
    sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / package))
sys.path.insert(0, str(ROOT / "ros2_ws" / "src" / "esbot_dialogue" / "test"))  # llm_server

from esbot_common.model_store import default_models_dir  # noqa: E402
from esbot_dialogue.llm import GenerationSettings  # noqa: E402

DEFAULT_ESCONV = ROOT.parent / "shared" / "data" / "esconv"
RESULTS = ROOT / "results"
MODEL = "HuggingFaceTB/SmolLM2-135M-Instruct"
GREEDY = GenerationSettings(do_sample=False, repetition_penalty=1.1, max_new_tokens=96)
PROMPT_TOKENS = 600
FOLLOW_UP_TURNS = 5
PERPLEXITY_TURNS = 60
CONTEXT_TURNS = 6
FLEET = (1, 2, 4, 8)
ENGINES = {  # name -> (backend, GGUF quantization or None)
    "transformers fp32": ("transformers", None),
    "llama.cpp Q4_1": ("llama_cpp", "Q4_1"),
    "llama.cpp Q8_0": ("llama_cpp", "Q8_0"),
    "llama.cpp F16": ("llama_cpp", "F16"),
}


def esconv_dialogues(folder: Path) -> list[list[tuple[str, str]]]:
    """ESConv test dialogues as (role, text) lists, consecutive same-speaker turns merged."""
    dialogues = []
    with (folder / "test.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            turns: list[tuple[str, str]] = []
            for turn in json.loads(line)["dialog"]:
                role, text = ("user" if turn["speaker"] == "usr" else "assistant"), turn["text"].strip()
                if not text:
                    continue
                if turns and turns[-1][0] == role:
                    turns[-1] = (role, f"{turns[-1][1]} {text}")
                else:
                    turns.append((role, text))
            dialogues.append(turns)
    return dialogues


def as_turns(pairs):
    from esbot_dialogue.turn import Turn

    return [Turn(role, text, 0.0, f"t{i}") for i, (role, text) in enumerate(pairs)]


def conversation_prompts(builder, dialogues):
    """The first prompt of about PROMPT_TOKENS tokens (history + the next user turn), then the
    user turns that follow it, each with the ESConv reply before it as the history grows, and
    those follow-up prompts without their utterance (how far the memory reads ahead)."""
    for dialogue in dialogues:
        for end in range(2, len(dialogue) - 2 * FOLLOW_UP_TURNS):
            if dialogue[end][0] != "user":
                continue
            first = builder.build(as_turns(dialogue[:end]), dialogue[end][1])
            if first.prompt_tokens >= PROMPT_TOKENS:
                follow = [builder.build(as_turns(dialogue[:end + 2 * k]), dialogue[end + 2 * k][1])
                          for k in range(1, FOLLOW_UP_TURNS + 1)]
                # the same prompts with an empty utterance: where the history ends
                prefixes = [builder.build(as_turns(dialogue[:end + 2 * k]), "") for k in range(1, FOLLOW_UP_TURNS + 1)]
                if all(role == "user" for role, _ in (dialogue[end + 2 * k] for k in range(1, FOLLOW_UP_TURNS + 1))):
                    return first, follow, prefixes
    raise SystemExit(f"no ESConv test dialogue gives a {PROMPT_TOKENS}-token prompt")


def measure_engine(backend_name: str, gguf: str | None, esconv: Path, threads: int) -> dict:
    """One engine, in this process: load, the conversation, perplexity, peak RSS."""
    from esbot_dialogue.llm import BackendConfig, load_backend
    from esbot_dialogue.prompting import PromptBuilder

    os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    import torch

    torch.set_num_threads(threads)
    started = time.perf_counter()
    llm = load_backend(BackendConfig(backend=backend_name, device="cpu", gguf_file=gguf or "", llm_threads=threads))
    load_s = time.perf_counter() - started
    builder = PromptBuilder(llm.tokenizer)
    dialogues = esconv_dialogues(esconv)
    first, follow, follow_prefixes = conversation_prompts(builder, dialogues)

    def ask(prompt):
        text = "".join(llm.stream(prompt, GREEDY))
        stats = llm.last_stats
        decode_s = stats.total_s - (stats.time_to_first_text_s or 0.0)
        return text, stats, (stats.new_tokens - 1) / decode_s if stats.new_tokens > 1 and decode_s > 0 else None

    "".join(llm.stream(builder.build([], "Hello."), GenerationSettings(max_new_tokens=4, do_sample=False)))  # warm-up
    llm.forget_caches()
    _, cold, cold_rate = ask(first)
    warm = [ask(prompt) for prompt in follow]
    # The robot's flow: after each reply the memory reads the next prompt's beginning (history with
    # that reply) ahead while the person listens, so the new utterance is all that is left to read.
    read_ahead = []
    for prompt, history_only in zip(follow, follow_prefixes):
        common = 0
        for a, b in zip(prompt.input_ids, history_only.input_ids):
            if a != b:
                break
            common += 1
        llm.warm(list(prompt.input_ids[:common]))
        read_ahead.append(ask(prompt)[1])
    rates = [rate for _, _, rate in [(None, cold, cold_rate), *warm] if rate]

    # Perplexity of the supporters' replies: -mean log p over every reply token.
    logprobs = []
    scored = 0
    for dialogue in dialogues:
        for index, (role, text) in enumerate(dialogue):
            if role != "assistant" or index == 0 or dialogue[index - 1][0] != "user":
                continue
            context = dialogue[max(0, index - 1 - CONTEXT_TURNS):index - 1]
            prompt = builder.build(as_turns(context), dialogue[index - 1][1])
            targets = llm.tokenizer(text, add_special_tokens=False)["input_ids"] + [llm.tokenizer.eos_token_id]
            logprobs += llm.token_logprobs(list(prompt.input_ids), targets)
            scored += 1
            if scored >= PERPLEXITY_TURNS:
                break
        if scored >= PERPLEXITY_TURNS:
            break
    described = llm.describe()
    llm.close()
    return {
        "backend": backend_name, "file": described["dtype"], "load_s": load_s,
        "prompt_tokens": cold.prompt_tokens, "cold_first_token_s": cold.time_to_first_text_s,
        "kept_prefix_first_token_s": statistics.median(stats.time_to_first_text_s for _, stats, _ in warm),
        "kept_prefix_reused_tokens": statistics.median(stats.reused_prompt_tokens for _, stats, _ in warm),
        "kept_prefix_new_tokens": statistics.median(stats.prompt_tokens - stats.reused_prompt_tokens
                                                    for _, stats, _ in warm),
        "read_ahead_first_token_s": statistics.median(stats.time_to_first_text_s for stats in read_ahead),
        "read_ahead_new_tokens": statistics.median(stats.prompt_tokens - stats.reused_prompt_tokens
                                                   for stats in read_ahead),
        "decode_tokens_per_s": statistics.median(rates),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "perplexity": float(__import__("math").exp(-sum(logprobs) / len(logprobs))),
        "perplexity_tokens": len(logprobs), "perplexity_turns": scored,
        "first_reply": ask(first)[0][:200],
    }


def quantized(source: Path, kind: str, folder: Path) -> Path:
    """source re-quantized by llama.cpp's quantizer (cached)."""
    import llama_cpp

    target = folder / f"{source.stem.rsplit('.', 1)[0]}.{kind}.gguf"
    if not target.is_file():
        folder.mkdir(parents=True, exist_ok=True)
        params = llama_cpp.llama_model_quantize_default_params()
        params.ftype = {"Q8_0": llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, "F16": llama_cpp.LLAMA_FTYPE_MOSTLY_F16}[kind]
        params.allow_requantize = True
        params.nthread = 2
        partial = target.with_suffix(".partial")
        if llama_cpp.llama_model_quantize(str(source).encode(), str(partial).encode(), params) != 0:
            raise SystemExit(f"llama.cpp could not quantize {source} to {kind}")
        partial.replace(target)
    return target


def fleet(esconv: Path, threads: int, gguf: Path, url: str = "") -> list[dict]:
    """The openai backend against one server, 1..8 conversations at once: llama_cpp.server started
    here, or the server at url (a vLLM box)."""
    from esbot_dialogue.llm.openai_backend import OpenAIBackend
    from esbot_dialogue.llm.transformers_backend import load_tokenizer
    from esbot_dialogue.prompting import PromptBuilder
    from llm_server import LlamaServer

    tokenizer = load_tokenizer(MODEL)
    builder = PromptBuilder(tokenizer)
    dialogues = [d for d in esconv_dialogues(esconv) if len(d) >= 8][:max(FLEET)]
    settings = GenerationSettings(do_sample=False, max_new_tokens=48)
    server = None if url else LlamaServer(gguf, threads=threads, log_path=Path("/tmp/esbot_bench_server.log")).start()
    url = url or server.url
    rows = []
    try:
        for robots in FLEET:
            first_tokens, tokens, errors = [], [], []

            def converse(dialogue):
                remote = OpenAIBackend(url, "", tokenizer, MODEL, read_timeout_s=300)
                try:
                    for end in (1, 3, 5):
                        history, utterance = dialogue[:end], dialogue[end][1]
                        "".join(remote.stream(builder.build(as_turns(history), utterance), settings))
                        first_tokens.append(remote.last_stats.time_to_first_text_s)
                        tokens.append(remote.last_stats.new_tokens)
                except Exception as error:  # noqa: BLE001 - counted in the table
                    errors.append(repr(error))

            started = time.perf_counter()
            workers = [threading.Thread(target=converse, args=(dialogues[i],)) for i in range(robots)]
            for worker in workers:
                worker.start()
            for worker in workers:
                worker.join()
            wall = time.perf_counter() - started
            rows.append({"robots": robots, "turns": len(first_tokens), "errors": errors,
                         "first_token_median_s": statistics.median(first_tokens),
                         "first_token_max_s": max(first_tokens),
                         "server_tokens_per_s": sum(tokens) / wall, "wall_s": wall})
            print(f"fleet {robots}: {rows[-1]}", flush=True)
    finally:
        if server is not None:
            server.kill()
    return rows


def write_results(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "engine_benchmark.json").write_text(json.dumps(result, indent=2) + "\n")
    engines, rows = result["engines"], result["fleet"]
    reference = engines["transformers fp32"]
    lines = [
        f"# LLM engines ({result['date']})", "",
        f"{MODEL} on {result['machine']['cpu']}, {result['threads']} threads, one engine at a time, each in its "
        f"own process; the same ESConv test conversation ({engines['llama.cpp Q4_1']['prompt_tokens']}-token "
        f"prompt, then {FOLLOW_UP_TURNS} turns that append the reply and a new utterance), greedy, repetition "
        f"penalty {GREEDY.repetition_penalty}, up to {GREEDY.max_new_tokens} new tokens. Perplexity: the ESConv "
        f"supporters' replies ({reference['perplexity_turns']} test turns, {reference['perplexity_tokens']} tokens, "
        f"up to {CONTEXT_TURNS} turns of context), from each engine's own logits.", "",
        "| engine | cold prefill + first token (s) | first token after a kept prefix | first token, history "
        "read ahead (the robot's flow) | decode (tok/s) | decode vs transformers | peak RSS (MB) | perplexity | "
        "load (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, row in engines.items():
        lines.append(
            f"| {name} | {row['cold_first_token_s']:.2f} | {row['kept_prefix_first_token_s'] * 1000:.0f} ms "
            f"({row['kept_prefix_new_tokens']:.0f} new tokens) | {row['read_ahead_first_token_s'] * 1000:.0f} ms "
            f"({row['read_ahead_new_tokens']:.0f} new tokens) | {row['decode_tokens_per_s']:.1f} | "
            f"{row['decode_tokens_per_s'] / reference['decode_tokens_per_s']:.1f}x | {row['peak_rss_mb']:.0f} | "
            f"{row['perplexity']:.2f} | {row['load_s']:.1f} |")
    lines += ["", result["decision"], "",
              f"## A fleet on one server (openai backend -> {result['fleet_server']}, {result['threads']} threads, "
              f"{result['fleet_file']})", "",
              "| conversations at once | turns | first token, median (s) | first token, max (s) | "
              "server decode (tok/s) | errors |", "|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['robots']} | {row['turns']} | {row['first_token_median_s']:.2f} | "
                     f"{row['first_token_max_s']:.2f} | {row['server_tokens_per_s']:.1f} | {len(row['errors'])} |")
    lines += ["", "llama.cpp's Python server answers one request at a time over one KV cache: each conversation's "
              "prompt evicts the others' prefix and is read again from the start, so the first token waits longer "
              "and the server's throughput falls as robots are added. A fleet needs a batching server that keeps "
              "every conversation's prefix (vLLM with --enable-lora and automatic prefix caching; README, *A fleet "
              "on one GPU server*); this benchmark measures one the same way with --fleet-url.", "",
              "![engines](engine_benchmark.png)", ""]
    (RESULTS / "engine_benchmark.md").write_text("\n".join(lines))

    names = list(engines)
    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].bar(names, [engines[n]["decode_tokens_per_s"] for n in names], color="tab:blue")
    axes[0].set(ylabel="decode tokens / s", title="Decode speed")
    axes[1].bar(names, [engines[n]["cold_first_token_s"] for n in names], label="cold", color="tab:gray")
    axes[1].bar(names, [engines[n]["kept_prefix_first_token_s"] for n in names], label="kept prefix",
                color="tab:green")
    axes[1].bar(names, [engines[n]["read_ahead_first_token_s"] for n in names], label="history read ahead",
                color="tab:olive")
    axes[1].set(ylabel="seconds", title="First token")
    axes[1].legend()
    axes[2].plot([r["robots"] for r in rows], [r["first_token_median_s"] for r in rows], marker="o",
                 label="first token, median (s)")
    axes[2].plot([r["robots"] for r in rows], [r["server_tokens_per_s"] / 10 for r in rows], marker="s",
                 label="server decode (tok/s / 10)")
    axes[2].set(xlabel="conversations at once", title="One llama_cpp.server", xticks=list(FLEET))
    axes[2].legend()
    for axis in axes[:2]:
        axis.tick_params(axis="x", labelrotation=20)
    figure.tight_layout()
    figure.savefig(RESULTS / "engine_benchmark.png", dpi=100)


def decide(engines: dict) -> str:
    """The default quantization: the fastest decode among files whose perplexity is within 1 % of
    the fp32 reference (the weights are the same 4-bit ones, so only arithmetic differs)."""
    reference = engines["transformers fp32"]["perplexity"]
    fits = {name: row for name, row in engines.items()
            if name.startswith("llama.cpp") and row["perplexity"] <= reference * 1.01}
    best = max(fits, key=lambda name: fits[name]["decode_tokens_per_s"]) if fits else "llama.cpp Q4_1"
    return (f"**Default quantization: {best.split()[-1]}** -- the fastest llama.cpp decode among the files "
            f"whose ESConv perplexity is within 1 % of transformers fp32 ({reference:.2f}). The registry carries "
            "the model only as Q4_1, so fp32, Q8_0 and F16 hold those same 4-bit weights: a wider format buys "
            "no quality, only memory traffic.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--esconv", type=Path, default=DEFAULT_ESCONV, help="ESConv folder with test.jsonl")
    parser.add_argument("--threads", type=int, default=2, help="CPU threads per engine")
    parser.add_argument("--fleet-url", default="", help="measure the fleet against this OpenAI-compatible "
                        "server (e.g. vLLM serving the model) instead of a llama_cpp.server started here")
    parser.add_argument("--engine", help=argparse.SUPPRESS)  # child process: measure this one engine
    parser.add_argument("--report-only", action="store_true", help="rewrite the report from the recorded JSON")
    args = parser.parse_args()
    if args.report_only:
        write_results(json.loads((RESULTS / "engine_benchmark.json").read_text()))
        return 0
    if args.engine:
        backend, gguf = json.loads(args.engine)
        print(json.dumps(measure_engine(backend, gguf, args.esconv, args.threads)))
        return 0

    from esbot_dialogue.llm.llama_cpp_backend import find_gguf
    from rich.progress import Progress

    default = find_gguf(MODEL)  # Q8_0, made at setup from the packaged Q4_1
    packaged = default.with_name("SmolLM2-135M-Instruct.Q4_1.gguf")
    files = {"Q4_1": packaged, "Q8_0": default, "F16": quantized(packaged, "F16", default_models_dir() / "bench-gguf")}
    engines = {}
    with Progress() as progress:
        task = progress.add_task("engines", total=len(ENGINES))
        for name, (backend, kind) in ENGINES.items():
            spec = json.dumps([backend, str(files[kind]) if kind else None])
            output = subprocess.run([sys.executable, __file__, "--engine", spec, "--esconv", str(args.esconv),
                                     "--threads", str(args.threads)], check=True, capture_output=True, text=True)
            engines[name] = json.loads(output.stdout.strip().splitlines()[-1])
            progress.console.print(f"{name}: {engines[name]}")
            progress.advance(task)
    result = {
        "benchmark": "LLM engines (benchmarks/bench_engines.py)", "date": time.strftime("%Y-%m-%d"),
        "machine": {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0)),
                    "python": platform.python_version()},
        "threads": args.threads, "model": MODEL, "settings": GREEDY.__dict__, "engines": engines,
        "decision": decide(engines), "fleet_server": args.fleet_url or "llama_cpp.server on 127.0.0.1",
        "fleet_file": default.name, "fleet": fleet(args.esconv, args.threads, default, args.fleet_url),
    }
    write_results(result)
    print((RESULTS / "engine_benchmark.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
