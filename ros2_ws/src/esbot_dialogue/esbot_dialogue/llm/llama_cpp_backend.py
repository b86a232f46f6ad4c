"""The llama.cpp backend (llama-cpp-python): the robot PC's CPU engine, on the model's GGUF file.

Prompts are built with the model's Hugging Face tokenizer (its chat template, as for every
backend) and handed to llama.cpp as token ids, so both engines read the same tokens; llama.cpp
turns the generated ids back into text. Each cache slot is its own llama.cpp context over the
same memory-mapped weights (the file's pages are shared, only the KV cache is per slot), and a
context keeps the tokens it last read: a prompt that begins the same way only reads its new
tokens. LoRA adapters are GGUF LoRA files (converted from PEFT, gguf_lora) set on the
contexts at run time, so swapping one never reloads the model.
"""

from __future__ import annotations

import codecs
import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Any, Iterator

from esbot_common.model_store import default_models_dir, resolve_model

from ..adapters import AdapterError, check_adapter_compatibility, read_adapter_info
from ..prompting import BuiltPrompt
from .base import REPLY_SLOT, GenerationSettings, GenerationStats, ModelLoadError
from .gguf_lora import gguf_adapter

#: Which GGUF of a model folder runs, by preference: Q8_0 first (for the default model, made at setup
#: from the packaged Q4_1: the same weights, faster on x86 here; results/engine_benchmark.md).
GGUF_PREFERENCE = ("Q8_0", "Q4_1", "Q4_K_M", "Q5_K_M", "F16")


def find_gguf(model: str, gguf_file: str = "", models_dir: str | os.PathLike | None = None) -> Path:
    """The GGUF file to run: gguf_file if given, else one inside the model's prepared folder
    (scripts/prepare_models.py links the default model's there), by GGUF_PREFERENCE.
    ModelLoadError says what to do when there is none."""
    if gguf_file:
        path = Path(gguf_file).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"The GGUF file {path} (parameter gguf_file) does not exist.")
        return path
    folder = Path(resolve_model(model, models_dir))
    found = sorted(folder.glob("*.gguf")) if folder.is_dir() else []
    for preferred in GGUF_PREFERENCE:
        for path in found:
            if preferred.lower() in path.name.lower():
                return path
    if found:
        return found[0]
    raise ModelLoadError(
        f"No GGUF file for {model!r} in {folder if folder.is_dir() else (models_dir or default_models_dir())}: "
        "give one with the gguf_file parameter (convert a Hugging Face model with llama.cpp's "
        "convert_hf_to_gguf.py), or use backend transformers."
    )


