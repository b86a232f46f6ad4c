"""Speech to text for one utterance with faster-whisper (CTranslate2).

The model parameter takes what faster-whisper takes (a size such as "small", a hub id, a local
folder); hub ids prepared in esbot's models folder load offline (esbot_common.model_store).
Whisper invents text for noise ("Thank you.", "you"), so every result carries Whisper's own
evidence (average log-probability, no-speech probability) and `rejection_reason` turns it into a
decision with a message: no empty or invented transcript reaches the dialogue.
"""

import math
import os
import time
from dataclasses import dataclass

import numpy as np

from esbot_common.model_store import resolve_model

DEFAULT_MODEL = "Systran/faster-whisper-base"


class TranscriberLoadError(RuntimeError):
    """The ASR model could not be loaded (wrong name or path, device or compute type)."""


@dataclass(frozen=True)
class Recognition:
    text: str  # stripped; "" when Whisper heard no words
    language: str  # ISO 639-1
    confidence: float  # exp(mean token log-probability), 0..1
    no_speech_probability: float  # Whisper's own estimate that the audio holds no speech
    processing_s: float  # compute time for this utterance


def rejection_reason(recognition: Recognition, min_confidence: float, max_no_speech: float) -> str | None:
    """Why a recognition must not be published, or None if it may."""
    if not recognition.text or not any(ch.isalnum() for ch in recognition.text):
        return "no words recognised"
    if recognition.no_speech_probability > max_no_speech and recognition.confidence < 0.5:
        # Whisper's own rule for "this was not speech": both signals must agree.
        return (f"probably not speech (no-speech probability {recognition.no_speech_probability:.2f}, "
                f"confidence {recognition.confidence:.2f}): {recognition.text!r}")
    if recognition.confidence < min_confidence:
        return f"confidence {recognition.confidence:.2f} below {min_confidence:.2f}: {recognition.text!r}"
    return None


class Transcriber:
    def __init__(self, model: str = DEFAULT_MODEL, device: str = "auto", compute_type: str = "auto",
                 language: str = "", beam_size: int = 1, cpu_threads: int = 0, models_dir: str | None = None):
        """device: auto, cpu or cuda; compute_type: auto = int8 on CPU, float16 on CUDA;
        language: "" = detect per utterance, else an ISO 639-1 code."""
        from faster_whisper import WhisperModel

        if device == "auto":
            device = "cuda" if _cuda_available() else "cpu"
        if compute_type == "auto":
            compute_type = "float16" if device.startswith("cuda") else "int8"
        self.model_name = model
        self.device, self.compute_type = device, compute_type
        self.language = language or None
        self.beam_size = beam_size
        path = resolve_model(model, models_dir)
        try:
            self._model = WhisperModel(path, device=device, compute_type=compute_type, cpu_threads=cpu_threads,
                                       local_files_only=_is_local(path))
        except Exception as error:  # CTranslate2 and huggingface_hub raise many kinds
            raise TranscriberLoadError(f"cannot load ASR model {model!r} ({path}) on {device}/{compute_type}: "
                                       f"{error}") from error

    def transcribe(self, audio_16k: np.ndarray) -> Recognition:
        started = time.perf_counter()
        segments, info = self._model.transcribe(
            np.asarray(audio_16k, dtype=np.float32), language=self.language, beam_size=self.beam_size,
            # One utterance at a time, no context from the last one: carrying text over makes
            # Whisper repeat itself when the next utterance is short or unclear.
            condition_on_previous_text=False, without_timestamps=True, vad_filter=False)
        segments = list(segments)  # decoding happens here
        text = " ".join(segment.text.strip() for segment in segments).strip()
        tokens = sum(max(len(segment.tokens), 1) for segment in segments)
        mean_logprob = (sum(segment.avg_logprob * max(len(segment.tokens), 1) for segment in segments) / tokens
                        if segments else -math.inf)
        return Recognition(
            text=text, language=info.language or "",
            confidence=math.exp(mean_logprob) if segments else 0.0,
            no_speech_probability=max((segment.no_speech_prob for segment in segments), default=1.0),
            processing_s=time.perf_counter() - started)


def _cuda_available() -> bool:
    import ctranslate2

    return ctranslate2.get_cuda_device_count() > 0


def _is_local(path: str) -> bool:
    return os.path.isdir(path)
