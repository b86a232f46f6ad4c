"""Real speech for the VAD and segmenter tests: espeak-ng (a formant voice) and Piper (the robot's
own voice), as 16 kHz float32 mono. espeak-ng comes from apt (requirements/apt.txt); the Piper
voice from the prepared models folder (scripts/prepare_models.py)."""

import os
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest

from esbot_speech.audio_format import ASR_SAMPLE_RATE, decode_frame, resample

MODELS_DIR = Path(os.environ.get("ESBOT_MODELS_DIR", Path.home() / ".local/share/esbot/models"))


@pytest.fixture(scope="session")
def espeak(tmp_path_factory):
    """espeak(text) -> the sentence spoken by espeak-ng, 16 kHz mono float32."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng; it is in requirements/apt.txt)")
    folder = tmp_path_factory.mktemp("espeak")
    cache = {}

    def speak(text: str) -> np.ndarray:
        if text not in cache:
            path = folder / f"{len(cache)}.wav"
            subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True)
            with wave.open(str(path)) as wav:
                audio = decode_frame(wav.readframes(wav.getnframes()), "pcm_s16le",
                                     wav.getnchannels(), wav.getframerate())
                cache[text] = resample(audio, wav.getframerate(), ASR_SAMPLE_RATE)
        return cache[text]

    return speak


@pytest.fixture(scope="session")
def piper_speech() -> np.ndarray:
    """A reply in the robot's Piper voice, 16 kHz mono float32."""
    voice_path = MODELS_DIR / "piper" / "en_US-joe-medium.onnx"
    if not voice_path.is_file():
        pytest.fail(f"Piper voice not prepared ({voice_path} absent): run python scripts/prepare_models.py")
    from piper import PiperVoice

    voice = PiperVoice.load(str(voice_path))
    chunks = list(voice.synthesize("I hear you. It makes sense that you feel tired after such a long week."))
    audio = np.concatenate([chunk.audio_float_array for chunk in chunks])
    return resample(audio, chunks[0].sample_rate, ASR_SAMPLE_RATE)
