"""Context representations on hand-checked sentences (spaCy en_core_web_sm, NLTK's stopword list)."""

import time

import pytest

from esbot_dialogue.context_representation import (
    KEY_POS,
    REPRESENTATIONS,
    check_representation,
    clear_cache,
    represent,
    represent_one,
)

WORRIED = "I'm worried because my mother's job isn't safe, and if she loses it we can't pay 300 dollars."
TIRED = "I feel so tired of this."
EMAIL = "My e-mail to John went unanswered\u2026 I don\u2019t know why!"


def test_the_names():
    assert REPRESENTATIONS == ("raw", "keypos", "nostopwords")
    assert KEY_POS == {"NOUN", "VERB", "ADJ", "ADV", "ADP", "PROPN", "NUM", "SCONJ", "PRON"}
    with pytest.raises(ValueError, match="raw, keypos, nostopwords"):
        represent(["hello"], "lemmas")
    with pytest.raises(ValueError, match="valid ones"):
        check_representation("Raw")


def test_raw_is_the_identity():
    texts = [WORRIED, "", "  spaced  "]
    assert represent(texts, "raw") == texts


def test_keypos_on_hand_checked_sentences():
    # I/PRON 'm/AUX worried/ADJ because/SCONJ my/PRON mother/NOUN 's/PART job/NOUN is/AUX n't/PART
    # safe/ADJ ,/PUNCT and/CCONJ if/SCONJ she/PRON loses/VERB it/PRON we/PRON ca/AUX n't/PART
    # pay/VERB 300/NUM dollars/NOUN ./PUNCT
    assert represent_one(WORRIED, "keypos") == "I worried because my mother job safe if she loses it we pay 300 dollars"
    # "this" is PRON here (object of "of"): needs the parser-informed attribute ruler.
    assert represent_one(TIRED, "keypos") == "I feel so tired of this"
    # e-mail stays one word (its pieces are glued in the original); "don't" (AUX + PART) goes.
    assert represent_one(EMAIL, "keypos") == "My e-mail to John went unanswered I know why"
    # Interjections and punctuation only: nothing left.
    assert represent_one("Ok.", "keypos") == ""


def test_nostopwords_on_hand_checked_sentences():
    # Stopwords (spaCy's list as NLTK data): i 'm because my 's is n't and if she it we ca n't so of this.
    # Punctuation stays, glued to the word kept before it where the original had no space.
    assert represent_one(WORRIED, "nostopwords") == "worried mother job safe, loses pay 300 dollars."
    assert represent_one(TIRED, "nostopwords") == "feel tired."
    # Curly apostrophes are matched like straight ones ("don\u2019t" -> do + n\u2019t, both stopwords).
    assert represent_one(EMAIL, "nostopwords") == "e-mail John went unanswered\u2026 know!"
    assert represent_one("Ok.", "nostopwords") == "Ok."


def test_empty_texts_and_order_are_kept():
    texts = ["", TIRED, "Ok.", TIRED, ""]
    assert represent(texts, "keypos") == ["", "I feel so tired of this", "", "I feel so tired of this", ""]
    assert represent([], "keypos") == []


def test_deterministic_and_cached():
    clear_cache()
    texts = [f"Sentence number {i} tells how my friend Anna felt on day {i}." for i in range(200)]
    started = time.perf_counter()
    first = represent(texts, "keypos")
    cold = time.perf_counter() - started
    started = time.perf_counter()
    again = represent(texts, "keypos")
    warm = time.perf_counter() - started
    clear_cache()
    assert represent(texts, "keypos") == first == again
    assert first[7] == "Sentence number 7 tells how my friend Anna felt on day 7"
    assert warm < cold / 5
