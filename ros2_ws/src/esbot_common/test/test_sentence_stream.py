import random

import pytest

from esbot_common.sentence_stream import SentenceChunker, ends_like_a_sentence


def chunk_all(text: str, **options) -> list[str]:
    chunker = SentenceChunker(**options)
    return chunker.feed(text) + chunker.flush()


def chunk_pieces(pieces, **options) -> list[str]:
    chunker = SentenceChunker(**options)
    out = []
    for piece in pieces:
        out += chunker.feed(piece)
    return out + chunker.flush()


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "Hello there, my friend. How are you feeling today? I am really glad you came!",
            ["Hello there, my friend.", "How are you feeling today?", "I am really glad you came!"],
        ),
        (
            "I talked to Dr. Smith yesterday about it. Mr. Jones was there too.",
            ["I talked to Dr. Smith yesterday about it.", "Mr. Jones was there too."],
        ),
        (
            "Try small things, e.g. a short walk. Or rest, i.e. Nothing at all. Tea, etc. Whatever helps.",
            ["Try small things, e.g. a short walk.", "Or rest, i.e. Nothing at all.", "Tea, etc. Whatever helps."],
        ),
        (
            "Prices went up by 3.5 percent this year. That is a lot of money.",
            ["Prices went up by 3.5 percent this year.", "That is a lot of money."],
        ),
        (
            "I love the books by J. K. Rowling so much. They lived in the U.S. For years.",
            ["I love the books by J. K. Rowling so much.", "They lived in the U.S. For years."],
        ),
        (
            "I was thinking... maybe we could talk about it. I don't know\u2026 it is hard to say.",
            ["I was thinking... maybe we could talk about it.", "I don't know\u2026 it is hard to say."],
        ),
        (
            "It has been a long week... Do you want to talk about it?",
            ["It has been a long week...", "Do you want to talk about it?"],
        ),
        (
            'She said "I am done with this." Then she left the room quietly.',
            ['She said "I am done with this."', "Then she left the room quietly."],
        ),
        (
            "(That is really okay.) You can take your time. \u201cReally?\u201d Yes, really, always.",
            ["(That is really okay.)", "You can take your time.", "\u201cReally?\u201d Yes, really, always."],
        ),
        (
            "Really?! That sounds so hard for you. Wow!!! I had no idea at all.",
            ["Really?! That sounds so hard for you.", "Wow!!! I had no idea at all."],
        ),
        (
            "A first line without a stop\nSecond line starts here\n\nand a new paragraph here",
            ["A first line without a stop", "Second line starts here", "and a new paragraph here"],
        ),
        (
            "a wrapped line that\ncontinues down here. The end of it all.",
            ["a wrapped line that continues down here.", "The end of it all."],
        ),
        ("Oh. I see how much that hurts.", ["Oh. I see how much that hurts."]),  # short: merged
        ("I hear you. Okay.", ["I hear you. Okay."]),
        ("That is all I can say. Ok.", ["That is all I can say.", "Ok."]),  # a short tail is flushed
        ("  \n ", []),
        ("No punctuation at the end", ["No punctuation at the end"]),
        ("Version 2.0.1 is out now. Look at example.com today.", ["Version 2.0.1 is out now.", "Look at example.com today."]),
    ],
)
def test_sentences(text, expected):
    assert chunk_all(text) == expected


def test_a_sentence_is_returned_as_soon_as_the_next_one_starts():
    chunker = SentenceChunker()
    assert chunker.feed("That sounds really hard") == []
    assert chunker.feed(". ") == []  # could still be "hard. and ..." or an abbreviation
    assert chunker.feed("W") == ["That sounds really hard."]
    assert chunker.feed("hat happened?") == []
    assert chunker.flush() == ["What happened?"]
    assert chunker.flush() == []


def test_long_sentences_are_cut_at_clause_breaks_then_spaces():
    clause = "and then I went to the store without knowing what I wanted"
    text = ", ".join([clause] * 12) + "."
    sentences = chunk_all(text, max_chars=150)
    assert len(sentences) > 1
    assert all(len(s) <= 150 for s in sentences)
    assert all(s.endswith(",") for s in sentences[:-1])  # cut after the commas
    assert " ".join(sentences) == text

    no_commas = " ".join(["word"] * 100)
    sentences = chunk_all(no_commas, max_chars=50)
    assert all(len(s) <= 50 for s in sentences)
    assert " ".join(sentences) == no_commas

    assert chunk_all("x" * 120, max_chars=50) == ["x" * 50, "x" * 50, "x" * 20]


def test_never_returns_empty_or_unstripped_strings():
    text = "  Hi.   \n\n  . ! ?  Okay then, I will go now.  \n\n\n  Bye!  "
    for sentence in chunk_all(text):
        assert sentence and sentence == sentence.strip()


def test_invalid_limits_are_refused():
    with pytest.raises(ValueError):
        SentenceChunker(min_chars=20, max_chars=10)


STREAM_TEXT = (
    "I'm so sorry you're going through this... It sounds exhausting. Dr. Lee said it was 3.5 "
    "times better, e.g. with sleep, etc. Have you talked to someone (maybe a friend?) about it? "
    '"I just can\'t," you said. Okay.\nThat is fine.\n\nTake your time\u2026 really. J. R. R. '
    "Tolkien wrote long books!!! " + ", ".join(["and it goes on and on"] * 20) + ". Yes? No. End"
)


def test_feeding_char_by_char_equals_feeding_at_once():
    assert chunk_pieces(STREAM_TEXT) == chunk_all(STREAM_TEXT)


@pytest.mark.parametrize("max_chars", [40, 250])
def test_random_splits_equal_feeding_at_once(max_chars):
    rng = random.Random(1234)
    whole = chunk_all(STREAM_TEXT, max_chars=max_chars)
    assert len(whole) > 5
    for _ in range(200):
        cuts = sorted(rng.sample(range(1, len(STREAM_TEXT)), rng.randint(1, 60)))
        pieces = [STREAM_TEXT[a:b] for a, b in zip([0] + cuts, cuts + [len(STREAM_TEXT)])]
        assert chunk_pieces(pieces, max_chars=max_chars) == whole


@pytest.mark.parametrize("text, ends", [
    ("That is hard.", True), ("Really?", True), ('He said "no."', True), ("(I see.)", True),
    ("Wait\u2026", True), ("Have you tried", False), ("Dr", False), ("", False), ("   ", False),
])
def test_ends_like_a_sentence(text, ends):
    assert ends_like_a_sentence(text) is ends
