"""Text to speech with Piper (piper-tts, ONNX), one sentence at a time.

The default voice is the one scripts/prepare_models.py puts in the models folder (en_US joe
medium, CC0); any Piper voice (.onnx with its .onnx.json beside it) works by path.
"""

import time
from pathlib import Path

import numpy as np

from esbot_common.model_store import default_models_dir

DEFAULT_VOICE = "piper/en_US-joe-medium.onnx"  # inside the models folder


class VoiceLoadError(RuntimeError):
    """The Piper voice could not be loaded."""


class Voice:
    def __init__(self, model_path: str = "", models_dir: str | None = None, use_cuda: bool = False):
        from piper import PiperVoice

        root = Path(models_dir).expanduser() if models_dir else default_models_dir()
        path = Path(model_path).expanduser() if model_path else root / DEFAULT_VOICE
        if not path.is_file():
            raise VoiceLoadError(f"Piper voice {path} not found (run `make setup`, or give a voice .onnx path)")
        try:
            self._voice = PiperVoice.load(path, use_cuda=use_cuda)
        except Exception as error:  # onnxruntime and JSON errors alike
            raise VoiceLoadError(f"cannot load Piper voice {path}: {error}") from error
        self.path = str(path)
        self.sample_rate = int(self._voice.config.sample_rate)
        self.last_synthesis_s = 0.0

    def synthesize(self, text: str) -> np.ndarray:
        """float32 mono samples in [-1, 1] at self.sample_rate; empty for text with nothing to say."""
        started = time.perf_counter()
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text)]
        self.last_synthesis_s = time.perf_counter() - started
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
