"""LoRA fine-tuning of the robot's language model on ExTES or ESConv (trl SFTTrainer + peft).

    python -m esbot_training.train --config training/configs/smollm2_cpu.yaml [--set key=value ...] [--resume]

Multi-GPU: the same module under ``accelerate launch`` (see training/README.md). Everything a
run makes goes into one run directory (``train.output_root/train.run_name``)::

    config.yaml         the resolved configuration (defaults + file + --set)
    train.log           the log (data reports, losses, evaluation)
    data_report.json    what the loaders read, kept and skipped, and the example statistics
    checkpoints/        trainer checkpoints (resume with --resume)
    adapter/            the PEFT adapter + esbot_manifest.json + README.md (model card): what the robot loads
    loss_curve.csv/png  train and eval loss against steps
    metrics.json        final losses, throughput, timings

A configuration or environment problem ends the run with one message saying what to change
(exit status 2), not a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import random
import shutil
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import RunConfig, load_config
from .errors import TrainingConfigError

log = logging.getLogger("esbot_training")

ADAPTER_DIR = "adapter"
CHECKPOINT_DIR = "checkpoints"


# --------------------------------------------------------------------------- model

def pick_device_and_dtype(config: RunConfig) -> tuple[str, Any]:
    """The robot's device/dtype rule (esbot_dialogue.llm.transformers_backend), restricted to what training
    supports: fp32 on the CPU. The device comes back as its type, "cuda" or "cpu"."""
    import torch

    from esbot_dialogue.llm.transformers_backend import pick_device, pick_dtype

    try:
        device = pick_device(config.model.device)
        dtype = pick_dtype(config.model.dtype, device)
    except ValueError as error:
        raise TrainingConfigError(f"{error} (model.device, model.dtype)") from error
    if device.type == "cpu" and dtype != torch.float32:
        raise TrainingConfigError(
            f"model.dtype {config.model.dtype} on the CPU is not supported for training here; use float32 (or auto)."
        )
    return device.type, dtype


def load_model_and_tokenizer(config: RunConfig, dtype: Any) -> tuple[Any, Any, str]:
    """The robot's loader (esbot_dialogue.llm.transformers_backend.load_pretrained) with training's extras:
    attention implementation, QLoRA quantization, a pad token for batching."""
    from esbot_dialogue.llm import ModelLoadError
    from esbot_dialogue.llm.transformers_backend import load_pretrained

    kwargs: dict[str, Any] = {}
    if config.model.attn_implementation:
        kwargs["attn_implementation"] = config.model.attn_implementation
    if config.model.load_in_4bit:
        kwargs.update(_quantization_kwargs(config, dtype))
    try:
        model, tokenizer, resolved = load_pretrained(config.model.model_id, dtype,
                                                     trust_remote_code=config.model.trust_remote_code, **kwargs)
    except ModelLoadError as error:
        raise TrainingConfigError(
            f"{error} Set model.model_id to a prepared id or a local path (offline: "
            "HuggingFaceTB/SmolLM2-135M-Instruct is prepared by `make setup`)."
        ) from error
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer, resolved


def _quantization_kwargs(config: RunConfig, dtype: Any) -> dict[str, Any]:
    import torch

    if not torch.cuda.is_available():
        raise TrainingConfigError(
            "model.load_in_4bit (QLoRA) needs a CUDA GPU, and torch sees none: set model.load_in_4bit=false "
            "(and use a small model such as HuggingFaceTB/SmolLM2-135M-Instruct on this machine)."
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError as error:
        raise TrainingConfigError(
            "model.load_in_4bit (QLoRA) needs bitsandbytes: pip install bitsandbytes (GPU machines only), "
            "or set model.load_in_4bit=false."
        ) from error
    from transformers import BitsAndBytesConfig

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    return {
        "quantization_config": BitsAndBytesConfig(
            load_in_4bit=True,
            bnb_4bit_quant_type=config.model.bnb_4bit_quant_type,
            bnb_4bit_use_double_quant=config.model.bnb_4bit_use_double_quant,
            bnb_4bit_compute_dtype=dtype,
        ),
        # One full copy per process (data parallel under accelerate launch).
        "device_map": {"": local_rank},
    }


def linear_module_names(model: Any) -> list[str]:
    """Last name components of the modules LoRA can wrap (what target_modules may name)."""
    names = set()
    for name, module in model.named_modules():
        if name and (hasattr(module, "in_features") or type(module).__name__.startswith("Linear")):
            names.add(name.rsplit(".", 1)[-1])
    return sorted(names)


def add_lora(model: Any, config: RunConfig) -> Any:
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training

    modules = [name for name, _ in model.named_modules()]
    missing = [t for t in config.lora.target_modules if not any(n == t or n.endswith("." + t) for n in modules)]
    if missing:
        raise TrainingConfigError(
            f"The model {config.model.model_id} has no module named {', '.join(map(repr, missing))}; "
            f"set lora.target_modules to some of: {', '.join(linear_module_names(model))}."
        )
    if config.model.load_in_4bit:
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.model.gradient_checkpointing,
            gradient_checkpointing_kwargs={"use_reentrant": False},
        )
    elif config.model.gradient_checkpointing:
        model.enable_input_require_grads()
    lora = LoraConfig(
        r=config.lora.r,
        lora_alpha=config.lora.alpha,
        lora_dropout=config.lora.dropout,
        bias=config.lora.bias,
        target_modules=list(config.lora.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        peft_model = get_peft_model(model, lora)
    except ValueError as error:
        raise TrainingConfigError(f"LoRA cannot wrap {config.lora.target_modules}: {error}; change lora.target_modules.") from error
    return peft_model


# --------------------------------------------------------------------------- data

def build_datasets(config: RunConfig, tokenizer: Any) -> tuple[Any, Any, dict[str, Any]]:
    from datasets import Dataset

    from .data import load_splits
    from .examples import ExampleBuilder, build_examples

    data = config.data
    splits, reports = load_splits(data.dataset, data.path, data.train_split, data.eval_split,
                                  data.test_fraction, data.split_seed)
    train_dialogues = splits[data.train_split][: data.max_train_dialogues]
    eval_dialogues = splits[data.eval_split][: data.max_eval_dialogues]
    builder = ExampleBuilder(tokenizer, data.system_prompt, data.history_representation,
                             data.max_length, data.max_target_tokens)
    train_examples, train_stats = build_examples(builder, train_dialogues, f"train ({data.train_split})")
    eval_examples, eval_stats = build_examples(builder, eval_dialogues, f"eval ({data.eval_split})")
    rng = random.Random(data.split_seed)
    if data.max_train_examples is not None and len(train_examples) > data.max_train_examples:
        train_examples = rng.sample(train_examples, data.max_train_examples)
    if data.max_eval_examples is not None and len(eval_examples) > data.max_eval_examples:
        eval_examples = rng.sample(eval_examples, data.max_eval_examples)
    for name, examples, split in (("training", train_examples, data.train_split), ("evaluation", eval_examples, data.eval_split)):
        if not examples:
            raise TrainingConfigError(
                f"No {name} examples are left after filtering the {data.dataset} {split!r} split "
                f"(see data_report.json): check data.path, data.max_*_dialogues and data.max_target_tokens "
                f"({data.max_target_tokens}) / data.max_length ({data.max_length})."
            )
    report = {
        "dataset": data.dataset,
        "loads": [r.to_dict() for r in reports],
        "train": {**train_stats.to_dict(), "split": data.train_split, "dialogues_used": len(train_dialogues),
                  "examples_used": len(train_examples), "tokens_used": sum(len(e.input_ids) for e in train_examples)},
        "eval": {**eval_stats.to_dict(), "split": data.eval_split, "dialogues_used": len(eval_dialogues),
                 "examples_used": len(eval_examples)},
    }
    train_dataset = Dataset.from_list([e.as_record() for e in train_examples])
    eval_dataset = Dataset.from_list([e.as_record() for e in eval_examples])
    return train_dataset, eval_dataset, report


# --------------------------------------------------------------------------- run directory

def prepare_run_dir(config: RunConfig, resume: bool) -> Path:
    run_dir = config.run_dir()
    checkpoints = run_dir / CHECKPOINT_DIR
    has_checkpoints = checkpoints.is_dir() and any(checkpoints.glob("checkpoint-*"))
    if resume:
        if not has_checkpoints:
            raise TrainingConfigError(f"--resume: {checkpoints} holds no checkpoint to resume from; run without --resume.")
    elif run_dir.exists() and any(run_dir.iterdir()):
        if not config.train.overwrite:
            raise TrainingConfigError(
                f"The run directory {run_dir} already exists: continue it with --resume, start it over with "
                "--set train.overwrite=true, or pick another --set train.run_name=..."
            )
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    return run_dir


def setup_logging(run_dir: Path, main_process: bool) -> logging.Handler | None:
    log.setLevel(logging.INFO)
    if not any(isinstance(h, logging.StreamHandler) and not isinstance(h, logging.FileHandler) for h in log.handlers):
        console = logging.StreamHandler(sys.stderr)
        console.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
        log.addHandler(console)
    if not main_process:
        return None
    handler = logging.FileHandler(run_dir / "train.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    # transformers' own messages (and trl's) go to the same file.
    import transformers

    transformers.utils.logging.add_handler(handler)
    return handler


# --------------------------------------------------------------------------- training

def make_sft_config(config: RunConfig, run_dir: Path, device: str, dtype: Any) -> Any:
    import torch
    from trl import SFTConfig

    train = config.train
    early = train.early_stopping_patience > 0
    return SFTConfig(
        output_dir=str(run_dir / CHECKPOINT_DIR),
        learning_rate=train.learning_rate,
        num_train_epochs=train.num_train_epochs,
        max_steps=train.max_steps,
        per_device_train_batch_size=train.per_device_train_batch_size,
        per_device_eval_batch_size=train.per_device_eval_batch_size,
        gradient_accumulation_steps=train.gradient_accumulation_steps,
        lr_scheduler_type=train.lr_scheduler_type,
        warmup_steps=train.warmup_ratio,  # transformers 5: a value below 1 is a fraction of the steps
        weight_decay=train.weight_decay,
        max_grad_norm=train.max_grad_norm,
        optim=train.optim,
        eval_strategy=train.eval_strategy,
        eval_steps=train.eval_steps,
        save_strategy=train.eval_strategy,  # checkpoints where evaluations are: best model and resume
        save_steps=train.eval_steps,
        save_total_limit=train.save_total_limit,
        load_best_model_at_end=early,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=train.logging_steps,
        logging_first_step=True,
        seed=train.seed,
        data_seed=train.seed,
        dataloader_num_workers=train.dataloader_num_workers,
        train_sampling_strategy="group_by_length" if train.group_by_length else "random",
        disable_tqdm=train.disable_tqdm,
        report_to=train.report_to,
        use_cpu=device == "cpu",
        bf16=device == "cuda" and dtype == torch.bfloat16,
        fp16=device == "cuda" and dtype == torch.float16,
        **({"gradient_checkpointing": True, "gradient_checkpointing_kwargs": {"use_reentrant": False}}
           if config.model.gradient_checkpointing else {}),
        include_num_input_tokens_seen="non_padding",
        # Examples come tokenized (input_ids + labels with -100 on the prompt), built by esbot's
        # PromptBuilder; trl only truncates (never needed: examples fit max_length) and collates.
        max_length=config.data.max_length,
        packing=False,
        dataset_num_proc=None,
    )


class LossRecorder:
    """Builds the TrainerCallback that writes every logged loss to loss_curve.csv as it comes."""

    @staticmethod
    def callback(run_dir: Path) -> Any:
        from transformers import TrainerCallback

        class _Recorder(TrainerCallback):
            def on_log(self, args, state, control, logs=None, **kwargs):
                if not state.is_world_process_zero or not logs:
                    return
                if "loss" in logs or "eval_loss" in logs:
                    write_loss_curve(state.log_history, run_dir, plot=False)
                    if "eval_loss" in logs:
                        log.info("step %d, epoch %.2f: eval loss %.4f", state.global_step, state.epoch or 0, logs["eval_loss"])
                    else:
                        log.info("step %d, epoch %.2f: train loss %.4f", state.global_step, state.epoch or 0, logs["loss"])

        return _Recorder()


def loss_rows(log_history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for entry in log_history:
        if "loss" in entry:
            rows.append({"step": entry.get("step"), "epoch": entry.get("epoch"), "split": "train", "loss": entry["loss"]})
        if "eval_loss" in entry:
            rows.append({"step": entry.get("step"), "epoch": entry.get("epoch"), "split": "eval", "loss": entry["eval_loss"]})
    return rows


def write_loss_curve(log_history: list[dict[str, Any]], out_dir: Path, plot: bool = True) -> list[dict[str, Any]]:
    import csv

    rows = loss_rows(log_history)
    with (out_dir / "loss_curve.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["step", "epoch", "split", "loss"])
        writer.writeheader()
        writer.writerows(rows)
    if plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axis = plt.subplots(figsize=(7, 4))
        for split, style in (("train", "-"), ("eval", "o-")):
            points = [(r["step"], r["loss"]) for r in rows if r["split"] == split]
            if points:
                axis.plot(*zip(*points), style, label=f"{split} loss")
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("loss (supporter tokens)")
        axis.grid(alpha=0.3)
        axis.legend()
        figure.tight_layout()
        figure.savefig(out_dir / "loss_curve.png", dpi=110)
        plt.close(figure)
    return rows


def library_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    versions = {"python": sys.version.split()[0]}
    for name in ("esbot-training", "torch", "transformers", "peft", "trl", "datasets", "accelerate", "bitsandbytes", "spacy", "nltk"):
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            pass
    if "esbot-training" not in versions:
        from . import __version__

        versions["esbot-training"] = __version__ + " (source tree)"
    return versions


def write_adapter(trainer: Any, config: RunConfig, run_dir: Path, base_config: Any, data_report: dict[str, Any],
                  results: dict[str, Any]) -> Path:
    from esbot_dialogue.adapters import MANIFEST_FILE, config_fingerprint

    adapter_dir = run_dir / ADAPTER_DIR
    if adapter_dir.exists():
        shutil.rmtree(adapter_dir)
    # The adapter records the id the robot loads, not this machine's local folder.
    trainer.model.peft_config["default"].base_model_name_or_path = config.model.model_id
    trainer.model.save_pretrained(str(adapter_dir), save_embedding_layers=False)
    manifest = {
        "format": "esbot-adapter/1",
        "base_model_id": config.model.model_id,
        "base_config_hash": config_fingerprint(base_config),
        "context_representation": config.data.history_representation,
        "system_prompt": config.data.system_prompt,  # "" = the robot's built-in prompt
        "dataset": {
            "name": config.data.dataset,
            "path": config.data.path or "(default location)",
            "train_split": config.data.train_split,
            "eval_split": config.data.eval_split,
            "train_dialogues": data_report["train"]["dialogues_used"],
            "train_examples": data_report["train"]["examples_used"],
            "eval_examples": data_report["eval"]["examples_used"],
            "extes_test_fraction": config.data.test_fraction if config.data.dataset == "extes" else None,
            "split_seed": config.data.split_seed,
        },
        "hyperparameters": {
            "lora": asdict(config.lora),
            "train": {k: v for k, v in asdict(config.train).items() if k not in ("output_root", "overwrite", "disable_tqdm")},
            "max_length": config.data.max_length,
            "max_target_tokens": config.data.max_target_tokens,
            "load_in_4bit": config.model.load_in_4bit,
        },
        "results": results,
        "library_versions": library_versions(),
        "config_fingerprint": config.fingerprint(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    (adapter_dir / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    (adapter_dir / "README.md").write_text(model_card(manifest), encoding="utf-8")
    return adapter_dir


def model_card(manifest: dict[str, Any]) -> str:
    data, hp, results = manifest["dataset"], manifest["hyperparameters"], manifest["results"]
    lora = hp["lora"]
    license_note = ("ESConv is CC BY-NC 4.0 (research use only); this adapter inherits that restriction."
                    if data["name"] == "esconv" else "Check the ExTES license before any use beyond research.")
    fmt = lambda value: "n/a" if value is None else f"{value:.4f}"  # noqa: E731
    return f"""---
