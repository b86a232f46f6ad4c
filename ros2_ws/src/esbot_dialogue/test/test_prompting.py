import random

import pytest

from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from esbot_dialogue.turn import Turn

VOCABULARY = (
    "I feel tired sad anxious hopeful today work family friend sleep talk worried about the "
    "exam because my mother said that it was fine but honestly do not know what to do next"
).split()


def template_tokens(tokenizer, messages) -> int:
    """Independent count: the tokenizer's own tokenizing chat template."""
    encoded = tokenizer.apply_chat_template(messages, tokenize=True, add_generation_prompt=True)
    return len(encoded["input_ids"])


def numbered_history(count: int, words: int = 20) -> list[Turn]:
    return [
        Turn("user" if i % 2 == 0 else "assistant", f"turn{i} " + "word " * words, float(i), f"id{i}")
        for i in range(count)
    ]


def test_default_system_prompt_describes_the_supporter():
    prompt = DEFAULT_SYSTEM_PROMPT.lower()
    for expected in ("open questions", "validate", "gently", "one to three", "no lists",
                     "markdown", "emojis", "diagnoses", "professional"):
        assert expected in prompt


def test_prompt_is_the_rendered_chat_template(tokenizer):
    builder = PromptBuilder(tokenizer, context_window=2048, max_new_tokens=128)
    history = [Turn("user", "Hi.", 1.0, "u1"), Turn("assistant", "Hello, how are you?", 2.0, "t1")]
    built = builder.build(history, "I feel a bit low today.")
    assert built.messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "Hi."},
        {"role": "assistant", "content": "Hello, how are you?"},
        {"role": "user", "content": "I feel a bit low today."},
    ]
    assert built.prompt_text.endswith("<|im_start|>assistant\n")  # generation prompt
    assert built.prompt_tokens == len(built.input_ids) == template_tokens(tokenizer, built.messages)
    assert (built.history_turns_used, built.history_turns_dropped) == (2, 0)
    assert not built.user_text_truncated


def test_oldest_turns_are_dropped_first(tokenizer):
    builder = PromptBuilder(tokenizer, context_window=600, max_new_tokens=100)
    built = builder.build(numbered_history(30), "What should I do?")
    assert 0 < built.history_turns_used < 30
    assert built.history_turns_used + built.history_turns_dropped == 30
    kept = [m["content"].split()[0] for m in built.messages[1:-1]]
    assert kept == [f"turn{i}" for i in range(30 - built.history_turns_used, 30)]
    assert built.messages[-1] == {"role": "user", "content": "What should I do?"}
    assert built.prompt_tokens <= 500


def test_the_budget_holds_for_random_histories(tokenizer):
    rng = random.Random(7)
    seen = set()
    for _ in range(60):
        context_window = rng.randint(200, 1024)
        max_new_tokens = rng.randint(16, min(128, context_window - 160))
        builder = PromptBuilder(tokenizer, context_window=context_window, max_new_tokens=max_new_tokens)
        history = [
            Turn(
                "user" if i % 2 == 0 else "assistant",
                " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 80))),
                float(i),
                f"id{i}",
                interrupted=rng.random() < 0.1,
            )
            for i in range(rng.randint(0, 40))
        ]
        utterance = " ".join(rng.choices(VOCABULARY, k=rng.randint(1, 250)))
        built = builder.build(history, utterance)
        seen.add("truncated" if built.user_text_truncated else "whole")
        seen.add("dropped" if built.history_turns_dropped else "all kept")

        budget = context_window - max_new_tokens
        assert built.prompt_tokens == template_tokens(tokenizer, built.messages) <= budget
        assert built.messages[-1]["role"] == "user"
        if built.user_text_truncated:
            assert utterance.endswith(built.user_text) and built.history_turns_used == 0
        else:
            assert built.messages[-1]["content"].endswith(utterance)
        # The kept turns are the newest ones, and one more would not have fitted.
        used = built.history_turns_used
        if used < len(history):
            one_more = builder.build(history[len(history) - used - 1:], built.user_text)
            assert one_more.history_turns_used == used  # the builder itself finds no room...
            richer = builder._messages(builder.system_prompt, history[len(history) - used - 1:], built.user_text)
            assert template_tokens(tokenizer, richer) > budget  # ...and the template agrees
    assert seen == {"truncated", "whole", "dropped", "all kept"}  # every case was exercised


