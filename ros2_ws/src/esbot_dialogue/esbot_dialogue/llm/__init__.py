"""The language model behind the robot's replies, as interchangeable backends (LLMBackend):

- base: the interface, GenerationSettings and GenerationStats (import without torch)
- llama_cpp_backend: llama.cpp on the robot PC's CPU (the default there), GGUF LoRA (gguf_lora)
- transformers_backend: PyTorch on a GPU (the default there) or CPU, PEFT adapters; the
  Hugging Face toolkit training and evaluation share
- openai_backend + failover: an OpenAI-compatible server (vLLM, llama.cpp's), with the onboard
  model answering while it is away
- loading: BackendConfig and load_backend, chosen by the `backend` parameter
"""

from .base import (REPLY_SLOT, BackendUnavailable, GenerationSettings, GenerationStats, LLMBackend,
                   ModelLoadError)
from .loading import BACKENDS, BackendConfig, load_backend, resolve_backend

__all__ = ["BACKENDS", "REPLY_SLOT", "BackendConfig", "BackendUnavailable", "GenerationSettings",
           "GenerationStats", "LLMBackend", "ModelLoadError", "load_backend", "resolve_backend"]
