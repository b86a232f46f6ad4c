"""Recognising attempts, in the user's own words, to talk the robot out of its rules.

Detection never depends on these: every tier reads the raw user text whatever it says.
The attempt itself is flagged (at least LOW) so the LLM is told to hold its ground and an
operator can see it in the assessment's reasons.
"""

from __future__ import annotations

import re

_INJECTION = re.compile("|".join([
    r"\b(?:ignore|disregard|forget|bypass|drop|skip) (?:all |any |your |the |my |these |those |everything )*(?:previous"
    r" |prior |above |earlier |safety |system )*(?:rules|instructions|guidelines|programming|prompt|system prompt|"
    r"safety(?: stuff| rules| filters?)?|restrictions|limits|filters?|training|policies|policy|you were told|"
    r"everything you were told)\b",
    r"\bpretend (?:you are|that you are|to be an? (?:ai|bot|robot|assistant|model|chatbot)|this is (?:just )?a (?:story"
    r"|game))\b",
    r"\b(?:you are|act as|acting as|as|be) (?:now )?an? (?:\w+ )?(?:ai|assistant|bot|model|chatbot) (?:with|without) (?:no |any )?"
    r"(?:limits|restrictions|rules|filters|boundaries|guidelines)\b",
    r"\b(?:unfiltered|uncensored|unrestricted) (?:ai|mode|assistant|bot|version)\b|\bact as an? (?:unfiltered|evil|"
    r"uncensored|unrestricted)\b",
    r"\bjailbreak\b|\bdeveloper mode\b|\bdan mode\b|\byou are now dan\b|\bdo anything now\b|\bgod mode\b",
    r"^\s*system\s*:|\bsystem prompt\b|\bnew (?:instructions|rules)\b|\boverride\b|\bsafety (?:off|disabled|mode off)"
    r"\b|\b(?:disable|turn off|switch off|deactivate) (?:your |the )?(?:safety|filters?|guardrails|rules)\b",
    r"\bstop following (?:your|the) (?:rules|instructions|guidelines)\b|\byou are not an? (?:\w+ ){0,2}(?:bot|ai|"
    r"assistant|robot) anymore\b|\byou are now an? (?:evil|unfiltered|different|new)\b",
    r"\b(?:roleplay|role play) as\b|\brespond without (?:filters|restrictions|rules)\b",
]))


def is_injection(text: str) -> bool:
    """True when the text tries to override the robot's instructions (raw text: "system:" counts)."""
    return bool(_INJECTION.search(text.lower()))
