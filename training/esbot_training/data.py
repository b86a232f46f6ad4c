"""ExTES and ESConv read into one dialogue representation, with every skipped record accounted for.

Both corpora become :class:`Dialogue` objects: turns with a speaker (``seeker`` or
``supporter``), text and, for supporter turns, a strategy; plus the dialogue's scene, problem
and emotion. Malformed input never crashes a load and is never dropped silently: a
:class:`LoadReport` counts what was skipped, by kind, at two levels:

* a **turn** with no text, an unknown speaker or an unreadable shape is left out of its
  dialogue (the rest of the dialogue is kept);
* a **dialogue** that is not a JSON object, lacks its turn list, has no turn left or never has
  a supporter turn is left out whole; so is an exact duplicate of an earlier dialogue.

Sources: ExTES from the user-supplied ``ExTES.json`` (or the authors' zip holding it), split
80/20 stratified by scene with a fixed seed; ESConv in the Hugging Face ``thu-coai/esconv``
format (one JSON object a line) from a local folder or file, or from the hub id through
``datasets`` when online, with the authors' train/valid/test split. The raw ``ESConv.json``
schema (``speaker`` seeker/supporter, ``content``, ``annotation.strategy``) is read too.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import zipfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator, Literal

from .errors import TrainingConfigError

log = logging.getLogger(__name__)

Speaker = Literal["seeker", "supporter"]

ESCONV_HUB_ID = "thu-coai/esconv"
ESCONV_ENV = "ESBOT_ESCONV_DIR"
ESCONV_SPLITS = ("train", "valid", "test")
EXTES_SPLITS = ("train", "test")

_SPEAKERS = {"usr": "seeker", "seeker": "seeker", "sys": "supporter", "supporter": "supporter"}
_SPLIT_ALIASES = {"valid": ("valid", "validation", "dev"), "train": ("train",), "test": ("test",)}


@dataclass(frozen=True)
class DialogueTurn:
    speaker: Speaker
    text: str
    strategy: str | None = None  # supporter turns only; None when not annotated


@dataclass(frozen=True)
class Dialogue:
    dialogue_id: str
    source: str  # "extes" or "esconv"
    turns: tuple[DialogueTurn, ...]
    scene: str | None = None  # ExTES scene; ESConv has none
    problem: str | None = None  # ESConv problem_type
    emotion: str | None = None  # ESConv emotion_type
    situation: str | None = None  # ESConv situation / ExTES description

    def content_key(self) -> str:
        """Identity of the conversation itself (not of its id): finds duplicates."""
        payload = json.dumps([(t.speaker, t.text) for t in self.turns], ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()


@dataclass
class LoadReport:
    """What a load read, kept and skipped (by kind)."""

    source: str
    records: int = 0
    dialogues_kept: int = 0
    turns_kept: int = 0
    skipped_dialogues: Counter = field(default_factory=Counter)
    skipped_turns: Counter = field(default_factory=Counter)
    notes: Counter = field(default_factory=Counter)  # kept, but worth knowing (e.g. no scene)
    examples_of_problems: dict[str, str] = field(default_factory=dict)  # kind -> first place seen

    def skip_dialogue(self, kind: str, where: str) -> None:
        self.skipped_dialogues[kind] += 1
        self.examples_of_problems.setdefault(f"dialogue:{kind}", where)

    def skip_turn(self, kind: str, where: str) -> None:
        self.skipped_turns[kind] += 1
        self.examples_of_problems.setdefault(f"turn:{kind}", where)

    def summary(self) -> str:
        text = f"{self.source}: {self.records} records read, {self.dialogues_kept} dialogues kept ({self.turns_kept} turns)"
        if self.skipped_dialogues:
            text += "; dialogues skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped_dialogues.items()))
        if self.skipped_turns:
            text += "; turns skipped: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped_turns.items()))
        if self.notes:
            text += "; notes: " + ", ".join(f"{k} {v}" for k, v in sorted(self.notes.items()))
        return text

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "records": self.records,
            "dialogues_kept": self.dialogues_kept,
            "turns_kept": self.turns_kept,
            "skipped_dialogues": dict(sorted(self.skipped_dialogues.items())),
            "skipped_turns": dict(sorted(self.skipped_turns.items())),
            "notes": dict(sorted(self.notes.items())),
            "first_occurrences": dict(sorted(self.examples_of_problems.items())),
        }

    def log(self) -> None:
        if self.skipped_dialogues or self.skipped_turns:
            log.warning("%s", self.summary())
        else:
            log.info("%s", self.summary())


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) else None


def _finish(
    dialogue_id: str, source: str, turns: list[DialogueTurn], meta: dict[str, Any],
    report: LoadReport, seen: set[str] | None,
) -> Dialogue | None:
    if not turns:
        report.skip_dialogue("no_turns", dialogue_id)
        return None
    if not any(turn.speaker == "supporter" for turn in turns):
        report.skip_dialogue("no_supporter_turn", dialogue_id)
        return None
    dialogue = Dialogue(dialogue_id=dialogue_id, source=source, turns=tuple(turns), **meta)
    if seen is not None:
        key = dialogue.content_key()
        if key in seen:
            report.skip_dialogue("duplicate", dialogue_id)
            return None
        seen.add(key)
    report.dialogues_kept += 1
    report.turns_kept += len(turns)
    return dialogue


# --------------------------------------------------------------------------- ExTES

def parse_extes(records: Any, report: LoadReport | None = None) -> tuple[list[Dialogue], LoadReport]:
    """ExTES records (the published JSON list) -> dialogues; problems counted in the report."""
    report = report or LoadReport("extes")
    if not isinstance(records, list):
        raise TrainingConfigError(
            f"ExTES data must be a JSON list of dialogues, but it is a {type(records).__name__}: "
            "give the ExTES.json from the authors' repository as data.path."
        )
    seen: set[str] = set()
    dialogues = []
    for index, record in enumerate(records):
        report.records += 1
        dialogue_id = f"extes-{index}"
        if not isinstance(record, dict):
            report.skip_dialogue("not_an_object", dialogue_id)
            continue
        content = record.get("content")
        if "content" not in record:
            report.skip_dialogue("missing_key:content", dialogue_id)
            continue
        if not isinstance(content, list):
            report.skip_dialogue("content_not_a_list", dialogue_id)
            continue
        turns = []
        for position, item in enumerate(content):
            where = f"{dialogue_id} turn {position}"
            if not isinstance(item, dict):
                report.skip_turn("not_an_object", where)
                continue
            if "User" in item:
                speaker, raw, strategy = "seeker", item["User"], None
            elif "AI" in item:
                speaker, raw = "supporter", item["AI"]
                strategy = _text(item.get("AI Strategy")) or None
                if isinstance(raw, dict):  # occasionally {"Response": text, ...}
                    if "Response" not in raw:
                        report.skip_turn("ai_object_without_response", where)
                        continue
                    raw = raw["Response"]
            else:
                report.skip_turn("unknown_speaker", where)
                continue
            text = _text(raw)
            if text is None:
                report.skip_turn("text_not_a_string", where)
                continue
            if not text:
                report.skip_turn("empty_text", where)
                continue
            turns.append(DialogueTurn(speaker, text, strategy))
        scene = _text(record.get("scene"))
        if not scene:
            report.notes["missing_scene (kept as 'unknown')"] += 1
        meta = {"scene": scene or "unknown", "situation": _text(record.get("description"))}
        dialogue = _finish(dialogue_id, "extes", turns, meta, report, seen)
        if dialogue is not None:
            dialogues.append(dialogue)
    return dialogues, report


def read_extes_file(path: str | os.PathLike) -> Any:
    """The JSON list from ExTES.json, or from the first .json member of the authors' zip."""
    location = Path(path).expanduser()
    if not location.exists():
        raise TrainingConfigError(
            f"ExTES file {location} does not exist. ExTES is not bundled: download ExTES.json from the "
            "authors' repository (https://github.com/pengwei-iie/ExTES) and set data.path to it."
        )
    try:
        if zipfile.is_zipfile(location):
            with zipfile.ZipFile(location) as archive:
                members = [n for n in archive.namelist() if n.lower().endswith(".json") and "__MACOSX" not in n]
                if not members:
                    raise TrainingConfigError(f"The zip {location} holds no .json file (expected ExTES.json).")
                members.sort(key=lambda n: (Path(n).name.lower() != "extes.json", n))
                return json.loads(archive.read(members[0]).decode("utf-8"))
        return json.loads(location.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError, zipfile.BadZipFile) as error:
        raise TrainingConfigError(f"ExTES file {location} cannot be read as JSON: {error}") from error


