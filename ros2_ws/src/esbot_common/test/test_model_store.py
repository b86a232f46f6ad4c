"""Model names onto the models folder; the prepared folder itself is tested in tests/test_model_assets.py."""

from esbot_common.model_store import default_models_dir, resolve_model


def test_resolve_model_leaves_unknown_ids_and_keeps_local_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("ESBOT_MODELS_DIR", str(tmp_path / "models"))
    (tmp_path / "models" / "org" / "present").mkdir(parents=True)
    assert resolve_model("org/present") == str(tmp_path / "models" / "org" / "present")
    assert resolve_model("nobody/unknown-model-xyz") == "nobody/unknown-model-xyz"
    assert resolve_model("nobody/unknown-model-xyz", tmp_path) == "nobody/unknown-model-xyz"
    local = tmp_path / "my-checkpoint"
    local.mkdir()
    assert resolve_model(str(local)) == str(local)  # an existing path wins, as given
    assert resolve_model(local) == str(local)  # PathLike too
    missing = str(tmp_path / "absent" / "model")
    assert resolve_model(missing) == missing


def test_default_models_dir_honours_env(tmp_path, monkeypatch):
    monkeypatch.setenv("ESBOT_MODELS_DIR", str(tmp_path / "elsewhere"))
    assert default_models_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("ESBOT_MODELS_DIR")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_models_dir() == tmp_path / ".local" / "share" / "esbot" / "models"
