"""Where esbot's prepared model assets live, and how model names map onto them.

Pure Python on purpose (no rclpy, no torch): ``scripts/prepare_models.py`` imports this
before the ROS workspace is built, and nodes import it to resolve their model parameters.

The models folder uses hub ids as folder names (``HuggingFaceTB/SmolLM2-135M-Instruct``),
so one parameter value works on a robot with internet (the hub id is downloaded) and on
an offline machine (the id maps onto the prepared local copy).
"""

from __future__ import annotations

import os
from pathlib import Path

#: Environment variable that overrides the models folder.
MODELS_DIR_ENV = "ESBOT_MODELS_DIR"

#: Used when ``ESBOT_MODELS_DIR`` is unset or empty.
FALLBACK_MODELS_DIR = Path("~/.local/share/esbot/models")


def default_models_dir() -> Path:
    """The models folder: ``$ESBOT_MODELS_DIR`` if set, else ``~/.local/share/esbot/models``.

    The folder may not exist yet (``scripts/prepare_models.py`` creates it).
    """
    override = os.environ.get(MODELS_DIR_ENV, "").strip()
    return Path(override or FALLBACK_MODELS_DIR).expanduser()


def resolve_model(name_or_path: str | os.PathLike, models_dir: str | os.PathLike | None = None) -> str:
    """Turn a model parameter into something ``from_pretrained`` & co. can load.

    * an existing local path is returned as given (``~`` expanded);
    * otherwise, if ``<models_dir>/<name_or_path>`` is a folder, that folder is returned,
      so a hub id maps onto the prepared offline copy;
    * otherwise the value is returned unchanged (a hub id, for machines with internet).

    ``models_dir`` defaults to :func:`default_models_dir`.
    """
    name = os.fspath(name_or_path)
    if not name:
        return name
    if os.path.exists(name):
        return name
    expanded = os.path.expanduser(name)
    if expanded != name and os.path.exists(expanded):
        return expanded
    # Only relative names can be ids inside the models folder; an absolute path that
    # does not exist stays as it is (and fails loudly where it is used).
    if not os.path.isabs(expanded):
        root = Path(models_dir).expanduser() if models_dir is not None else default_models_dir()
        candidate = root / name
        if candidate.is_dir():
            return str(candidate)
    return name
