"""The transformers backend: a causal LM in PyTorch (GPU or CPU), PEFT LoRA adapters, kept KV caches.

Also the Hugging Face toolkit the training and evaluation share with the robot (they import it
from here): the device/dtype rule (pick_device, pick_dtype) and the loader (load_pretrained),
so a model is chosen and placed the same way everywhere.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import torch
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
    TextIteratorStreamer,
)

from esbot_common.model_store import default_models_dir, resolve_model

from ..adapters import AdapterError, check_adapter_compatibility, read_adapter_info
from ..prompting import BuiltPrompt
from .base import REPLY_SLOT, GenerationSettings, GenerationStats, ModelLoadError


class _StopWhenSet(StoppingCriteria):
    """Ends generation at the next token once any of the events is set (barge-in)."""

    def __init__(self, *events: threading.Event | None) -> None:
        self.events = [event for event in events if event is not None]
        self.triggered = False

    def __call__(self, input_ids: torch.LongTensor, scores: Any, **kwargs: Any) -> torch.BoolTensor:
        self.triggered = any(event.is_set() for event in self.events)
        return torch.full((input_ids.shape[0],), self.triggered, dtype=torch.bool, device=input_ids.device)


def pick_device(device: str) -> torch.device:
    """auto (the CUDA GPU if torch sees one, else the CPU), cpu, cuda or cuda:N; ValueError for an
    unknown device or a GPU torch cannot use."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        picked = torch.device(device)
    except RuntimeError as error:
        raise ValueError(f"Unknown device {device!r}; use auto, cpu, cuda or cuda:N.") from error
    if picked.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"Device {device!r} was asked for, but torch sees no CUDA GPU "
                         "(no GPU, or a CPU build of torch); use device auto or cpu.")
    return picked


def pick_dtype(dtype: str | torch.dtype, device: torch.device) -> torch.dtype:
    """auto (bf16 on CUDA, fp16 where bf16 is unsupported, fp32 on the CPU), float32, float16 or
    bfloat16; ValueError for anything else."""
    if isinstance(dtype, torch.dtype):
        return dtype
    if dtype == "auto":
        if device.type == "cuda":
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        # Half precision on CPU is slow or unsupported for many kernels.
        return torch.float32
    picked = getattr(torch, dtype, None)
    if not isinstance(picked, torch.dtype):
        raise ValueError(f"Unknown dtype {dtype!r}; use auto, float32, bfloat16 or float16.")
    return picked


def load_pretrained(
    model: str,
    dtype: torch.dtype,
    models_dir: str | os.PathLike | None = None,
    trust_remote_code: bool = False,
    **model_kwargs: Any,
) -> tuple[Any, Any, str]:
    """(causal LM, tokenizer, where they were read from) for a hub id or local path; a hub id
    prepared in the models folder loads offline. The model stays where from_pretrained puts it
    (model_kwargs may say where, e.g. a quantized training run's device_map).

    ModelLoadError says what to do when the model can be neither found nor downloaded, or its
    files are unusable.
    """
    resolved = resolve_model(model, models_dir)
    local = Path(resolved).is_dir()
    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved, local_files_only=local,
                                                  trust_remote_code=trust_remote_code)
        causal_lm = AutoModelForCausalLM.from_pretrained(resolved, dtype=dtype, local_files_only=local,
                                                         trust_remote_code=trust_remote_code, **model_kwargs)
    except (OSError, ValueError) as error:
        where = models_dir if models_dir is not None else default_models_dir()
        if local:
            raise ModelLoadError(f"The model folder {resolved} cannot be loaded: {error}") from error
        raise ModelLoadError(
            f"Model {model!r} is neither a local folder nor prepared in {where}, and it could "
            f"not be downloaded ({error}). Run scripts/prepare_models.py or give a local path."
        ) from error
    return causal_lm, tokenizer, resolved


