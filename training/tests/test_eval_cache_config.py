"""The JSONL cache (crash-safe, reloaded) and the evaluation configuration."""

import json
from pathlib import Path

import pytest

from esbot_training.errors import TrainingConfigError
from esbot_training.evaluate import main
from esbot_training.evaluation.cache import JsonlCache, cache_key
from esbot_training.evaluation.config import load_eval_config

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


def test_cache_key_is_stable_and_sensitive():
    assert cache_key(a=1, b=[1, 2]) == cache_key(b=[1, 2], a=1)
    assert cache_key(a=1, b=[1, 2]) != cache_key(a=1, b=[2, 1])


def test_cache_survives_a_line_cut_off_by_a_crash(tmp_path):
    path = tmp_path / "c.jsonl"
    cache = JsonlCache(path)
    cache.put("k1", {"generated": "one"})
    cache.put("k2", {"generated": "two"})
    with path.open("a") as handle:  # a crash in the middle of the third record
        handle.write('{"key": "k3", "generated": "thr')
    reloaded = JsonlCache(path)
    assert reloaded.loaded == 2 and reloaded.damaged_lines == 1
    assert reloaded.get("k1")["generated"] == "one" and reloaded.get("k3") is None
    reloaded.put("k3", {"generated": "three"})  # starts on a fresh line
    again = JsonlCache(path)
    assert again.get("k3")["generated"] == "three" and again.damaged_lines == 1
    assert again.stats() == {"loaded": 3, "hits": 1, "written": 0, "damaged_lines": 1}
    assert all(json.loads(line)["key"] for line in path.read_text().splitlines() if line.endswith("}"))


def test_the_shipped_config_and_overrides():
    config = load_eval_config(CONFIGS / "eval_esconv_cpu.yaml", ["data.max_dialogues=2", "curve_utterances=[0,3]"])
    assert config.data.representations == ["raw", "keypos", "nostopwords"]
    assert (config.generation.temperature, config.generation.top_p, config.generation.top_k,
            config.generation.max_new_tokens) == (0.7, 0.95, 50, 128)
    assert config.data.max_dialogues == 2 and config.curve_points() == [0, 3]
    assert config.report.output_dir == "results/evaluation_esconv"


def test_the_generation_section_is_the_robots_settings_with_the_papers_values():
    from esbot_dialogue.llm import GenerationSettings

    generation = load_eval_config(None, ["generation.do_sample=false", "generation.batch_size=4"]).generation
    assert isinstance(generation, GenerationSettings)
    assert (generation.repetition_penalty, generation.seed, generation.do_sample, generation.batch_size) == (
        1.0, 42, False, 4)
    assert generation.generate_arguments() == {"max_new_tokens": 128, "do_sample": False, "repetition_penalty": 1.0}


@pytest.mark.parametrize("override, message", [
    ("data.representation=raw", "Unknown setting data.representation"),
    ("generation.seed=null", "generation.seed must be an integer"),
    ("data.representations=[raw,summary]", "data.representations"),
    ("generation.max_new_tokens=4096", "context_window"),
    ("judge.backend=anthropic", "judge.backend"),
    ("judge.rubrics=[turn_0to3]", "judge.rubrics"),
    ("metrics.curve_utterances=[0,two]", "curve_utterances"),
])
def test_invalid_settings_are_refused(override, message):
    with pytest.raises(TrainingConfigError, match=message):
        load_eval_config(None, [override])


def test_openai_judge_needs_a_url():
    with pytest.raises(TrainingConfigError, match="base_url"):
        load_eval_config(None, ["judge.backend=openai"])


def test_cli_reports_a_config_error_in_one_line(capsys):
    assert main(["--set", "model.include_base=false"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("esbot_training: error: ") and "nothing to evaluate" in error
    assert "Traceback" not in error
