"""Choosing and loading the LLM backend from the dialogue node's parameters."""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass

from esbot_common.log import Log

from .base import LLMBackend, ModelLoadError

BACKENDS = ("auto", "llama_cpp", "transformers", "openai")


@dataclass(frozen=True)
class BackendConfig:
    """Which engine runs the model, and how (each field is the dialogue node parameter of that name)."""

    backend: str = "auto"  # auto: transformers where torch sees a CUDA GPU, else llama_cpp
    model: str = "HuggingFaceTB/SmolLM2-135M-Instruct"  # hub id or local folder (its tokenizer builds prompts)
    models_dir: str = ""  # "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models
    device: str = "auto"  # transformers: auto, cpu, cuda, cuda:N
    dtype: str = "auto"  # transformers: auto, float32, bfloat16, float16
    gguf_file: str = ""  # llama_cpp: the GGUF to run ("" = the one in the model's prepared folder)
    llm_threads: int = 0  # llama_cpp: CPU threads (0 = all cores, at most 8)
    openai_url: str = ""  # openai: the server's base URL, e.g. http://gpu-box:8000/v1
    openai_model: str = ""  # openai: the server's name for the base model ("" = the first it serves)
    openai_timeout_s: float = 10.0  # openai: silence within a reply after which the server counts as gone
    onboard_backend: str = "llama_cpp"  # openai: what answers while the server does not ("none" = nothing)
    failover_retry_s: float = 10.0  # openai: how often a degraded robot asks whether the server is back
    llm_nice: int = 5  # local backends: the process's CPU priority below the speech nodes (Linux nice)


def resolve_backend(name: str) -> str:
    """auto -> transformers on a CUDA machine, else llama_cpp; ValueError for an unknown name."""
    if name not in BACKENDS:
        raise ValueError(f"Unknown backend {name!r}; use one of {', '.join(BACKENDS)}.")
    if name != "auto":
        return name
    import torch

    return "transformers" if torch.cuda.is_available() else "llama_cpp"


def check_config(config: BackendConfig) -> None:
    """ValueError naming a device or dtype no backend knows (whichever backend runs: a typo must
    not wait for the day the robot gets a GPU)."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", config.device):
        raise ValueError(f"Unknown device {config.device!r}; use auto, cpu, cuda or cuda:N.")
    if config.dtype not in ("auto", "float32", "float16", "bfloat16"):
        raise ValueError(f"Unknown dtype {config.dtype!r}; use auto, float32, bfloat16 or float16.")


def lower_priority(nice: int) -> None:
    """Run this process at least `nice` below normal priority. On a robot PC's few cores the LLM's
    threads (llama.cpp's spin while they wait for work) would otherwise starve the speech nodes:
    the voice must stop at a barge-in and the microphone be heard while a reply is generated."""
    current = os.nice(0)
    if nice > current:
        os.nice(nice - current)


def load_backend(config: BackendConfig, context_window: int = 2048,
                 log: Log = logging.getLogger("esbot_dialogue")) -> LLMBackend:
    """The backend the config asks for, loaded (ModelLoadError, ValueError when it cannot be)."""
    check_config(config)
    backend = resolve_backend(config.backend)
    models_dir = config.models_dir or None
    if backend != "openai" or config.onboard_backend != "none":
        lower_priority(config.llm_nice)
    if backend == "llama_cpp":
        from .llama_cpp_backend import LlamaCppBackend

        return LlamaCppBackend.load(config.model, models_dir, config.gguf_file, context_window, config.llm_threads)
    if backend == "transformers":
        from .transformers_backend import TransformersBackend

        return TransformersBackend.load(config.model, device=config.device, dtype=config.dtype, models_dir=models_dir)
    return _load_openai(config, context_window, log)


def _load_openai(config: BackendConfig, context_window: int, log: Log) -> LLMBackend:
    from .failover import FailoverBackend
    from .openai_backend import OpenAIBackend
    from .transformers_backend import load_tokenizer

    if not config.openai_url:
        raise ValueError("backend openai needs openai_url, the server's base URL (e.g. http://gpu-box:8000/v1).")
    remote = OpenAIBackend(config.openai_url, config.openai_model, load_tokenizer(config.model, config.models_dir or None),
                           config.model, read_timeout_s=config.openai_timeout_s)
    if config.onboard_backend == "none":
        return remote
    if config.onboard_backend not in ("llama_cpp", "transformers"):
        raise ValueError(f"onboard_backend {config.onboard_backend!r}: use llama_cpp, transformers or none.")
    onboard = BackendConfig(**{**config.__dict__, "backend": config.onboard_backend})
    return FailoverBackend(remote, lambda: load_backend(onboard, context_window, log), log,
                           retry_after_s=config.failover_retry_s)


__all__ = ["BACKENDS", "BackendConfig", "ModelLoadError", "load_backend", "resolve_backend"]