def load_tokenizer(model: str, models_dir: str | os.PathLike | None = None) -> Any:
    """The model's Hugging Face tokenizer (prompts are built with its chat template whatever
    engine runs the model); ModelLoadError when it can be neither found nor downloaded."""
    resolved = resolve_model(model, models_dir)
    try:
        return AutoTokenizer.from_pretrained(resolved, local_files_only=Path(resolved).is_dir())
    except (OSError, ValueError) as error:
        raise ModelLoadError(
            f"The tokenizer of {model!r} can be neither found in {models_dir or default_models_dir()} nor "
            f"downloaded ({error}). Run scripts/prepare_models.py or give a local path."
        ) from error


class TransformersBackend:
    """A causal LM with its tokenizer, optionally carrying one LoRA adapter.

    stream() runs generate() in a worker thread that holds a lock for the whole generation,
    so load_adapter()/unload_adapter() called meanwhile wait for the reply to finish instead
    of changing the weights under it.

    The KV cache of the last generation is kept and reused: a conversation's next prompt
    begins with the last one (system prompt, earlier turns), so only the tokens after the
    common prefix are read again. On a CPU that turns seconds of prompt reading into a fraction
    of one once the history is long. Outputs are unchanged: the cached keys and values are
    those the same tokens would produce again. Caches are kept per slot: replies use "reply",
    background work (the memory's summarizer) its own, so it never evicts the conversation's;
    warm() reads a coming prompt's beginning into a slot ahead of time.
    """

    name = "transformers"
    # A shorter common prefix is not worth keeping the cache for.
    MIN_REUSED_TOKENS = 16

    def __init__(self, model: Any, tokenizer: Any, model_id: str) -> None:
        self._base_model = model.eval()
        self.model = self._base_model  # the base model, or a PeftModel wrapping it
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.adapter_path: str | None = None
        self.last_stats: GenerationStats | None = None
        self.reuse_prefix_cache = True
        self._lock = threading.Lock()
        # slot -> (DynamicCache of that slot's last generation, the tokens it holds)
        self._caches: dict[str, tuple[Any, list[int]]] = {}

    @classmethod
    def load(
        cls,
        model: str,
        device: str = "auto",
        dtype: str | torch.dtype = "auto",
        models_dir: str | os.PathLike | None = None,
        adapter_path: str | os.PathLike | None = None,
    ) -> "TransformersBackend":
        """Load a hub id or local path; a hub id prepared in the models folder loads offline.

        ModelLoadError if the model cannot be found or read; AdapterError if adapter_path is
        given and that adapter does not fit the model.
        """
        torch_device = pick_device(device)
        causal_lm, tokenizer, _ = load_pretrained(model, pick_dtype(dtype, torch_device), models_dir)
        chat_model = cls(causal_lm.to(torch_device), tokenizer, model_id=str(model))
        if adapter_path:
            chat_model.load_adapter(adapter_path)
        return chat_model

    @property
    def device(self) -> torch.device:
        return self._base_model.device

    @property
    def dtype(self) -> torch.dtype:
        return self._base_model.dtype

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def token_logprobs(self, context: list[int], targets: list[int]) -> list[float]:
        """Log-probability of each target token after the context and the targets before it (what
        perplexity is computed from); no kept cache is touched."""
        with self._lock, torch.no_grad():
            input_ids = torch.tensor([context + targets], device=self.device)
            logits = self.model(input_ids=input_ids).logits[0, len(context) - 1:-1].float()
            picked = torch.log_softmax(logits, dim=-1).gather(1, input_ids[0, len(context):, None])
            return picked[:, 0].tolist()

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model_id, "device": str(self.device),
                "dtype": str(self.dtype).removeprefix("torch."), "adapter": self.adapter_path or ""}

    def close(self) -> None:
        self.forget_caches()

    def stream(
        self,
        prompt: BuiltPrompt,
        settings: GenerationSettings | None = None,
        cancel: threading.Event | None = None,
        prefill_chunk: int = 0,
        cache_slot: str = REPLY_SLOT,
    ) -> Iterator[str]:
        """Yield the reply as decoded text pieces while it is generated.

        Setting cancel stops generation at the next token; so does closing the iterator
        early. Statistics of the finished generation are left in last_stats.
        prefill_chunk > 0 reads the prompt in pieces of that many tokens, checking cancel
        between them: a long prompt's single forward pass cannot be stopped, and background
        work (the memory's summarizer) must give way to a reply within a fraction of a second.
        cache_slot names the KV cache reused and left behind (see the class docstring).
        """
        settings = settings or GenerationSettings()
        abandoned = threading.Event()
        stop = _StopWhenSet(cancel, abandoned)
        streamer = TextIteratorStreamer(self.tokenizer, skip_prompt=True, skip_special_tokens=True)
        input_ids = torch.tensor([prompt.input_ids], device=self.device)
        arguments = dict(
            input_ids=input_ids,
            attention_mask=torch.ones_like(input_ids),
            streamer=streamer,
            stopping_criteria=StoppingCriteriaList([stop]),
            pad_token_id=(
                self.tokenizer.pad_token_id
                if self.tokenizer.pad_token_id is not None
                else self.tokenizer.eos_token_id
            ),
            **settings.generate_arguments(),
        )
        outcome: dict[str, Any] = {}

        def generate() -> None:
            try:
                with self._lock:
                    if settings.seed is not None:
                        torch.manual_seed(settings.seed)
                    cache = arguments["past_key_values"] = self._cache_for(cache_slot, prompt.input_ids)
                    outcome["reused_tokens"] = cache.get_seq_length()
                    if prefill_chunk > 0 and not self._prefill(cache_slot, cache, input_ids, prefill_chunk, stop):
                        outcome["new_tokens"] = 0
                        streamer.end()
                        return
                    output = self.model.generate(**arguments)
                    self._keep_cache(cache_slot, cache, output[0].tolist())
                outcome["new_tokens"] = output.shape[1] - input_ids.shape[1]
            except BaseException as error:  # handed to the consumer, which re-raises it
                self._caches.pop(cache_slot, None)  # a half-updated cache must not be reused
                outcome["error"] = error
                streamer.end()  # unblock the consumer; generate() did not get to do it

        started = time.perf_counter()
        first_text = None
        worker = threading.Thread(target=generate, name="esbot-generate", daemon=True)
        worker.start()
        try:
            for piece in streamer:
                if cancel is not None and cancel.is_set():
                    break  # pieces generated ahead of the consumer are not said after a barge-in
                if piece:
                    if first_text is None:
                        first_text = time.perf_counter() - started
                    yield piece
        finally:
            abandoned.set()
            worker.join()
            total = time.perf_counter() - started
            new_tokens = outcome.get("new_tokens", 0)
            self.last_stats = GenerationStats(
                prompt_tokens=len(prompt.input_ids),
                new_tokens=new_tokens,
                time_to_first_text_s=first_text,
                total_s=total,
                tokens_per_s=new_tokens / total if total > 0 else 0.0,
                stopped_early=stop.triggered,
                reused_prompt_tokens=outcome.get("reused_tokens", 0),
                backend=self.name,
            )
        if "error" in outcome:
            raise outcome["error"]

    def warm(self, tokens: list[int], cancel: threading.Event | None = None, chunk: int = 32,
             cache_slot: str = REPLY_SLOT) -> int:
        """Read the beginning of a coming prompt into a cache slot ahead of time (the memory
        does it for the next turn while the person is listening), in pieces of `chunk` tokens,
        checking cancel between them; the prompt that then begins with `tokens` only has its
        rest to read. Returns how many tokens were read now (0 when the cache already held them)."""
        stop = _StopWhenSet(cancel)
        with self._lock:
            try:
                cache = self._cache_for(cache_slot, tokens + [-1])  # -1: all of `tokens` may be reused
                before = cache.get_seq_length()
                self._prefill(cache_slot, cache, torch.tensor([tokens + [-1]], device=self.device), chunk, stop)
            except BaseException:
                self._caches.pop(cache_slot, None)  # a half-updated cache must not be reused
                raise
            return self._caches[cache_slot][0].get_seq_length() - before

    def _prefill(self, cache_slot: str, cache, input_ids: torch.Tensor, chunk: int, stop: _StopWhenSet) -> bool:
        """Fill the KV cache with all prompt tokens but the last, chunk by chunk, from where
        the reused prefix ends (generate() then reads only the last token); False if stopped
        meanwhile. Either way the cache is kept in its slot, holding what was read: when
        stopped, the chunks read so far, still valid for reuse."""
        with torch.no_grad():
            for start in range(cache.get_seq_length(), input_ids.shape[1] - 1, chunk):
                if stop(input_ids, None).any():
                    break
                end = min(start + chunk, input_ids.shape[1] - 1)
                self.model(input_ids=input_ids[:, start:end], past_key_values=cache, use_cache=True)
        self._keep_cache(cache_slot, cache, input_ids[0, :cache.get_seq_length()].tolist())
        # Also when the reused prefix left nothing to read: a set stop means do not go on.
        return not stop(input_ids, None).any()

    def _cache_for(self, cache_slot: str, tokens: list[int]):
        """A KV cache holding the longest prefix of `tokens` the slot's last generation left,
        cut to leave at least one token to read; an empty one when there is nothing worth
        reusing. It is taken out of the slot: generation updates it in place."""
        from transformers import DynamicCache

        cache, cached = self._caches.pop(cache_slot, (None, []))
        if cache is not None and self.reuse_prefix_cache:
            common = 0
            for cached_token, token in zip(cached, tokens):
                if cached_token != token:
                    break
                common += 1
            common = min(common, len(tokens) - 1)
            if common >= self.MIN_REUSED_TOKENS:
                surplus = cache.get_seq_length() - common
                if surplus > 0:
                    cache.crop(-surplus)  # transformers 5: a negative count of tokens to drop
                return cache
        return DynamicCache(config=self._base_model.config)

    def _keep_cache(self, cache_slot: str, cache, tokens: list[int]) -> None:
        """Remember the cache after a generation; it holds every token but the last generated
        one (never fed back), which `tokens` (prompt + output) is cut to."""
        self._caches[cache_slot] = (cache, tokens[:cache.get_seq_length()])

    def forget_caches(self) -> None:
        """Drop every kept KV cache: the next prompts are read from the start (as after a restart)."""
        with self._lock:
            self._caches.clear()

    def load_adapter(self, path: str | os.PathLike, allow_base_mismatch: bool = False) -> None:
        """Swap in a LoRA adapter; on refusal (AdapterError) the previous state keeps serving.

        The adapter is checked against the base model before anything is touched: its weight
        shapes must fit, and its base model must be this one unless allow_base_mismatch.
        """
        info = read_adapter_info(path)
        with self._lock:
            problems = check_adapter_compatibility(info, self.model_id, self._base_model, allow_base_mismatch)
            if problems:
                raise AdapterError(
                    f"Adapter {info.path} does not fit model {self.model_id}: " + " ".join(problems)
                )
            previous = self.adapter_path
            self._remove_adapter()
            try:
                self._apply_adapter(str(info.path))
            except Exception as error:
                # The checks above should make this unreachable; put back what was serving
                # (best effort: PEFT may have failed after changing the model's layers).
                self._remove_adapter()
                if previous:
                    self._apply_adapter(previous)
                raise AdapterError(f"PEFT could not load adapter {info.path}: {error}") from error

    def unload_adapter(self) -> None:
        """Back to the plain base model (no-op without an adapter)."""
        with self._lock:
            self._remove_adapter()

    def _apply_adapter(self, path: str) -> None:
        from peft import PeftModel  # only needed once adapters are used

        self.model = PeftModel.from_pretrained(self._base_model, path).eval()
        self.adapter_path = path
        self._caches.clear()  # other weights: the cached keys and values no longer hold

    def _remove_adapter(self) -> None:
        if self.model is not self._base_model:
            # unload() takes the LoRA layers out again without merging them into the weights.
            self._base_model = self.model.unload()
            self.model = self._base_model
            self._caches.clear()  # other weights: the cached keys and values no longer hold
        self.adapter_path = None
