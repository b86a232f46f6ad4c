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
for path in (REPO / "training", REPO / "ros2_ws" / "src" / "esbot_common", REPO / "ros2_ws" / "src" / "esbot_dialogue",
             REPO / "ros2_ws" / "src" / "esbot_dialogue" / "test"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from model_fixtures import model_dir, session_transformers_llm, tokenizer  # noqa: E402,F401  (the real SmolLM2)


@pytest.fixture(scope="session")
def esconv_dir() -> Path:
    location = Path(os.environ.get("ESBOT_ESCONV_DIR", "") or REPO.parent / "shared" / "data" / "esconv")
    if not (location / "train.jsonl").is_file():
        pytest.skip(f"ESConv is not at {location} (set ESBOT_ESCONV_DIR to a thu-coai/esconv copy)")
    return location
