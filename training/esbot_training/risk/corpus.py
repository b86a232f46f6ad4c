"""The risk corpus: what the learned tier is trained and cross-validated on.

Sources (documented in training/risk_corpus/README.md):
- authored cases (training/risk_corpus/authored/*.jsonl): user utterances by category and
  level, hard negatives, two-turn cases, and robot reply sentences, written for this corpus;
- the labeled sets the rule tier was tuned on (tests/data/safety_cases.jsonl, safety_dev_cases.jsonl);
- ESConv train-split seeker turns: the large body of emotional-but-safe speech. The turns a
  keyword search flagged were labeled by hand (esconv_audit.jsonl: some seekers do express
  risk); a seeded sample of the rest is level 0, some with their previous seeker turns as context;
- ASR/typing-style variants of a share of the authored user cases (augment.py).
Every example carries a group (its source case), so cross-validation keeps a case and its
variants in one fold. Texts are normalised exactly as the robot normalises what it hears.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Optional

from esbot_dialogue.safety.levels import PROMPT_INJECTION, RISK_CATEGORIES, RiskLevel
from esbot_dialogue.safety.risk_scores import REPLY_LABELS, reply_segments, user_segments
from esbot_dialogue.safety.text import normalise

from ..data import load_esconv
from ..errors import TrainingConfigError
from .augment import spoken_variant
from .config import RiskDataConfig, repo_path

USER, REPLY = "user", "reply"


@dataclass(frozen=True)
class RiskExample:
    task: str  # "user" or "reply"
    first: str  # encoder input: first segment
    second: str  # second segment: the text judged
    level: int = -1  # user: 0-3
    category: int = -1  # user with level >= 1: index in RISK_CATEGORIES
    reply: int = -1  # reply: index in REPLY_LABELS
    group: str = ""  # the source case: its variants share it
    kind: str = ""
    source: str = ""

    @property
    def is_crisis(self) -> bool:
        return self.task == USER and self.level >= RiskLevel.HIGH


def _read_jsonl(path: Path) -> list[dict]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as error:
                raise TrainingConfigError(f"{path}:{number} is not valid JSON: {error}") from error
    return rows


def user_example(row: dict, source: str, group: str, text: Optional[str] = None) -> RiskExample:
    """A labeled user case (guidelines format) as an encoder example."""
    level, category = int(row["level"]), row.get("category") or ""
    if category == PROMPT_INJECTION:  # injection alone is the rules' business, no risk for the model
        level, category = 0, ""
    if level and category not in RISK_CATEGORIES:
        raise TrainingConfigError(f"{source} {row.get('id')}: category {category!r} is not one of {RISK_CATEGORIES}")
    first, second = user_segments(normalise(text if text is not None else row["text"]),
                                  [normalise(turn) for turn in row.get("context") or []])
    return RiskExample(USER, first, second, level=level,
                       category=RISK_CATEGORIES.index(category) if level else -1,
                       group=group, kind=row.get("kind", ""), source=source)


def reply_example(row: dict, source: str, group: str) -> RiskExample:
    label = row["label"]
    if label not in REPLY_LABELS:
        raise TrainingConfigError(f"{source} {row.get('id')}: reply label {label!r} is not one of {REPLY_LABELS}")
    first, second = reply_segments(normalise(row["text"]), RiskLevel(int(row["user_risk"])))
    return RiskExample(REPLY, first, second, reply=REPLY_LABELS.index(label), group=group,
                       kind=row.get("kind", ""), source=source)


def authored_examples(folder: Path, augment_fraction: float, rng: random.Random) -> list[RiskExample]:
    examples = []
    files = sorted(folder.glob("*.jsonl"))
    if not files:
        raise TrainingConfigError(f"no authored cases (*.jsonl) in {folder}")
    for file in files:
        for row in _read_jsonl(file):
            group = f"{file.stem}:{row['id']}"
            if "label" in row:
                examples.append(reply_example(row, file.name, group))
                continue
            examples.append(user_example(row, file.name, group))
            if rng.random() < augment_fraction:
                examples.append(user_example(row, file.name + " (variant)", group, spoken_variant(row["text"], rng)))
    return examples


def labeled_set_examples(paths: Iterable[Path]) -> list[RiskExample]:
    return [user_example(row, path.name, f"{path.stem}:{row['id']}") for path in paths for row in _read_jsonl(path)]


def text_key(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def esconv_examples(config: RiskDataConfig, rng: random.Random) -> tuple[list[RiskExample], dict]:
    """Audited flagged seeker turns with their labels, plus a sample of the others as level 0."""
    dialogues, _ = load_esconv(config.esconv_path or None, "train")
    audit = {(row["dialogue"], row["sha1"]): row for row in _read_jsonl(repo_path(config.esconv_audit))}
    flagged, others = [], []
    for index, dialogue in enumerate(dialogues):
        context: list[str] = []
        for turn in dialogue.turns:
            if turn.speaker != "seeker":
                continue
            label = audit.get((index, text_key(turn.text.strip())))
            row = {"id": f"{index}:{len(context)}", "text": turn.text, "context": context[-2:],
                   "level": label["level"] if label else 0, "category": label["category"] if label else "",
                   "kind": "esconv_audited" if label else "esconv"}
            (flagged if label else others).append(row)
            context.append(turn.text)
    rng.shuffle(others)
    sample = others[: config.esconv_negatives]
    for row in sample:
        if rng.random() >= config.esconv_context_fraction:
            row["context"] = []
    examples = [user_example(row, "esconv train", f"esconv:{row['id']}") for row in flagged + sample]
    report = {"seeker_turns": len(flagged) + len(others), "audited": len(flagged),
              "audited_with_risk": sum(1 for row in flagged if row["level"] > 0),
              "unflagged_sampled_as_level_0": len(sample)}
    return examples, report


def build_corpus(config: RiskDataConfig) -> tuple[list[RiskExample], dict]:
    """Every example, and a report of what came from where (for the model card)."""
    rng = random.Random(config.seed)
    examples = authored_examples(repo_path(config.authored_dir), config.augment_fraction, rng)
    examples += labeled_set_examples(repo_path(path) for path in config.labeled_sets)
    esconv_report: dict = {}
    if config.esconv_negatives or config.esconv_audit:
        esconv, esconv_report = esconv_examples(config, rng)
        examples += esconv
    report = {
        "examples": len(examples),
        "groups": len({e.group for e in examples}),
        "by_source": dict(Counter(e.source for e in examples)),
        "user_by_level": {str(k): v for k, v in sorted(Counter(e.level for e in examples if e.task == USER).items())},
        "user_by_category": dict(Counter(RISK_CATEGORIES[e.category] for e in examples
                                         if e.task == USER and e.category >= 0)),
        "reply_by_label": dict(Counter(REPLY_LABELS[e.reply] for e in examples if e.task == REPLY)),
        "esconv": esconv_report,
    }
    return examples, report


def grouped_folds(examples: list[RiskExample], folds: int, seed: int) -> list[int]:
    """A fold number per example; all examples of a group share one fold."""
    groups = sorted({e.group for e in examples})
    random.Random(seed).shuffle(groups)
    fold_of = {group: i % folds for i, group in enumerate(groups)}
    return [fold_of[e.group] for e in examples]
