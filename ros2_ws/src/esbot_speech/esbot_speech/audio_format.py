"""AudioFrame payloads <-> float32 audio, and resampling between the robot's audio rates.

The microphone may deliver any rate and channel count in 16-bit or float PCM (esbot_msgs/AudioFrame);
Silero VAD and Whisper want float32 mono at 16 kHz; Piper speaks at 22050 Hz and the speaker may
want another rate. Everything here is numpy only, so the ASR/TTS nodes stay thin.
"""

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

ASR_SAMPLE_RATE = 16000
MIN_SAMPLE_RATE = 8000
MAX_SAMPLE_RATE = 192000
# Sample width in bytes and little-endian dtype of each AudioFrame encoding.
ENCODINGS = {"pcm_s16le": np.dtype("<i2"), "pcm_f32le": np.dtype("<f4")}
# Decoded int16 full scale is +-32767/32768: anything at or beyond it has hit the converter's rails.
CLIP_LEVEL = 32767 / 32768


class AudioFormatError(ValueError):
    """An audio payload or parameter that cannot be interpreted."""


def check_sample_rate(sample_rate: int) -> None:
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioFormatError(
            f"sample rate {sample_rate} Hz is outside {MIN_SAMPLE_RATE}-{MAX_SAMPLE_RATE} Hz")


def _check_finite(audio: np.ndarray) -> None:
    if not np.all(np.isfinite(audio)):
        raise AudioFormatError(f"audio has {int(np.sum(~np.isfinite(audio)))} NaN or infinite samples")


def decode_frame(data: bytes, encoding: str, channels: int, sample_rate: int) -> np.ndarray:
    """Interleaved PCM payload -> float32 mono in [-1, 1] at the payload's own rate.

    `data` is any bytes-like object (rclpy gives uint8[] fields as array.array('B')).
    Channels are averaged: the robot's microphones are close together, so averaging loses
    nothing useful and avoids picking a channel that might be the dead one.
    """
    if encoding not in ENCODINGS:
        raise AudioFormatError(f"unknown encoding {encoding!r}: expected one of {sorted(ENCODINGS)}")
    if channels < 1:
        raise AudioFormatError(f"channel count must be at least 1, got {channels}")
    check_sample_rate(sample_rate)
    dtype = ENCODINGS[encoding]
    raw = memoryview(data).cast("B")
    frame_bytes = dtype.itemsize * channels
    if len(raw) % frame_bytes:
        raise AudioFormatError(
            f"payload of {len(raw)} bytes is not a whole number of {channels}-channel "
            f"{encoding} frames ({frame_bytes} bytes each)")
    samples = np.frombuffer(raw, dtype=dtype).reshape(-1, channels)
    if encoding == "pcm_s16le":
        audio = samples.astype(np.float32) / 32768.0
    else:
        audio = samples.astype(np.float32)
        _check_finite(audio)
    return audio.mean(axis=1, dtype=np.float32) if channels > 1 else audio[:, 0].copy()


