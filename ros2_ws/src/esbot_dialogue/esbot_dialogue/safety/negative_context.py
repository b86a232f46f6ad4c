"""The documented negative contexts: where a risk word does not mean risk to this person now.

The tiers combine so that each can only raise a level, with one exception: in these
contexts a level may be lowered (see assessor.RiskAssessor). Each is a pattern over
normalised text; a match only *allows* lowering, the learned tier still has to be confident
there is no risk (Thresholds.lower_rules), and a rule cue of danger happening now again
("used to ... and last night i did it again") keeps it from applying.

- recovered_past: the speaker's own past told as over ("two years clean today", "i used to
  cut", "since i got sober", "i'm in recovery");
- fiction_media: a film, book, game, show, podcast, song, or a story being written;
- idiom: an everyday figure of speech (the rule tier's idiom list, rules.mask_idioms);
- someone_elses_story: another person's past or distant story ("my aunt died of an overdose
  years ago", "a guy at work's brother");
- negation and hypotheticals are handled inside the rules (a negated or quoted cue does not
  count) and are reported by them as "explained:<cue>" reasons.
"""

from __future__ import annotations

import re

from . import rules

RECOVERED_PAST = re.compile(
    r"\b(?:\w+ (?:years?|months?|weeks?|days?) (?:clean|sober|free|since)|(?:clean|sober|free of it) (?:for|since)|"
    r"i used to|i was (?:in a|at a) (?:dark|bad|low) place|in recovery|recovered|got (?:clean|sober|help)|"
    r"(?:anniversary|birthday) of (?:my|being)|years ago|a long time ago|when i was (?:younger|a kid|a teen|\w+teen)|"
    r"back in (?:high school|college|the day|\d+)|(?:ive|i have) been (?:clean|sober|free)|i am (?:doing )?"
    r"(?:much )?better now|i am in a (?:good|better) place)\b")
FICTION_MEDIA = re.compile(
    r"\b(?:movie|film|book|novel|series|show|episode|game|gaming|level|boss fight|character|podcast|documentary|"
    r"song|lyrics|play|anime|manga|comic|netflix|story i am writing|my story|fanfic|true crime|the news|"
    r"the article|a scene|the villain|the plot)\b")
SOMEONE_ELSES_STORY = re.compile(
    r"\b(?:my|a|his|her|their|our) (?:\w+ )?(?:friend|aunt|uncle|cousin|neighbou?r|coworker|colleague|"
    r"classmate|grandma|grandpa|grandmother|grandfather|brother|sister|mom|dad|mother|father|guy|woman|man|"
    r"girl|boy|client|patient)s? (?:\w+ ){0,4}?(?:passed|died|killed|took (?:his|her|their) own|overdosed|"
    r"attempted|was (?:abused|attacked|assaulted|hit)|had a (?:heart attack|stroke|seizure))\b")
# Danger now, which no negative context explains away.
_AGAIN_NOW = re.compile(r"\b(?:again|relapsed|right now|tonight|just (?:took|did|cut)|last night|"
                        r"this morning|started again|back to)\b")


def negative_contexts(normalised: str) -> tuple[str, ...]:
    """The documented negative contexts present in normalised text (empty when danger is now)."""
    if _AGAIN_NOW.search(normalised):
        return ()
    found = []
    if RECOVERED_PAST.search(normalised):
        found.append("recovered_past")
    if FICTION_MEDIA.search(normalised):
        found.append("fiction_media")
    if "~" in rules.mask_idioms(normalised):
        found.append("idiom")
    if SOMEONE_ELSES_STORY.search(normalised):
        found.append("someone_elses_story")
    return tuple(found)
