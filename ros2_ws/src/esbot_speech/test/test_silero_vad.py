import numpy as np
import pytest

from esbot_speech.silero_vad import WINDOW_SAMPLES, StreamingSileroVad

SILENCE = np.zeros(16000, np.float32)


@pytest.fixture(scope="module")
def vad():
    return StreamingSileroVad()


def stream(vad, audio, seed=0):
    """Feed `audio` in random piece sizes, as microphone frames would arrive."""
    vad.reset()
    sizes = np.random.default_rng(seed).integers(1, 3000, size=len(audio))
    bounds = np.minimum(np.concatenate([[0], np.cumsum(sizes)]), len(audio))
    results = []
    for a, b in zip(bounds, bounds[1:]):
        results += vad.process(audio[a:b])
        if b == len(audio):
            break
    return results


def batch_probabilities(audio):
    from faster_whisper.vad import get_vad_model

    # faster-whisper's model zeroes the last 64 samples of the last window of the array it is
    # given (in place): pass a copy and compare every window but that last one.
    return get_vad_model()(audio.copy())[:-1]


@pytest.mark.parametrize("voice", ["espeak", "piper_speech"])
def test_streaming_matches_faster_whisper_batch_model(vad, voice, request):
    speech = request.getfixturevalue(voice)
    if voice == "espeak":
        speech = speech("Lately I feel tired all the time, and I do not know why.")
    audio = np.concatenate([SILENCE, speech, SILENCE])
    audio = audio[:len(audio) // WINDOW_SAMPLES * WINDOW_SAMPLES]
    results = stream(vad, audio)
    assert [start for start, _ in results] == list(range(0, len(audio), WINDOW_SAMPLES))
    probabilities = np.array([p for _, p in results])
    np.testing.assert_allclose(probabilities[:-1], batch_probabilities(audio), atol=1e-4, rtol=0)
    # and it does hear speech in the speech and none in the silence around it
    speech_windows = slice(16000 // WINDOW_SAMPLES + 3, (16000 + len(speech)) // WINDOW_SAMPLES - 3)
    assert np.mean(probabilities[speech_windows] > 0.5) > 0.6
    assert probabilities[:16000 // WINDOW_SAMPLES - 1].max() < 0.2


def test_partial_windows_wait_and_reset_starts_over(vad, espeak):
    audio = np.concatenate([SILENCE[:2000], espeak("Hello there.")])
    vad.reset()
    assert vad.process(audio[:WINDOW_SAMPLES - 1]) == []
    first = vad.process(audio[WINDOW_SAMPLES - 1:3 * WINDOW_SAMPLES + 10])
    assert [start for start, _ in first] == [0, WINDOW_SAMPLES, 2 * WINDOW_SAMPLES]
    rest = vad.process(audio[3 * WINDOW_SAMPLES + 10:])
    assert rest[0][0] == 3 * WINDOW_SAMPLES
    assert stream(vad, audio, seed=1) == first + rest  # reset forgets state, context and sample count


def test_refuses_multichannel_input(vad):
    with pytest.raises(ValueError, match="mono"):
        vad.process(np.zeros((512, 2), np.float32))
