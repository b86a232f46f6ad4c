"""System test of the dialogue node's memory: the node is killed mid-reply, started again, and
continues the conversation from the SQLite store; then the person's memory is forgotten."""

import os
import re
import signal

import pytest

import esbot_interfaces as interfaces
from esbot_dialogue.memory.conversation_store import ConversationStore
from esbot_msgs.srv import ForgetMemory
from graph_harness import Diagnostics, GraphClient, LaunchedGraph

pytestmark = pytest.mark.system

# Short greedy replies keep the test quick on 2 cores; the safety tier's encoder is not needed here.
OVERRIDES = {"dialogue.max_new_tokens": 24, "dialogue.do_sample": "false", "dialogue.context_window": 1024,
             "dialogue.safety_learned_tier": "false", "dialogue.user_name": "sam"}
EARLIER = ["My name is Sam and I just moved to Oslo for a new job.", "I miss my sister Maria a lot."]


def start(tmp_path, name: str, store) -> LaunchedGraph:
    """The text graph, with a mock humanoid that stays silent: this test is the user."""
    (tmp_path / "silent.txt").write_text("!sleep 900\n")
    return LaunchedGraph("sim", {**OVERRIDES, "dialogue.memory_store_path": store,
                                 "dialogue.safety_alert_log": tmp_path / "alerts.jsonl",
                                 "mock_humanoid.script_file": tmp_path / "silent.txt",
                                 "mock_humanoid.session_log": tmp_path / f"{name}.session.jsonl",
                                 "mock_humanoid.echo": "false"}, tmp_path / f"{name}.log")


def test_a_killed_node_continues_the_conversation_from_the_store_and_forgets_on_request(tmp_path):
    store_path = tmp_path / "memory" / "conversations.sqlite3"
    client = GraphClient()
    diagnostics = Diagnostics(client)
    forget_client = client.node.create_client(ForgetMemory, interfaces.FORGET_MEMORY)
    graph = start(tmp_path, "first", store_path)
    try:
        client.wait_until_listening(timeout=300)
        for text in EARLIER:
            assert client.ask(text)
        # Killed while the third reply is being generated: its utterance is already stored.
        cut_off = client.say("Sometimes I feel I made a mistake coming here.")
        with client._changed:
            assert client._changed.wait_for(lambda: client.chunks.get(cut_off), 120), "no reply started"
        dialogue_pid = int(re.search(r"started dialogue \(pid (\d+)\)", graph.output()).group(1))
        os.kill(dialogue_pid, signal.SIGKILL)
        assert graph.wait(timeout=60) == 128 + signal.SIGKILL
    finally:
        graph.stop()

    store = ConversationStore(store_path)
    [session] = store.sessions("sam")
    stored = [(s.turn.role, s.turn.text) for s in store.turns(session.session_id)]
    assert stored[:4:2] == [("user", EARLIER[0]), ("user", EARLIER[1])]
    assert ("user", "Sometimes I feel I made a mistake coming here.") in stored  # durable before the reply
    store.close()

    with client._changed:
        client.states.clear()  # LISTENING must come from the new node
        diagnostics.values = {}
    graph = start(tmp_path, "second", store_path)
    try:
        client.wait_until_listening(timeout=300)
        assert f"session {session.session_id} (continued, {len(stored)} turns stored, user sam)" in graph.output()
        history = client.history()
        assert history.total_turns == len(stored)
        assert [t.text for t in history.turns][:4:2] == EARLIER
        # The continued conversation's context is read into the KV cache before anyone speaks...
        warmed = int(diagnostics.wait_for(lambda v: int(v.get("memory_last_warmed_tokens", 0)) > 0,
                                          timeout=120)["memory_last_warmed_tokens"])

        assert client.ask("Do you remember where I moved to?")
        values = diagnostics.wait_for(lambda v: v.get("turns_answered") == "1" and "last_history_turns_used" in v,
                                      timeout=30)
        assert int(values["last_prompt_tokens_reused"]) >= warmed  # ...so the answer did not read it again
        # Everything said before the restart was in the context of this answer.
        assert int(values["last_history_turns_used"]) == len(stored)
        assert values["memory_session"] == session.session_id and values["memory_user"] == "sam"
        assert values["memory_store"] == str(store_path)
        assert int(values["history_turns"]) == len(stored) + 2

        assert forget_client.wait_for_service(timeout_sec=30)
        response = client.call(forget_client, ForgetMemory.Request(user_name="sam", reason="test"))
        assert response.success, response.message
        assert (response.forgotten_sessions, response.forgotten_turns) == (1, len(stored) + 2)
        assert client.history().total_turns == 0
        assert client.ask("Hello, who are you?")  # a fresh conversation, same user
        assert client.history().total_turns == 2
    finally:
        client.close()
        code = graph.stop()
    assert code == 0, graph.output()[-3000:]
    assert not re.search(r"\[ERROR\] \[[0-9.]+\] \[esbot\.dialogue\]", graph.output())  # no store errors
