"""Training examples: one per supporter reply, prompted exactly as the robot prompts.

The prompt of every example is built by the dialogue node's own ``PromptBuilder`` (same
system prompt, same history representation, same merging of consecutive turns, same
context budget dropping the oldest turns first), so an adapter is trained on the very
prompts it will be served. The target is the supporter's reply rendered by the model's chat
template after that prompt (for SmolLM2: ``text<|im_end|>``); labels are -100 on every prompt
token, so the loss is on the supporter's tokens only.

How dialogues map onto robot turns:

* consecutive turns of one speaker form one turn (the robot answers each utterance with
  one reply; chat templates such as Llama-2's and Mistral's insist on alternation), so one
  example per supporter reply, its text the supporter's consecutive turns joined;
* the seeker's turns right before the reply are the current utterance (kept raw, like on the
  robot); everything earlier is history (rewritten by the history representation);
* supporter turns before the seeker's first turn are neither targets nor history: the
  robot never speaks first, so its history always starts with the person (counted).
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable

from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from esbot_dialogue.turn import Turn

from .data import Dialogue
from .errors import TrainingConfigError

log = logging.getLogger(__name__)

IGNORE_INDEX = -100


@dataclass(frozen=True)
class TrainingExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX on prompt tokens, the token id on target tokens
    dialogue_id: str
    reply_index: int  # which supporter reply of the dialogue (0-based)
    strategy: str  # the reply's strategies, "; "-joined ("" when not annotated)
    prompt_tokens: int
    target_tokens: int

    def as_record(self) -> dict[str, Any]:
        return {
            "input_ids": self.input_ids,
            "labels": self.labels,
            "dialogue_id": self.dialogue_id,
            "reply_index": self.reply_index,
            "strategy": self.strategy,
        }


@dataclass
class ExampleStats:
    dialogues: int = 0
    examples: int = 0
    prompt_tokens: int = 0
    target_tokens: int = 0
    history_turns_dropped: int = 0  # oldest turns left out to fit the context budget
    utterances_truncated: int = 0
    skipped: Counter = field(default_factory=Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dialogues": self.dialogues,
            "examples": self.examples,
            "prompt_tokens": self.prompt_tokens,
            "target_tokens": self.target_tokens,
            "history_turns_dropped_for_budget": self.history_turns_dropped,
            "utterances_truncated": self.utterances_truncated,
            "skipped": dict(sorted(self.skipped.items())),
        }

    def summary(self) -> str:
        text = (f"{self.examples} examples from {self.dialogues} dialogues "
                f"({self.target_tokens} target tokens, {self.prompt_tokens} prompt tokens)")
        if self.skipped:
            text += "; not used: " + ", ".join(f"{k} {v}" for k, v in sorted(self.skipped.items()))
        return text


@dataclass(frozen=True)
class SupporterReply:
    """One supporter reply of a dialogue with what the robot would have had before it."""

    dialogue_id: str
    reply_index: int  # which supporter reply of the dialogue (0-based)
    history: list[Turn]  # every turn before the current utterance, one Turn per dialogue turn
    utterance: str  # the seeker's turns right before the reply, joined
    target: str  # the supporter's consecutive turns, joined
    strategy: str  # "; "-joined strategies ("" when not annotated)


def supporter_replies(dialogue: Dialogue, skipped: Counter | None = None) -> list[SupporterReply]:
    """The dialogue as robot turns (see the module docstring); used by training and evaluation."""
    # Runs of one speaker: [(speaker, [turns...]), ...]
    runs: list[tuple[str, list]] = []
    for turn in dialogue.turns:
        if runs and runs[-1][0] == turn.speaker:
            runs[-1][1].append(turn)
        else:
            runs.append((turn.speaker, [turn]))
    while runs and runs[0][0] == "supporter":
        if skipped is not None:
            skipped["supporter_turns_before_the_seeker_spoke"] += len(runs[0][1])
        runs.pop(0)

    replies = []
    for position, (speaker, turns) in enumerate(runs):
        if speaker == "seeker":
            continue
        # History: every turn before the current utterance's run, one Turn per turn
        # (PromptBuilder merges consecutive ones exactly as on the robot).
        history = [
            Turn("user" if turn.speaker == "seeker" else "assistant", turn.text, float(i), f"{dialogue.dialogue_id}:{i}")
            for i, turn in enumerate(t for _, run in runs[: position - 1] for t in run)
        ]
        replies.append(SupporterReply(
            dialogue_id=dialogue.dialogue_id,
            reply_index=len(replies),
            history=history,
            utterance=" ".join(turn.text for turn in runs[position - 1][1]),
            target=" ".join(turn.text for turn in turns),
            strategy="; ".join(dict.fromkeys(turn.strategy for turn in turns if turn.strategy)),
        ))
    return replies


class ExampleBuilder:
    """Turns dialogues into tokenized examples for one tokenizer and one prompt setup."""

    def __init__(
        self,
        tokenizer: Any,
        system_prompt: str = "",
        history_representation: str = "raw",
        max_length: int = 1024,
        max_target_tokens: int = 128,
    ) -> None:
        self.tokenizer = tokenizer
        self.max_target_tokens = max_target_tokens
        try:
            # "" means the robot's built-in prompt, as the node's system_prompt parameter does.
            self.prompt_builder = PromptBuilder(
                tokenizer,
                system_prompt=system_prompt or DEFAULT_SYSTEM_PROMPT,
                context_window=max_length,
                max_new_tokens=max_target_tokens,
                history_representation=history_representation,
            )
        except ValueError as error:
            raise TrainingConfigError(
                f"{error} Set data.max_length higher, data.max_target_tokens lower or "
                "data.history_representation to one of the valid names."
            ) from error
        if getattr(tokenizer, "chat_template", None) is None:
            raise TrainingConfigError(
                "The model's tokenizer has no chat template, so prompts cannot be rendered as the robot "
                "renders them: use an instruction/chat model (model.model_id)."
            )

    def build(self, dialogues: Iterable[Dialogue], stats: ExampleStats | None = None) -> tuple[list[TrainingExample], ExampleStats]:
        stats = stats or ExampleStats()
        examples: list[TrainingExample] = []
        for dialogue in dialogues:
            stats.dialogues += 1
            examples.extend(self._dialogue_examples(dialogue, stats))
        stats.examples = len(examples)
        return examples, stats

    def _dialogue_examples(self, dialogue: Dialogue, stats: ExampleStats) -> list[TrainingExample]:
        examples = []
        for reply in supporter_replies(dialogue, stats.skipped):
            example = self._example(dialogue.dialogue_id, reply.reply_index, reply.history, reply.utterance,
                                    reply.target, reply.strategy, stats)
            if example is not None:
                examples.append(example)
        return examples

    def _example(
        self, dialogue_id: str, reply_index: int, history: list[Turn], utterance: str, target: str,
        strategy: str, stats: ExampleStats,
    ) -> TrainingExample | None:
        prompt = self.prompt_builder.build(history, utterance)
        completion_ids = self.completion_ids(prompt.messages, target, prompt.prompt_text)
        if completion_ids is None:
            stats.skipped["template_does_not_extend_the_prompt"] += 1
            return None
        if len(completion_ids) > self.max_target_tokens:
            stats.skipped["target_longer_than_max_target_tokens"] += 1
            return None
        stats.history_turns_dropped += prompt.history_turns_dropped
        stats.utterances_truncated += int(prompt.user_text_truncated)
        stats.prompt_tokens += prompt.prompt_tokens
        stats.target_tokens += len(completion_ids)
        return TrainingExample(
            input_ids=list(prompt.input_ids) + completion_ids,
            labels=[IGNORE_INDEX] * prompt.prompt_tokens + completion_ids,
            dialogue_id=dialogue_id,
            reply_index=reply_index,
            strategy=strategy,
            prompt_tokens=prompt.prompt_tokens,
            target_tokens=len(completion_ids),
        )

    def completion_ids(
        self, prompt_messages: list[dict[str, str]], target: str, prompt_text: str | None = None
    ) -> list[int] | None:
        """Token ids of the reply as the chat template writes it after the generation prompt.

        The conversation is rendered with and without the reply; the reply's part is what the
        full render adds after the prompt render, trailing whitespace dropped (SmolLM2: the
        text and <|im_end|>, the token generation stops at). None if the template does not
        render the prompt as a prefix of the full conversation.
        """
        if prompt_text is None:
            prompt_text = self.tokenizer.apply_chat_template(prompt_messages, tokenize=False, add_generation_prompt=True)
        full_text = self.tokenizer.apply_chat_template(
            [*prompt_messages, {"role": "assistant", "content": target}], tokenize=False
        )
        if not full_text.startswith(prompt_text):
            return None
        completion = full_text[len(prompt_text):].rstrip()
        # Tokenized on its own, after the prompt's own ids: the prompt part is then exactly
        # the ids the robot feeds generate().
        return self.tokenizer(completion, add_special_tokens=False)["input_ids"]


def build_examples(builder: ExampleBuilder, dialogues: list[Dialogue], name: str) -> tuple[list[TrainingExample], ExampleStats]:
    examples, stats = builder.build(dialogues)
    log.info("%s: %s", name, stats.summary())
    return examples, stats
