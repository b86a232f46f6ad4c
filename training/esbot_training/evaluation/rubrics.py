"""The papers' two dialogue-level rubrics: which criteria the judge scores, on which scale.

* ``dialogue_0to5``: engagement, comforting, appropriateness, suggestion, 0-5;
* ``dialogue_0to10``: fluency plus the same four, 0-10.

Their own module because the configuration validates rubric names, the judge scores them and
the report tabulates them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rubric:
    name: str
    criteria: tuple[str, ...]
    low: int
    high: int


RUBRICS = {
    "dialogue_0to5": Rubric("dialogue_0to5", ("engagement", "comforting", "appropriateness", "suggestion"), 0, 5),
    "dialogue_0to10": Rubric("dialogue_0to10",
                             ("fluency", "engagement", "comforting", "appropriateness", "suggestion"), 0, 10),
}
