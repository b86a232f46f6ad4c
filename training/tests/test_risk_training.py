"""The learned safety tier's training: corpus, augmentation, grouped folds, calibration,
and a short real run whose exported model the robot's LearnedTier loads and uses."""

import json
import random
import shutil
from pathlib import Path

import pytest
import torch

from esbot_dialogue.safety.levels import RiskLevel
from esbot_training.risk.augment import spoken_variant
from esbot_training.risk.calibration import _highest_reaching, calibrate, figures
from esbot_training.risk.config import CalibrationConfig, load_risk_config
from esbot_training.risk.corpus import REPLY, USER, RiskExample, build_corpus, grouped_folds, text_key

REPO = Path(__file__).resolve().parents[2]
AUTHORED = REPO / "training" / "risk_corpus" / "authored"


def test_the_authored_corpus_follows_the_guidelines():
    user, reply = [], []
    for file in sorted(AUTHORED.glob("*.jsonl")):
        for line in file.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            (reply if "label" in row else user).append(row)
    assert len(user) >= 3000 and len(reply) >= 800
    for row in user:
        assert row["level"] in (0, 1, 2, 3) and isinstance(row["context"], list)
        assert (row["category"] == "") == (row["level"] == 0)
    assert {r["label"] for r in reply} == {"safe", "means", "encourages_harm", "dismisses_risk"}
    assert all(r["user_risk"] >= 2 for r in reply if r["label"] == "dismisses_risk")
    heldout = {json.loads(line)["text"] for line in (REPO / "tests/data/heldout/user_heldout.jsonl").read_text()
               .splitlines()}
    assert not heldout & {row["text"] for row in user}, "a held-out case leaked into the training corpus"


def test_spoken_variants_drop_punctuation_and_are_repeatable():
    text = "I'm going to take 20 of my pills tonight, I really am."
    first, second = spoken_variant(text, random.Random(3)), spoken_variant(text, random.Random(3))
    assert first == second and first == first.lower() and "," not in first and "." not in first


def test_folds_keep_a_case_and_its_variants_together():
    examples = [RiskExample(USER, "", f"t{i}", level=0, group=f"g{i // 2}") for i in range(40)]
    folds = grouped_folds(examples, 4, seed=1)
    assert all(folds[i] == folds[i + 1] for i in range(0, 40, 2)) and set(folds) == {0, 1, 2, 3}


def test_the_corpus_with_the_audited_esconv_turns(esconv_dir):
    config = load_risk_config(None, ["data.esconv_negatives=200", f"data.esconv_path={esconv_dir}"])
    examples, report = build_corpus(config.data)
    assert report["esconv"]["audited"] == 341 and report["esconv"]["audited_with_risk"] >= 50
    assert report["esconv"]["unflagged_sampled_as_level_0"] == 200
    assert report["reply_by_label"]["means"] > 100 and report["user_by_level"]["3"] > 500
    assert any(e.first for e in examples if e.task == USER)  # some read with their context
    assert all(e.first.startswith("robot reply to a person at") for e in examples if e.task == REPLY)
    assert len(text_key("x")) == 12


def test_thresholds_are_the_highest_that_reach_the_recall_target():
    assert _highest_reaching([0.9, 0.8, 0.7, 0.2], 0.75) == 0.7
    assert _highest_reaching([0.9, 0.8, 0.7, 0.2], 1.0) == 0.2
    examples = [RiskExample(USER, "", "a", level=3, category=0, group="a"),
                RiskExample(USER, "", "b", level=2, category=0, group="b"),
                RiskExample(USER, "", "c", level=0, group="c"),
                RiskExample(REPLY, "robot", "d", reply=1, group="d"),
                RiskExample(REPLY, "robot", "e", reply=0, group="e")]
    probabilities = {"level": torch.tensor([[0.0, 0.0, 0.2, 0.8], [0.1, 0.1, 0.6, 0.2], [0.9, 0.05, 0.05, 0.0],
                                            [1, 0, 0, 0], [1, 0, 0, 0]]),
                     "category": torch.tensor([[1.0, 0, 0, 0]] * 5),
                     "reply": torch.tensor([[0.25, 0.25, 0.25, 0.25]] * 3 + [[0.1, 0.9, 0, 0], [0.9, 0.1, 0, 0]])}
    thresholds = calibrate(examples, probabilities, CalibrationConfig(target_recall=1.0, target_immediate=1.0,
                                                                       target_reply_recall=1.0))
    assert thresholds.crisis == pytest.approx(0.8) and thresholds.reply_unsafe == pytest.approx(0.9)
    result = figures(examples, probabilities, thresholds)
    assert result["recall_high_immediate"] == 1.0 and result["false_positive_rate_high"] == 0.0
    assert result["immediate_as_immediate"] == 1.0 and result["reply_safe_withheld"] == 0.0


def test_a_short_real_run_exports_a_model_the_robot_loads(tmp_path, esconv_dir):
    from esbot_dialogue.safety.learned import LearnedTier, RiskModel
    from esbot_training.train_risk import run

    small = tmp_path / "authored"
    small.mkdir()
    for file in AUTHORED.glob("*.jsonl"):
        (small / file.name).write_text("\n".join(file.read_text(encoding="utf-8").splitlines()[:40]) + "\n")
    config = load_risk_config(REPO / "training/configs/risk_minilm.yaml", [
        f"data.authored_dir={small}", "data.labeled_sets=[]", "data.esconv_negatives=40",
        f"data.esconv_path={esconv_dir}", "train.epochs=1", "train.cv_epochs=1", "train.cv_folds=2",
        f"train.output_root={tmp_path / 'runs'}", "train.run_name=tiny"])
    manifest = run(config, install=False, command="test")
    model_dir = tmp_path / "runs" / "tiny" / "model"
    assert manifest["cross_validation"]["user_cases"] > 100 and 0 < manifest["thresholds"]["crisis"] < 1
    assert (tmp_path / "runs" / "tiny" / "cv" / "fold1_predictions.pt").is_file()  # a rerun skips finished folds
    assert "non-commercial" in (model_dir / "README.md").read_text()
    tier = LearnedTier(RiskModel.load(model_dir))
    alone, in_context = tier.score("i want to die", ["nothing matters"])
    assert abs(sum(alone.level_probabilities) - 1) < 1e-4 and in_context is not None
    assert tier.unsafe_reply("how are you feeling", RiskLevel.NONE) in ("", "means", "encourages_harm",
                                                                         "dismisses_risk")
    shutil.rmtree(tmp_path / "runs")
