"""Training examples, token by token, on the real SmolLM2 tokenizer."""

from esbot_dialogue.prompting import DEFAULT_SYSTEM_PROMPT, PromptBuilder
from esbot_dialogue.turn import Turn
from esbot_training.data import Dialogue, DialogueTurn, load_esconv
from esbot_training.examples import IGNORE_INDEX, ExampleBuilder

S = lambda text, strategy=None: DialogueTurn("supporter", text, strategy)  # noqa: E731
P = lambda text: DialogueTurn("seeker", text)  # noqa: E731


def dialogue(*turns):
    return Dialogue("d1", "esconv", tuple(turns))


def test_one_example_token_by_token(tokenizer):
    d = dialogue(P("I lost my job today."), S("I'm so sorry. How are you feeling?", "Question"),
                 P("Scared about money."))
    d = dialogue(*d.turns, S("That sounds frightening.", "Reflection of feelings"))
    examples, stats = ExampleBuilder(tokenizer).build([d])
    assert stats.examples == 2 and len(examples) == 2
    second = examples[1]
    # The prompt is exactly what the robot's PromptBuilder feeds generate() for this moment.
    robot = PromptBuilder(tokenizer, context_window=1024, max_new_tokens=128).build(
        [Turn("user", "I lost my job today.", 0.0, "a"), Turn("assistant", "I'm so sorry. How are you feeling?", 1.0, "b")],
        "Scared about money.",
    )
    n = robot.prompt_tokens
    assert second.input_ids[:n] == robot.input_ids
    assert robot.messages[0]["content"] == DEFAULT_SYSTEM_PROMPT
    # Loss only on the supporter's tokens: every prompt position masked, every target position its own id.
    assert second.labels[:n] == [IGNORE_INDEX] * n
    assert second.labels[n:] == second.input_ids[n:]
    target_ids = second.input_ids[n:]
    assert tokenizer.decode(target_ids) == "That sounds frightening.<|im_end|>"
    assert target_ids[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>") == tokenizer.eos_token_id
    assert [tokenizer.decode([i]) for i in target_ids] == ["That", " sounds", " frightening", ".", "<|im_end|>"]
    # The whole example is the chat template's own rendering of the conversation with the reply.
    full = tokenizer.apply_chat_template(
        [*robot.messages, {"role": "assistant", "content": "That sounds frightening."}], tokenize=False
    )
    assert second.input_ids == tokenizer(full.rstrip(), add_special_tokens=False)["input_ids"]
    assert (second.strategy, second.reply_index, second.prompt_tokens, second.target_tokens) == (
        "Reflection of feelings", 1, n, 5)
    # The first example: no history, the first utterance, the first reply.
    first = examples[0]
    prompt_part = tokenizer.decode(first.input_ids[: first.prompt_tokens])
    assert prompt_part.endswith("<|im_start|>user\nI lost my job today.<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.decode([i for i in first.labels if i != IGNORE_INDEX]) == "I'm so sorry. How are you feeling?<|im_end|>"


def test_runs_of_one_speaker_and_a_supporter_who_speaks_first(tokenizer):
    d = dialogue(S("Hello, how can I help?"), P("Hi."), P("I feel lonely."), S("I'm here.", "Affirmation"),
                 S("What happened?", "Question"), P("My friend moved away."), S("That is a big change."))
    examples, stats = ExampleBuilder(tokenizer).build([d])
    assert stats.skipped["supporter_turns_before_the_seeker_spoke"] == 1
    assert len(examples) == 2
    first, second = examples
    assert tokenizer.decode(first.input_ids[first.prompt_tokens:]) == "I'm here. What happened?<|im_end|>"
    assert first.strategy == "Affirmation; Question"
    prompt = tokenizer.decode(first.input_ids[: first.prompt_tokens])
    assert "Hello, how can I help?" not in prompt
    assert prompt.endswith("<|im_start|>user\nHi. I feel lonely.<|im_end|>\n<|im_start|>assistant\n")
    prompt = tokenizer.decode(second.input_ids[: second.prompt_tokens])
    assert prompt.count("<|im_start|>user") == 2 and prompt.count("<|im_start|>assistant") == 2


def test_history_representation_applies_to_past_turns_only(tokenizer):
    d = dialogue(P("I'm worried because my mother's job isn't safe."), S("That sounds hard. What happened?"),
                 P("She said that it is fine, but I don't believe her."), S("It's hard to trust that."))
    examples, _ = ExampleBuilder(tokenizer, history_representation="keypos").build([d])
    second = examples[1]
    prompt = tokenizer.decode(second.input_ids[: second.prompt_tokens])
    assert "<|im_start|>user\nI worried because my mother job safe<|im_end|>" in prompt
    assert "<|im_start|>assistant\nThat sounds hard What happened<|im_end|>" in prompt
    assert prompt.endswith("user\nShe said that it is fine, but I don't believe her.<|im_end|>\n<|im_start|>assistant\n")
    assert tokenizer.decode(second.input_ids[second.prompt_tokens:]) == "It's hard to trust that.<|im_end|>"


def test_budget_and_long_targets(tokenizer):
    long_reply = "I understand. " * 60
    turns = []
    for i in range(12):
        turns += [P(f"This is what happened on day {i}, and it was hard for me in many ways."), S(f"Tell me more about day {i}.")]
    d = dialogue(*turns, P("And today?"), S(long_reply))
    builder = ExampleBuilder(tokenizer, system_prompt="Be kind.", max_length=256, max_target_tokens=32)
    examples, stats = builder.build([d])
    assert stats.skipped["target_longer_than_max_target_tokens"] == 1
    assert len(examples) == 12
    assert all(len(e.input_ids) <= 256 for e in examples)
    assert stats.history_turns_dropped > 0  # the oldest turns made room, as on the robot
    assert "Be kind." in tokenizer.decode(examples[0].input_ids[:20])


def test_esconv_examples_are_well_formed(tokenizer, esconv_dir):
    dialogues, _ = load_esconv(esconv_dir, "valid")
    examples, stats = ExampleBuilder(tokenizer, max_length=768).build(dialogues[:6])
    assert stats.examples == len(examples) > 30
    end = tokenizer.eos_token_id
    for example in examples:
        n = example.prompt_tokens
        assert len(example.input_ids) == len(example.labels) <= 768
        assert set(example.labels[:n]) == {IGNORE_INDEX}
        assert example.labels[n:] == example.input_ids[n:] and example.labels[-1] == end
        assert example.input_ids[n - 4:n] == tokenizer("<|im_start|>assistant\n", add_special_tokens=False)["input_ids"]