def test_an_utterance_too_long_alone_keeps_its_end(tokenizer):
    builder = PromptBuilder(tokenizer, context_window=512, max_new_tokens=128)
    utterance = " ".join(f"part{i} of a very long story about my week." for i in range(400))
    built = builder.build(numbered_history(4), utterance)
    assert built.user_text_truncated
    assert built.prompt_tokens <= 384
    assert built.prompt_tokens > 384 - 10  # the room was used
    assert utterance.endswith(" " + built.user_text)
    assert built.user_text.endswith("part399 of a very long story about my week.")
    assert (built.history_turns_used, built.history_turns_dropped) == (0, 4)
    assert built.messages[0]["content"] == DEFAULT_SYSTEM_PROMPT


def test_interrupted_turns_are_included_as_said(tokenizer):
    builder = PromptBuilder(tokenizer)
    history = [
        Turn("user", "My dog died.", 1.0, "u1"),
        Turn("assistant", "I am so sorry, that", 2.0, "t1", interrupted=True),
        Turn("user", "He was fourteen.", 3.0, "u2"),
        Turn("assistant", "", 4.0, "t2", interrupted=True),  # cut off before a word
        Turn("user", "Sorry, I interrupted you.", 5.0, "u3"),
    ]
    built = builder.build(history, "Anyway.")
    assert [m["content"] for m in built.messages[1:]] == [
        "My dog died.",
        "I am so sorry, that",
        # Consecutive user turns are merged so the roles keep alternating.
        "He was fourteen. Sorry, I interrupted you. Anyway.",
    ]
    assert built.history_turns_used == 4
    assert built.history_turns_dropped == 0


def test_a_system_prompt_that_leaves_no_room_is_refused(tokenizer):
    with pytest.raises(ValueError, match="no room"):
        PromptBuilder(tokenizer, system_prompt="word " * 400, context_window=512, max_new_tokens=128)


def test_history_representation_rewrites_past_turns_only(tokenizer):
    history = [
        Turn("user", "I'm worried because my mother's job isn't safe.", 1.0, "u1"),
        Turn("assistant", "Ok.", 2.0, "t1"),  # nothing left in keypos: left out
        Turn("assistant", "That sounds hard. What happened?", 3.0, "t2"),
    ]
    utterance = "She said that it is fine, but I don't believe her."
    built = PromptBuilder(tokenizer, history_representation="keypos").build(history, utterance)
    assert built.messages == [
        {"role": "system", "content": DEFAULT_SYSTEM_PROMPT},
        {"role": "user", "content": "I worried because my mother job safe"},
        {"role": "assistant", "content": "That sounds hard What happened"},
        {"role": "user", "content": utterance},  # the current utterance as said
    ]
    assert built.prompt_tokens == template_tokens(tokenizer, built.messages)

    built = PromptBuilder(tokenizer, history_representation="nostopwords").build(history, utterance)
    assert [m["content"] for m in built.messages[1:]] == [
        "worried mother job safe.",
        # "Ok." survives (not a stopword); both assistant turns are merged, as for any consecutive turns.
        "Ok. sounds hard. happened?",
        utterance,
    ]
    assert built.messages[0]["content"] == DEFAULT_SYSTEM_PROMPT


def test_raw_history_representation_is_the_default(tokenizer):
    history = [Turn("user", "I'm worried.", 1.0, "u1"), Turn("assistant", "Why?", 2.0, "t1")]
    default = PromptBuilder(tokenizer).build(history, "Work.")
    raw = PromptBuilder(tokenizer, history_representation="raw").build(history, "Work.")
    assert default == raw
    assert default.messages[1]["content"] == "I'm worried."


def test_unknown_history_representation_is_refused(tokenizer):
    with pytest.raises(ValueError, match="raw, keypos, nostopwords"):
        PromptBuilder(tokenizer, history_representation="summary")


def test_an_extra_instruction_joins_the_system_prompt_for_one_turn_within_the_budget(tokenizer):
    builder = PromptBuilder(tokenizer, context_window=300, max_new_tokens=50)
    history = [Turn("user" if i % 2 == 0 else "assistant", f"turn number {i} with a few words", float(i), str(i))
               for i in range(30)]
    plain = builder.build(history, "I feel low.")
    guided = builder.build(history, "I feel low.", extra_instruction="Gently check whether they are safe.")
    assert guided.messages[0]["content"] == builder.system_prompt + " Gently check whether they are safe."
    assert plain.messages[0]["content"] == builder.system_prompt
    assert guided.prompt_tokens <= builder.budget
    assert guided.history_turns_used < plain.history_turns_used  # the instruction's room comes from old turns
