"""ASR- and typing-style variants of a written case: how the same words reach the robot.

Speech recognition drops punctuation and case, spells contractions without apostrophes,
writes numbers either way and mishears small words; people typing on a phone misspell. A
variant applies two or three of these at random (seeded), so the classifier does not learn
that risk comes with tidy punctuation.
"""

from __future__ import annotations

import random
import re

_HOMOPHONES = {"your": "you're", "you're": "your", "there": "their", "their": "there", "to": "too", "too": "to",
               "its": "it's", "it's": "its", "no": "know", "know": "no", "right": "write", "hear": "here",
               "here": "hear", "would": "wood", "for": "four", "one": "won", "be": "bee", "by": "buy"}
_SLANG = {"going to": "gonna", "want to": "wanna", "i am": "im", "i'm": "im", "don't": "dont", "can't": "cant",
          "because": "cuz", "you": "u", "probably": "prob", "something": "smth", "tonight": "tonite",
          "though": "tho", "please": "pls", "really": "rly"}
_NUMBERS = {"2": "two", "3": "three", "4": "four", "5": "five", "10": "ten", "20": "twenty", "30": "thirty",
            "50": "fifty", "100": "a hundred", "two": "2", "three": "3", "ten": "10", "twenty": "20"}
_FILLERS = ("um", "uh", "like", "you know", "i mean", "so")


def _no_punctuation(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s']", " ", text.lower()).split())


def _homophone(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, w in enumerate(words) if w.lower() in _HOMOPHONES]
    if spots:
        i = rng.choice(spots)
        words[i] = _HOMOPHONES[words[i].lower()]
    return " ".join(words)


def _slang(text: str, rng: random.Random) -> str:
    for formal, casual in rng.sample(list(_SLANG.items()), k=len(_SLANG)):
        if re.search(rf"\b{re.escape(formal)}\b", text, re.I) and rng.random() < 0.6:
            text = re.sub(rf"\b{re.escape(formal)}\b", casual, text, flags=re.I)
    return text


def _numbers(text: str, rng: random.Random) -> str:
    return " ".join(_NUMBERS.get(w, w) if rng.random() < 0.8 else w for w in text.split())


def _filler(text: str, rng: random.Random) -> str:
    words = text.split()
    if len(words) > 2:
        words.insert(rng.randrange(1, len(words)), rng.choice(_FILLERS))
    return " ".join(words)


def _typo(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, w in enumerate(words) if len(w) > 4 and w.isalpha()]
    if spots:
        i = rng.choice(spots)
        w, j = words[i], rng.randrange(1, len(words[i]) - 1)
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2:] if rng.random() < 0.5 else w[:j] + w[j + 1:]
    return " ".join(words)


def _drop_small_word(text: str, rng: random.Random) -> str:
    words = text.split()
    spots = [i for i, w in enumerate(words) if w.lower() in ("a", "the", "and", "to", "of", "is")]
    if spots and len(words) > 4:
        del words[rng.choice(spots)]
    return " ".join(words)


_TRANSFORMS = (_homophone, _slang, _numbers, _filler, _typo, _drop_small_word)


def spoken_variant(text: str, rng: random.Random) -> str:
    """text without punctuation or case, with two or three ASR/typing changes."""
    variant = _no_punctuation(text)
    for transform in rng.sample(_TRANSFORMS, k=rng.choice((2, 3))):
        variant = transform(variant, rng)
    return variant
