"""Run configuration: dataclasses read from a YAML file, with ``--set section.key=value`` overrides.

A YAML file has up to four sections, each mapping onto one dataclass::

    model:  {model_id, device, dtype, load_in_4bit, ...}          ModelConfig
    data:   {dataset, path, history_representation, ...}          DataConfig
    lora:   {r, alpha, dropout, bias, target_modules}              LoraSettings
    train:  {run_name, output_root, learning_rate, ...}           TrainConfig

Unknown sections or keys are refused with the valid names (a typo must not silently fall back
to a default). Values given with ``--set`` are parsed as YAML (``--set train.max_steps=40``,
``--set lora.target_modules=[q_proj,v_proj]``); a key that is unique across sections may be
given without its section (``--set learning_rate=1e-4``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import TrainingConfigError

DEFAULT_RUNS_DIR = "~/.local/share/esbot/runs"


@dataclass
class ModelConfig:
    # The id the robot uses (its `model` parameter); resolved through esbot's models folder,
    # so a prepared id loads offline. A local path works too.
    model_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    device: str = "auto"  # auto (CUDA if available, else CPU), cpu, cuda
    dtype: str = "auto"  # auto: bf16 (or fp16) on GPU, fp32 on CPU; or float32/bfloat16/float16
    load_in_4bit: bool = False  # QLoRA (bitsandbytes NF4); needs CUDA
    bnb_4bit_quant_type: str = "nf4"
    bnb_4bit_use_double_quant: bool = True
    gradient_checkpointing: bool = False
    attn_implementation: str | None = None  # e.g. sdpa, flash_attention_2; None = transformers' choice
    trust_remote_code: bool = False


@dataclass
class DataConfig:
    dataset: str = "esconv"  # esconv | extes
    # esconv: "" = $ESBOT_ESCONV_DIR, else <repo>/../shared/data/esconv, else the hub id thu-coai/esconv;
    # or any folder/file/hub id. extes: the path of ExTES.json (or the authors' zip): required.
    path: str = ""
    train_split: str = "train"
    eval_split: str = "valid"  # esconv: valid (or test); extes: test (the 20% part)
    test_fraction: float = 0.2  # extes only: the stratified held-out part
    split_seed: int = 42
    max_train_dialogues: int | None = None  # the first N dialogues of the split (None = all)
    max_eval_dialogues: int | None = None
    max_train_examples: int | None = None  # then at most N examples (a seeded random subset)
    max_eval_examples: int | None = None
    history_representation: str = "raw"  # raw | keypos | nostopwords (past turns only)
    system_prompt: str = ""  # "" = the robot's built-in prompt (same convention as the node)
    max_length: int = 1024  # tokens per example, prompt + reply (the training context window)
    max_target_tokens: int = 128  # the reply's budget; longer replies are left out (counted)


@dataclass
class LoraSettings:
    r: int = 64
    alpha: int = 32
    dropout: float = 0.1
    bias: str = "none"
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"])


@dataclass
class TrainConfig:
    run_name: str = "smollm2-esconv"
    output_root: str = DEFAULT_RUNS_DIR  # the run directory is output_root/run_name
    overwrite: bool = False  # start over in an existing run directory (else --resume or refuse)
    learning_rate: float = 2e-4
    num_train_epochs: float = 3.0
    max_steps: int = -1  # > 0 overrides num_train_epochs
    per_device_train_batch_size: int = 4
    per_device_eval_batch_size: int = 4
    gradient_accumulation_steps: int = 1
    lr_scheduler_type: str = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"  # paged_adamw_8bit is common with QLoRA on GPU
    eval_strategy: str = "epoch"  # epoch | steps
    eval_steps: int | None = None  # with eval_strategy steps
    save_total_limit: int = 2
    logging_steps: int = 10
    early_stopping_patience: int = 2  # evaluations without improvement before stopping (0 = off)
    early_stopping_threshold: float = 0.0
    seed: int = 42
    dataloader_num_workers: int = 0
    group_by_length: bool = True  # batches of similar lengths: less padding
    torch_threads: int | None = None  # CPU threads (None = torch's default)
    disable_tqdm: bool = False
    report_to: str = "none"  # tensorboard, wandb, ... when installed


class SectionedConfig:
    """What every config made of section dataclasses offers (training, evaluation, the risk tier)."""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)

    def fingerprint(self) -> str:
        return hashlib.sha256(json.dumps(self.to_dict(), sort_keys=True).encode()).hexdigest()[:16]


@dataclass
class RunConfig(SectionedConfig):
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    lora: LoraSettings = field(default_factory=LoraSettings)
    train: TrainConfig = field(default_factory=TrainConfig)

    def run_dir(self) -> Path:
        return Path(os.path.expanduser(self.train.output_root)) / self.train.run_name


_SECTIONS = {"model": ModelConfig, "data": DataConfig, "lora": LoraSettings, "train": TrainConfig}


def _field_types(cls: type) -> dict[str, Any]:
    return {f.name: f.type for f in dataclasses.fields(cls)}


def _coerce(section: str, key: str, value: Any, annotation: str) -> Any:
    """Check (and gently convert) a value against its field's annotation."""
    where = f"{section}.{key}"
    optional = "None" in annotation
    if value is None:
        if optional:
            return None
        raise TrainingConfigError(f"{where} cannot be empty (null).")
    base = annotation.replace(" | None", "").strip()
    try:
        if base == "bool":
            if isinstance(value, bool):
                return value
            raise ValueError
        if base == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if base == "float":
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if base == "str":
            if isinstance(value, (dict, list)):
                raise ValueError
            return str(value)
        if base == "list[int]":
            if isinstance(value, str):
                value = [int(part) for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
                raise ValueError
            return list(value)
        if base.startswith("list"):
            if isinstance(value, str):
                value = [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ValueError
            return list(value)
    except (TypeError, ValueError):
        raise TrainingConfigError(f"{where} must be {base}{' or null' if optional else ''}, not {value!r}.") from None
    return value


def _apply(config: Any, sections: dict[str, type], section: str, key: str, value: Any) -> None:
    if section not in sections:
        raise TrainingConfigError(f"Unknown config section {section!r}; valid sections: {', '.join(sections)}.")
    types = _field_types(sections[section])
    if key not in types:
        raise TrainingConfigError(
            f"Unknown setting {section}.{key}; valid {section} settings: {', '.join(types)}."
        )
    # replace(), not setattr: a section may be a frozen dataclass (the evaluation's generation settings).
    value = _coerce(section, key, value, str(types[key]))
    setattr(config, section, dataclasses.replace(getattr(config, section), **{key: value}))


def load_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> RunConfig:
    """Defaults, then the YAML file, then the --set overrides; validated."""
    config = load_sections(RunConfig(), _SECTIONS, path, overrides)
    validate(config)
    return config


def load_sections(config: Any, sections: dict[str, type], path: str | os.PathLike | None,
                  overrides: list[str] | None) -> Any:
    """Fill a config made of section dataclasses (attribute name = section name) from a YAML
    file, then from --set overrides; shared by training and evaluation configs."""
    if path is not None:
        file = Path(path).expanduser()
        try:
            loaded = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
        except OSError as error:
            raise TrainingConfigError(f"Config file {file} cannot be read: {error.strerror or error}.") from error
        except yaml.YAMLError as error:
            raise TrainingConfigError(f"Config file {file} is not valid YAML: {error}") from error
        if not isinstance(loaded, dict):
            raise TrainingConfigError(f"Config file {file} must be a mapping of sections ({', '.join(sections)}).")
        for section, values in loaded.items():
            if section not in sections:
                raise TrainingConfigError(
                    f"Unknown section {section!r} in {file}; valid sections: {', '.join(sections)}."
                )
            if not isinstance(values, dict):
                raise TrainingConfigError(f"Section {section!r} in {file} must be a mapping of settings.")
            for key, value in values.items():
                _apply(config, sections, section, str(key), value)
    for override in overrides or []:
        key, sep, raw = override.partition("=")
        if not sep or not key.strip():
            raise TrainingConfigError(f"--set needs key=value (e.g. train.max_steps=40), not {override!r}.")
        section, dot, name = key.strip().rpartition(".")
        if not dot:
            owners = [s for s, cls in sections.items() if name in _field_types(cls)]
            if len(owners) != 1:
                raise TrainingConfigError(
                    f"--set {name}: " + ("no section has this setting" if not owners
                                         else f"ambiguous, give the section ({', '.join(o + '.' + name for o in owners)})")
                    + f"; sections: {', '.join(sections)}."
                )
            section = owners[0]
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        _apply(config, sections, section, name, value)
    return config


def validate(config: RunConfig) -> None:
    """Checks that need no model or data; each message says what to change."""
    from esbot_dialogue.context_representation import REPRESENTATIONS

    data, lora, train, model = config.data, config.lora, config.train, config.model
    problems = []
    if data.dataset not in ("esconv", "extes"):
        problems.append(f"data.dataset must be esconv or extes, not {data.dataset!r}")
    if data.history_representation not in REPRESENTATIONS:
        problems.append(
            f"data.history_representation {data.history_representation!r} is unknown; valid ones are: "
            + ", ".join(REPRESENTATIONS)
        )
    if data.max_target_tokens < 1 or data.max_length <= data.max_target_tokens:
        problems.append("data.max_length must be larger than data.max_target_tokens (and both positive)")
    for name in ("max_train_dialogues", "max_eval_dialogues", "max_train_examples", "max_eval_examples"):
        value = getattr(data, name)
        if value is not None and value < 1:
            problems.append(f"data.{name} must be positive or null")
    if lora.r < 1 or lora.alpha <= 0:
        problems.append("lora.r and lora.alpha must be positive")
    if not 0.0 <= lora.dropout < 1.0:
        problems.append("lora.dropout must be in [0, 1)")
    if lora.bias not in ("none", "all", "lora_only"):
        problems.append(f"lora.bias must be none, all or lora_only, not {lora.bias!r}")
    if not lora.target_modules:
        problems.append("lora.target_modules is empty")
    if train.learning_rate <= 0:
        problems.append("train.learning_rate must be positive")
    if train.eval_strategy not in ("epoch", "steps"):
        problems.append(f"train.eval_strategy must be epoch or steps, not {train.eval_strategy!r}")
    if train.eval_strategy == "steps" and not (train.eval_steps and train.eval_steps > 0):
        problems.append("train.eval_strategy steps needs a positive train.eval_steps")
    if train.max_steps <= 0 and train.num_train_epochs <= 0:
        problems.append("set train.num_train_epochs or train.max_steps to a positive value")
    for name in ("per_device_train_batch_size", "per_device_eval_batch_size", "gradient_accumulation_steps", "logging_steps"):
        if getattr(train, name) < 1:
            problems.append(f"train.{name} must be at least 1")
    if not train.run_name or "/" in train.run_name or train.run_name in (".", ".."):
        problems.append(f"train.run_name must be a plain folder name, not {train.run_name!r}")
    if model.device not in ("auto", "cpu", "cuda") and not model.device.startswith("cuda:"):
        problems.append(f"model.device must be auto, cpu, cuda or cuda:N, not {model.device!r}")
    if model.dtype not in ("auto", "float32", "bfloat16", "float16"):
        problems.append(f"model.dtype must be auto, float32, bfloat16 or float16, not {model.dtype!r}")
    if problems:
        raise TrainingConfigError("Invalid configuration: " + "; ".join(problems) + ".")
