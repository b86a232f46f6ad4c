"""Text normalisation for matching: what a person says, however ASR or a keyboard wrote it.

ASR output has no punctuation and spells contractions without apostrophes ("im", "dont"),
keyboards mix ’ and ', and people write "gonna". Patterns are written once against the
normalised form: lower case, contractions expanded, apostrophes gone, punctuation reduced
to sentence marks (" . ") so negation does not reach across sentences when there are any.
"""

from __future__ import annotations

import re
import unicodedata

_APOSTROPHES = re.compile(r"[\u2018\u2019\u02bc\u0060\u00b4\u2032]")

# Longest forms first; the apostrophe is optional so ASR spellings ("dont") match too.
# Ambiguous bare spellings are left out on purpose: "ill" (sick), "its", "were", "well".
_CONTRACTIONS = [
    (r"\bi'?m\b", "i am"), (r"\bi'?ve\b", "i have"), (r"\bi'll\b", "i will"), (r"\bi'?d\b", "i would"),
    # "ill kill myself": a sick person does not "ill" a verb, so "ill" + verb is "i will".
    (r"\bill (?=(kill|do|end|take|jump|hurt|cut|hang|shoot|be gone|never|just|go|use|make)\b)", "i will "),
    (r"\bcan'?t\b|\bcan not\b", "cannot"), (r"\bwon'?t\b", "will not"), (r"\bain'?t\b", "is not"),
    (r"\bshan't\b", "shall not"), (r"\b(do|does|did|is|are|was|were|have|has|had|would|could|should|must|need)n'?t\b",
                                    r"\1 not"),
    (r"\b(he|she|it|that|there|what|who|where|here|tonight|today|tomorrow|now|everything|everyone|"
     r"nobody|someone|life)'s\b", r"\1 is"),
    (r"\b(hes|shes|thats|theres|whats)\b", lambda m: m.group(1)[:-1] + " is"),
    (r"\b(you|we|they)'re\b", r"\1 are"), (r"\b(youre|theyre)\b", lambda m: m.group(1)[:-2] + " are"),
    (r"\b(you|we|they|he|she|it|that)'ll\b", r"\1 will"), (r"\b(you|we|they|he|she)'d\b", r"\1 would"),
    (r"\b(you|we|they|could|would|should|might|must)'ve\b", r"\1 have"),
    (r"\bgonna\b", "going to"), (r"\bwanna\b", "want to"), (r"\bgotta\b", "got to"), (r"\btryna\b", "trying to"),
    (r"\blet'?s\b", "let us"), (r"\bkinda\b", "kind of"), (r"\b'?cause\b", "because"), (r"\bcuz\b", "because"),
    (r"\bu\b", "you"), (r"\bur\b", "your"), (r"\bpls\b|\bplz\b", "please"),
]
_COMPILED = [(re.compile(pattern), replacement) for pattern, replacement in _CONTRACTIONS]
_SENTENCE_MARKS = re.compile(r"[.!?;]+|\n")
_OTHER_PUNCTUATION = re.compile(r"[^a-z0-9.' ]+")


def normalise(text: str) -> str:
    """Lower-cased, contraction-expanded, punctuation-light text with single spaces."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = _APOSTROPHES.sub("'", text)
    for pattern, replacement in _COMPILED:
        text = pattern.sub(replacement, text)
    text = text.replace("n't", " not").replace("'s", "s").replace("'", "")
    # Numbers keep their digits ("30 pills"); a decimal point is not a sentence end.
    text = re.sub(r"(?<=\d)\.(?=\d)", "", text)
    text = _SENTENCE_MARKS.sub(" . ", text)
    text = _OTHER_PUNCTUATION.sub(" ", text)
    return " ".join(text.split())


def join_turns(turns: list[str]) -> str:
    """Normalised turns as one text, each ending a sentence, for cues that span turns."""
    return " . ".join(t for t in turns if t)
