"""Fixtures of esbot_dialogue's unit tests: the real default model (model_fixtures.py) and LoRA
adapters for it (lora_test_adapters.py)."""

import sys
from pathlib import Path

# Import the package from this source tree, so the tests also run outside the repository's
# pytest.ini (e.g. colcon test from the package folder) without an install.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model_fixtures import transformers_llm, model_dir, session_transformers_llm, tokenizer  # noqa: E402,F401
from lora_test_adapters import adapters  # noqa: E402,F401
