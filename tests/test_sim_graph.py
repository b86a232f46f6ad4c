"""System test: the simulated graph (dialogue node + mock humanoid, separate processes, started
by the offline launcher) with the real default model on CPU."""

import json
import os
import re
import signal
from pathlib import Path

import pytest

from esbot_common.model_store import resolve_model
from esbot_dialogue.safety.alert_log import ModeReset, read_alert_log
from esbot_dialogue.safety.policy import SafetyPolicy
from esbot_msgs.msg import SafetyAlert
from esbot_sim.session_log import read_session_log
from graph_harness import GraphClient, LaunchedGraph, looks_like_english, wait_for_event
from lora_test_adapters import make_test_adapters

pytestmark = pytest.mark.system

HOTLINES = Path(__file__).resolve().parent.parent / "ros2_ws/src/esbot_dialogue/config/safety_hotlines.yaml"
LONG_UTTERANCE = " ".join(["I keep thinking about everything that went wrong this year."] * 300) + " What now?"
SCRIPT = "\n".join([
    "Hello. I moved to a new city last month and I feel very lonely.",
    "!nowait " + json.dumps(""),
    "!nowait " + json.dumps(" \t\u200b\u0007\u0000 "),
    "!nowait " + json.dumps("I\u0007 don't know\u0000 anyone here.\u001b What should I do?"),
    "!repeat",
    "!nowait Maybe I could join a club.",
    "!wait",
    json.dumps(LONG_UTTERANCE),
    "!reset",
    "Thank you, that helps a little.",
])
# Short, greedy replies keep the test quick on 2 cores and make outputs comparable.
DIALOGUE_OVERRIDES = {"dialogue.max_new_tokens": 40, "dialogue.do_sample": "false", "dialogue.context_window": 1024}
def turns_by_utterance(records: list[dict]) -> dict[str, list[dict]]:
    chunks: dict[str, list[dict]] = {}
    for record in records:
        if record["event"] == "reply_chunk":
            chunks.setdefault(record["utterance_id"], []).append(record)
    return chunks


