"""Risk classifier run configuration: YAML sections onto dataclasses, with --set overrides.

    data:   {authored_dir, labeled_sets, esconv_path, esconv_negatives, augment_fraction, ...}
    lora:   {r, alpha, dropout, target_modules}
    train:  {run_name, learning_rate, epochs, batch_size, cv_folds, ...}
    calibration: {target_recall, max_false_positive_rate, ...}
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from ..config import DEFAULT_RUNS_DIR, SectionedConfig, load_sections

REPO = Path(__file__).resolve().parents[3]


@dataclass
class RiskDataConfig:
    authored_dir: str = "training/risk_corpus/authored"  # our written cases (user utterances and robot replies)
    labeled_sets: list[str] = field(default_factory=lambda: ["tests/data/safety_cases.jsonl",
                                                             "tests/data/safety_dev_cases.jsonl"])
    esconv_path: str = ""  # "" = $ESBOT_ESCONV_DIR, else <repo>/../shared/data/esconv; the train split is used
    esconv_audit: str = "training/risk_corpus/esconv_audit.jsonl"  # labels of the seeker turns a keyword search flagged
    esconv_negatives: int = 5000  # unflagged seeker turns taken as level 0 (a seeded sample; 0 = none)
    esconv_context_fraction: float = 0.3  # of those, the share given their previous seeker turns as context
    augment_fraction: float = 0.5  # authored user cases that also get an ASR/typing-style variant
    seed: int = 13


@dataclass
class RiskLoraConfig:
    r: int = 16
    alpha: int = 32
    dropout: float = 0.1
    target_modules: list[str] = field(default_factory=lambda: ["query", "key", "value", "attention.output.dense",
                                                               "intermediate.dense", "output.dense"])
    layers: int = 2  # LoRA on the top N encoder layers; the frozen ones below are computed once (trainer.BottomCache)


@dataclass
class RiskTrainConfig:
    run_name: str = "risk-minilm"
    output_root: str = DEFAULT_RUNS_DIR
    base_encoder: str = "packaged:all-MiniLM-L6-v2"  # or a hub id / local path of a BERT-style encoder
    learning_rate: float = 5e-4  # LoRA and heads
    epochs: int = 4
    batch_size: int = 32
    max_tokens: int = 96
    weight_decay: float = 0.01
    warmup_ratio: float = 0.06
    crisis_weight: float = 2.0  # loss weight of high/immediate user cases: a miss costs more than a false alarm
    cv_folds: int = 5  # cross-validation folds (grouped: a case and its variants stay together); 0 = none
    cv_epochs: int = 3  # epochs per fold
    torch_threads: int | None = None
    seed: int = 13


@dataclass
class CalibrationConfig:
    target_recall: float = 0.98  # recall of high+immediate the crisis threshold must reach on the CV predictions
    target_immediate: float = 0.95  # immediate recognised as immediate (among detected immediate cases)
    target_reply_recall: float = 0.95  # unsafe replies withheld
    negative_context_fpr: float = 0.01  # false alarms allowed on negative-context cases (their stricter threshold) ...
    negative_context_recall: float = 0.90  # ... unless that loses more of the crisis cases said in such a context
    lower_rules: float = 0.95  # P(none) needed to lower a rule alarm in a negative context


@dataclass
class RiskRunConfig(SectionedConfig):
    data: RiskDataConfig = field(default_factory=RiskDataConfig)
    lora: RiskLoraConfig = field(default_factory=RiskLoraConfig)
    train: RiskTrainConfig = field(default_factory=RiskTrainConfig)
    calibration: CalibrationConfig = field(default_factory=CalibrationConfig)

    def run_dir(self) -> Path:
        return Path(os.path.expanduser(self.train.output_root)) / self.train.run_name


_SECTIONS = {"data": RiskDataConfig, "lora": RiskLoraConfig, "train": RiskTrainConfig,
             "calibration": CalibrationConfig}


def load_risk_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> RiskRunConfig:
    return load_sections(RiskRunConfig(), _SECTIONS, path, overrides)


def repo_path(path: str) -> Path:
    """A config path: absolute, or relative to the repository."""
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else REPO / candidate
