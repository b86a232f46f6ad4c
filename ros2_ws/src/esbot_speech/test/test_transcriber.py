"""faster-whisper with the packaged Whisper base model, and the rules that keep noise out."""

import numpy as np
import pytest

from esbot_speech.transcriber import Recognition, Transcriber, TranscriberLoadError, rejection_reason


@pytest.fixture(scope="module")
def transcriber():
    return Transcriber(language="en")


def test_espeak_sentence_is_transcribed_with_its_key_words(transcriber, espeak):
    result = transcriber.transcribe(espeak("My best friend moved away and I feel lonely."))
    words = result.text.lower()
    assert all(word in words for word in ("best friend", "moved away")), result.text
    assert result.language == "en" and 0.5 < result.confidence <= 1.0
    assert rejection_reason(result, 0.35, 0.6) is None
    assert transcriber.device == "cpu" and transcriber.compute_type == "int8"


def test_noise_is_never_published(transcriber):
    noise = np.random.default_rng(3).normal(0, 0.1, 32000).astype(np.float32)
    assert rejection_reason(transcriber.transcribe(noise), 0.35, 0.6) is not None


@pytest.mark.parametrize("recognition, reason", [
    (Recognition("", "en", 0.9, 0.0, 0.1), "no words"),
    (Recognition(" ... ", "en", 0.9, 0.0, 0.1), "no words"),
    (Recognition("Thank you.", "en", 0.3, 0.9, 0.1), "not speech"),
    (Recognition("hmm maybe", "en", 0.2, 0.1, 0.1), "confidence 0.20"),
    (Recognition("I feel sad.", "en", 0.8, 0.9, 0.1), None),  # confident words outvote no-speech
])
def test_rejection_rules(recognition, reason):
    result = rejection_reason(recognition, 0.35, 0.6)
    assert (result is None) if reason is None else (reason in result)


def test_a_missing_model_is_a_clear_error(tmp_path):
    with pytest.raises(TranscriberLoadError, match="cannot load ASR model"):
        Transcriber(str(tmp_path / "no-such-model"))
