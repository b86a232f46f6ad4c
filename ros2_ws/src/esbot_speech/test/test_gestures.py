from pathlib import Path

import pytest
import yaml

from esbot_speech.gestures import (
    GestureConfigError, GesturePlan, load_gesture_config, parse_gesture_config, plan_gestures,
)

CONFIG_FILE = Path(__file__).resolve().parents[1] / "config" / "gestures.yaml"
ESCONV_STRATEGIES = ["Question", "Restatement or Paraphrasing", "Reflection of feelings", "Self-disclosure",
                     "Affirmation and Reassurance", "Providing Suggestions", "Information", "Others"]


@pytest.fixture(scope="module")
def config():
    return load_gesture_config(CONFIG_FILE)


def test_shipped_config_gives_every_esconv_strategy_but_others_a_gesture(config):
    for strategy in ESCONV_STRATEGIES:
        plans = plan_gestures([("Okay.", 1.0)], strategy, "", config)  # "Okay." shows no text cue
        assert len(plans) == (0 if strategy == "Others" else 1), strategy


def test_hand_checked_reply(config):
    sentences = [("I'm so sorry you are going through this.", 2.5),
                 ("What happened after the meeting?", 0.75),
                 ("Okay.", 0.5),
                 ("You can get through this, step by step.", 2.0)]
    assert plan_gestures(sentences, "Reflection of feelings", "empathetic", config) == [
        GesturePlan("hand_on_chest", 0.4, 0.0, 2.0),  # the strategy+affect rule; 2.0 s fits in 2.5 s
        GesturePlan("head_tilt", 0.4, 2.5, 0.75),  # question cue, shortened from 1.5 s to its sentence
        GesturePlan("thumbs_up", 0.5, 3.75, 1.5),  # "Okay." shows no cue; encouragement cue
    ]


def test_affect_specific_rules_come_first_and_matching_ignores_case(config):
    reply = [("That is a real achievement.", 2.0)]
    assert plan_gestures(reply, "Affirmation and Reassurance", "encouraging", config)[0].name == "thumbs_up"
    assert plan_gestures(reply, "affirmation and reassurance ", "", config)[0].name == "nod"
    assert plan_gestures(reply, "", "Calm", config)[0].name == "nod"  # an affect-only rule


@pytest.mark.parametrize("sentence, gesture", [
    ("Hello, it is good to hear from you.", "wave"),
    ("Take care of yourself.", "wave"),
    ("Do you want to talk about it?", "head_tilt"),
    ("That sounds exhausting.", "hand_on_chest"),
    ("I am proud of you.", "thumbs_up"),
    ("Which way is the station.", None),
    ("This is something.", None),  # "this" contains "hi" but not as a word
])
def test_text_cues_without_a_strategy(config, sentence, gesture):
    plans = plan_gestures([(sentence, 2.0)], "", "", config)
    assert [p.name for p in plans] == ([gesture] if gesture else [])


def test_plans_stay_inside_their_sentences_one_each_never_overlapping(config):
    sentences = [("Hi!", 0.3), ("", 0.0), ("I understand.", 0.9), ("Does that help?", 1.1),
                 ("You've got this.", 3.0), ("Bye.", 0.5)]
    for strategy in ESCONV_STRATEGIES + [""]:
        plans = plan_gestures(sentences, strategy, "", config)
        bounds, start = [], 0.0
        for _, duration in sentences:
            bounds.append((start, start + duration))
            start += duration
        owners = [next(i for i, (a, b) in enumerate(bounds) if a <= p.start_offset_s < b) for p in plans]
        assert len(set(owners)) == len(owners), strategy  # at most one per sentence
        for plan, owner in zip(plans, owners):
            assert 0 < plan.duration_s and plan.start_offset_s + plan.duration_s <= bounds[owner][1] + 1e-9
        for earlier, later in zip(plans, plans[1:]):
            assert earlier.start_offset_s + earlier.duration_s <= later.start_offset_s + 1e-9


def test_silent_first_sentence_passes_the_strategy_gesture_on(config):
    plans = plan_gestures([("", 0.0), ("Okay.", 1.0)], "Question", "", config)
    assert plans == [GesturePlan("head_tilt", 0.5, 0.0, 1.0)]
    assert plan_gestures([], "Question", "", config) == []
    with pytest.raises(ValueError, match="negative duration"):
        plan_gestures([("Okay.", -1.0)], "Question", "", config)


def shipped():
    return yaml.safe_load(CONFIG_FILE.read_text())


def edited(change):
    data = shipped()
    change(data)
    return data


@pytest.mark.parametrize("change, message", [
    (lambda d: d["strategy_rules"][0].update(gesture="shrug"), r"strategy_rules\[0\]: unknown gesture 'shrug'"),
    (lambda d: d["cue_rules"][2].update(gesture="shrug"), r"cue_rules\[2\]: unknown gesture 'shrug'"),
    (lambda d: d["gestures"]["nod"].update(duration_s=0), "gesture 'nod': duration_s must be positive"),
    (lambda d: d["gestures"]["nod"].update(duration_s="1.0"), "duration_s: expected a number, got '1.0'"),
    (lambda d: d["gestures"]["nod"].update(duration_s=float("inf")), "expected a number"),
    (lambda d: d["gestures"]["nod"].update(intensity=[0.9, 0.2]), "0 <= low <= high <= 1"),
    (lambda d: d["gestures"]["nod"].update(intensity=0.5), r"intensity must be \[low, high\]"),
    (lambda d: d["gestures"]["nod"].pop("intensity"), "needs exactly duration_s and intensity"),
    (lambda d: d["strategy_rules"][1].update(intensity=0.95), r"intensity 0.95 is outside 'nod''s range"),
    (lambda d: d["strategy_rules"][0].update(intensity=True), "expected a number, got True"),
    (lambda d: d["strategy_rules"][0].pop("strategy"), "needs a strategy, an affect or both"),
    (lambda d: d["strategy_rules"][0].update(stratgy="Question"), r"unknown keys \['stratgy'\]"),
    (lambda d: d["strategy_rules"][0].update(strategy=[]), "non-empty string or list"),
    (lambda d: d["cue_rules"][0].pop("phrases"), "needs question: true or a list of phrases"),
    (lambda d: d["cue_rules"][2].update(question="yes"), "question must be true or false"),
    (lambda d: d.update(rules=[]), r"unknown top-level keys \['rules'\]"),
    (lambda d: d.pop("gestures"), "needs a non-empty 'gestures' mapping"),
])
def test_config_mistakes_are_refused_naming_the_entry(change, message):
    with pytest.raises(GestureConfigError, match=message):
        parse_gesture_config(edited(change), source="gestures.yaml")


def test_unreadable_files_name_the_path(tmp_path):
    broken = tmp_path / "gestures.yaml"
    broken.write_text("gestures: {nod: [")
    with pytest.raises(GestureConfigError, match="gestures.yaml: cannot read"):
        load_gesture_config(broken)
    with pytest.raises(GestureConfigError, match="cannot read"):
        load_gesture_config(tmp_path / "missing.yaml")