def load_extes(path: str | os.PathLike) -> tuple[list[Dialogue], LoadReport]:
    dialogues, report = parse_extes(read_extes_file(path))
    report.source = f"extes ({path})"
    return dialogues, report


def split_extes(
    dialogues: list[Dialogue], test_fraction: float = 0.2, seed: int = 42
) -> dict[str, list[Dialogue]]:
    """80/20 (by default) split stratified by scene: each scene's dialogues are shuffled with a
    fixed seed and cut at the fraction (at least one to train), so every scene keeps its share.
    Dialogues are unique by content (duplicates were skipped at load), so none is in both."""
    if not 0.0 < test_fraction < 1.0:
        raise TrainingConfigError(f"data.test_fraction must be between 0 and 1 (exclusive), not {test_fraction}.")
    by_scene: dict[str, list[Dialogue]] = defaultdict(list)
    for dialogue in dialogues:
        by_scene[dialogue.scene or "unknown"].append(dialogue)
    splits: dict[str, list[Dialogue]] = {"train": [], "test": []}
    for scene in sorted(by_scene):
        members = sorted(by_scene[scene], key=lambda d: d.dialogue_id)
        # One generator per scene (seeded with the scene's name): adding a scene does not
        # reshuffle the others.
        random.Random(f"{seed}:{scene}").shuffle(members)
        test_count = int(round(len(members) * test_fraction))
        test_count = min(test_count, len(members) - 1)
        splits["test"].extend(members[:test_count])
        splits["train"].extend(members[test_count:])
    return splits


