"""Context representations measured with the model's tokenizer and the robot's PromptBuilder.

* Utterance length: tokens per utterance (the bare text, no template) under each representation.
* Utterances that fit: a history longer than any context window is made by putting dialogues
  one after another; the PromptBuilder keeps the most recent utterances that fit the budget
  (context window minus the reply's tokens, system prompt and current utterance included),
  exactly as on the robot. Measured once per dialogue (ending with that dialogue's last seeker
  turn as the current utterance), only where the window was actually full.
"""

from __future__ import annotations

import statistics
from typing import Any, Sequence

from esbot_dialogue.context_representation import represent
from esbot_dialogue.turn import Turn

from ..data import Dialogue
from ..examples import ExampleBuilder


def utterance_lengths(dialogues: Sequence[Dialogue], representation: str, tokenizer: Any) -> dict[str, Any]:
    texts = [turn.text for dialogue in dialogues for turn in dialogue.turns]
    represented = represent(texts, representation)
    counts = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in represented]
    return {
        "utterances": len(counts),
        "mean_tokens": statistics.fmean(counts) if counts else None,
        "median_tokens": statistics.median(counts) if counts else None,
        "empty_after_representation": sum(1 for text in represented if not text.strip()),
    }


def _robot_turn(turn: Any, number: int, dialogue_id: str) -> Turn:
    return Turn("user" if turn.speaker == "seeker" else "assistant", turn.text, float(number), f"{dialogue_id}:{number}")


def utterances_that_fit(dialogues: Sequence[Dialogue], builder: ExampleBuilder) -> dict[str, Any]:
    stream: list[Turn] = []
    kept = []
    for dialogue in dialogues:
        turns = list(dialogue.turns)
        last_seeker = max((i for i, t in enumerate(turns) if t.speaker == "seeker"), default=None)
        if last_seeker is None:
            continue
        stream += [_robot_turn(turn, len(stream) + i, dialogue.dialogue_id) for i, turn in enumerate(turns[:last_seeker])]
        prompt = builder.prompt_builder.build(stream, turns[last_seeker].text)
        if prompt.history_turns_dropped:  # the window is full: a real capacity, not a lower bound
            kept.append(prompt.history_turns_used)
        stream += [_robot_turn(turn, len(stream) + i, dialogue.dialogue_id) for i, turn in enumerate(turns[last_seeker:])]
    return {
        "context_window": builder.prompt_builder.context_window,
        "budget_tokens": builder.prompt_builder.budget,
        "samples": len(kept),
        "mean_utterances": statistics.fmean(kept) if kept else None,
        "min_utterances": min(kept) if kept else None,
        "max_utterances": max(kept) if kept else None,
    }
