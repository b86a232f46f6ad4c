"""What every LLM backend offers the dialogue engine, the memory's summarizer and the benchmarks.

Pure dataclasses and a Protocol: importing this needs neither torch nor llama.cpp, so the
settings travel into configs, tests and the training package without loading an engine.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Iterator, Protocol, runtime_checkable

from ..prompting import BuiltPrompt

#: The KV cache slot of the conversation's replies (the default of stream and warm).
REPLY_SLOT = "reply"


class ModelLoadError(Exception):
    """The model could not be found locally or downloaded, or its files are unusable."""


class BackendUnavailable(RuntimeError):
    """A remote backend did not answer (refused, timed out, or the stream broke off)."""


@dataclass(frozen=True)
class GenerationSettings:
    """Sampling settings for one reply (defaults: the sampling setup esbot was specified with)."""

    temperature: float = 0.7
    top_p: float = 0.95
    top_k: int = 50
    max_new_tokens: int = 128
    do_sample: bool = True
    repetition_penalty: float = 1.1
    seed: int | None = None  # set for reproducible sampling

    def generate_arguments(self) -> dict[str, Any]:
        """The transformers generate() arguments these settings stand for (the seed is the caller's:
        it seeds torch, not generate)."""
        arguments: dict[str, Any] = dict(max_new_tokens=self.max_new_tokens, do_sample=self.do_sample,
                                         repetition_penalty=self.repetition_penalty)
        if self.do_sample:  # greedy decoding would warn that these are unused
            arguments.update(temperature=self.temperature, top_p=self.top_p, top_k=self.top_k)
        return arguments


@dataclass(frozen=True)
class GenerationStats:
    prompt_tokens: int
    new_tokens: int
    time_to_first_text_s: float | None  # until the first decoded text piece; None if none came
    total_s: float
    tokens_per_s: float  # new tokens over total time, prompt processing included
    stopped_early: bool  # cancelled, or the consumer stopped reading
    reused_prompt_tokens: int = 0  # prompt tokens whose keys and values came from an earlier call
    backend: str = ""  # which backend produced it (a failover names the one that answered)


@runtime_checkable
class LLMBackend(Protocol):
    """A language model the robot can talk through.

    stream() yields the reply to a built prompt as text pieces; setting cancel (barge-in) or
    closing the iterator stops it within one token. Each cache slot keeps the prefix it last
    read, so the next prompt that begins the same way only pays for its new tokens; replies
    use REPLY_SLOT, background work (the summarizer) its own slot, so it never evicts the
    conversation's. Adapters are LoRA adapters by path (local backends) or by name (a server's
    served adapters). One generation at a time: calls wait for the one under way.
    """

    model_id: str
    tokenizer: Any  # the Hugging Face tokenizer prompts are built with (PromptBuilder)
    adapter_path: str | None
    last_stats: GenerationStats | None

    def stream(self, prompt: BuiltPrompt, settings: GenerationSettings | None = None,
               cancel: threading.Event | None = None, prefill_chunk: int = 0,
               cache_slot: str = REPLY_SLOT) -> Iterator[str]:
        """prefill_chunk > 0: read the prompt in pieces of that many tokens, checking cancel
        between them (background work must give way to a reply quickly)."""
        ...

    def warm(self, tokens: list[int], cancel: threading.Event | None = None, chunk: int = 32,
             cache_slot: str = REPLY_SLOT) -> int:
        """Read a coming prompt's beginning into a slot ahead of time; how many tokens were read."""
        ...

    def forget_caches(self) -> None: ...

    def load_adapter(self, path: str, allow_base_mismatch: bool = False) -> None:
        """Swap in an adapter (AdapterError on refusal; the previous state keeps serving)."""
        ...

    def unload_adapter(self) -> None: ...

    def count_tokens(self, text: str) -> int: ...

    def describe(self) -> dict[str, str]:
        """What /diagnostics shows: backend, model, device, adapter, state."""
        ...

    def close(self) -> None: ...