base_model: {manifest['base_model_id']}
library_name: peft
tags: [lora, emotional-support, esbot]
---
# esbot LoRA adapter: {manifest['base_model_id']} on {data['name']}

A LoRA adapter for esbot's dialogue node (`adapter_path` parameter or the `load_adapter` service),
trained with `esbot_training` (trl SFTTrainer + peft) on one example per supporter reply, the loss
on the supporter's tokens only, prompts built by the robot's own `PromptBuilder`.

| | |
|---|---|
| base model | `{manifest['base_model_id']}` (config fingerprint `{manifest['base_config_hash']}`) |
| context representation of past turns | `{manifest['context_representation']}` (use the same on the robot) |
| system prompt | {'the robot built-in prompt' if not manifest['system_prompt'] else 'custom (see esbot_manifest.json)'} |
| data | {data['name']} `{data['train_split']}`: {data['train_dialogues']} dialogues, {data['train_examples']} examples; eval on `{data['eval_split']}` ({data['eval_examples']} examples) |
| LoRA | r {lora['r']}, alpha {lora['alpha']}, dropout {lora['dropout']}, bias {lora['bias']}, on {', '.join(lora['target_modules'])} |
| training | lr {hp['train']['learning_rate']}, batch {hp['train']['per_device_train_batch_size']} x accumulation {hp['train']['gradient_accumulation_steps']}, {results.get('global_steps')} steps ({fmt(results.get('epochs'))} epochs), max length {hp['max_length']}, 4-bit {hp['load_in_4bit']} |
| losses | first train {fmt(results.get('first_train_loss'))}, last train {fmt(results.get('last_train_loss'))}, best eval {fmt(results.get('best_eval_loss'))}, last eval {fmt(results.get('last_eval_loss'))} |