# --------------------------------------------------------------------------- ESConv

def parse_esconv(
    records: Iterable[Any], source: str = "esconv", report: LoadReport | None = None, id_prefix: str = "esconv"
) -> tuple[list[Dialogue], LoadReport]:
    """ESConv records (thu-coai/esconv lines, or raw ESConv.json entries) -> dialogues."""
    report = report or LoadReport(source)
    seen: set[str] = set()
    dialogues = []
    for index, record in enumerate(records):
        report.records += 1
        dialogue_id = f"{id_prefix}-{index}"
        if isinstance(record, dict) and set(record) == {"text"} and isinstance(record["text"], str):
            # The hub's text files load through `datasets` as one "text" column per line.
            try:
                record = json.loads(record["text"])
            except json.JSONDecodeError:
                report.skip_dialogue("invalid_json", dialogue_id)
                continue
        if record is _INVALID_JSON:
            report.skip_dialogue("invalid_json", dialogue_id)
            continue
        if not isinstance(record, dict):
            report.skip_dialogue("not_an_object", dialogue_id)
            continue
        dialog = record.get("dialog")
        if "dialog" not in record:
            report.skip_dialogue("missing_key:dialog", dialogue_id)
            continue
        if not isinstance(dialog, list):
            report.skip_dialogue("dialog_not_a_list", dialogue_id)
            continue
        turns = []
        for position, item in enumerate(dialog):
            where = f"{dialogue_id} turn {position}"
            if not isinstance(item, dict):
                report.skip_turn("not_an_object", where)
                continue
            if "speaker" not in item:
                report.skip_turn("missing_key:speaker", where)
                continue
            speaker = _SPEAKERS.get(str(item["speaker"]).strip().lower())
            if speaker is None:
                report.skip_turn("unknown_speaker", where)
                continue
            raw = item.get("text", item.get("content"))
            if raw is None:
                report.skip_turn("missing_key:text", where)
                continue
            text = _text(raw)
            if text is None:
                report.skip_turn("text_not_a_string", where)
                continue
            if not text:
                report.skip_turn("empty_text", where)
                continue
            strategy = item.get("strategy")
            if strategy is None and isinstance(item.get("annotation"), dict):
                strategy = item["annotation"].get("strategy")
            strategy = (_text(strategy) or None) if speaker == "supporter" else None
            turns.append(DialogueTurn(speaker, text, strategy))
        meta = {
            "problem": _text(record.get("problem_type")),
            "emotion": _text(record.get("emotion_type")),
            "situation": _text(record.get("situation")),
        }
        dialogue = _finish(dialogue_id, "esconv", turns, meta, report, seen)
        if dialogue is not None:
            dialogues.append(dialogue)
    return dialogues, report


_INVALID_JSON = object()


def _jsonl_records(path: Path) -> Iterator[Any]:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                yield _INVALID_JSON


def _file_records(path: Path) -> Iterator[Any]:
    # A .json file may be a JSON list (raw ESConv.json) or JSON lines (the hub's files).
    try:
        head = path.read_text(encoding="utf-8")[:1].lstrip()
        if path.suffix == ".json" and head.startswith("["):
            records = json.loads(path.read_text(encoding="utf-8"))
            yield from records if isinstance(records, list) else [records]
            return
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise TrainingConfigError(f"ESConv file {path} cannot be read: {error}") from error
    yield from _jsonl_records(path)


