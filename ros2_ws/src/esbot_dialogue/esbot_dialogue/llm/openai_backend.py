"""The openai backend: any OpenAI-compatible server (vLLM, llama.cpp's server, Ollama) runs the model.

For a robot tethered to a GPU box, or a fleet of robots sharing one server. The prompt is built
here with the model's chat template (as for every backend, so the memory's budget and the safety
layer see the same prompt) and sent to the completions endpoint as text, streamed back piece by
piece; closing the stream is the cancel. Adapters are picked by name: the server serves them
(vLLM: --enable-lora --lora-modules esconv=/path/to/adapter) and a request names one as its
model. Prefix caching is the server's (vLLM's automatic prefix caching, llama.cpp's prompt
cache), so warm() has nothing to do here. Every failure to answer is BackendUnavailable, which
the failover backend turns into a reply from the onboard model.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from ..adapters import AdapterError
from ..prompting import BuiltPrompt
from .base import REPLY_SLOT, BackendUnavailable, GenerationSettings, GenerationStats

#: The environment variable holding the server's API key (vLLM --api-key); "" = none.
API_KEY_ENV = "ESBOT_OPENAI_API_KEY"


class OpenAIBackend:
    """An LLMBackend over an OpenAI-compatible completions endpoint; see the module docstring."""

    name = "openai"

    def __init__(self, base_url: str, served_model: str, tokenizer: Any, model_id: str,
                 connect_timeout_s: float = 2.0, read_timeout_s: float = 10.0,
                 api_key: str | None = None) -> None:
        """served_model: the server's name for the base model ("" = the first it lists);
        read_timeout_s: the longest silence within a reply before the server counts as gone."""
        import httpx
        import openai

        self._openai = openai
        self.base_url = base_url.rstrip("/")
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.adapter_path: str | None = None  # the served adapter's name when one is picked
        self.last_stats: GenerationStats | None = None
        self._lock = threading.Lock()
        self._client = openai.OpenAI(
            base_url=self.base_url, api_key=api_key if api_key is not None else os.environ.get(API_KEY_ENV) or "none",
            timeout=httpx.Timeout(read_timeout_s, connect=connect_timeout_s), max_retries=0)
        self.served_model = served_model

    def served_models(self) -> list[str]:
        """The names the server serves (base model and adapters); BackendUnavailable if it does not answer."""
        try:
            return [model.id for model in self._client.models.list()]
        except self._openai.OpenAIError as error:
            raise BackendUnavailable(f"{self.base_url} does not answer: {error}") from error

    def _model_name(self) -> str:
        if not self.served_model:
            names = self.served_models()
            if not names:
                raise BackendUnavailable(f"{self.base_url} serves no model.")
            self.served_model = names[0]
        return self.adapter_path or self.served_model

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, prompt: BuiltPrompt, settings: GenerationSettings | None = None,
               cancel: threading.Event | None = None, prefill_chunk: int = 0,
               cache_slot: str = REPLY_SLOT) -> Iterator[str]:
        """Yield the server's reply as text pieces; cancel or closing the iterator closes the
        stream. BackendUnavailable when the server refuses, times out or breaks off."""
        settings = settings or GenerationSettings()
        started = time.perf_counter()
        first_text = None
        new_tokens = reused = 0
        stopped = False
        with self._lock:
            try:
                response = self._client.completions.create(
                    model=self._model_name(), prompt=prompt.prompt_text, stream=True,
                    stream_options={"include_usage": True}, **self._sampling(settings))
            except self._openai.OpenAIError as error:
                raise BackendUnavailable(f"{self.base_url} did not take the request: {error}") from error
            try:
                pieces = 0
                for event in response:
                    if event.usage is not None:
                        new_tokens = event.usage.completion_tokens or new_tokens
                        details = getattr(event.usage, "prompt_tokens_details", None)
                        reused = getattr(details, "cached_tokens", None) or 0
                    text = event.choices[0].text if event.choices else ""
                    if text:
                        pieces += 1  # one token per event on the servers tried, the count when no usage comes
                        new_tokens = max(new_tokens, pieces)
                        if first_text is None:
                            first_text = time.perf_counter() - started
                        yield text
                    if cancel is not None and cancel.is_set():
                        stopped = True
                        break
            except GeneratorExit:
                stopped = True
                raise
            except (self._openai.OpenAIError, OSError) as error:
                raise BackendUnavailable(f"{self.base_url} broke off the reply: {error}") from error
            except Exception as error:  # httpx's transport errors while the stream is read
                if type(error).__module__.startswith(("httpx", "httpcore")):
                    raise BackendUnavailable(f"{self.base_url} broke off the reply: {error!r}") from error
                raise
            finally:
                response.close()
                total = time.perf_counter() - started
                self.last_stats = GenerationStats(
                    prompt_tokens=len(prompt.input_ids), new_tokens=new_tokens, time_to_first_text_s=first_text,
                    total_s=total, tokens_per_s=new_tokens / total if total > 0 else 0.0,
                    stopped_early=stopped, reused_prompt_tokens=reused, backend=self.name)

    @staticmethod
    def _sampling(settings: GenerationSettings) -> dict[str, Any]:
        # top_k and repetition_penalty are not OpenAI parameters; vLLM and llama.cpp's server take them.
        extra: dict[str, Any] = {"repetition_penalty": settings.repetition_penalty}
        arguments: dict[str, Any] = dict(max_tokens=settings.max_new_tokens, seed=settings.seed)
        if settings.do_sample:
            arguments |= dict(temperature=settings.temperature, top_p=settings.top_p)
            extra["top_k"] = settings.top_k
        else:
            arguments |= dict(temperature=0.0)
        return arguments | {"extra_body": extra}

    def warm(self, tokens: list[int], cancel: threading.Event | None = None, chunk: int = 32,
             cache_slot: str = REPLY_SLOT) -> int:
        return 0  # the server keeps prefixes itself

    def forget_caches(self) -> None:
        pass  # the server's prefix cache is shared and keyed by content: nothing of ours to drop

    def load_adapter(self, path: str, allow_base_mismatch: bool = False) -> None:
        """Pick a served adapter by name (a path picks its folder's name); AdapterError if the
        server does not serve it."""
        name = Path(path).name if os.sep in str(path) else str(path)
        served = self.served_models()
        if name not in served:
            raise AdapterError(f"{self.base_url} does not serve an adapter named {name!r} (it serves "
                               f"{', '.join(served)}); start vLLM with --enable-lora --lora-modules {name}=<path>.")
        with self._lock:
            self.adapter_path = name

    def unload_adapter(self) -> None:
        with self._lock:
            self.adapter_path = None

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.served_model or self.model_id, "device": self.base_url,
                "dtype": "server's", "adapter": self.adapter_path or ""}

    def close(self) -> None:
        self._client.close()
