import array

import numpy as np
import pytest

from esbot_speech.audio_format import (
    AudioFormatError, Resampler, clipping_fraction, decode_frame, encode_pcm16, resample,
)


def tone(frequency, rate, seconds=1.0, amplitude=0.5):
    return (amplitude * np.sin(2 * np.pi * frequency * np.arange(int(rate * seconds)) / rate)).astype(np.float32)


def rms_db(audio, amplitude=0.5):
    middle = audio[len(audio) // 4: 3 * len(audio) // 4]  # away from the clip's edges
    return 20 * np.log10(np.sqrt(np.mean(middle.astype(np.float64) ** 2)) / (amplitude / np.sqrt(2)))


def test_pcm16_stereo_is_averaged_to_mono():
    data = np.array([[16384, -16384], [32767, 32767], [-32768, 0]], dtype="<i2").tobytes()
    audio = decode_frame(data, "pcm_s16le", 2, 48000)
    assert audio.dtype == np.float32
    np.testing.assert_allclose(audio, [0.0, 32767 / 32768, -0.5])


def test_float32_payload_as_rclpy_gives_it():
    payload = array.array("B", np.array([0.25, -1.0, 0.5], dtype="<f4").tobytes())
    np.testing.assert_array_equal(decode_frame(payload, "pcm_f32le", 1, 16000), [0.25, -1.0, 0.5])


@pytest.mark.parametrize("data, encoding, channels, rate, message", [
    (b"\0\0", "pcm_u8", 1, 16000, "unknown encoding 'pcm_u8'"),
    (b"\0\0\0", "pcm_s16le", 1, 16000, "not a whole number of 1-channel pcm_s16le frames"),
    (b"\0" * 6, "pcm_s16le", 2, 16000, "6 bytes is not a whole number of 2-channel"),
    (b"\0\0", "pcm_s16le", 0, 16000, "channel count must be at least 1"),
    (b"\0\0", "pcm_s16le", 1, 7999, "7999 Hz is outside 8000-192000 Hz"),
    (b"\0\0", "pcm_s16le", 1, 192001, "outside"),
    (np.array([0.1, np.nan], "<f4").tobytes(), "pcm_f32le", 1, 16000, "1 NaN or infinite"),
    (np.array([np.inf, -np.inf], "<f4").tobytes(), "pcm_f32le", 2, 16000, "2 NaN or infinite"),
])
def test_bad_payloads_are_refused_with_the_reason(data, encoding, channels, rate, message):
    with pytest.raises(AudioFormatError, match=message):
        decode_frame(data, encoding, channels, rate)


def test_pcm16_round_trip_and_clipping():
    audio = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -3.0], np.float32)
    data = encode_pcm16(audio)
    assert np.frombuffer(data, "<i2").tolist() == [0, 16384, -16384, 32767, -32767, 32767, -32767]
    np.testing.assert_allclose(decode_frame(data, "pcm_s16le", 1, 22050), np.clip(audio, -1, 1), atol=1 / 32767)
    stereo = np.array([[0.5, -0.5]], np.float32)  # (frames, channels) comes out interleaved
    assert np.frombuffer(encode_pcm16(stereo), "<i2").tolist() == [16384, -16384]
    with pytest.raises(AudioFormatError, match="NaN"):
        encode_pcm16(np.array([np.nan]))


def test_clipping_fraction_counts_full_scale_samples():
    assert clipping_fraction(np.array([0.0, 1.0, -1.0, 0.5])) == 0.5
    rails = decode_frame(np.array([32767, -32768, 32766, 0], "<i2").tobytes(), "pcm_s16le", 1, 16000)
    assert clipping_fraction(rails) == 0.5
    assert clipping_fraction(np.zeros(0)) == 0.0


def test_1khz_survives_48k_to_16k_in_level_and_phase():
    out = resample(tone(1000, 48000), 48000, 16000)
    assert len(out) == 16000 and out.dtype == np.float32
    assert abs(rms_db(out)) < 0.01
    # Aligned with the input: the filter's delay is removed.
    middle = slice(4000, 12000)
    np.testing.assert_allclose(out[middle], tone(1000, 16000)[middle], atol=1e-4)


def test_7_9khz_is_removed_by_48k_to_16k_instead_of_aliasing():
    # Without an anti-aliasing filter a 7.9 kHz tone would fold back as 8.1 -> 7.9 kHz at full level.
    assert rms_db(resample(tone(7900, 48000), 48000, 16000)) < -60


@pytest.mark.parametrize("from_rate, to_rate", [(22050, 16000), (16000, 22050), (44100, 16000), (16000, 48000)])
def test_other_rate_pairs_keep_speech_band_tones(from_rate, to_rate):
    out = resample(tone(1000, from_rate), from_rate, to_rate)
    assert len(out) == to_rate
    assert abs(rms_db(out)) < 0.01


def test_streaming_in_odd_blocks_equals_one_call():
    audio = np.random.default_rng(0).standard_normal(48000 * 2).astype(np.float32) * 0.1
    whole = resample(audio, 48000, 16000)
    resampler = Resampler(48000, 16000)
    cuts = [0, 1, 7, 960, 961, 5000, 30000, len(audio)]
    pieces = [resampler.process(audio[a:b]) for a, b in zip(cuts, cuts[1:])] + [resampler.flush()]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    # flush() readies it for a new stream
    np.testing.assert_array_equal(np.concatenate([resampler.process(audio), resampler.flush()]), whole)


def test_output_length_covers_the_input_and_same_rate_is_a_copy():
    assert len(resample(np.ones(1), 48000, 16000)) == 1
    assert len(resample(np.ones(4), 48000, 16000)) == 2
    assert len(resample(np.zeros(0), 48000, 16000)) == 0
    audio = np.arange(5, dtype=np.float32)
    same = resample(audio, 16000, 16000)
    np.testing.assert_array_equal(same, audio)
    assert same is not audio


def test_resampler_refuses_bad_rates_and_samples():
    with pytest.raises(AudioFormatError, match="outside"):
        Resampler(48000, 4000)
    with pytest.raises(AudioFormatError, match="mono"):
        resample(np.zeros((10, 2)), 48000, 16000)
    with pytest.raises(AudioFormatError, match="NaN"):
        resample(np.array([0.0, np.inf]), 48000, 16000)
