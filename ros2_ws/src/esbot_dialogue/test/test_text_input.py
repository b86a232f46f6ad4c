import pytest

from esbot_dialogue.text_input import clean_user_text, truncate_to_token_budget


def words(text: str) -> int:
    return len(text.split())


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("  I feel   sad  ", "I feel sad"),
        ("\tI feel\n\nsad\r\n", "I feel sad"),  # whitespace controls separate words
        ("hello\u200bworld", "hello world"),  # zero-width space separates words
        ("soft\u00adware", "software"),  # soft hyphen sits inside a word
        ("\ufeffHi there", "Hi there"),  # byte-order mark
        ("a\u200db\u200cc", "abc"),  # zero-width joiner / non-joiner
        ("\u202aleft\u202c to right", "left to right"),  # bidi embedding marks
        ("ｆｕｌｌ\u3000ｗｉｄｔｈ", "full width"),  # NFKC, ideographic space
        ("\ufb01ne", "fine"),  # NFKC ligature
        ("caf\u0065\u0301", "caf\u00e9"),  # NFKC composes
        ("price\u00a010", "price 10"),  # no-break space
        ("beep\x07 boop\x00", "beep boop"),  # bell, NUL
        ("private\ue000use", "privateuse"),
        ("lone\ud800surrogate", "lonesurrogate"),
    ],
)
def test_clean_user_text(raw, expected):
    assert clean_user_text(raw).text == expected


def test_removed_characters_are_reported_as_a_sentence():
    cleaned = clean_user_text("beep\x07 boop\x00\u200d")
    assert cleaned.text == "beep boop"
    assert cleaned.warnings == ("Removed 3 invisible or control character(s) from the transcript.",)


def test_ordinary_text_gives_no_warnings():
    assert clean_user_text("I had a rough day at work.\n").warnings == ()


@pytest.mark.parametrize("raw", ["", "   ", "\n\t", "\u200b\u200b", "\x00"])
def test_empty_after_cleaning(raw):
    cleaned = clean_user_text(raw)
    assert cleaned.text == ""
    assert "empty" in cleaned.warnings[-1]
    assert all(w[0].isupper() and w.endswith(".") for w in cleaned.warnings)


def test_truncation_keeps_the_end_at_a_word_boundary():
    assert truncate_to_token_budget("one two three four five", words, 3) == ("three four five", True)


def test_no_truncation_when_it_fits():
    assert truncate_to_token_budget("one two three", words, 3) == ("one two three", False)


def test_zero_budget_leaves_nothing():
    assert truncate_to_token_budget("one two", words, 0) == ("", True)


def test_a_single_overlong_word_is_cut_by_characters():
    assert truncate_to_token_budget("abcdefghij", len, 4) == ("ghij", True)


def test_truncation_with_the_real_tokenizer(tokenizer):
    text = " ".join(f"sentence {i} about my worries and my day." for i in range(200))
    fitted, truncated = truncate_to_token_budget(text, tokenizer, 50)
    assert truncated
    assert len(tokenizer.encode(fitted, add_special_tokens=False)) <= 50
    assert text.endswith(" " + fitted)  # a suffix, starting at a word
    assert fitted.endswith("sentence 199 about my worries and my day.")
    # As much as possible was kept: one more word would overflow.
    longer = text[: -len(fitted) - 1].rsplit(" ", 1)[-1] + " " + fitted
    assert len(tokenizer.encode(longer, add_special_tokens=False)) > 50
