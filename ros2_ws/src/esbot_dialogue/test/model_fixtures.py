"""The real default model and tokenizer as session fixtures, for every test suite that needs them
(imported by this folder's conftest.py and by training/tests/conftest.py).

Model-dependent tests fail with the fix to apply when the model has not been prepared in the
models folder ($ESBOT_MODELS_DIR or ~/.local/share/esbot/models). Some tests check
SmolLM2-135M's exact sizes (576 hidden).
"""

from pathlib import Path

import pytest

from esbot_common.model_store import resolve_model

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"


@pytest.fixture(scope="session")
def model_dir() -> str:
    resolved = resolve_model(MODEL_ID)
    if not Path(resolved).is_dir():
        pytest.fail(f"{MODEL_ID} is not prepared locally: run `make setup` (or scripts/prepare_models.py)")
    return resolved


@pytest.fixture(scope="session")
def tokenizer(model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir, local_files_only=True)


@pytest.fixture(scope="session")
def session_transformers_llm(model_dir):
    from esbot_dialogue.llm.transformers_backend import TransformersBackend

    return TransformersBackend.load(MODEL_ID, device="cpu")


@pytest.fixture
def transformers_llm(session_transformers_llm):
    """The shared model, handed back adapter-free whatever the test did to it."""
    yield session_transformers_llm
    session_transformers_llm.unload_adapter()
