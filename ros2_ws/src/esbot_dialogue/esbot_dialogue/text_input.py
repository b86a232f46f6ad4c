"""Cleaning and bounding what the user said before it reaches the language model.

Transcripts come from ASR or from a terminal, so they can carry invisible characters
(zero-width spaces, byte-order marks, bidi marks, stray control codes) and compatibility
forms (full-width letters, ligatures) that waste tokens or confuse the tokenizer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Callable, Protocol, Union

# Unicode categories that never carry speech: control, format, surrogate, private use.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co"})

# Invisible characters whose job is to separate words; deleting them outright would glue
# two words together ("hello\u200bworld" -> "helloworld"), so they become a space instead.
# Whitespace controls (tab, newline, ...) are recognised by str.isspace().
_WORD_SEPARATING_INVISIBLES = frozenset({"\u200b", "\u180e"})

_WORD = re.compile(r"\S+")


class _Encoder(Protocol):
    def encode(self, text: str, add_special_tokens: bool = ...) -> list[int]: ...


# Either a function giving a text's token count, or a tokenizer with encode().
TokenCounter = Union[Callable[[str], int], _Encoder]


@dataclass(frozen=True)
class CleanedText:
    """The cleaned utterance and human-readable notes about what cleaning did."""

    text: str
    warnings: tuple[str, ...] = ()


def clean_user_text(raw: str) -> CleanedText:
    """Normalise a transcript: NFKC, invisible characters removed, whitespace collapsed."""
    normalised = unicodedata.normalize("NFKC", raw)
    kept = []
    removed = 0
    for char in normalised:
        if unicodedata.category(char) not in _INVISIBLE_CATEGORIES:
            kept.append(char)
        elif char.isspace() or char in _WORD_SEPARATING_INVISIBLES:
            kept.append(" ")
        else:
            removed += 1
    text = " ".join("".join(kept).split())

    warnings = []
    if removed:
        warnings.append(f"Removed {removed} invisible or control character(s) from the transcript.")
    if not text:
        warnings.append("The transcript is empty after cleaning, so there is nothing to answer.")
    return CleanedText(text=text, warnings=tuple(warnings))


def _as_counter(tokenizer_count: TokenCounter) -> Callable[[str], int]:
    # A Hugging Face tokenizer is itself callable (returning an encoding, not a count), so
    # look for encode() first and only then treat the argument as a plain counting function.
    encode = getattr(tokenizer_count, "encode", None)
    if encode is not None:
        return lambda text: len(encode(text, add_special_tokens=False))
    return tokenizer_count


def truncate_to_token_budget(
    text: str, tokenizer_count: TokenCounter, max_tokens: int
) -> tuple[str, bool]:
    """Keep the END of an over-long utterance, cut at a word boundary, within max_tokens.

    The end is kept because the latest words carry what the person is asking now; a long
    monologue usually builds up to its point. Returns (text, truncated).
    """
    count = _as_counter(tokenizer_count)
    if count(text) <= max_tokens:
        return text, False
    if max_tokens <= 0:
        return "", True

    # Candidate cut points, left to right: every word start, then every character of the
    # last word, so that even a text whose last word alone overflows can be fitted.
    starts = [m.start() for m in _WORD.finditer(text)]
    if not starts:
        return "", True
    starts += range(starts[-1] + 1, len(text))

    # Token counts of suffixes shrink as the cut moves right, so binary search for the
    # leftmost (longest) suffix that fits; starts[-1] is reached only if nothing longer fits.
    low, high = 0, len(starts) - 1
    while low < high:
        middle = (low + high) // 2
        if count(text[starts[middle]:]) <= max_tokens:
            high = middle
        else:
            low = middle + 1
    # BPE merges make suffix counts only nearly monotonic; step right until it really fits.
    for start in starts[low:]:
        suffix = text[start:].strip()
        if count(suffix) <= max_tokens:
            return suffix, True
    return "", True
