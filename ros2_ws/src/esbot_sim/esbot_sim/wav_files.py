"""Reading the user's utterance recordings and writing the robot's speech, as WAV files."""

import wave
from pathlib import Path

import numpy as np

from esbot_speech.audio_format import encode_pcm16, resample

# A sample this far above silence counts as voice when finding where speech ends (-40 dBFS).
VOICE_LEVEL = 0.01


class WavError(ValueError):
    """A WAV file that cannot be read; the message names it."""


def read_wav(path: str | Path) -> tuple[np.ndarray, int]:
    """(float32 mono samples, sample rate) of a 16-bit PCM WAV file; channels are averaged."""
    try:
        with wave.open(str(path), "rb") as wav:
            if wav.getsampwidth() != 2:
                raise WavError(f"{path}: only 16-bit PCM WAV is read, not {8 * wav.getsampwidth()}-bit")
            rate, channels = wav.getframerate(), wav.getnchannels()
            data = wav.readframes(wav.getnframes())
    except (OSError, EOFError, wave.Error) as error:
        raise WavError(f"cannot read WAV file {path}: {error}") from error
    samples = np.frombuffer(data, "<i2").astype(np.float32).reshape(-1, channels) / 32768.0
    return samples.mean(axis=1).astype(np.float32), rate


def read_wav_at(path: str | Path, sample_rate: int) -> np.ndarray:
    audio, rate = read_wav(path)
    return resample(audio, rate, sample_rate) if rate != sample_rate else audio


def voiced_end(audio: np.ndarray) -> int:
    """Index just past the last sample that is not silence (0 for silence only)."""
    loud = np.flatnonzero(np.abs(audio) > VOICE_LEVEL)
    return int(loud[-1]) + 1 if len(loud) else 0


class WavRecorder:
    """Appends mono audio to a 16-bit WAV file, opened at the first write (whose rate it takes)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.sample_rate = None
        self.seconds = 0.0
        self._wav = None

    def write(self, audio: np.ndarray, sample_rate: int) -> None:
        if self._wav is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._wav = wave.open(str(self.path), "wb")
            self._wav.setnchannels(1)
            self._wav.setsampwidth(2)
            self._wav.setframerate(sample_rate)
            self.sample_rate = sample_rate
        if sample_rate != self.sample_rate:
            audio = resample(audio, sample_rate, self.sample_rate)
        self._wav.writeframes(encode_pcm16(audio))
        self.seconds += len(audio) / self.sample_rate

    def close(self) -> None:
        if self._wav is not None:
            self._wav.close()
            self._wav = None
