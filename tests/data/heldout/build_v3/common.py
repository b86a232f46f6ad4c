"""Shared helpers for the hand-written held-out set v3.

Every utterance in neg.py / pos.py was written by hand for this set.
Voice codes are short keys expanded to the free-text `voice` tag.
"""

VOICES = {
    "A": "asr transcript",
    "T": "teen texting",
    "U": "adult typing",
    "E": "elderly spoken",
    "ET": "elderly typing",
    "N": "non-native english",
    "V": "aave",
    "S": "scottish",
    "I": "irish",
    "IN": "indian english",
    "NG": "nigerian english",
    "SU": "southern us",
    "F": "formal",
    "Y": "young adult",
}

CATS = {
    "": "",
    "s": "suicide_self_harm",
    "h": "harm_to_others",
    "a": "abuse_violence",
    "m": "medical_emergency",
}


def case(text, level, cat, kind, voice, ctx=None):
    return {
        "context": list(ctx or []),
        "text": text,
        "level": level,
        "category": CATS[cat],
        "kind": kind,
        "voice": VOICES[voice],
    }