@pytest.fixture(scope="module")
def lora_adapters(tmp_path_factory):
    return make_test_adapters(resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct"), tmp_path_factory.mktemp("lora"))


@pytest.fixture(scope="module")
def scripted_conversation(tmp_path_factory):
    """Runs SCRIPT through the mock humanoid; the graph stays up for the tests below."""
    folder = tmp_path_factory.mktemp("sim_graph")
    (folder / "script.txt").write_text(SCRIPT)
    session_log = folder / "session.jsonl"
    graph = LaunchedGraph("sim", {
        **DIALOGUE_OVERRIDES,
        "dialogue.safety_alert_log": folder / "alerts.jsonl",
        "mock_humanoid.script_file": folder / "script.txt",
        "mock_humanoid.session_log": session_log,
        "mock_humanoid.exit_when_done": "false",
        "mock_humanoid.echo": "false",
    }, folder / "launcher.log")
    client = GraphClient()
    try:
        records = wait_for_event(session_log, "script_finished", timeout=900)
        yield graph, client, records, folder
    finally:
        client.close()
        code = graph.stop()
        print(graph.output()[-5000:])
        assert code == 0, "the launcher did not stop cleanly"
        assert "terminate called" not in graph.output() and "Traceback" not in graph.output()


def test_every_good_utterance_gets_exactly_one_ordered_english_answer(scripted_conversation):
    _, _, records, _ = scripted_conversation
    said = [r for r in records if r["event"] == "user_utterance"]
    chunks = turns_by_utterance(records)
    answered = {r["utterance_id"] for r in said
                if r["text"].strip(" \t\u200b\u0007\u0000")}  # what is left after cleaning
    assert len(answered) == 5  # hello, the control-character one, the club, the long one, thanks
    for utterance_id in answered:
        turn = chunks.get(utterance_id, [])
        assert [c["chunk_index"] for c in turn] == list(range(len(turn))), "chunks out of order"
        assert [c["is_final"] for c in turn].count(True) == 1 and turn[-1]["is_final"], "not one final chunk"
        assert len({c["turn_id"] for c in turn}) == 1
        reply = " ".join(c["text"] for c in turn if c["text"])
        assert looks_like_english(reply), f"reply is not English text: {reply!r}"
    ignored = [r["utterance_id"] for r in said if r["utterance_id"] not in answered]
    assert len(ignored) == 2 and not any(chunks.get(u) for u in ignored), "empty input was answered"


def test_duplicate_transcript_is_answered_once(scripted_conversation):
    _, _, records, _ = scripted_conversation
    said = [r for r in records if r["event"] == "user_utterance"]
    repeated = [u for u in {r["utterance_id"] for r in said} if sum(r["utterance_id"] == u for r in said) == 2]
    assert len(repeated) == 1
    finals = [c for c in turns_by_utterance(records)[repeated[0]] if c["is_final"]]
    assert len(finals) == 1


def test_history_grows_and_reset_clears_it(scripted_conversation):
    _, client, records, _ = scripted_conversation
    reset = next(r for r in records if r["event"] == "reset")
    assert reset["success"] and reset["cleared_turns"] == 8  # 4 answered turns before the reset, 2 turns each
    history = client.history()  # only the turn after the reset remains
    assert history.total_turns == 2
    assert [t.role for t in history.turns] == ["user", "assistant"]
    assert history.turns[0].text == "Thank you, that helps a little."
    assert history.turns[1].text


def test_bad_inputs_are_reported_and_survived(scripted_conversation):
    graph, client, _, _ = scripted_conversation
    output = graph.output()
    assert "too long for the context window" in output
    assert "already received" in output  # the duplicate
    assert client.ask("Are you still there?")  # the node still answers after all of it


def test_lora_adapter_changes_output_and_mismatch_is_refused(scripted_conversation, lora_adapters):
    _, client, _, _ = scripted_conversation
    prompt = "I failed my driving test today."

    def fresh_reply() -> str:
        assert client.reset().success
        return client.ask(prompt)

    base_reply = fresh_reply()
    loaded = client.load_adapter(str(lora_adapters / "matching"))
    assert loaded.success, loaded.message
    assert loaded.active_adapter == str(lora_adapters / "matching")
    assert "past turns in raw representation" in loaded.message  # no manifest: raw history
    adapted_reply = fresh_reply()
    assert adapted_reply != base_reply

    refused = client.load_adapter(str(lora_adapters / "tiny"))
    assert not refused.success
    assert "shape" in refused.message.lower() or "size" in refused.message.lower(), refused.message
    assert refused.active_adapter == str(lora_adapters / "matching")  # still serving what it had
    assert fresh_reply() == adapted_reply

    unloaded = client.load_adapter("")
    assert unloaded.success and unloaded.active_adapter == ""
    assert fresh_reply() == base_reply


def test_a_typed_crisis_gets_the_crisis_response_an_alert_and_careful_mode(scripted_conversation, tmp_path):
    """Runs after the other tests on the shared graph: it leaves careful mode reset."""
    _, client, _, folder = scripted_conversation
    crisis = "I have the pills in my hand and I'm going to take them all tonight."
    expected = SafetyPolicy.from_config(HOTLINES, "US", tmp_path / "expected.jsonl").on_user_utterance("x", crisis)
    assert client.reset().success
    reply = client.ask(crisis)
    assert reply == expected.response_text  # the crisis response, no LLM text
    assert "988" in reply and "911" in reply
    with client._changed:
        assert client._changed.wait_for(lambda: client.alerts, 30), "no SafetyAlert on the topic"
    alert = client.alerts[-1]
    assert (alert.level, alert.category) == (SafetyAlert.LEVEL_IMMEDIATE, SafetyAlert.CATEGORY_SUICIDE_SELF_HARM)
    assert "llm_skipped" in alert.action_taken
    logged = read_alert_log(folder / "alerts.jsonl")
    assert logged[-1].alert_id == alert.alert_id and logged[-1].text == crisis  # durable

    careful = client.ask("Okay.")
    assert "988" in careful  # careful mode: the way to human help is repeated after the reply
    assert client.reset().success  # a conversation reset does not end careful mode
    assert "988" in client.ask("Okay.")
    assert client.reset_safety_mode("test operator", "spoke with the person").success
    assert isinstance(read_alert_log(folder / "alerts.jsonl")[-1], ModeReset)
    assert "988" not in client.ask("I went for a walk today.")


def test_launcher_stops_the_graph_when_a_node_dies(tmp_path):
    (tmp_path / "script.txt").write_text("!sleep 600\n")
    graph = LaunchedGraph("sim", {**DIALOGUE_OVERRIDES, "mock_humanoid.script_file": tmp_path / "script.txt",
                                  "mock_humanoid.session_log": tmp_path / "session.jsonl"},
                          tmp_path / "launcher.log")
    try:
        wait_for_event(tmp_path / "session.jsonl", "robot_ready", timeout=300)
        dialogue_pid = int(re.search(r"started dialogue \(pid (\d+)\)", graph.output()).group(1))
        os.kill(dialogue_pid, signal.SIGKILL)
        code = graph.wait(timeout=60)
    finally:
        graph.stop()
    assert code == 128 + signal.SIGKILL
    assert "dialogue was killed by SIGKILL; all nodes are down" in graph.output()
    assert "script_finished" not in (tmp_path / "session.jsonl").read_text()


def test_demo_conversation_runs_to_the_end(tmp_path):
    """The main job (`make demo`): the packaged demo conversation, with shorter replies."""
    graph = LaunchedGraph("sim", {**DIALOGUE_OVERRIDES, "mock_humanoid.session_log": tmp_path / "session.jsonl"},
                          tmp_path / "launcher.log")
    try:
        code = graph.wait(timeout=600)
    finally:
        graph.stop()
    assert code == 0, graph.output()
    assert "mock_humanoid exited with status 0; all nodes are down" in graph.output()
    records = read_session_log(tmp_path / "session.jsonl")
    assert [r["exit_code"] for r in records if r["event"] == "script_finished"] == [0]
    said = [r["utterance_id"] for r in records if r["event"] == "user_utterance"]
    assert len(said) == 5  # every line of esbot_sim/scripts/demo_conversation.txt
    for utterance_id in said:
        reply = " ".join(r["text"] for r in records if r["event"] == "reply_chunk" and r["utterance_id"] == utterance_id)
        assert looks_like_english(reply)
    assert "robot> " in graph.output()  # the conversation is shown in the terminal


@pytest.mark.parametrize("override, message", [
    ({"dialogue.model": "/nonexistent/model-folder"}, "/nonexistent/model-folder"),
    ({"dialogue.device": "gpu"}, "cannot start"),
    ({"dialogue.context_window": 256, "dialogue.max_new_tokens": 250}, "leaves no room"),
])
def test_a_wrong_configuration_is_refused_with_a_clear_message(tmp_path, override, message):
    graph = LaunchedGraph("robot", override, tmp_path / "launcher.log")
    try:
        code = graph.wait(timeout=300)
    finally:
        graph.stop()
    output = graph.output()
    assert code == 1 and "[dialogue] cannot start:" in output and message in output, output
    assert "Traceback" not in output
