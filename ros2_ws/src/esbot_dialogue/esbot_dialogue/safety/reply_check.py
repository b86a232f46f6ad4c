"""The output check: no reply that gives means, encourages harm or dismisses risk is spoken.

Each streamed reply chunk is checked before it goes to the speaker. Means and methods
(doses, "how to", "the most painless way") and encouragement of harm are refused always;
dismissal ("you're just being dramatic", "it'll pass") is refused after the person has
stated high or immediate risk, where it is what hurts most. Patterns catch the phrasings
written down here; the learned tier's reply head (learned.LearnedTier.unsafe_reply), when
given, catches the rest. Like the user-side tiers, either can only withhold, never allow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Protocol

from .levels import RiskLevel
from .text import normalise

_MEANS = re.compile("|".join([
    r"\b\d+ ?(?:mg|milligrams?|grams?|g|mcg|ml|pills|tablets|capsules|units)\b",
    r"\b(?:lethal|deadly|fatal|toxic) (?:dose|amount|level)\b", r"\benough (?:pills |of \w+ )?to (?:kill|die)\b",
    r"\bhow to (?:kill|hang|cut|overdose|hurt|poison|strangle|stab|shoot|suffocate)\b",
    r"\b(?:painless|quickest|easiest|surest|best|fastest) (?:way|method) to (?:die|kill|end|go)\b",
    r"\b(?:tie|make|tying|making) a noose\b", r"\bcut (?:deeper|vertically|along the)\b",
    r"\bcarbon monoxide\b", r"\bwould (?:kill|be fatal to) you\b",
    # Quantities of medication in words: the robot never advises on doses, whatever the risk.
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|twelve|fifteen|twenty|thirty|forty|fifty|hundred|"
    r"several|a few|a couple of|a handful of|a bunch of|lots of|many|extra|more|all (?:of )?(?:your|the|those)) "
    r"(?:\w+ )?(?:pills|tablets|capsules|painkillers|doses)\b",
    r"\b(?:whole|entire) (?:bottle|pack|packet|box|strip)\b", r"\b(?:double|triple) (?:your |the )?dose\b",
    r"\btake (?:more|extra) (?:of )?(?:your |the )?(?:medication|medicine|pills|tablets)\b",
]))
_ENCOURAGES_HARM = re.compile("|".join([
    r"\byou should (?:\w+ )?(?:hurt|kill|hit|punch|stab|shoot|poison|get back at|make (?:him|her|them) pay|end "
    r"it|end your life|do it|go through with it)\b",
    r"\b(?:better|best) (?:off )?if you (?:were|was) (?:gone|dead|not here|not around)\b",
    r"\bbetter off (?:dead|without you)\b", r"\bgo ahead and (?:do it|end it|hurt|kill|jump|take them)\b",
    r"\byou deserve to (?:die|suffer|be hurt|be punished)\b", r"\b(?:no one|nobody) would miss you\b",
    r"\bkill (?:yourself|him|her|them)\b(?! is never)", r"\bhurt (?:yourself|him|her|them)\b(?! is)",
]))
_DISMISSES = re.compile("|".join([
    r"\b(?:just )?being (?:dramatic|silly|overdramatic)\b", r"\beveryone feels (?:that way|like that|this way)\b",
    r"\b(?:it|this|that) will pass\b", r"\byou do not (?:really )?mean (?:it|that)\b", r"\bget over it\b",
    r"\bfor attention\b", r"\bsnap out of it\b", r"\boverreacting\b", r"\bnot (?:a|that) big (?:deal|of a deal)\b",
    r"\bcheer up\b", r"\bjust think positive\b", r"\bothers have it worse\b", r"\bstop feeling sorry\b",
    r"\byou will be fine\b",
]))


class ReplyModel(Protocol):
    """A learned reply check (learned.LearnedTier; fakes in tests)."""

    def unsafe_reply(self, text: str, user_risk: RiskLevel) -> str:
        """The reason to withhold normalised text ("means", ...), or "" when it may be spoken."""


@dataclass(frozen=True)
class ReplyCheck:
    safe: bool
    reason: str = ""  # "means", "encourages_harm" or "dismisses_risk" when not safe
    replacement: str = ""  # what to speak instead when not safe


_GENERIC_REPLACEMENT = "I am sorry, I should not have said that. I am here to listen. How are you feeling right now?"


def check_reply(reply_text: str, user_risk: RiskLevel, replacement: Optional[str] = None,
                model: Optional[ReplyModel] = None) -> ReplyCheck:
    """Whether reply_text may be spoken to a person whose last assessed risk is user_risk."""
    text = normalise(reply_text)
    if _MEANS.search(text):
        reason = "means"
    elif _ENCOURAGES_HARM.search(text):
        reason = "encourages_harm"
    elif user_risk >= RiskLevel.HIGH and _DISMISSES.search(text):
        reason = "dismisses_risk"
    else:
        reason = model.unsafe_reply(text, user_risk) if model is not None and text.strip() else ""
        if not reason:
            return ReplyCheck(True)
    return ReplyCheck(False, reason, replacement or _GENERIC_REPLACEMENT)
