"""Turning the conversation into a chat prompt that fits the model's context window.

Every count here is taken on the prompt exactly as the model will see it (the tokenizer's
chat template rendered with the generation prompt), because templates add role markers and
separators per message that estimates from the bare texts would miss.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Sequence

from .context_representation import check_representation, represent
from .text_input import truncate_to_token_budget
from .turn import Turn

DEFAULT_SYSTEM_PROMPT = (
    "You are a warm, patient companion offering emotional support, speaking through a robot. "
    "Listen first: ask open questions to understand how the person feels and what happened. "
    "Reflect and validate their feelings in your own words before anything else. "
    "Offer a suggestion only gently, and only when the person seems ready for one. "
    "Your words are spoken aloud, so reply in one to three short, natural sentences, "
    "with no lists, no markdown and no emojis. "
    "Never give medical, psychological or legal diagnoses or advice. "
    "If the person seems to be in serious distress or danger, kindly encourage them to reach "
    "out to a professional or someone they trust."
)

#: Introduces the running summary of older turns in the system message.
SUMMARY_HEADING = "What you remember from earlier in this conversation:"


@dataclass(frozen=True)
class BuiltPrompt:
    """A rendered prompt and how it was fitted into the budget."""

    messages: list[dict[str, str]]  # {"role", "content"}, system first, current utterance last
    prompt_text: str  # the chat template rendered with the generation prompt
    input_ids: list[int]  # prompt_text tokenized: what generate() receives
    prompt_tokens: int
    history_turns_used: int
    history_turns_dropped: int  # oldest turns left out for lack of room
    user_text: str  # the current utterance as put in the prompt
    user_text_truncated: bool
    summary_text: str = ""  # the running summary of older turns put in the prompt ("" = none)


class PromptBuilder:
    """Fits system prompt + as much recent history as possible + the current utterance.

    The budget is context_window - max_new_tokens, so the reply always has room. The system
    prompt and the current utterance are always present (the utterance is shortened, keeping
    its end, only if it could not fit even alone); past turns are added newest first while
    they fit, so the oldest are the first to go and the kept history has no gaps.

    history_representation ("raw", "keypos" or "nostopwords", see context_representation)
    rewrites the past turns' text before they are fitted; the current utterance and the
    system prompt are always left as they are. A past turn with nothing left is left out.

    A summary of older turns (memory/context_memory.py) goes after the system prompt. It is
    the oldest material, but also the bounded digest of everything older than the turns
    shown, so it yields only to the utterance itself: it is left out only when it does not
    fit beside the utterance, and the past turns get the room that is left after it.
    """

    def __init__(
        self,
        tokenizer: Any,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        context_window: int = 2048,
        max_new_tokens: int = 128,
        history_representation: str = "raw",
    ) -> None:
        self.tokenizer = tokenizer
        self.history_representation = check_representation(history_representation)
        self.system_prompt = system_prompt
        self.context_window = context_window
        self.max_new_tokens = max_new_tokens
        self.budget = context_window - max_new_tokens
        # Tokens taken by everything but the utterance's own text: fails fast on a setup
        # whose system prompt leaves no room to say anything.
        fixed_tokens = self._count(self._messages(system_prompt, [], ""))
        if fixed_tokens >= self.budget:
            raise ValueError(
                f"The system prompt and chat template take {fixed_tokens} tokens, which "
                f"leaves no room in a budget of {self.budget} (context window "
                f"{context_window} minus {max_new_tokens} tokens kept for the reply)."
            )
        self.fixed_tokens = fixed_tokens
        # Role markers and separators a past turn adds besides its own text: lets the memory
        # estimate a turn's size without a render (build() itself always counts the render).
        probe = [Turn("user", "a", 0.0, "p1"), Turn("assistant", "a", 0.0, "p2")]
        with_probe = self._count(self._messages(system_prompt, probe, "b"))
        self.turn_overhead_tokens = (with_probe - self._count(self._messages(system_prompt, [], "b"))) // 2 - len(
            self._tokenize("a"))

    def build(self, history_turns: Sequence[Turn], user_text: str, extra_instruction: str = "",
              summary: str = "", history_representation: str | None = None) -> BuiltPrompt:
        """extra_instruction is appended to the system prompt for this turn only (the safety
        policy's "check on the person gently", careful mode, ...); history_representation
        overrides the builder's for this call (the memory passes turns it already rewrote
        as "raw")."""
        representation = (self.history_representation if history_representation is None
                          else check_representation(history_representation))
        system = f"{self.system_prompt} {extra_instruction}" if extra_instruction else self.system_prompt
        # Interrupted replies keep what was actually said; a reply cut off before its first
        # word has nothing to show the model.
        past = [turn for turn in history_turns if turn.text]
        if representation != "raw":
            texts = represent([turn.text for turn in past], representation)
            past = [dataclasses.replace(turn, text=text) for turn, text in zip(past, texts) if text]

        user_text, truncated = self._fit_user_text(system, user_text)
        if summary:
            with_summary = f"{system}\n\n{SUMMARY_HEADING} {summary}"
            if self._count(self._messages(with_summary, [], user_text)) <= self.budget:
                system = with_summary
            else:
                summary = ""

        # Token count grows with the number of recent turns kept, so binary search for the
        # largest number that fits: O(log n) renders instead of one per turn.
        low, high = 0, len(past)
        while low < high:
            middle = (low + high + 1) // 2
            if self._count(self._messages(system, past[len(past) - middle:], user_text)) <= self.budget:
                low = middle
            else:
                high = middle - 1
        kept = past[len(past) - low:] if low else []

        messages = self._messages(system, kept, user_text)
        prompt_text = self._render(messages)
        input_ids = self._tokenize(prompt_text)
        return BuiltPrompt(
            messages=messages,
            prompt_text=prompt_text,
            input_ids=input_ids,
            prompt_tokens=len(input_ids),
            history_turns_used=len(kept),
            history_turns_dropped=len(past) - len(kept),
            user_text=user_text,
            user_text_truncated=truncated,
            summary_text=summary,
        )

    def context_prefix_ids(self, prompt: BuiltPrompt) -> list[int]:
        """The prompt's tokens before the current utterance's message: what the next prompt
        shares with it when the context stays the same (read ahead by TransformersBackend.warm)."""
        head = self.tokenizer.apply_chat_template(prompt.messages[:-1], tokenize=False, add_generation_prompt=False)
        common = 0
        # Tokens where the head meets the utterance may merge differently: keep only the agreed part.
        for head_token, token in zip(self._tokenize(head), prompt.input_ids):
            if head_token != token:
                break
            common += 1
        return prompt.input_ids[:common]

    def count_text_tokens(self, text: str) -> int:
        """Tokens of a bare text (no template around it)."""
        return len(self._tokenize(text))

    def _fit_user_text(self, system: str, user_text: str) -> tuple[str, bool]:
        if self._count(self._messages(system, [], user_text)) <= self.budget:
            return user_text, False
        # Token counts of the bare text and of the text inside the template can differ by a
        # token or two where the text meets the markers, so shrink until the render fits.
        room = self.budget - self._count(self._messages(system, [], ""))
        if room <= 0:
            raise ValueError(f"The system prompt with this turn's instruction leaves no room in a budget of "
                             f"{self.budget} tokens.")
        while True:
            fitted, _ = truncate_to_token_budget(user_text, self.tokenizer, room)
            if self._count(self._messages(system, [], fitted)) <= self.budget:
                return fitted, True
            room -= 1

    def _messages(self, system: str, turns: Sequence[Turn], user_text: str) -> list[dict[str, str]]:
        messages = [{"role": "system", "content": system}]
        for turn in [*turns, None]:
            role, text = ("user", user_text) if turn is None else (turn.role, turn.text)
            # Consecutive turns of one role (a user turn whose reply came out empty) are
            # merged: many chat templates insist that user and assistant alternate.
            if messages[-1]["role"] == role:
                messages[-1] = {"role": role, "content": f"{messages[-1]['content']} {text}"}
            else:
                messages.append({"role": role, "content": text})
        return messages

    def _render(self, messages: list[dict[str, str]]) -> str:
        return self.tokenizer.apply_chat_template(
            messages, tokenize=False, add_generation_prompt=True
        )

    def _tokenize(self, prompt_text: str) -> list[int]:
        # The template already wrote any special tokens (BOS, role markers) into the text.
        return self.tokenizer(prompt_text, add_special_tokens=False)["input_ids"]

    def _count(self, messages: list[dict[str, str]]) -> int:
        return len(self._tokenize(self._render(messages)))
