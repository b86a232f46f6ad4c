"""What the robot says in a crisis, with the hotline numbers of the configured locale.

Responses are short (spoken by a robot voice, under ~60 words), warm, free of judgement and
of clinical terms, and always point to a human: emergency services when the danger is
immediate, a crisis or domestic-violence line otherwise. Numbers come from an operator-edited
YAML table (config/safety_hotlines.yaml); a broken table is refused with the reason, and an
unknown locale falls back to the table's international entry with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import yaml

from .levels import ABUSE_VIOLENCE, HARM_TO_OTHERS, MEDICAL_EMERGENCY, Assessment, RiskLevel


class HotlineConfigError(ValueError):
    """The hotline table cannot be used; the message says where and why."""


@dataclass(frozen=True)
class Line:
    name: str
    number: str
    how: str  # "call", "call or text", ...

    def spoken(self) -> str:
        if not self.number:
            return self.name
        return f"{self.name}: {self.how} {self.number}"


@dataclass(frozen=True)
class Hotlines:
    locale: str
    name: str
    emergency: str
    crisis: Line
    domestic_violence: Optional[Line] = None


def _line(entry, where: str) -> Line:
    if not isinstance(entry, dict):
        raise HotlineConfigError(f"{where} must be a mapping with name, number and how")
    missing = [key for key in ("name", "number", "how") if key not in entry]
    if missing:
        raise HotlineConfigError(f"{where} lacks {', '.join(missing)}")
    return Line(str(entry["name"]).strip(), str(entry["number"]).strip(), str(entry["how"]).strip())


def load_hotlines(path: str | Path) -> dict[str, Hotlines]:
    """Every locale of the table, validated. Raises HotlineConfigError with the reason."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise HotlineConfigError(f"cannot read the hotline table {path}: {error}") from error
    except yaml.YAMLError as error:
        raise HotlineConfigError(f"the hotline table {path} is not valid YAML: {error}") from error
    if not isinstance(data, dict) or not isinstance(data.get("locales"), dict) or not data["locales"]:
        raise HotlineConfigError(f"{path} must have a non-empty 'locales' mapping")
    table = {}
    for locale, entry in data["locales"].items():
        where = f"{path}: locales.{locale}"
        if not isinstance(entry, dict):
            raise HotlineConfigError(f"{where} must be a mapping")
        for key in ("name", "emergency", "crisis"):
            if not entry.get(key):
                raise HotlineConfigError(f"{where} lacks '{key}'")
        dv = entry.get("domestic_violence")
        table[str(locale).upper()] = Hotlines(
            str(locale).upper(), str(entry["name"]), str(entry["emergency"]).strip(),
            _line(entry["crisis"], f"{where}.crisis"), _line(dv, f"{where}.domestic_violence") if dv else None)
    fallback = str(data.get("fallback", "INTL")).upper()
    if fallback not in table:
        raise HotlineConfigError(f"{path}: the fallback locale '{fallback}' is not in locales")
    table["_fallback"] = table[fallback]
    return table


def select_locale(table: dict[str, Hotlines], locale: str) -> tuple[Hotlines, Optional[str]]:
    """The locale's hotlines ("en_GB", "gb" and "uk" all find UK), or the fallback and a warning."""
    key = locale.replace("-", "_").split("_")[-1].upper() if locale else ""
    key = {"GB": "UK"}.get(key, key)
    if key in table and key != "_FALLBACK":
        return table[key], None
    fallback = table["_fallback"]
    return fallback, (f"No hotline entry for locale '{locale}'; using {fallback.locale} ({fallback.name}). "
                      f"Add the locale to the hotline table so the robot can give local numbers.")


class CrisisResponder:
    """The spoken texts of the crisis policy for one locale."""

    def __init__(self, hotlines: Hotlines) -> None:
        self.hotlines = hotlines

    def _emergency(self) -> str:
        number = self.hotlines.emergency
        return number if not number[0].isdigit() else f"emergency services on {number}"

    def crisis_response(self, risk: Assessment) -> str:
        h, crisis = self.hotlines, self.hotlines.crisis.spoken()
        immediate = risk.level >= RiskLevel.IMMEDIATE
        if risk.category == MEDICAL_EMERGENCY:
            if immediate:
                return (f"This could be a medical emergency. Please call {self._emergency()} right now, or ask "
                        f"someone near you to call. I will stay with you.")
            return (f"That sounds serious, and I cannot check on you myself. Please get medical help soon, and "
                    f"call {self._emergency()} if it gets worse.")
        if risk.category == ABUSE_VIOLENCE:
            line = h.domestic_violence.spoken() if h.domestic_violence else crisis
            if immediate:
                return (f"Your safety comes first. If you can, get somewhere safe and call {self._emergency()} now. "
                        f"Later, {line}.")
            return (f"Thank you for telling me. What is happening is not your fault, and you deserve to be safe. "
                    f"Support is there for you: {line}. If you are in danger, call {self._emergency()}.")
        if risk.category == HARM_TO_OTHERS:
            if immediate:
                return (f"Please step away from anyone you might hurt, and from anything you could use. Call "
                        f"{self._emergency()} now, or {crisis}. I am here with you.")
            return (f"Thank you for being honest with me; that takes courage. A person can help you with these "
                    f"feelings: {crisis}.")
        if immediate:
            return (f"I am really worried about your safety right now. Please call {self._emergency()} now, or ask "
                    f"someone near you to help. You can also reach {crisis}. I am here with you.")
        return (f"I am really glad you told me, and I am sorry you are hurting this much. You deserve support from "
                f"a person: {crisis}. Would you reach out to them, or to someone you trust?")

    def careful_reminder(self) -> str:
        """Appended to replies in careful mode: the way to human help, in one sentence."""
        return f"Remember, you can reach {self.hotlines.crisis.spoken()}, any time."

    def safe_replacement(self, user_risk: RiskLevel) -> str:
        """Spoken instead of a reply that failed the output check."""
        if user_risk >= RiskLevel.HIGH:
            return (f"I care about your safety, and I want you to have real support. You can reach "
                    f"{self.hotlines.crisis.spoken()}, or {self._emergency()} if you are in danger.")
        return "I am sorry, I should not have said that. I am here to listen. How are you feeling right now?"
