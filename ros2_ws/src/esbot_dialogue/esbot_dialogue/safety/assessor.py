"""Combining the tiers over the last few user turns into one assessment per utterance.

The rule tier (rules.py) holds what must never depend on a model: explicit plans,
immediacy, negation. The learned tier (learned.py, a fine-tuned MiniLM classifier) reads
meaning the rules were never written for, on the utterance alone and read after the last
user turns. They combine so that a tier can only raise a level, with the documented
exceptions of negative_context.py:
- in a negative context (recovered past, fiction, idiom, someone else's story, or a cue the
  rules found negated or quoted) the learned tier needs a stricter threshold to raise, and
- there a rule alarm is lowered when the learned tier is confident there is no risk
  (Thresholds.lower_rules), so a proud anniversary of recovery is not an emergency.
Risk spread over turns ("there's no point anymore" ... "i've made up my mind") is found by
the rules on the recent turns joined and by the learned tier on the utterance in context.
The rules' joint judgement counts only where it is stronger than every earlier turn's own
(the joined text still holds the earlier alarm, so it would re-raise it on every following
turn). The learned tier judges the new utterance itself, read after the others: when that is
a crisis it counts even after an earlier crisis turn, because a person still in danger ("i'm
going to let go now" after "i'm at the bridge") must get the crisis response again, not an
LLM reply in careful mode.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Optional, Protocol, Sequence

from . import rules
from .injection import is_injection
from .levels import NO_RISK, PROMPT_INJECTION, Assessment, RiskLevel, stronger
from .negative_context import negative_contexts
from .risk_scores import Thresholds, UserScores
from .text import join_turns, normalise


class ModelTier(Protocol):
    """A learned tier (learned.LearnedTier; fakes in tests)."""

    thresholds: Thresholds

    def score(self, text: str, context: Sequence[str] = ()) -> tuple[UserScores, Optional[UserScores]]:
        """Scores of normalised text alone and, when context is given, read after it."""


class RiskAssessor:
    """Assesses each final user utterance in the context of the previous `context_turns`."""

    def __init__(self, model_tier: Optional[ModelTier] = None, context_turns: int = 3) -> None:
        self.model_tier = model_tier
        # (normalised text, the level that turn was finally given)
        self._recent: deque[tuple[str, RiskLevel]] = deque(maxlen=context_turns)

    def reset(self) -> None:
        """Forget the context (a new conversation)."""
        self._recent.clear()

    def assess(self, text: str) -> Assessment:
        """Judge one user utterance and remember it as context for the next ones."""
        normalised = normalise(text)
        result = self._assess(normalised)
        if is_injection(text):
            result = _flag_injection(result)
        self._recent.append((normalised, result.level))
        return result

    def _assess(self, normalised: str) -> Assessment:
        context = [turn for turn, _ in self._recent]
        earlier = max((level for _, level in self._recent), default=RiskLevel.NONE)
        own = rules.assess_normalised(normalised)
        by_rules = own
        if context:
            joined = rules.assess_normalised(join_turns(context + [normalised]))
            if joined.level > max(own.level, earlier):
                by_rules = dataclasses.replace(joined, tier="context")
        if self.model_tier is None or not normalised.strip():
            return by_rules
        return stronger(*self._with_learned(normalised, context, earlier, own, by_rules))

    def _with_learned(self, normalised: str, context: list[str], earlier: RiskLevel, own: Assessment,
                      by_rules: Assessment) -> tuple[Assessment, Assessment]:
        thresholds = self.model_tier.thresholds
        negatives = negative_contexts(normalised) + tuple(r for r in own.reasons if r.startswith("explained:"))
        alone, in_context = self.model_tier.score(normalised, context)
        learned = alone.assessment(thresholds, bool(negatives))
        if in_context is not None:
            read_after = in_context.assessment(thresholds, bool(negatives))
            # At the same level the reading in context wins: it knows whom the shotgun is for.
            if read_after.level >= learned.level and (read_after.level > earlier or read_after.is_crisis):
                learned = dataclasses.replace(read_after, tier="learned_context")
        if (by_rules.level > RiskLevel.NONE and by_rules.tier == "rules" and negatives
                and alone.level_probabilities[0] >= thresholds.lower_rules):
            # The documented exception: a rule alarm in a negative context the model is sure of.
            by_rules = dataclasses.replace(NO_RISK, reasons=by_rules.reasons + tuple(
                f"lowered:{name}" for name in negatives), tier="learned")
        return by_rules, learned


def _flag_injection(result: Assessment) -> Assessment:
    flagged = dataclasses.replace(result, injection=True, reasons=result.reasons + ("prompt_injection",))
    if result.level == RiskLevel.NONE:
        return dataclasses.replace(flagged, level=RiskLevel.LOW, category=PROMPT_INJECTION)
    return flagged
