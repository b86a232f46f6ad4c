"""Fixtures for esbot_training's tests: the real SmolLM2 tokenizer, the ESConv files read in place.

ESConv is located at <repo>/../shared/data/esconv (override: ESBOT_ESCONV_DIR); it is never
copied into the repository. ExTES is not available: tests write ExTES-shaped samples.
"""

import os
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# Import the packages from this source tree (also outside the repository's pytest.ini).
for path in (REPO / "training", REPO / "ros2_ws" / "src" / "esbot_dialogue"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="session")
def esconv_dir() -> Path:
    location = Path(os.environ.get("ESBOT_ESCONV_DIR", "") or REPO.parent / "shared" / "data" / "esconv")
    if not (location / "train.jsonl").is_file():
        pytest.skip(f"ESConv is not at {location} (set ESBOT_ESCONV_DIR to a thu-coai/esconv copy)")
    return location


@pytest.fixture(scope="session")
def model_dir() -> str:
    from esbot_dialogue.model_store import resolve_model

    resolved = resolve_model(MODEL_ID)
    if not Path(resolved).is_dir():
        pytest.fail(f"{MODEL_ID} is not prepared locally: run `make setup` (or scripts/prepare_models.py)")
    return resolved


@pytest.fixture(scope="session")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
