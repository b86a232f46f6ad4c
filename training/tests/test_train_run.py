"""A real, short fine-tuning run of the default model on an ESConv slice, on the CPU.

Kept small for 2 CPU cores: a short system prompt and max_length 128 (training runs at a few
dozen tokens/s here), the same 2 examples for 6 steps at lr 1e-3 so the training loss must
fall (the eval loss is recorded, not required to fall: 2 examples overfit). Then the adapter is loaded by the robot's TransformersBackend and answers in the DialogueEngine.
"""

import csv
import json

from pathlib import Path

import pytest

from esbot_training.train import main

MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
CONFIG = Path(__file__).resolve().parents[1] / "configs" / "smollm2_cpu.yaml"


def settings(tmp_path, *extra):
    args = [
        "--config", str(CONFIG),
        "--set", f"train.output_root={tmp_path}", "--set", "train.run_name=short",
        "--set", "data.system_prompt=You are a kind listener. Reply briefly.",
        "--set", "data.max_length=128", "--set", "data.max_target_tokens=40",
        "--set", "data.max_train_dialogues=3", "--set", "data.max_eval_dialogues=1",
        "--set", "data.max_train_examples=2", "--set", "data.max_eval_examples=2",
        "--set", "train.per_device_train_batch_size=2", "--set", "train.per_device_eval_batch_size=2",
        "--set", "train.learning_rate=1e-3", "--set", "train.warmup_ratio=0",
        "--set", "train.eval_strategy=steps", "--set", "train.eval_steps=3", "--set", "train.logging_steps=1",
        "--set", "train.group_by_length=false", "--set", "train.disable_tqdm=true",
    ]
    return args + [item for pair in (("--set", e) for e in extra) for item in pair]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, esconv_dir):
    root = tmp_path_factory.mktemp("runs")
    assert main(settings(root, "train.max_steps=6")) == 0
    return root / "short"


def test_the_loss_goes_down_and_everything_is_written(run_dir):
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_steps"] == 6
    assert metrics["last_train_loss"] < 0.8 * metrics["first_train_loss"]
    assert metrics["first_eval_loss"] is not None and metrics["best_eval_loss"] is not None
    rows = list(csv.DictReader((run_dir / "loss_curve.csv").open()))
    assert [r["split"] for r in rows].count("eval") == 2 and [r["split"] for r in rows].count("train") >= 6
    assert (run_dir / "loss_curve.png").stat().st_size > 5000
    for name in ("config.yaml", "train.log", "data_report.json", "checkpoints/checkpoint-6"):
        assert (run_dir / name).exists(), name
    assert "train loss" in (run_dir / "train.log").read_text()


def test_adapter_and_manifest(run_dir, model_dir):
    from transformers import AutoConfig

    from esbot_dialogue.adapters import config_fingerprint, read_adapter_info

    adapter = run_dir / "adapter"
    info = read_adapter_info(adapter)
    assert (info.r, info.lora_alpha, info.base_model_name_or_path) == (64, 32.0, MODEL_ID)
    manifest = info.manifest
    assert manifest["base_model_id"] == MODEL_ID
    assert manifest["base_config_hash"] == config_fingerprint(AutoConfig.from_pretrained(model_dir))
    assert manifest["context_representation"] == "raw"
    assert manifest["dataset"]["name"] == "esconv" and manifest["dataset"]["train_split"] == "train"
    assert manifest["hyperparameters"]["lora"]["target_modules"] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert manifest["results"]["last_train_loss"] < manifest["results"]["first_train_loss"]
    assert {"torch", "transformers", "peft", "trl", "datasets"} <= set(manifest["library_versions"])
    card = (adapter / "README.md").read_text()
    assert MODEL_ID in card and "CC BY-NC" in card


def test_the_robot_loads_the_adapter_and_answers(run_dir, model_dir):
    from esbot_dialogue.dialogue_engine import DialogueEngine
    from esbot_dialogue.llm import GenerationSettings
    from esbot_dialogue.llm.transformers_backend import TransformersBackend
    from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder

    transformers_llm = TransformersBackend.load(MODEL_ID, device="cpu")
    transformers_llm.load_adapter(run_dir / "adapter")
    assert transformers_llm.adapter_path == str(run_dir / "adapter")
    manifest = json.loads((run_dir / "adapter" / "esbot_manifest.json").read_text())
    builder = PromptBuilder(transformers_llm.tokenizer, system_prompt=manifest["system_prompt"] or DEFAULT_SYSTEM_PROMPT,
                            history_representation=manifest["context_representation"])
    engine = DialogueEngine(transformers_llm, builder, GenerationSettings(max_new_tokens=24, seed=1))
    chunks = []
    outcome = engine.answer("u1", "I lost my job today and I feel awful.", chunks.append)
    assert not outcome.ignored and outcome.reply_text.strip()
    assert chunks[-1].is_final and len(engine.history) == 2


def test_resume_continues_from_the_last_checkpoint(run_dir, capsys):
    assert main(settings(run_dir.parent, "train.max_steps=8") + ["--resume"]) == 0
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["global_steps"] == 8
    # The loss log continues where the checkpoint left it (steps 1..8 once each), not from step 1 again.
    steps = [int(r["step"]) for r in csv.DictReader((run_dir / "loss_curve.csv").open()) if r["split"] == "train"]
    assert steps == list(range(1, 9))