class LlamaCppBackend:
    """An LLMBackend over llama.cpp; see the module docstring."""

    name = "llama_cpp"

    def __init__(self, gguf_path: Path, tokenizer: Any, model_id: str, model_folder: str,
                 context_window: int = 2048, threads: int = 0,
                 models_dir: str | os.PathLike | None = None) -> None:
        import llama_cpp

        self._llama_cpp = llama_cpp
        self.gguf_path = gguf_path
        self.tokenizer = tokenizer
        self.model_id = model_id
        self.model_folder = model_folder  # the Hugging Face folder: config for adapter checks
        self.context_window = context_window
        self.threads = threads or max(1, min(os.cpu_count() or 1, 8))
        self.models_dir = models_dir
        self.adapter_path: str | None = None
        self.adapter_file: Path | None = None
        self.last_stats: GenerationStats | None = None
        self._lock = threading.Lock()
        self._contexts: dict[str, Any] = {}  # slot -> llama_cpp.Llama
        self._adapters: dict[str, Any] = {}  # slot -> llama_adapter_lora_p of that context's model
        self._shape_model: Any = None
        self._context(REPLY_SLOT)  # load now: a broken file fails at start, not at the first reply

    @classmethod
    def load(cls, model: str, models_dir: str | os.PathLike | None = None, gguf_file: str = "",
             context_window: int = 2048, threads: int = 0) -> "LlamaCppBackend":
        from .transformers_backend import load_tokenizer

        path = find_gguf(model, gguf_file, models_dir)
        try:
            return cls(path, load_tokenizer(model, models_dir), str(model), resolve_model(model, models_dir),
                       context_window, threads, models_dir)
        except ValueError as error:  # llama-cpp-python's "Failed to load model from file"
            raise ModelLoadError(f"llama.cpp cannot load {path}: {error}") from error

    def _context(self, slot: str) -> Any:
        llama = self._contexts.get(slot)
        if llama is None:
            llama = self._llama_cpp.Llama(
                model_path=str(self.gguf_path), n_ctx=self.context_window, n_batch=512,
                n_threads=self.threads, n_threads_batch=self.threads, use_mmap=True, verbose=False,
                # The whole context: HF's repetition penalty also looks at every generated token.
                last_n_tokens_size=self.context_window,
            )
            if self.adapter_file is not None:
                try:
                    self._set_adapter(slot, llama, self.adapter_file)
                except AdapterError:
                    llama.close()
                    raise
            self._contexts[slot] = llama  # only with the adapter the others have
        return llama

    # -- generation ---------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer(text, add_special_tokens=False)["input_ids"])

    def stream(self, prompt: BuiltPrompt, settings: GenerationSettings | None = None,
               cancel: threading.Event | None = None, prefill_chunk: int = 0,
               cache_slot: str = REPLY_SLOT) -> Iterator[str]:
        """Yield the reply as text pieces; cancel, or closing the iterator, stops it before the
        next token (and between prompt pieces of prefill_chunk tokens). Holds the backend for
        the whole generation, so adapter swaps wait for it."""
        settings = settings or GenerationSettings()
        tokens = list(prompt.input_ids)
        started = time.perf_counter()
        first_text = None
        new_tokens = reused = 0
        stopped = False
        with self._lock:
            llama = self._context(cache_slot)
            try:
                reused = self._keep_prefix(llama, tokens)
                if not self._prefill(llama, tokens, prefill_chunk or 512, cancel):
                    stopped = True
                    return
                llama.set_seed(settings.seed if settings.seed is not None else self._llama_cpp.LLAMA_DEFAULT_SEED)
                decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
                vocab = self._llama_cpp.llama_model_get_vocab(llama.model)
                generator = llama.generate(tokens, **self._sampling(settings))
                try:
                    for token in generator:
                        if self._llama_cpp.llama_vocab_is_eog(vocab, token):
                            break
                        new_tokens += 1
                        text = decoder.decode(llama.detokenize([token], special=False))
                        if text:
                            if first_text is None:
                                first_text = time.perf_counter() - started
                            yield text
                        if new_tokens >= settings.max_new_tokens:
                            break
                        if cancel is not None and cancel.is_set():
                            stopped = True
                            break
                finally:
                    generator.close()
            except GeneratorExit:  # the consumer stopped reading (barge-in)
                stopped = True
                raise
            except BaseException:
                llama.reset()  # a half-updated cache must not be reused
                raise
            finally:
                total = time.perf_counter() - started
                self.last_stats = GenerationStats(
                    prompt_tokens=len(tokens), new_tokens=new_tokens, time_to_first_text_s=first_text,
                    total_s=total, tokens_per_s=new_tokens / total if total > 0 else 0.0,
                    stopped_early=stopped, reused_prompt_tokens=reused, backend=self.name)

    @staticmethod
    def _sampling(settings: GenerationSettings) -> dict[str, Any]:
        # min_p and typical_p off: transformers applies neither, the settings mean the same here.
        common = dict(repeat_penalty=settings.repetition_penalty, min_p=0.0, typical_p=1.0)
        if not settings.do_sample:
            return common | dict(temp=0.0)
        return common | dict(temp=settings.temperature, top_p=settings.top_p, top_k=settings.top_k)

    @staticmethod
    def _keep_prefix(llama: Any, tokens: list[int]) -> int:
        """Keep the context's tokens the prompt begins with (all but its last token at most, which
        must be read to sample from); drop the rest. Returns how many were kept."""
        common = 0
        for cached, token in zip(llama.input_ids[:llama.n_tokens], tokens[:-1]):
            if cached != token:
                break
            common += 1
        if common < llama.n_tokens:
            llama.n_tokens = common
            llama._ctx.kv_cache_seq_rm(-1, common, -1)
        return common

    @staticmethod
    def _prefill(llama: Any, tokens: list[int], chunk: int, cancel: threading.Event | None) -> bool:
        """Read the prompt but its last token from where the kept prefix ends, chunk by chunk;
        False if cancel was set meanwhile (what was read stays for reuse)."""
        for start in range(llama.n_tokens, len(tokens) - 1, chunk):
            if cancel is not None and cancel.is_set():
                return False
            llama.eval(tokens[start:min(start + chunk, len(tokens) - 1)])
        return not (cancel is not None and cancel.is_set())

    def warm(self, tokens: list[int], cancel: threading.Event | None = None, chunk: int = 32,
             cache_slot: str = REPLY_SLOT) -> int:
        """Read the beginning of a coming prompt into a slot ahead of time; how many tokens were read."""
        with self._lock:
            llama = self._context(cache_slot)
            try:
                before = self._keep_prefix(llama, tokens + [-1])  # -1: all of `tokens` may be kept
                self._prefill(llama, tokens + [-1], chunk, cancel)
            except BaseException:
                llama.reset()
                raise
            return llama.n_tokens - before

    def forget_caches(self) -> None:
        with self._lock:
            for llama in self._contexts.values():
                llama.reset()

    def token_logprobs(self, context: list[int], targets: list[int]) -> list[float]:
        """Log-probability of each target token after the context and the targets before it (what
        perplexity is computed from), in a scoring slot of its own: the conversation's are untouched.
        The slot keeps what it read, so scoring a dialogue turn by turn reads each token once."""
        import numpy as np

        lib = self._llama_cpp
        with self._lock:
            llama = self._context("score")
            try:
                self._keep_prefix(llama, context)
                llama.eval(context[llama.n_tokens:])  # at least the last token: its logits are needed
                logprobs = []
                for target in targets:
                    logits = np.ctypeslib.as_array(lib.llama_get_logits_ith(llama.ctx, -1),
                                                   shape=(llama.n_vocab(),)).astype(np.float64)
                    top = logits.max()
                    logprobs.append(float(logits[target] - top - np.log(np.exp(logits - top).sum())))
                    llama.eval([target])
            except BaseException:
                llama.reset()
                raise
            return logprobs

    # -- adapters -----------------------------------------------------------------------------

    def load_adapter(self, path: str | os.PathLike, allow_base_mismatch: bool = False) -> None:
        """Swap in a PEFT LoRA adapter (converted to GGUF once); on refusal (AdapterError) the
        previous state keeps serving. The model stays loaded: only the contexts' adapter changes."""
        info = read_adapter_info(path)
        problems = check_adapter_compatibility(info, self.model_id, self._model_shapes(), allow_base_mismatch)
        if problems:
            raise AdapterError(f"Adapter {info.path} does not fit model {self.model_id}: " + " ".join(problems))
        adapter_file = gguf_adapter(info, self._model_shapes().config.to_dict(), self.models_dir)
        with self._lock:
            previous = self.adapter_file
            try:
                for slot, llama in self._contexts.items():
                    self._set_adapter(slot, llama, adapter_file)
            except AdapterError:
                for slot, llama in self._contexts.items():
                    self._set_adapter(slot, llama, previous)
                raise
            self.adapter_file, self.adapter_path = adapter_file, str(info.path)

    def unload_adapter(self) -> None:
        with self._lock:
            for slot, llama in self._contexts.items():
                self._set_adapter(slot, llama, None)
            self.adapter_file = self.adapter_path = None

    def _set_adapter(self, slot: str, llama: Any, adapter_file: Path | None) -> None:
        lib = self._llama_cpp
        if adapter_file is None:
            lib.llama_set_adapters_lora(llama.ctx, None, 0, None)
            adapter = None
        else:
            adapter = lib.llama_adapter_lora_init(llama.model, str(adapter_file).encode())
            if not adapter:
                raise AdapterError(f"llama.cpp cannot load the LoRA file {adapter_file}.")
            handles = (lib.llama_adapter_lora_p_ctypes * 1)(adapter)
            if lib.llama_set_adapters_lora(llama.ctx, handles, 1, (ctypes.c_float * 1)(1.0)):
                lib.llama_adapter_lora_free(adapter)
                raise AdapterError(f"llama.cpp refused the LoRA file {adapter_file}.")
        # The replaced adapter is freed only once the context no longer uses it.
        old = self._adapters.pop(slot, None)
        if adapter is not None:
            self._adapters[slot] = adapter
        if old is not None:
            lib.llama_adapter_lora_free(old)
        llama.reset()  # other weights: the kept keys and values no longer hold

    def _model_shapes(self) -> Any:
        """The model's module tree without weights (meta device): what adapters are checked against."""
        if self._shape_model is None:
            import torch
            from transformers import AutoConfig, AutoModelForCausalLM

            config = AutoConfig.from_pretrained(self.model_folder, local_files_only=Path(self.model_folder).is_dir())
            with torch.device("meta"):
                self._shape_model = AutoModelForCausalLM.from_config(config)
        return self._shape_model

    # -- diagnostics, shutdown ----------------------------------------------------------------

    def describe(self) -> dict[str, str]:
        return {"backend": self.name, "model": self.model_id, "device": f"cpu ({self.threads} threads)",
                "dtype": self.gguf_path.name, "adapter": self.adapter_path or ""}

    def close(self) -> None:
        with self._lock:
            for slot in list(self._adapters):
                self._set_adapter(slot, self._contexts[slot], None)
            for llama in self._contexts.values():
                llama.close()
            self._contexts.clear()
