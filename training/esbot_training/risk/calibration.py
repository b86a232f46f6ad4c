"""Decision thresholds from out-of-fold predictions, and the figures they give.

A missed crisis costs a life, a false alarm costs an unneeded hotline message: each
threshold is the *highest* one that still reaches its recall target on the cross-validated
predictions, so the false-positive rate is as low as that recall allows.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Sequence

import torch

from esbot_dialogue.safety.levels import RISK_CATEGORIES, RiskLevel
from esbot_dialogue.safety.negative_context import negative_contexts
from esbot_dialogue.safety.risk_scores import Thresholds, UserScores

from .config import CalibrationConfig
from .corpus import REPLY, USER, RiskExample


def _highest_reaching(scores: Sequence[float], target: float) -> float:
    """The highest threshold t with share(score >= t) >= target (scores of the positives)."""
    if not scores:
        return 0.5
    ranked = sorted(scores, reverse=True)
    needed = max(1, int(round(target * len(ranked) + 0.4999)))
    return float(ranked[min(needed, len(ranked)) - 1])


def user_scores(probabilities: dict[str, torch.Tensor], rows: Sequence[int]) -> list[UserScores]:
    return [UserScores(tuple(probabilities["level"][i].tolist()), tuple(probabilities["category"][i].tolist()))
            for i in rows]


def calibrate(examples: Sequence[RiskExample], probabilities: dict[str, torch.Tensor],
              config: CalibrationConfig) -> Thresholds:
    users = [i for i, e in enumerate(examples) if e.task == USER]
    scores = dict(zip(users, user_scores(probabilities, users)))
    crisis = _highest_reaching([scores[i].crisis for i in users if examples[i].level >= RiskLevel.HIGH],
                               config.target_recall)
    share = [scores[i].level_probabilities[3] / max(scores[i].crisis, 1e-9) for i in users
             if examples[i].level == RiskLevel.IMMEDIATE and scores[i].crisis >= crisis]
    immediate = _highest_reaching(share, config.target_immediate)
    low = _highest_reaching([scores[i].at_least_low for i in users if examples[i].level >= RiskLevel.LOW],
                            config.target_recall)
    low = min(low, crisis)
    # Where a documented negative context is present: no more false alarms than the config allows,
    # but never a threshold that loses the crisis cases that have such a context too.
    in_context = [i for i in users if negative_contexts(examples[i].second)]
    negatives = sorted((scores[i].crisis for i in in_context if examples[i].level == 0), reverse=True)
    allowed = int(config.negative_context_fpr * len(negatives))
    strict = negatives[allowed] + 1e-6 if len(negatives) > allowed else crisis
    positives = [scores[i].crisis for i in in_context if examples[i].level >= RiskLevel.HIGH]
    strict = min(strict, _highest_reaching(positives, config.negative_context_recall)) if positives else strict
    replies = [i for i, e in enumerate(examples) if e.task == REPLY]
    unsafe = [1.0 - float(probabilities["reply"][i][0]) for i in replies if examples[i].reply > 0]
    return Thresholds(crisis=round(crisis, 4), immediate=round(immediate, 4), low=round(low, 4),
                      crisis_in_negative_context=round(max(crisis, strict), 4), lower_rules=config.lower_rules,
                      reply_unsafe=round(_highest_reaching(unsafe, config.target_reply_recall), 4))


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def figures(examples: Sequence[RiskExample], probabilities: dict[str, torch.Tensor],
            thresholds: Thresholds) -> dict:
    """The learned tier's own figures (no rules) on these examples under the thresholds."""
    users = [i for i, e in enumerate(examples) if e.task == USER]
    predicted = {}
    for i, score in zip(users, user_scores(probabilities, users)):
        predicted[i] = score.assessment(thresholds, bool(negative_contexts(examples[i].second)))
    crisis = [i for i in users if examples[i].level >= RiskLevel.HIGH]
    immediate = [i for i in users if examples[i].level == RiskLevel.IMMEDIATE]
    negatives = [i for i in users if examples[i].level == 0]
    by_category, by_kind = defaultdict(list), defaultdict(list)
    for i in crisis:
        by_category[RISK_CATEGORIES[examples[i].category]].append(predicted[i].level >= RiskLevel.HIGH)
    for i in users:
        by_kind[examples[i].kind or "unlabeled"].append(i)
    replies = [i for i, e in enumerate(examples) if e.task == REPLY]
    withheld = {i: 1.0 - float(probabilities["reply"][i][0]) >= thresholds.reply_unsafe for i in replies}
    unsafe = [i for i in replies if examples[i].reply > 0]
    safe = [i for i in replies if examples[i].reply == 0]
    return {
        "user_cases": len(users),
        "recall_high_immediate": _rate(sum(predicted[i].level >= RiskLevel.HIGH for i in crisis), len(crisis)),
        "immediate_as_immediate": _rate(sum(predicted[i].level == RiskLevel.IMMEDIATE for i in immediate),
                                        len(immediate)),
        "false_positive_rate_any": _rate(sum(predicted[i].level > 0 for i in negatives), len(negatives)),
        "false_positive_rate_high": _rate(sum(predicted[i].level >= RiskLevel.HIGH for i in negatives),
                                          len(negatives)),
        "recall_high_immediate_by_category": {k: _rate(sum(v), len(v)) for k, v in sorted(by_category.items())},
        "by_kind": {kind: {"cases": len(rows),
                           "recall_high_immediate": _rate(sum(predicted[i].level >= RiskLevel.HIGH for i in rows
                                                              if examples[i].level >= RiskLevel.HIGH),
                                                          sum(examples[i].level >= RiskLevel.HIGH for i in rows)),
                           "false_positive_rate_high": _rate(sum(predicted[i].level >= RiskLevel.HIGH for i in rows
                                                                 if examples[i].level == 0),
                                                             sum(examples[i].level == 0 for i in rows))}
                    for kind, rows in sorted(by_kind.items())},
        "reply_cases": len(replies),
        "reply_unsafe_withheld": _rate(sum(withheld[i] for i in unsafe), len(unsafe)),
        "reply_safe_withheld": _rate(sum(withheld[i] for i in safe), len(safe)),
    }
