"""What the user actually heard when they interrupted the robot (barge-in).

The dialogue history must hold what was said, not what was generated: a reply cut off after
two words must not count as fully delivered. TTS gives each sentence's spoken duration; the
words of the sentence being spoken are taken as spoken in proportion to their length in
characters (long words take longer to say), and only whole words count.

Decision: a sentence cut inside is marked with a trailing "…" (its own trailing comma etc.
dropped), so the history shows the model, and the log a reader, that the robot was cut off
mid-sentence. A cut between two sentences leaves complete sentences, unmarked; the returned
flag says that the reply was interrupted in either case. If not even one word was spoken,
the text is "".
"""

ELLIPSIS = "…"


def spoken_text(sentences: list[tuple[str, float]], played_s: float) -> tuple[str, bool]:
    """(text actually spoken, whether the reply was interrupted) after `played_s` seconds of
    playback of `sentences` ((text, spoken duration in seconds), in order)."""
    if played_s < 0:
        raise ValueError(f"played time must not be negative, got {played_s}")
    spoken = []
    elapsed = 0.0
    for index, (text, duration) in enumerate(sentences):
        if duration < 0:
            raise ValueError(f"sentence {index} has a negative duration ({duration})")
        if played_s >= elapsed + duration:
            spoken.append(text.strip())
            elapsed += duration
            continue
        words = _words_spoken(text, (played_s - elapsed) / duration)
        if words:
            spoken.append(" ".join(words).rstrip(",;:-–—") + ELLIPSIS)
        return " ".join(s for s in spoken if s), True
    return " ".join(s for s in spoken if s), False


def _words_spoken(text: str, fraction: float) -> list[str]:
    """The words of `text` whose end lies within the first `fraction` of its duration."""
    words = text.split()
    total = sum(len(word) for word in words) + len(words) - 1  # characters, one space between words
    done, end = [], 0
    for word in words:
        end += len(word)
        if end > fraction * total:
            break
        done.append(word)
        end += 1
    return done
