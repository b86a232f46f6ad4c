import pytest

from esbot_speech.barge_in import spoken_text

REPLY = [("Hello there.", 1.0), ("I hear you, and that sounds hard.", 2.0), ("Take care.", 1.0)]


@pytest.mark.parametrize("played_s, expected", [
    (0.0, ("", True)),  # interrupted before a word was out
    (0.4, ("", True)),  # "Hello" (5 of 12 characters) ends at 0.42 s
    (0.45, ("Hello…", True)),
    (1.0, ("Hello there.", True)),  # cut between sentences: nothing to mark
    (1.35, ("Hello there. I…", True)),  # "hear" ends at 6 of 33 characters: 1.36 s
    (1.4, ("Hello there. I hear…", True)),
    (2.0, ("Hello there. I hear you, and…", True)),  # the comma before the cut goes
    (2.999, ("Hello there. I hear you, and that sounds…", True)),
    (3.0, ("Hello there. I hear you, and that sounds hard.", True)),
    (4.0, ("Hello there. I hear you, and that sounds hard. Take care.", False)),
    (10.0, ("Hello there. I hear you, and that sounds hard. Take care.", False)),
])
def test_spoken_text_by_played_time(played_s, expected):
    assert spoken_text(REPLY, played_s) == expected


def test_long_words_take_longer():
    # 24 characters: "Unbelievably" (12) ends at half the sentence, "so" only after 14/24
    assert spoken_text([("Unbelievably so, friend.", 2.4)], 1.3) == ("Unbelievably…", True)


def test_empty_and_silent_sentences():
    assert spoken_text([], 0.0) == ("", False)
    assert spoken_text([("  Okay.  ", 0.5), ("", 0.0)], 0.5) == ("Okay.", False)


def test_bad_input():
    with pytest.raises(ValueError, match="negative"):
        spoken_text(REPLY, -0.1)
    with pytest.raises(ValueError, match="sentence 1 has a negative duration"):
        spoken_text([("a", 1.0), ("b", -1.0)], 5.0)
