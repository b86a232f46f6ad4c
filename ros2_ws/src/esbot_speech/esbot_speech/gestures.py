"""Gesture plans for the robot's spoken replies, from the integrator's config/gestures.yaml.

The reply's support strategy and intended affect say most about how the robot should move, so
they pick the gesture of the first sentence; the other sentences get a gesture only when their
text shows a cue (a question, empathy, encouragement, a greeting, a farewell). One gesture per
sentence at most, starting as the sentence starts and never outlasting it, so gestures never
overlap each other and always accompany speech.
"""

import math
import re
from dataclasses import dataclass
from pathlib import Path

import yaml


class GestureConfigError(ValueError):
    """A gesture config that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Gesture:
    name: str
    duration_s: float
    intensity_min: float
    intensity_max: float


@dataclass(frozen=True)
class StrategyRule:
    gesture: str
    intensity: float
    strategies: frozenset | None  # lower-case; None = any strategy
    affects: frozenset | None  # lower-case; None = any affect

    def matches(self, strategy: str, affect: str) -> bool:
        return ((self.strategies is None or strategy.strip().lower() in self.strategies)
                and (self.affects is None or affect.strip().lower() in self.affects))


@dataclass(frozen=True)
class CueRule:
    cue: str
    gesture: str
    intensity: float
    question: bool
    pattern: re.Pattern | None  # any of the phrases as whole words; None when there are none

    def matches(self, sentence: str) -> bool:
        text = sentence.strip()
        return ((self.question and text.endswith("?"))
                or (self.pattern is not None and self.pattern.search(text) is not None))


@dataclass(frozen=True)
class GestureConfig:
    gestures: dict  # name -> Gesture
    strategy_rules: tuple  # of StrategyRule, in priority order
    cue_rules: tuple  # of CueRule, in priority order


@dataclass(frozen=True)
class GesturePlan:
    name: str
    intensity: float
    start_offset_s: float  # from the start of the reply's speech
    duration_s: float


def load_gesture_config(path) -> GestureConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise GestureConfigError(f"{path}: cannot read the gesture config: {error}") from error
    return parse_gesture_config(data, source=str(path))


def parse_gesture_config(data, source: str = "gesture config") -> GestureConfig:
    if not isinstance(data, dict) or not isinstance(data.get("gestures"), dict) or not data["gestures"]:
        raise GestureConfigError(f"{source}: needs a non-empty 'gestures' mapping")
    unknown = set(data) - {"gestures", "strategy_rules", "cue_rules"}
    if unknown:
        raise GestureConfigError(f"{source}: unknown top-level keys {sorted(unknown)}")
    gestures = {}
    for name, spec in data["gestures"].items():
        where = f"{source}: gesture {name!r}"
        if not isinstance(spec, dict) or set(spec) != {"duration_s", "intensity"}:
            raise GestureConfigError(f"{where}: needs exactly duration_s and intensity: [low, high]")
        duration = _number(spec["duration_s"], f"{where} duration_s")
        if duration <= 0:
            raise GestureConfigError(f"{where}: duration_s must be positive, got {duration}")
        bounds = spec["intensity"]
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise GestureConfigError(f"{where}: intensity must be [low, high], got {bounds!r}")
        low, high = (_number(b, f"{where} intensity") for b in bounds)
        if not 0 <= low <= high <= 1:
            raise GestureConfigError(f"{where}: intensity range must satisfy 0 <= low <= high <= 1, got {bounds}")
        gestures[str(name)] = Gesture(str(name), duration, low, high)

    strategy_rules = []
    for index, rule in enumerate(data.get("strategy_rules") or []):
        where = f"{source}: strategy_rules[{index}]"
        _check_keys(rule, {"gesture", "intensity"}, {"strategy", "affect"}, where)
        if "strategy" not in rule and "affect" not in rule:
            raise GestureConfigError(f"{where}: needs a strategy, an affect or both")
        gesture, intensity = _target(rule, gestures, where)
        strategy_rules.append(StrategyRule(gesture, intensity, _names(rule.get("strategy"), f"{where} strategy"),
                                           _names(rule.get("affect"), f"{where} affect")))

    cue_rules = []
    for index, rule in enumerate(data.get("cue_rules") or []):
        where = f"{source}: cue_rules[{index}]"
        _check_keys(rule, {"cue", "gesture", "intensity"}, {"question", "phrases"}, where)
        question = rule.get("question", False)
        if not isinstance(question, bool):
            raise GestureConfigError(f"{where}: question must be true or false, got {question!r}")
        phrases = _names(rule.get("phrases"), f"{where} phrases")
        if not question and not phrases:
            raise GestureConfigError(f"{where}: needs question: true or a list of phrases")
        pattern = None
        if phrases:
            # Longest first, so "take care" is not shadowed by a shorter phrase inside it.
            alternatives = "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))
            pattern = re.compile(rf"\b(?:{alternatives})\b", re.IGNORECASE)
        gesture, intensity = _target(rule, gestures, where)
        cue_rules.append(CueRule(str(rule["cue"]), gesture, intensity, question, pattern))
    return GestureConfig(gestures, tuple(strategy_rules), tuple(cue_rules))


def plan_gestures(sentences: list[tuple[str, float]], strategy: str, affect: str,
                  config: GestureConfig) -> list[GesturePlan]:
    """Gestures for a reply spoken as `sentences` ((text, spoken duration in seconds), in order)."""
    strategy_rule = next((r for r in config.strategy_rules if r.matches(strategy or "", affect or "")), None)
    plans = []
    start = 0.0
    first_spoken = True
    for index, (text, duration) in enumerate(sentences):
        if duration < 0:
            raise ValueError(f"sentence {index} has a negative duration ({duration})")
        if duration > 0:  # a gesture must start inside the speech it accompanies
            if first_spoken and strategy_rule is not None:
                rule = strategy_rule
            else:
                rule = next((r for r in config.cue_rules if r.matches(text)), None)
            first_spoken = False
            if rule is not None:
                length = min(config.gestures[rule.gesture].duration_s, duration)
                plans.append(GesturePlan(rule.gesture, rule.intensity, start, length))
        start += duration
    return plans


def _number(value, where: str) -> float:
    # bool is an int in Python, and "1.0" from a quoted YAML value is a typo worth reporting.
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise GestureConfigError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _check_keys(rule, required: set, optional: set, where: str) -> None:
    if not isinstance(rule, dict):
        raise GestureConfigError(f"{where}: expected a mapping, got {rule!r}")
    missing, unknown = required - set(rule), set(rule) - required - optional
    if missing or unknown:
        raise GestureConfigError(f"{where}: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}")


def _target(rule: dict, gestures: dict, where: str) -> tuple[str, float]:
    name = rule["gesture"]
    if name not in gestures:
        raise GestureConfigError(f"{where}: unknown gesture {name!r}; known: {sorted(gestures)}")
    gesture = gestures[name]
    intensity = _number(rule["intensity"], f"{where} intensity")
    if not gesture.intensity_min <= intensity <= gesture.intensity_max:
        raise GestureConfigError(f"{where}: intensity {intensity} is outside {name!r}'s range "
                                 f"[{gesture.intensity_min}, {gesture.intensity_max}]")
    return name, intensity


def _names(value, where: str) -> frozenset | None:
    """A string or a list of strings from the config, lower-cased for case-insensitive matching."""
    if value is None:
        return None
    values = [value] if isinstance(value, str) else value
    if not isinstance(values, list) or not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise GestureConfigError(f"{where}: expected a non-empty string or list of strings, got {value!r}")
    return frozenset(v.strip().lower() for v in values)
