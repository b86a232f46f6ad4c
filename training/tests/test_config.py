"""Configuration files, overrides, and the one-message errors of the CLI."""

import subprocess
import sys
from pathlib import Path

import pytest

from esbot_training.config import load_config
from esbot_training.errors import TrainingConfigError
from esbot_training.train import (_out_of_memory_is_a_config_error, load_model_and_tokenizer, main,
                                  pick_device_and_dtype)

CONFIGS = Path(__file__).resolve().parents[1] / "configs"
REPO = Path(__file__).resolve().parents[2]


def test_default_config_reproduces_the_papers():
    config = load_config(CONFIGS / "smollm2_cpu.yaml")
    assert config.model.model_id == "HuggingFaceTB/SmolLM2-135M-Instruct"
    assert (config.lora.r, config.lora.alpha, config.lora.dropout, config.lora.bias) == (64, 32, 0.1, "none")
    assert config.lora.target_modules == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert config.train.learning_rate == 2e-4 and config.train.eval_strategy == "epoch"
    assert config.model.dtype == "auto" and not config.model.load_in_4bit
    assert load_config(CONFIGS / "smollm2_cpu_r16.yaml").lora.r == 16


@pytest.mark.parametrize("name, model_id", [
    ("mistral7b_qlora.yaml", "mistralai/Mistral-7B-Instruct-v0.2"),
    ("llama2_7b_qlora.yaml", "meta-llama/Llama-2-7b-chat-hf"),
    ("phi3_mini_qlora.yaml", "microsoft/Phi-3-mini-4k-instruct"),
])
def test_gpu_configs(name, model_id):
    config = load_config(CONFIGS / name)
    assert config.model.model_id == model_id and config.model.load_in_4bit
    assert (config.lora.r, config.lora.alpha, config.train.learning_rate) == (64, 32, 2e-4)


def test_overrides_and_their_errors(tmp_path):
    config = load_config(CONFIGS / "smollm2_cpu.yaml", [
        "train.max_steps=40", "learning_rate=1e-4", "lora.target_modules=[q_proj, v_proj]",
        "data.max_train_dialogues=null", "data.history_representation=keypos",
    ])
    assert (config.train.max_steps, config.train.learning_rate) == (40, 1e-4)
    assert config.lora.target_modules == ["q_proj", "v_proj"]
    assert config.data.history_representation == "keypos"
    with pytest.raises(TrainingConfigError, match="valid train settings: .*learning_rate"):
        load_config(None, ["train.learnig_rate=1"])
    with pytest.raises(TrainingConfigError, match="must be int"):
        load_config(None, ["train.max_steps=many"])
    with pytest.raises(TrainingConfigError, match="valid ones are: raw, keypos, nostopwords"):
        load_config(None, ["data.history_representation=summary"])
    with pytest.raises(TrainingConfigError, match="eval_steps"):
        load_config(None, ["train.eval_strategy=steps"])
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  model_id: x\noptimizer:\n  lr: 1\n", encoding="utf-8")
    with pytest.raises(TrainingConfigError, match="Unknown section 'optimizer'"):
        load_config(bad)


def run_main(capsys, *args):
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.err


def base_args(tmp_path):
    return ["--config", str(CONFIGS / "smollm2_cpu.yaml"), "--set", f"train.output_root={tmp_path}",
            "--set", "data.max_train_dialogues=2", "--set", "data.max_eval_dialogues=1", "--set", "train.disable_tqdm=true"]


def test_bad_configurations_end_with_one_message(tmp_path, capsys):
    code, err = run_main(capsys, *base_args(tmp_path), "--set", "model.model_id=/no/such/model")
    assert code == 2 and "esbot_training: error:" in err and "model.model_id" in err and "Traceback" not in err

    code, err = run_main(capsys, *base_args(tmp_path), "--set", "train.run_name=t2",
                         "--set", "lora.target_modules=[q_proj, c_attn]")
    assert code == 2 and "no module named 'c_attn'" in err and "gate_proj" in err  # lists the valid names

    code, err = run_main(capsys, *base_args(tmp_path), "--set", "train.run_name=t3", "--set", "data.max_target_tokens=2")
    assert code == 2 and "No training examples are left" in err and "max_target_tokens" in err

    code, err = run_main(capsys, *base_args(tmp_path), "--set", "train.run_name=t4", "--set", "model.load_in_4bit=true")
    assert code == 2 and ("needs a CUDA GPU" in err or "needs bitsandbytes" in err)

    code, err = run_main(capsys, *base_args(tmp_path), "--set", "train.run_name=t5", "--resume")
    assert code == 2 and "no checkpoint to resume" in err

    code, err = run_main(capsys, "--config", str(tmp_path / "missing.yaml"))
    assert code == 2 and "cannot be read" in err


def test_an_existing_run_directory_is_not_overwritten_silently(tmp_path, capsys):
    (tmp_path / "smollm2-esconv").mkdir()
    (tmp_path / "smollm2-esconv" / "something").write_text("x")
    code, err = run_main(capsys, *base_args(tmp_path))
    assert code == 2 and "--resume" in err and "train.overwrite=true" in err


def test_device_dtype_and_loading_are_the_robots_with_trainings_limits(tmp_path):
    import torch

    assert pick_device_and_dtype(load_config(None, ["model.device=cpu"])) == ("cpu", torch.float32)
    with pytest.raises(TrainingConfigError, match="on the CPU is not supported for training"):
        pick_device_and_dtype(load_config(None, ["model.device=cpu", "model.dtype=bfloat16"]))
    if not torch.cuda.is_available():
        with pytest.raises(TrainingConfigError, match=r"no CUDA GPU.*\(model.device, model.dtype\)"):
            pick_device_and_dtype(load_config(None, ["model.device=cuda:1"]))
    missing = load_config(None, [f"model.model_id={tmp_path / 'no-such-model'}"])
    with pytest.raises(TrainingConfigError, match="neither a local folder.*Set model.model_id"):
        load_model_and_tokenizer(missing, torch.float32)


def test_out_of_memory_says_what_to_change():
    import torch

    config = load_config(CONFIGS / "smollm2_cpu.yaml")
    with pytest.raises(TrainingConfigError, match="per_device_train_batch_size.*max_length.*gradient_checkpointing"):
        with _out_of_memory_is_a_config_error(config):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_the_cli_prints_no_traceback(tmp_path):
    env_path = ":".join(str(path) for path in (REPO / "training", REPO / "ros2_ws" / "src" / "esbot_common",
                                               REPO / "ros2_ws" / "src" / "esbot_dialogue"))
    import os

    env = {**os.environ, "PYTHONPATH": env_path + ":" + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-m", "esbot_training.train", "--set", "lora.r=0"],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "esbot_training: error: Invalid configuration: lora.r and lora.alpha must be positive."
    ]
