"""Streaming Silero VAD over the ONNX model that faster-whisper ships.

faster-whisper runs this model on a whole clip at once (faster_whisper/vad.py); the robot
hears audio frame by frame, so here the model's LSTM state (h, c) and its 64-sample context
are carried from one call to the next, and audio may arrive in pieces of any size. The
probabilities are the same as the batch model's on the same audio (the model runs its batch
dimension through the LSTM as time, so one window at a time gives identical results).
"""

import os

import numpy as np

from esbot_speech.audio_format import ASR_SAMPLE_RATE

WINDOW_SAMPLES = 512  # 32 ms at 16 kHz: the window size the model was trained on
CONTEXT_SAMPLES = 64  # the end of the previous window, prepended to each window
STATE_SHAPE = (1, 1, 128)


def default_model_path() -> str:
    from faster_whisper.utils import get_assets_path

    return os.path.join(get_assets_path(), "silero_vad_v6.onnx")


class StreamingSileroVad:
    """Speech probability per 512-sample window of a 16 kHz mono float stream."""

    sample_rate = ASR_SAMPLE_RATE
    window_samples = WINDOW_SAMPLES

    def __init__(self, model_path: str | None = None):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        # One thread: a window takes well under a millisecond, and the robot's cores are
        # needed by the LLM and ASR running beside it.
        options.inter_op_num_threads = 1
        options.intra_op_num_threads = 1
        options.log_severity_level = 4
        self._session = onnxruntime.InferenceSession(
            model_path or default_model_path(), providers=["CPUExecutionProvider"], sess_options=options)
        self.reset()

    def reset(self) -> None:
        """Start a new stream: forget the LSTM state, the context and any partial window."""
        self._h = np.zeros(STATE_SHAPE, np.float32)
        self._c = np.zeros(STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT_SAMPLES, np.float32)
        self._pending = np.zeros(0, np.float32)
        self._next_start = 0  # stream sample index of the next window

    def process(self, samples_16k: np.ndarray) -> list[tuple[int, float]]:
        """Feed 16 kHz mono float samples; returns (window_start_sample, probability) for each
        window completed by them (a trailing partial window waits for the next call)."""
        samples = np.asarray(samples_16k, dtype=np.float32)
        if samples.ndim != 1:
            raise ValueError(f"expected mono audio (1-D), got shape {samples.shape}")
        self._pending = np.concatenate([self._pending, samples])
        count = len(self._pending) // WINDOW_SAMPLES
        if count == 0:
            return []
        windows = self._pending[:count * WINDOW_SAMPLES].reshape(count, WINDOW_SAMPLES)
        self._pending = self._pending[count * WINDOW_SAMPLES:]
        contexts = np.vstack([self._context, windows[:-1, -CONTEXT_SAMPLES:]])
        # All complete windows go in one run: the model steps its LSTM through them in order.
        probabilities, self._h, self._c = self._session.run(
            None, {"input": np.hstack([contexts, windows]), "h": self._h, "c": self._c})
        self._context = windows[-1, -CONTEXT_SAMPLES:].copy()
        starts = self._next_start + WINDOW_SAMPLES * np.arange(count)
        self._next_start += count * WINDOW_SAMPLES
        return [(int(start), float(p)) for start, p in zip(starts, np.ravel(probabilities))]
