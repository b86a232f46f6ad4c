"""The MiniLM semantic tier and how the assessor combines it with the rules (raise only)."""

import pytest

from esbot_dialogue.safety.assessor import RiskAssessor
from esbot_dialogue.safety.levels import NO_RISK, SUICIDE_SELF_HARM, Assessment, RiskLevel


class FixedTier:
    def __init__(self, result):
        self.result, self.calls = result, []

    def assess(self, masked_text):
        self.calls.append(masked_text)
        return self.result


def test_model_tier_never_lowers_the_rules():
    tier = FixedTier(NO_RISK)
    assert RiskAssessor(tier).assess("I took 30 pills").level == RiskLevel.IMMEDIATE
    assert RiskAssessor(tier).assess("i want to die").level == RiskLevel.HIGH


def test_model_tier_raises_but_not_over_what_the_rules_explained_away():
    tier = FixedTier(Assessment(RiskLevel.HIGH, SUICIDE_SELF_HARM, tier="semantic"))
    assert RiskAssessor(tier).assess("i'd be better off not existing at all").level == RiskLevel.HIGH
    assert RiskAssessor(tier).assess("i would never hurt myself").level == RiskLevel.NONE  # negated cue
    assert RiskAssessor(tier).assess("this deadline is killing me").level == RiskLevel.NONE  # idiom


@pytest.fixture(scope="module")
def semantic():
    from esbot_dialogue.safety.semantic import SemanticTier

    return SemanticTier()


def test_minilm_tier_on_unseen_phrasing_and_everyday_talk(semantic):
    assert semantic.assess("i wish i could stop existing").level == RiskLevel.HIGH
    assert semantic.assess("i went to the shops and bought some bread").level == RiskLevel.NONE
    assert semantic.assess("").level == RiskLevel.NONE
