"""Cutting a streamed reply into sentences, so speech can start before generation ends.

Text arrives token by token. A possible sentence end (". ", "? ", a line break) can only be
judged once the next word has started (is it "Dr. Smith"? "3.5"? "... and then"?), so every
decision below waits until the text it looks at is complete and is never revised once made.
That makes the output independent of how the text was split into pieces: feeding it
character by character gives exactly what feeding it all at once gives.
"""

from __future__ import annotations

import re

_TERMINATORS = ".!?\u2026"  # ... and the single-character ellipsis
_CLOSERS = "\"'\u201d\u2019\u00bb)]}"  # closing quotes/brackets that stay with their sentence
_CLAUSE_BREAKS = ",;:"

# Words whose trailing dot is not a sentence end (compared lower-case, without the dot).
_ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "vs", "etc", "e.g", "i.e",
        "approx", "no", "nos", "fig", "dept", "inc", "ltd", "co", "jan", "feb", "mar", "apr",
        "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "cf", "ca", "min", "max",
    }
)
# Initials and dotted abbreviations: "J.", "U.S.", "e.g." (the last dot is the candidate).
_DOTTED_INITIALS = re.compile(r"^(?:[A-Za-z]\.)*[A-Za-z]$")


def ends_like_a_sentence(text: str) -> bool:
    """True if text ends with sentence punctuation (closing quotes or brackets allowed after it)."""
    stripped = text.rstrip().rstrip(_CLOSERS)
    return bool(stripped) and stripped[-1] in _TERMINATORS


class SentenceChunker:
    """Collects streamed text and hands out whole sentences as soon as they are complete.

    Sentences shorter than min_chars are held and joined to the next one (a lone "Oh." is a
    poor unit of speech); a sentence running past max_chars is cut at the last comma,
    semicolon or colon, else the last space, so a run-on reply still starts being spoken.
    Returned sentences have their whitespace collapsed and are never empty.
    """

    def __init__(self, min_chars: int = 12, max_chars: int = 250) -> None:
        if not 0 < min_chars < max_chars:
            raise ValueError("SentenceChunker needs 0 < min_chars < max_chars")
        self.min_chars = min_chars
        self.max_chars = max_chars
        self._buffer = ""
        self._held = ""  # a short sentence waiting to be joined to the next

    def feed(self, piece: str) -> list[str]:
        """Add streamed text; return the sentences it completed (possibly none)."""
        self._buffer += piece
        return self._drain(final=False)

    def flush(self) -> list[str]:
        """End of stream: return whatever is left, as sentences."""
        sentences = self._drain(final=True)
        if self._held:
            sentences.append(self._held)
            self._held = ""
        return sentences

    def _drain(self, final: bool) -> list[str]:
        sentences = []
        while True:
            self._buffer = self._buffer.lstrip()
            cut = self._next_cut(final)
            if cut is None:
                return sentences
            sentence = " ".join(self._buffer[:cut].split())
            self._buffer = self._buffer[cut:]
            if self._held:
                sentence = f"{self._held} {sentence}"
                self._held = ""
            if len(sentence) < self.min_chars:
                self._held = sentence
            else:
                sentences.append(sentence)

    def _next_cut(self, final: bool) -> int | None:
        """Length of the buffer's first sentence, or None while that cannot be known yet."""
        text = self._buffer
        if not text:
            return None
        position = 0
        while position < len(text) and position <= self.max_chars:
            char = text[position]
            if char in _TERMINATORS:
                end, verdict = self._judge_terminator(text, position, final)
            elif char == "\n":
                end, verdict = position, self._judge_line_break(text, position, final)
            else:
                position += 1
                continue
            if verdict is None and end <= self.max_chars:
                return None  # wait for the text that decides it
            if verdict and end <= self.max_chars:
                return end
            position = max(end, position + 1)
        if len(text) > self.max_chars:
            return self._long_cut(text)
        return len(text) if final else None

    def _judge_terminator(self, text: str, start: int, final: bool) -> tuple[int, bool | None]:
        """(end of the sentence if it ends here, whether it does; None = not decidable yet)."""
        end = start
        while end < len(text) and text[end] in _TERMINATORS:
            end += 1
        while end < len(text) and text[end] in _CLOSERS + _TERMINATORS:
            end += 1
        if end == len(text):
            return end, True if final else None
        if not text[end].isspace():
            return end, False  # "3.5", "e.g.,", "...and": the sentence goes on
        after = end
        while after < len(text) and text[after].isspace():
            after += 1
        if after == len(text):
            return end, True if final else None
        if text[after].islower():
            return end, False  # "I was... maybe", "etc. and": same sentence continues
        if text[start:end] == ".":
            word = text[:start].rsplit(None, 1)[-1] if text[:start].strip() else ""
            word = word.lstrip("\"'(\u201c\u2018[")
            if word.lower() in _ABBREVIATIONS or _DOTTED_INITIALS.match(word):
                return end, False
        return end, True

    @staticmethod
    def _judge_line_break(text: str, start: int, final: bool) -> bool | None:
        """A line break ends a sentence unless it merely wraps one (next line in lower case)."""
        after = start
        while after < len(text) and text[after].isspace():
            if after > start and text[after] == "\n":
                return True  # a blank line: a paragraph break
            after += 1
        if after == len(text):
            return True if final else None
        return not text[after].islower()

    def _long_cut(self, text: str) -> int:
        """Where to cut a sentence longer than max_chars (text is known beyond max_chars)."""
        window = text[: self.max_chars]
        for index in range(len(window) - 1, self.min_chars - 2, -1):
            if window[index] in _CLAUSE_BREAKS and text[index + 1].isspace():
                return index + 1
        space = window.rfind(" ", self.min_chars)
        return space if space > 0 else self.max_chars
