"""A remote backend with the robot's own model behind it: the conversation goes on when the server does not.

When the remote backend (a GPU server) fails, the turn is finished on the onboard backend:
before the first word, the whole reply comes from it; mid-reply, it continues the words already
spoken (the prompt plus them), so the person hears one reply. The onboard backend is loaded
lazily, on the first failure (a small model loads in about a second on the robot PC; keeping it
warm would hold its memory all day for a server that may never fail). While degraded, every turn
goes to the onboard backend and a probe asks the server every retry_after_s whether it is back;
describe() says which backend answers and since when, for /diagnostics.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator

from esbot_common.log import Log

from ..prompting import BuiltPrompt
from .base import REPLY_SLOT, BackendUnavailable, GenerationSettings, GenerationStats, LLMBackend


class FailoverBackend:
    """An LLMBackend: `remote` while it answers, `load_onboard()` when it does not."""

    def __init__(self, remote: Any, load_onboard: Callable[[], LLMBackend], log: Log,
                 retry_after_s: float = 10.0, probe: Callable[[], object] | None = None) -> None:
        """probe: raises BackendUnavailable while the server is down (default: remote.served_models)."""
        self.remote = remote
        self._load_onboard = load_onboard
        self.onboard: LLMBackend | None = None
        self.log = log
        self.retry_after_s = retry_after_s
        self._probe = probe or remote.served_models
        self._lock = threading.Lock()  # guards the state below and the onboard's loading
        self.degraded_since: float | None = None  # time.time() of the failure; None while remote answers
        self.last_failure = ""
        self.failovers = 0
        self._last_probe = 0.0
        self._probing: threading.Thread | None = None
        self.adapter_path: str | None = None  # the served name
        self._adapter_source: str | None = None  # as asked for: a local folder the onboard model can load
        self.last_stats: GenerationStats | None = None

    @property
    def name(self) -> str:
        return f"{self.remote.name}+failover"

    @property
    def tokenizer(self) -> Any:
        return self.remote.tokenizer

    @property
    def model_id(self) -> str:
        return self.remote.model_id

    def count_tokens(self, text: str) -> int:
        return self.remote.count_tokens(text)

    def _onboard(self) -> LLMBackend:
        with self._lock:
            if self.onboard is None:
                started = time.monotonic()
                self.onboard = self._load_onboard()
                self.log.warning(f"llm: onboard backend {self.onboard.describe()['backend']} loaded in "
                                 f"{time.monotonic() - started:.1f} s to answer while the server is away")
                if self._adapter_source:
                    self._onboard_adapter(self._adapter_source)
            return self.onboard

    def _onboard_adapter(self, path: str | None) -> None:
        from ..adapters import AdapterError

        try:
            if path:
                self.onboard.load_adapter(path)
            else:
                self.onboard.unload_adapter()
        except AdapterError as error:  # a served adapter name is no local folder: base model onboard
            self.log.warning(f"llm: the onboard backend runs without the adapter: {error}")

    def _degrade(self, error: BackendUnavailable) -> None:
        self.failovers += 1
        self.last_failure = str(error)
        self.degraded_since = time.time()
        self._last_probe = time.monotonic()
        self.log.error(f"llm: {error}")

    def _remote_is_back(self) -> bool:
        """While degraded: False, and every retry_after_s a probe in the background (a hung server
        must not delay the reply) that switches back once the server answers."""
        if self.degraded_since is None:
            return True
        now = time.monotonic()
        if now - self._last_probe >= self.retry_after_s and not (self._probing and self._probing.is_alive()):
            self._last_probe = now
            self._probing = threading.Thread(target=self._probe_remote, name="esbot-llm-probe", daemon=True)
            self._probing.start()
        return False

    def _probe_remote(self) -> None:
        from ..adapters import AdapterError

        try:
            self._probe()
            if self._adapter_source:  # asked for while the server was away: is it served?
                self.remote.load_adapter(self._adapter_source)
        except BackendUnavailable:
            return
        except AdapterError as error:
            self.log.error(f"llm: the server is back but {error} It answers with its base model.")
            self.remote.unload_adapter()
            self.adapter_path = None
        self.log.info(f"llm: {self.remote.describe()['device']} answers again; back to the remote backend "
                      f"after {time.time() - self.degraded_since:.0f} s on the onboard one")
        self.degraded_since = None

    def stream(self, prompt: BuiltPrompt, settings: GenerationSettings | None = None,
               cancel: threading.Event | None = None, prefill_chunk: int = 0,
               cache_slot: str = REPLY_SLOT) -> Iterator[str]:
        settings = settings or GenerationSettings()
        if not self._remote_is_back():
            yield from self._stream_onboard(prompt, settings, cancel, prefill_chunk, cache_slot)
            return
        said: list[str] = []
        try:
            for piece in self.remote.stream(prompt, settings, cancel, prefill_chunk, cache_slot):
                said.append(piece)
                yield piece
            self.last_stats = self.remote.last_stats
            return
        except BackendUnavailable as error:
            self._degrade(error)
            self.log.error(f"llm: the onboard backend finishes this turn ({len(''.join(said))} characters "
                           "were already said)")
        if cancel is not None and cancel.is_set():
            return
        text = "".join(said)
        if text:  # continue the reply already begun, not a second one
            added = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            prompt = dataclasses.replace(prompt, prompt_text=prompt.prompt_text + text,
                                         input_ids=list(prompt.input_ids) + added,
                                         prompt_tokens=prompt.prompt_tokens + len(added))
            settings = dataclasses.replace(settings, max_new_tokens=max(1, settings.max_new_tokens - len(added)))
        yield from self._stream_onboard(prompt, settings, cancel, prefill_chunk, cache_slot)

    def _stream_onboard(self, prompt: BuiltPrompt, settings: GenerationSettings, cancel: threading.Event | None,
                        prefill_chunk: int, cache_slot: str) -> Iterator[str]:
        onboard = self._onboard()
        try:
            yield from onboard.stream(prompt, settings, cancel, prefill_chunk, cache_slot)
        finally:
            self.last_stats = onboard.last_stats

    def warm(self, tokens: list[int], cancel: threading.Event | None = None, chunk: int = 32,
             cache_slot: str = REPLY_SLOT) -> int:
        if self.degraded_since is not None and self.onboard is not None:
            return self.onboard.warm(tokens, cancel, chunk, cache_slot)
        return self.remote.warm(tokens, cancel, chunk, cache_slot)

    def forget_caches(self) -> None:
        self.remote.forget_caches()
        if self.onboard is not None:
            self.onboard.forget_caches()

    def load_adapter(self, path: str, allow_base_mismatch: bool = False) -> None:
        """The served adapter of that name on the server (a path names its folder); the onboard
        model, when it answers, loads it from the path. While the server is away the name is kept
        and asked for when it is back."""
        try:
            self.remote.load_adapter(path, allow_base_mismatch)
        except BackendUnavailable as error:
            self._degrade(error)
            self.remote.adapter_path = Path(path).name
        self._adapter_source = path
        self.adapter_path = self.remote.adapter_path
        self._update_onboard_adapter()

    def unload_adapter(self) -> None:
        self.remote.unload_adapter()
        self._adapter_source = self.adapter_path = None
        self._update_onboard_adapter()

    def _update_onboard_adapter(self) -> None:
        if self.onboard is not None:
            self._onboard_adapter(self._adapter_source)
        elif self.degraded_since is not None:
            self._onboard()  # loads with the adapter

    def describe(self) -> dict[str, str]:
        values = dict(self.remote.describe())
        values["failovers"] = str(self.failovers)
        if self.degraded_since is None:
            values["state"] = "remote"
        else:
            onboard = self.onboard.describe()["backend"] if self.onboard is not None else "onboard"
            values["state"] = (f"degraded: {onboard} answers since {time.strftime('%H:%M:%S', time.localtime(self.degraded_since))} "
                               f"({self.last_failure})")
        return values

    def close(self) -> None:
        self.remote.close()
        if self.onboard is not None:
            self.onboard.close()