def default_esconv_location() -> str:
    """$ESBOT_ESCONV_DIR, else <repo>/../shared/data/esconv when present, else the hub id."""
    override = os.environ.get(ESCONV_ENV, "").strip()
    if override:
        return override
    repo = Path(__file__).resolve().parents[2]
    shared = repo.parent / "shared" / "data" / "esconv"
    if shared.is_dir():
        return str(shared)
    return ESCONV_HUB_ID


def _split_file(directory: Path, split: str) -> Path | None:
    for name in _SPLIT_ALIASES.get(split, (split,)):
        for suffix in (".jsonl", ".json", ".txt"):
            candidate = directory / f"{name}{suffix}"
            if candidate.is_file():
                return candidate
    return None


def load_esconv(location: str | os.PathLike | None, split: str) -> tuple[list[Dialogue], LoadReport]:
    """One split of ESConv from a folder ({train,valid,test}.jsonl), one file, or the hub id."""
    location = str(location or default_esconv_location())
    path = Path(location).expanduser()
    if path.is_dir():
        file = _split_file(path, split)
        if file is None:
            available = sorted({p.stem for p in path.iterdir() if p.suffix in (".jsonl", ".json", ".txt")})
            raise TrainingConfigError(
                f"ESConv folder {path} has no {split!r} split (looked for {split}.jsonl/.json/.txt); "
                f"files there: {', '.join(available) or 'none'}. Set data.train_split / data.eval_split."
            )
        records: Iterable[Any] = _file_records(file)
        source = f"esconv {split} ({file})"
    elif path.is_file():
        if split not in _SPLIT_ALIASES.get(path.stem, (path.stem,)) and path.stem != split:
            raise TrainingConfigError(
                f"ESConv file {path} holds one split ({path.stem!r}), not {split!r}: give the folder with "
                "train/valid/test files, or name the split after the file."
            )
        records = _file_records(path)
        source = f"esconv {split} ({path})"
    elif os.path.isabs(location) or location.startswith((".", "~")):
        raise TrainingConfigError(f"ESConv location {location} does not exist; set data.path or {ESCONV_ENV}.")
    else:
        records = _hub_records(location, split)
        source = f"esconv {split} (hub {location})"
    dialogues, report = parse_esconv(records, source=source, id_prefix=f"esconv-{split}")
    return dialogues, report


def _hub_records(hub_id: str, split: str) -> Iterator[Any]:
    try:
        import datasets

        loaded = datasets.load_dataset(hub_id)
    except Exception as error:  # offline, unknown id, ...: one clear message
        raise TrainingConfigError(
            f"ESConv could not be loaded from the hub id {hub_id!r} ({type(error).__name__}: {error}). "
            f"Offline, give a local copy: data.path=/path/to/esconv or {ESCONV_ENV}."
        ) from error
    for name in _SPLIT_ALIASES.get(split, (split,)):
        if name in loaded:
            yield from loaded[name]
            return
    raise TrainingConfigError(f"The hub dataset {hub_id} has no split {split!r}; it has: {', '.join(loaded)}.")


# --------------------------------------------------------------------------- one entry point

def load_splits(
    dataset: str, path: str, train_split: str, eval_split: str, test_fraction: float = 0.2, seed: int = 42
) -> tuple[dict[str, list[Dialogue]], list[LoadReport]]:
    """The training and evaluation dialogues of a dataset, with the load reports."""
    if dataset == "esconv":
        train, train_report = load_esconv(path or None, train_split)
        evaluation, eval_report = load_esconv(path or None, eval_split)
        reports = [train_report, eval_report]
        splits = {train_split: train, eval_split: evaluation}
    elif dataset == "extes":
        if not path:
            raise TrainingConfigError(
                "data.path is empty: ExTES is not bundled; download ExTES.json from the authors' repository "
                "(https://github.com/pengwei-iie/ExTES) and set data.path to it (or to their zip)."
            )
        dialogues, report = load_extes(path)
        reports = [report]
        splits = split_extes(dialogues, test_fraction, seed)
        for split in (train_split, eval_split):
            if split not in splits:
                raise TrainingConfigError(
                    f"ExTES has the splits {', '.join(EXTES_SPLITS)} (80/20 by scene), not {split!r}: "
                    "set data.train_split=train and data.eval_split=test."
                )
    else:
        raise TrainingConfigError(f"Unknown data.dataset {dataset!r}; use esconv or extes.")
    for report in reports:
        report.log()
    return splits, reports
