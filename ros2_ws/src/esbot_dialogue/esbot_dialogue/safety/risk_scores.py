"""What the learned tier's heads output, and how probabilities become levels (no torch here).

Kept apart from learned.py (the torch model) so the assessor, the reply check and their
tests with fake tiers import no ML stack.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from .levels import RISK_CATEGORIES, Assessment, RiskLevel

LEVELS = ("none", "low", "high", "immediate")
REPLY_LABELS = ("safe", "means", "encourages_harm", "dismisses_risk")
CONTEXT_SEPARATOR = " | "


def user_segments(text: str, context: Sequence[str] = ()) -> tuple[str, str]:
    """Encoder input for a (normalised) user utterance: (earlier turns or "", the utterance)."""
    return CONTEXT_SEPARATOR.join(t for t in context if t), text


def reply_segments(text: str, user_risk: RiskLevel) -> tuple[str, str]:
    """Encoder input for a robot sentence: the task and the user's risk, then the sentence."""
    return f"robot reply to a person at {LEVELS[int(user_risk)]} risk", text


@dataclass(frozen=True)
class Thresholds:
    """Probability thresholds (calibrated by cross-validation; see the model card)."""

    crisis: float = 0.5  # P(high) + P(immediate) at or above: at least HIGH
    immediate: float = 0.5  # P(immediate) / P(high or immediate) at or above: IMMEDIATE
    low: float = 0.5  # P(low or worse) at or above: at least LOW
    crisis_in_negative_context: float = 0.9  # the crisis threshold where the rules saw a negative context
    lower_rules: float = 0.9  # P(none) at or above lowers a rule alarm in a negative context
    reply_unsafe: float = 0.5  # 1 - P(safe) at or above: the sentence is withheld

    @classmethod
    def from_dict(cls, values: dict) -> "Thresholds":
        return cls(**{k: float(v) for k, v in values.items() if k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class UserScores:
    level_probabilities: tuple[float, float, float, float]
    category_probabilities: tuple[float, ...]

    @property
    def crisis(self) -> float:
        return self.level_probabilities[2] + self.level_probabilities[3]

    @property
    def at_least_low(self) -> float:
        return 1.0 - self.level_probabilities[0]

    @property
    def category(self) -> str:
        best = max(range(len(RISK_CATEGORIES)), key=lambda i: self.category_probabilities[i])
        return RISK_CATEGORIES[best]

    def assessment(self, thresholds: Thresholds, negative_context: bool = False) -> Assessment:
        """The level these probabilities reach under the thresholds (tier "learned"); in a
        documented negative context any raise needs the stricter crisis_in_negative_context."""
        p = self.level_probabilities
        crisis_threshold = thresholds.crisis_in_negative_context if negative_context else thresholds.crisis
        low_threshold = crisis_threshold if negative_context else thresholds.low
        if self.crisis >= crisis_threshold:
            share_immediate = p[3] / max(self.crisis, 1e-9)
            level = RiskLevel.IMMEDIATE if share_immediate >= thresholds.immediate else RiskLevel.HIGH
        elif self.at_least_low >= low_threshold:
            level = RiskLevel.LOW
        else:
            return Assessment(tier="learned", reasons=(f"learned:none:{p[0]:.2f}",))
        return Assessment(level, self.category, (f"learned:{LEVELS[level]}:{p[int(level)]:.2f}",), tier="learned")
