"""Loaders (ESConv real files, ExTES samples written here, malformed records) and splits."""

import json
import zipfile
from collections import Counter

import pytest

from esbot_training.data import (
    load_esconv,
    load_extes,
    load_splits,
    parse_esconv,
    parse_extes,
    split_extes,
)
from esbot_training.errors import TrainingConfigError


def extes_dialogue(scene, *turns, description="desc"):
    return {"scene": scene, "description": description, "content": list(turns)}


U = lambda text: {"User": text}  # noqa: E731
A = lambda text, strategy="Reflection": {"AI Strategy": strategy, "AI": text}  # noqa: E731


# --------------------------------------------------------------------------- ESConv

def test_esconv_authors_splits_load_in_full(esconv_dir):
    sizes = {}
    keys = {}
    for split in ("train", "valid", "test"):
        dialogues, report = load_esconv(esconv_dir, split)
        sizes[split] = len(dialogues)
        keys[split] = {d.content_key() for d in dialogues}
        assert report.records == len(dialogues)
        assert not report.skipped_dialogues and not report.skipped_turns
    assert sizes == {"train": 910, "valid": 195, "test": 195}
    assert not keys["train"] & keys["valid"] and not keys["train"] & keys["test"] and not keys["valid"] & keys["test"]


def test_esconv_dialogue_representation(esconv_dir):
    dialogues, _ = load_esconv(esconv_dir, "valid")
    first = dialogues[0]
    raw = json.loads((esconv_dir / "valid.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first.source == "esconv" and first.scene is None
    assert (first.problem, first.emotion, first.situation) == (raw["problem_type"], raw["emotion_type"], raw["situation"])
    assert [(t.speaker, t.text) for t in first.turns] == [
        ({"usr": "seeker", "sys": "supporter"}[t["speaker"]], t["text"].strip()) for t in raw["dialog"]
    ]
    strategies = Counter(t.strategy for d in dialogues for t in d.turns if t.speaker == "supporter")
    assert None not in strategies and "Question" in strategies
    assert all(t.strategy is None for d in dialogues for t in d.turns if t.speaker == "seeker")


def test_esconv_malformed_records_are_counted_and_skipped(tmp_path):
    good = {"emotion_type": "anxiety", "problem_type": "job crisis", "situation": "s",
            "dialog": [{"text": "Hi", "speaker": "usr"}, {"text": "Hello!", "speaker": "sys", "strategy": "Question"}]}
    lines = [
        json.dumps(good),
        "{not json",
        json.dumps({"emotion_type": "x"}),  # no dialog
        json.dumps({"dialog": "text"}),
        json.dumps([1, 2]),
        json.dumps({"dialog": [{"text": "only me", "speaker": "usr"}]}),  # never a supporter turn
        json.dumps({"dialog": [{"text": "", "speaker": "usr"}, {"text": "  ", "speaker": "sys"}]}),  # nothing left
        json.dumps({"dialog": [
            {"text": "I am sad.", "speaker": "usr"},
            {"text": "hmm", "speaker": "robot"},  # unknown speaker
            {"text": "", "speaker": "usr"},  # empty
            {"speaker": "sys"},  # no text
            {"text": 5, "speaker": "sys"},
            "a string",
            {"text": "I hear you.", "speaker": "sys", "strategy": "Reflection of feelings"},
        ]}),
        json.dumps(good),  # duplicate of the first
        "",
    ]
    path = tmp_path / "train.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    dialogues, report = load_esconv(tmp_path, "train")
    assert [len(d.turns) for d in dialogues] == [2, 2]
    assert dialogues[1].turns[1].strategy == "Reflection of feelings"
    assert report.records == 9
    assert dict(report.skipped_dialogues) == {
        "invalid_json": 1, "missing_key:dialog": 1, "dialog_not_a_list": 1, "not_an_object": 1,
        "no_supporter_turn": 1, "no_turns": 1, "duplicate": 1,
    }
    assert dict(report.skipped_turns) == {
        "empty_text": 3, "unknown_speaker": 1, "missing_key:text": 1, "text_not_a_string": 1, "not_an_object": 1,
    }
    summary = report.summary()
    assert "2 dialogues kept" in summary and "invalid_json 1" in summary and "unknown_speaker 1" in summary


def test_esconv_hub_text_column_and_raw_schema():
    hub_row = {"text": json.dumps({"dialog": [{"text": "Hi", "speaker": "usr"}, {"text": "Hey", "speaker": "sys", "strategy": "Others"}]})}
    raw = {"emotion_type": "sadness", "dialog": [
        {"speaker": "seeker", "content": "I lost my dog."},
        {"speaker": "supporter", "content": "I'm so sorry.", "annotation": {"strategy": "Reflection of feelings"}},
    ]}
    dialogues, report = parse_esconv([hub_row, raw])
    assert report.dialogues_kept == 2
    assert dialogues[1].turns[1].strategy == "Reflection of feelings" and dialogues[1].emotion == "sadness"


def test_esconv_missing_split_and_location_are_clear_errors(tmp_path):
    (tmp_path / "train.jsonl").write_text("", encoding="utf-8")
    with pytest.raises(TrainingConfigError, match="no 'valid' split"):
        load_esconv(tmp_path, "valid")
    with pytest.raises(TrainingConfigError, match="does not exist"):
        load_esconv(tmp_path / "nowhere", "train")


# --------------------------------------------------------------------------- ExTES

def test_extes_schema_and_odd_cases(tmp_path):
    records = [
        extes_dialogue("Breakups or Divorce", U("My partner left."), A("That must hurt.", "Reflection of feelings"),
                       U("Yes."), {"AI Strategy": "", "AI": {"Response": "Do you want to talk about it?"}}),
        extes_dialogue("Work Stress", U("Too much work."),
                       {"AI Strategy": "Affirmation", "AI": {"Thoughts": "no response key"}},  # skipped turn
                       {"Robot": "beep"},  # unknown speaker
                       U("   "),  # empty
                       A("Let's take it one step at a time.", "")),
        extes_dialogue("Work Stress", U("Only I talk."), U("Still me.")),  # never a supporter turn
        "not a dialogue",
        {"scene": "Work Stress", "description": "no content"},
        {"scene": "Work Stress", "content": {"User": "x"}},
        {"content": [U("No scene."), A("I see.")]},
        extes_dialogue("Breakups or Divorce", U("My partner left."), A("That must hurt.", "Reflection of feelings"),
                       U("Yes."), {"AI Strategy": "", "AI": {"Response": "Do you want to talk about it?"}}),  # duplicate
    ]
    path = tmp_path / "ExTES.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    dialogues, report = load_extes(path)
    assert [d.dialogue_id for d in dialogues] == ["extes-0", "extes-1", "extes-6"]
    first = dialogues[0]
    assert [(t.speaker, t.text, t.strategy) for t in first.turns] == [
        ("seeker", "My partner left.", None),
        ("supporter", "That must hurt.", "Reflection of feelings"),
        ("seeker", "Yes.", None),
        ("supporter", "Do you want to talk about it?", None),  # "" strategy -> None, Response object read
    ]
    assert (first.scene, first.situation) == ("Breakups or Divorce", "desc")
    assert [t.speaker for t in dialogues[1].turns] == ["seeker", "supporter"]
    assert dialogues[2].scene == "unknown"
    assert dict(report.skipped_dialogues) == {
        "no_supporter_turn": 1, "not_an_object": 1, "missing_key:content": 1, "content_not_a_list": 1, "duplicate": 1,
    }
    assert dict(report.skipped_turns) == {"ai_object_without_response": 1, "unknown_speaker": 1, "empty_text": 1}
    assert report.notes["missing_scene (kept as 'unknown')"] == 1
    assert report.to_dict()["first_occurrences"]["turn:unknown_speaker"] == "extes-1 turn 2"


def test_extes_from_the_authors_zip(tmp_path):
    records = [extes_dialogue("Academic Stress", U("Exams."), A("That is stressful."))]
    archive = tmp_path / "ExTES.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        handle.writestr("ExTES/readme.txt", "x")
        handle.writestr("ExTES/ExTES.json", json.dumps(records))
    dialogues, report = load_extes(archive)
    assert len(dialogues) == 1 and report.dialogues_kept == 1


def test_extes_that_is_not_a_list_or_missing_is_a_clear_error(tmp_path):
    path = tmp_path / "ExTES.json"
    path.write_text(json.dumps({"scene": "x"}), encoding="utf-8")
    with pytest.raises(TrainingConfigError, match="JSON list"):
        load_extes(path)
    with pytest.raises(TrainingConfigError, match="download ExTES.json"):
        load_extes(tmp_path / "missing.json")
    with pytest.raises(TrainingConfigError, match="data.path is empty"):
        load_splits("extes", "", "train", "test")


def synthetic_extes(counts):
    records = []
    for scene, count in counts.items():
        for i in range(count):
            records.append(extes_dialogue(scene, U(f"{scene} problem {i}"), A(f"answer {i} about {scene}")))
    return parse_extes(records)[0]


def test_extes_split_is_stratified_by_scene_and_disjoint():
    counts = {"Work Stress": 50, "Breakups or Divorce": 23, "Academic Stress": 10, "Loneliness": 7, "Rare": 1}
    dialogues = synthetic_extes(counts)
    splits = split_extes(dialogues, test_fraction=0.2, seed=42)
    train_ids = {d.dialogue_id for d in splits["train"]}
    test_ids = {d.dialogue_id for d in splits["test"]}
    assert not train_ids & test_ids and len(train_ids | test_ids) == len(dialogues)
    assert not {d.content_key() for d in splits["train"]} & {d.content_key() for d in splits["test"]}
    per_scene = Counter(d.scene for d in splits["test"])
    assert per_scene == {"Work Stress": 10, "Breakups or Divorce": 5, "Academic Stress": 2, "Loneliness": 1}
    assert Counter(d.scene for d in splits["train"])["Rare"] == 1  # a lone dialogue trains
    # A fixed seed gives the same split; another seed another one.
    again = split_extes(dialogues, test_fraction=0.2, seed=42)
    assert [d.dialogue_id for d in again["test"]] == [d.dialogue_id for d in splits["test"]]
    other = split_extes(dialogues, test_fraction=0.2, seed=7)
    assert {d.dialogue_id for d in other["test"]} != test_ids


def test_load_splits_for_extes(tmp_path):
    records = [extes_dialogue(f"scene{i % 3}", U(f"hi {i}"), A(f"hello {i}")) for i in range(30)]
    path = tmp_path / "ExTES.json"
    path.write_text(json.dumps(records), encoding="utf-8")
    splits, reports = load_splits("extes", str(path), "train", "test")
    assert (len(splits["train"]), len(splits["test"])) == (24, 6)
    with pytest.raises(TrainingConfigError, match="eval_split=test"):
        load_splits("extes", str(path), "train", "valid")