def encode_pcm16(audio: np.ndarray) -> bytes:
    """float audio in [-1, 1] -> pcm_s16le bytes; mono (n,) or interleaved (n, channels).

    Out-of-range samples are clipped (as a DAC would) rather than wrapped around.
    """
    audio = np.asarray(audio)
    _check_finite(audio)
    return np.round(np.clip(audio, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


def clipping_fraction(audio: np.ndarray) -> float:
    """Fraction of samples at full scale: a microphone gain that is too high shows here first."""
    audio = np.asarray(audio)
    if audio.size == 0:
        return 0.0
    return float(np.count_nonzero(np.abs(audio) >= CLIP_LEVEL) / audio.size)


@functools.lru_cache(maxsize=8)
def _polyphase_bank(up: int, down: int) -> tuple[np.ndarray, int]:
    """Kaiser-windowed sinc low-pass for resampling by up/down, split into `up` phases.

    The pass band ends at 85 % and the stop band (80 dB down) starts at 97 % of the lower of
    the two Nyquist frequencies: 48 kHz -> 16 kHz keeps 0-6.8 kHz (all of speech that Whisper
    uses) and removes everything from 7.76 kHz up before it can alias.
    Returns the bank (phase, taps) with taps reversed for a dot product against the input
    window, and the filter's delay in output samples.
    """
    nyquist = 0.5 / max(up, down)  # cycles per sample at the upsampled rate
    cutoff, transition, attenuation_db = 0.91 * nyquist, 0.12 * nyquist, 80.0
    beta = 0.1102 * (attenuation_db - 8.7)
    length = (attenuation_db - 7.95) / (14.36 * transition) + 1
    # Half-length a whole number of output samples, so the delay can be dropped exactly.
    delay = math.ceil(length / 2 / down)
    half = delay * down
    k = np.arange(-half, half + 1)
    taps = 2 * cutoff * np.sinc(2 * cutoff * k) * np.kaiser(2 * half + 1, beta) * up
    taps_per_phase = math.ceil(len(taps) / up)
    taps = np.pad(taps, (0, taps_per_phase * up - len(taps)))
    bank = taps.reshape(taps_per_phase, up).T[:, ::-1]
    return np.ascontiguousarray(bank, dtype=np.float32), delay


class Resampler:
    """Streaming polyphase resampler: feed blocks of any size, get the same samples as one call.

    The mic arrives in small frames; resampling each frame on its own would put a click at
    every frame boundary, so the filter history is kept between calls. Output is aligned with
    the input (the filter delay is removed), and flush() emits the tail at the end of a stream.
    """

    _BLOCK = 4096  # outputs computed per step, bounding the gathered windows' memory

    def __init__(self, from_rate: int, to_rate: int):
        check_sample_rate(from_rate)
        check_sample_rate(to_rate)
        gcd = math.gcd(from_rate, to_rate)
        self._up, self._down = to_rate // gcd, from_rate // gcd
        if self._up == self._down:
            self._bank, self._delay = np.ones((1, 1), np.float32), 0
        else:
            self._bank, self._delay = _polyphase_bank(self._up, self._down)
        self.reset()

    def reset(self) -> None:
        taps = self._bank.shape[1]
        # Zeros stand for the silence before the stream, so the first outputs need no special case.
        self._buffer = np.zeros(taps - 1, np.float32)
        self._buffer_start = -(taps - 1)  # stream index of self._buffer[0]
        self._received = 0
        self._next_raw = 0  # next output index before the delay is removed

    def process(self, audio: np.ndarray) -> np.ndarray:
        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim != 1:
            raise AudioFormatError(f"expected mono audio (1-D), got shape {audio.shape}")
        _check_finite(audio)
        self._received += len(audio)
        self._buffer = np.concatenate([self._buffer, audio])
        return self._run(None)

    def flush(self) -> np.ndarray:
        """Outputs still owed for the input so far; the resampler is then ready for a new stream."""
        total = -(-self._received * self._up // self._down)  # ceil: output covers the whole input
        last_raw = total + self._delay - 1
        needed = last_raw * self._down // self._up + 1 - (self._buffer_start + len(self._buffer))
        self._buffer = np.concatenate([self._buffer, np.zeros(max(needed, 0), np.float32)])
        tail = self._run(last_raw + 1)
        self.reset()
        return tail

    def _run(self, raw_limit) -> np.ndarray:
        up, down, taps = self._up, self._down, self._bank.shape[1]
        available = self._buffer_start + len(self._buffer)  # input samples known (with padding)
        last = (available * up - 1) // down  # last output whose window is complete
        if raw_limit is not None:
            last = min(last, raw_limit - 1)
        n = np.arange(self._next_raw, last + 1)
        if len(n) == 0:
            return np.empty(0, np.float32)
        windows = sliding_window_view(self._buffer, taps)
        starts = n * down // up - (taps - 1) - self._buffer_start
        phases = n * down % up
        out = np.empty(len(n), np.float32)
        for i in range(0, len(n), self._BLOCK):
            block = slice(i, i + self._BLOCK)
            out[block] = np.einsum("ij,ij->i", windows[starts[block]], self._bank[phases[block]])
        first_raw = self._next_raw
        self._next_raw = last + 1
        keep_from = self._next_raw * down // up - (taps - 1) - self._buffer_start
        self._buffer = self._buffer[keep_from:]
        self._buffer_start += keep_from
        return out[max(0, self._delay - first_raw):]


def resample(audio: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Whole-clip resampling (float32 mono); ceil(len * to_rate / from_rate) samples come back."""
    resampler = Resampler(from_rate, to_rate)
    return np.concatenate([resampler.process(audio), resampler.flush()])
