"""Risk levels, categories and the assessment record shared by every safety module.

The numbers and category strings are the esbot_msgs/SafetyAlert constants, so the node
copies them into the message without a mapping table that could drift.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class RiskLevel(IntEnum):
    NONE = 0  # SafetyAlert.LEVEL_NONE
    LOW = 1  # distress or a warning sign: the LLM answers, told to check on the person
    HIGH = 2  # thoughts of harm, ongoing abuse, urgent symptoms: crisis response, no LLM
    IMMEDIATE = 3  # intent, plan, means at hand or an act in progress: emergency services now


SUICIDE_SELF_HARM = "suicide_self_harm"
HARM_TO_OTHERS = "harm_to_others"
ABUSE_VIOLENCE = "abuse_violence"
MEDICAL_EMERGENCY = "medical_emergency"
# Not a SafetyAlert constant: an attempt to talk the robot out of its rules, with no
# other risk in the same utterance (a risk there keeps its own category).
PROMPT_INJECTION = "prompt_injection"

RISK_CATEGORIES = (SUICIDE_SELF_HARM, HARM_TO_OTHERS, ABUSE_VIOLENCE, MEDICAL_EMERGENCY)
CATEGORIES = RISK_CATEGORIES + (PROMPT_INJECTION,)

# When two categories reach the same level, the one whose crisis response matters most
# for the speaker's own life is reported.
CATEGORY_PRIORITY = {SUICIDE_SELF_HARM: 0, MEDICAL_EMERGENCY: 1, ABUSE_VIOLENCE: 2, HARM_TO_OTHERS: 3,
                     PROMPT_INJECTION: 4, "": 5}


@dataclass(frozen=True)
class Assessment:
    """What one utterance (or reply) was judged to carry.

    category is "" when level is NONE. reasons name the cues that fired, for the log and
    for tests; tier says which tier decided the level ("rules", "context", "learned", "learned_context").
    """

    level: RiskLevel = RiskLevel.NONE
    category: str = ""
    reasons: tuple[str, ...] = ()
    injection: bool = False
    tier: str = "rules"

    @property
    def is_crisis(self) -> bool:
        return self.level >= RiskLevel.HIGH


NO_RISK = Assessment()


def stronger(first: Assessment, second: Assessment) -> Assessment:
    """The more severe of two assessments (ties: the category that matters most)."""
    key = lambda a: (a.level, -CATEGORY_PRIORITY.get(a.category, 9))  # noqa: E731
    return first if key(first) >= key(second) else second
