"""Combining the tiers over the last few user turns into one assessment per utterance.

Rules first; a model tier, when one is given, may only raise the level (it never lowers a
rule's judgement, so a model that misses a phrasing cannot hide a stated plan). Risk said
across turns ("i have a rope in the garage" ... "tonight i'm going to use it") is found by
running the rules on the recent turns joined; that joint judgement counts only where it
is stronger than every earlier turn's own, so one alarming turn does not re-raise the same
alert on each of the following turns (careful mode carries on from there).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from typing import Optional, Protocol

from . import rules
from .injection import is_injection
from .levels import PROMPT_INJECTION, Assessment, RiskLevel
from .text import join_turns, normalise


class ModelTier(Protocol):
    """A tier that judges one normalised, idiom-masked text (see semantic.SemanticTier)."""

    def assess(self, masked_text: str) -> Assessment: ...


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
        result = self._assess_in_context(normalised)
        if is_injection(text):
            result = _flag_injection(result)
        self._recent.append((normalised, result.level))
        return result

    def assess_alone(self, text: str) -> Assessment:
        """Judge a text without context and without remembering it (e.g. a reply)."""
        return self._with_model(normalise(text), rules.assess_normalised(normalise(text)))

    def _assess_in_context(self, normalised: str) -> Assessment:
        own = self._with_model(normalised, rules.assess_normalised(normalised))
        if not self._recent:
            return own
        joined = rules.assess_normalised(join_turns([t for t, _ in self._recent] + [normalised]))
        earlier = max(level for _, level in self._recent)
        if joined.level > max(own.level, earlier):
            return dataclasses.replace(joined, tier="context")
        return own

    def _with_model(self, normalised: str, by_rules: Assessment) -> Assessment:
        # The model reads meaning, not negation or idiom: it only judges texts where no rule
        # cue matched and none was explained away, and rules' high/immediate are kept as is.
        if self.model_tier is None or by_rules.level >= RiskLevel.HIGH or by_rules.reasons:
            return by_rules
        by_model = self.model_tier.assess(rules.mask_idioms(normalised))
        return by_model if by_model.level > by_rules.level else by_rules


def _flag_injection(result: Assessment) -> Assessment:
    flagged = dataclasses.replace(result, injection=True, reasons=result.reasons + ("prompt_injection",))
    if result.level == RiskLevel.NONE:
        return dataclasses.replace(flagged, level=RiskLevel.LOW, category=PROMPT_INJECTION)
    return flagged