{license_note} Every figure, the full configuration and the library versions are in `esbot_manifest.json`.
"""


@contextlib.contextmanager
def _out_of_memory_is_a_config_error(config: RunConfig):
    import torch

    try:
        yield
    except (torch.OutOfMemoryError, MemoryError) as error:
        raise TrainingConfigError(
            f"Out of memory while training ({type(error).__name__}): lower train.per_device_train_batch_size "
            f"({config.train.per_device_train_batch_size}, raise train.gradient_accumulation_steps to keep the "
            f"effective batch), lower data.max_length ({config.data.max_length}), or set "
            "model.gradient_checkpointing=true (on a GPU also model.load_in_4bit=true)."
        ) from error


def run(config: RunConfig, resume: bool = False) -> dict[str, Any]:
    """Train; returns the results (also written into the run directory)."""
    import torch

    started = time.perf_counter()
    main_process = int(os.environ.get("RANK", "0")) == 0
    run_dir = prepare_run_dir(config, resume) if main_process else config.run_dir()
    handler = setup_logging(run_dir, main_process)
    try:
        if config.train.torch_threads:
            torch.set_num_threads(config.train.torch_threads)
        if main_process:
            (run_dir / "config.yaml").write_text(config.to_yaml(), encoding="utf-8")
        device, dtype = pick_device_and_dtype(config)
        log.info("run directory %s; device %s, dtype %s", run_dir, device, str(dtype).replace("torch.", ""))
        model, tokenizer, resolved = load_model_and_tokenizer(config, dtype)
        log.info("model %s (from %s)", config.model.model_id, resolved)
        base_config = model.config
        train_dataset, eval_dataset, data_report = build_datasets(config, tokenizer)
        if main_process:
            (run_dir / "data_report.json").write_text(json.dumps(data_report, indent=2) + "\n", encoding="utf-8")
        model = add_lora(model, config)
        trainable, total = model.get_nb_trainable_parameters()
        log.info("LoRA r=%d alpha=%d on %s: %d trainable of %d parameters",
                 config.lora.r, config.lora.alpha, ",".join(config.lora.target_modules), trainable, total)

        from transformers import EarlyStoppingCallback
        from trl import SFTTrainer

        callbacks = [LossRecorder.callback(run_dir)]
        if config.train.early_stopping_patience > 0:
            callbacks.append(EarlyStoppingCallback(config.train.early_stopping_patience, config.train.early_stopping_threshold))
        trainer = SFTTrainer(
            model=model,
            args=make_sft_config(config, run_dir, device, dtype),
            train_dataset=train_dataset,
            eval_dataset=eval_dataset,
            processing_class=tokenizer,
            callbacks=callbacks,
        )
        train_started = time.perf_counter()
        with _out_of_memory_is_a_config_error(config):
            output = trainer.train(resume_from_checkpoint=True if resume else None)
        train_seconds = time.perf_counter() - train_started

        history = trainer.state.log_history
        rows = write_loss_curve(history, run_dir) if main_process else loss_rows(history)
        train_losses = [r["loss"] for r in rows if r["split"] == "train"]
        eval_losses = [r["loss"] for r in rows if r["split"] == "eval"]
        tokens_seen = trainer.state.num_input_tokens_seen or 0
        results = {
            "global_steps": trainer.state.global_step,
            "epochs": trainer.state.epoch,
            "first_train_loss": train_losses[0] if train_losses else None,
            "last_train_loss": train_losses[-1] if train_losses else None,
            "mean_train_loss": output.training_loss,
            "first_eval_loss": eval_losses[0] if eval_losses else None,
            "last_eval_loss": eval_losses[-1] if eval_losses else None,
            "best_eval_loss": trainer.state.best_metric,
            "best_checkpoint": trainer.state.best_model_checkpoint,
            "stopped_early": bool(config.train.max_steps <= 0 and trainer.state.epoch is not None
                                  and trainer.state.epoch < config.train.num_train_epochs - 1e-6),
            "train_seconds": round(train_seconds, 1),
            "tokens_seen": int(tokens_seen),
            "tokens_per_second": round(tokens_seen / train_seconds, 1) if train_seconds > 0 else None,
            "trainable_parameters": trainable,
            "device": device,
            "dtype": str(dtype).replace("torch.", ""),
        }
        if main_process:
            adapter_dir = write_adapter(trainer, config, run_dir, base_config, data_report, results)
            results["adapter"] = str(adapter_dir)
            results["total_seconds"] = round(time.perf_counter() - started, 1)
            (run_dir / "metrics.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
            log.info("adapter written to %s (train loss %s -> %s, best eval loss %s)", adapter_dir,
                     results["first_train_loss"], results["last_train_loss"], results["best_eval_loss"])
        return results
    finally:
        if handler is not None:
            import transformers

            transformers.utils.logging.remove_handler(handler)
            log.removeHandler(handler)
            handler.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m esbot_training.train",
        description="LoRA fine-tuning of esbot's language model on ESConv or ExTES (trl SFTTrainer + peft).",
    )
    parser.add_argument("--config", help="YAML config (training/configs/*.yaml); defaults apply without one")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="override one setting (repeatable), e.g. --set train.max_steps=40")
    parser.add_argument("--resume", action="store_true", help="continue the run from its last checkpoint")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
        run(config, resume=args.resume)
    except TrainingConfigError as error:
        print(f"esbot_training: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esbot_training: interrupted; continue with --resume (from the last checkpoint).", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
