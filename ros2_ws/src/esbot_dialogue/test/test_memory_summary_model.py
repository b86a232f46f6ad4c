"""Summary mode with the real default model: the LLM writes the running summary, which replaces
the turns it covers, and the context shrinks."""

import threading

from esbot_dialogue.llm import GenerationSettings
from esbot_dialogue.history import ConversationHistory
from esbot_dialogue.memory.context_memory import ContextMemory
from esbot_dialogue.memory.conversation_store import ConversationStore
from esbot_dialogue.memory.summarizer import Summarizer
from esbot_dialogue.prompting import SUMMARY_HEADING, PromptBuilder
from esbot_dialogue.turn import Turn

CONVERSATION = [
    ("user", "Hi. I lost my job at the bakery last week and I feel like a failure."),
    ("assistant", "I'm so sorry you lost your job. That sounds really painful. How have you been coping?"),
    ("user", "Not well. I can't sleep and I keep worrying about paying the rent for my flat."),
    ("assistant", "Worrying about rent at night is exhausting. Is there anyone you can talk to about it?"),
    ("user", "My sister Maria said I could stay with her for a while, but I feel ashamed to ask."),
    ("assistant", "It makes sense to feel that way, but accepting help is not a failure."),
    ("user", "Maybe. I also have an interview at a cafe on Friday."),
    ("assistant", "That's a hopeful step. How do you feel about the interview?"),
]


def test_the_model_summarizes_older_turns_and_the_summary_replaces_them(transformers_llm, tmp_path):
    builder = PromptBuilder(transformers_llm.tokenizer, context_window=1024, max_new_tokens=64)
    history = ConversationHistory(ConversationStore(tmp_path / "conversations.sqlite3"), "s1")
    # A small summary and recent-turns budget, so that the eight turns above overflow it.
    memory = ContextMemory(builder, history, "summary", Summarizer(transformers_llm, max_tokens=40, context_window=1024),
                           recent_tokens=120)
    for index, (role, text) in enumerate(CONVERSATION):
        history.append(Turn(role, text, float(index), f"t{index}"))
    raw = memory.build("Thank you for listening.")
    assert raw.summary_text == "" and raw.history_turns_used == len(CONVERSATION)

    plan = memory.fold_plan()
    assert plan is not None and 1 <= len(plan.turns) <= len(CONVERSATION) - 2  # the last exchange stays
    memory.prepare_next_turn()
    assert memory.wait_for_background(600), "the summarizer did not finish"
    summary = memory.summary()
    assert summary is not None and len(summary.text.split()) >= 5, summary
    print("summary:", summary.text)
    assert summary.through_seq == plan.turns[-1].seq and summary.covered_turns >= len(plan.turns)

    prompt = memory.build("Thank you for listening.")
    assert prompt.summary_text == summary.text
    assert f"{SUMMARY_HEADING} {summary.text}" in prompt.messages[0]["content"]
    covered = [text for _, text in CONVERSATION[:summary.covered_turns]]
    assert not set(covered) & {m["content"] for m in prompt.messages}  # replaced by the summary
    assert prompt.history_turns_used == len(CONVERSATION) - summary.covered_turns
    assert prompt.prompt_tokens < raw.prompt_tokens  # the context shrank
    memory.close()


def test_a_chunked_prefill_gives_the_same_reply_and_can_stop_between_chunks(transformers_llm):
    prompt = PromptBuilder(transformers_llm.tokenizer).build([], "I lost my job and I can't stop thinking about it. " * 8)
    # Another prompt in between, with another system prompt: TransformersBackend keeps the last
    # generation's KV cache for a prompt that starts the same way, and this one must not.
    other = PromptBuilder(transformers_llm.tokenizer, "You summarize conversations.").build([], "Person: hello")
    settings = GenerationSettings(max_new_tokens=8, do_sample=False)
    plain = "".join(transformers_llm.stream(prompt, settings))
    assert "".join(transformers_llm.stream(other, settings))
    assert plain and "".join(transformers_llm.stream(prompt, settings, prefill_chunk=32)) == plain
    assert "".join(transformers_llm.stream(other, settings))
    cancel = threading.Event()
    cancel.set()
    assert "".join(transformers_llm.stream(prompt, settings, cancel, prefill_chunk=32)) == ""
    assert transformers_llm.last_stats.new_tokens == 0 and transformers_llm.last_stats.stopped_early
