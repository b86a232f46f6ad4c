"""llama.cpp's own OpenAI-compatible server (llama_cpp.server) on 127.0.0.1, for the openai backend's
tests and benchmark: a real server process, started and killed like a GPU box that goes away."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LlamaServer:
    """`python -m llama_cpp.server` serving one GGUF (and LoRA-free); start() waits until /v1/models answers."""

    def __init__(self, gguf: Path, port: int | None = None, threads: int = 2, model_alias: str = "smollm2",
                 parallel: int = 1, log_path: Path | None = None) -> None:
        self.gguf, self.port, self.threads, self.alias = gguf, port or free_port(), threads, model_alias
        self.parallel = parallel
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self, timeout_s: float = 60.0) -> "LlamaServer":
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(self.gguf), "--model_alias", self.alias,
             "--host", "127.0.0.1", "--port", str(self.port), "--n_ctx", "2048", "--n_threads", str(self.threads),
             "--n_threads_batch", str(self.threads), "--verbose", "false"],
            stdout=log, stderr=subprocess.STDOUT, env=os.environ | {"OMP_NUM_THREADS": str(self.threads)})
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {self.process.returncode} (log: {self.log_path})")
            try:
                with urllib.request.urlopen(f"{self.url}/models", timeout=1) as response:
                    if response.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.kill()
        raise RuntimeError(f"llama_cpp.server did not answer within {timeout_s} s")

    def kill(self) -> None:
        """SIGKILL, as a crashed or unplugged server: no goodbye on open streams."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
