"""Test harness for the system tests: run a graph with the offline launcher in its own
processes, and talk to it from the test process as a ROS 2 node would."""

import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

import rclpy
from esbot_graph import NAMESPACE
from rclpy.action import ActionClient
from rclpy.executors import MultiThreadedExecutor
from rclpy.node import Node

import esbot_interfaces as interfaces
from diagnostic_msgs.msg import DiagnosticArray
from esbot_msgs.msg import ConversationState, ReplyChunk, SafetyAlert, Transcript
from esbot_msgs.action import Say
from esbot_msgs.srv import GetHistory, LoadAdapter, ResetConversation, ResetSafetyMode
from esbot_sim.session_log import read_session_log

ROOT = Path(__file__).resolve().parent.parent


class LaunchedGraph:
    """The offline launcher in a subprocess; its output goes to a log file for post-mortems."""

    def __init__(self, graph: str, overrides: dict[str, object], log_path: Path):
        # Each test's conversations go to a store in its own folder, never the user's real one
        # (which would also carry conversations over from earlier test runs).
        overrides = {"dialogue.memory_store_path": log_path.parent / "conversations.sqlite3", **overrides}
        command = [sys.executable, str(ROOT / "launch" / "offline_launcher.py"), graph]
        for key, value in overrides.items():
            command += ["--set", f"{key}={value}"]
        self.log_path = log_path
        self._log = log_path.open("w")
        self.process = subprocess.Popen(command, env=os.environ.copy(), stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.process.wait(timeout=timeout)

    def stop(self, timeout: float = 30.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self._log.close()
        return code


class GraphClient:
    """A node in the test process: publishes transcripts, records replies, calls services and actions."""

    def __init__(self, name: str = "esbot_test_client"):
        if not rclpy.ok():
            rclpy.init()
        self.node = Node(name, namespace=NAMESPACE)
        self.chunks: dict[str, list[ReplyChunk]] = defaultdict(list)  # by utterance id, in arrival order
        self.states: list[int] = []
        self.alerts: list[SafetyAlert] = []
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self.transcript_pub = self.node.create_publisher(Transcript, interfaces.USER_TRANSCRIPT, interfaces.STREAM_QOS)
        self.node.create_subscription(ReplyChunk, interfaces.REPLY, self._on_chunk, interfaces.STREAM_QOS)
        self.node.create_subscription(ConversationState, interfaces.CONVERSATION_STATE, self._on_state, interfaces.STATE_QOS)
        self.reset_client = self.node.create_client(ResetConversation, interfaces.RESET_CONVERSATION)
        self.history_client = self.node.create_client(GetHistory, interfaces.GET_HISTORY)
        self.adapter_client = self.node.create_client(LoadAdapter, interfaces.LOAD_ADAPTER)
        self.safety_reset_client = self.node.create_client(ResetSafetyMode, interfaces.RESET_SAFETY_MODE)
        self.node.create_subscription(SafetyAlert, interfaces.SAFETY_ALERT, self._on_alert, interfaces.ALERT_QOS)
        self.executor = MultiThreadedExecutor(num_threads=2)
        self.executor.add_node(self.node)
        self._spinner = threading.Thread(target=self.executor.spin, daemon=True)
        self._spinner.start()

    def _on_chunk(self, msg: ReplyChunk) -> None:
        with self._changed:
            self.chunks[msg.utterance_id].append(msg)
            self._changed.notify_all()

    def _on_alert(self, msg: SafetyAlert) -> None:
        with self._changed:
            self.alerts.append(msg)
            self._changed.notify_all()

    def _on_state(self, msg: ConversationState) -> None:
        with self._changed:
            self.states.append(msg.state)
            self._changed.notify_all()
            self._changed.notify_all()

    def wait_until_listening(self, timeout: float) -> None:
        """The dialogue node is up (model loaded) and hears our transcripts."""
        deadline = time.monotonic() + timeout
        with self._changed:
            ok = self._changed.wait_for(lambda: ConversationState.LISTENING in self.states, timeout)
        assert ok, "the dialogue node never reported LISTENING"
        while self.transcript_pub.get_subscription_count() == 0:
            assert time.monotonic() < deadline, "the dialogue node does not subscribe to user_transcript"
            time.sleep(0.05)

    def wait_until_idle(self, timeout: float) -> None:
        """Nothing being generated or spoken: the robot's state is LISTENING now."""
        with self._changed:
            ok = self._changed.wait_for(lambda: self.states and self.states[-1] == ConversationState.LISTENING,
                                        timeout)
        assert ok, "the robot did not come back to LISTENING"

    def say(self, text: str, utterance_id: str | None = None) -> str:
        utterance_id = utterance_id or f"test-{uuid.uuid4().hex[:12]}"
        msg = Transcript(utterance_id=utterance_id, text=text, language="en", confidence=1.0, is_final=True)
        msg.header.stamp = self.node.get_clock().now().to_msg()
        self.transcript_pub.publish(msg)
        return utterance_id

    def wait_for_reply(self, utterance_id: str, timeout: float) -> list[ReplyChunk]:
        with self._changed:
            ok = self._changed.wait_for(
                lambda: any(c.is_final for c in self.chunks.get(utterance_id, [])), timeout)
            assert ok, f"no complete reply to {utterance_id} within {timeout} s"
            return list(self.chunks[utterance_id])

    def ask(self, text: str, timeout: float = 120.0) -> str:
        """Say something and return the reply's text."""
        chunks = self.wait_for_reply(self.say(text), timeout)
        return " ".join(c.text for c in chunks if c.text)

    def call(self, client, request, timeout: float = 60.0):
        assert client.wait_for_service(timeout_sec=timeout), f"service {client.srv_name} not available"
        future = client.call_async(request)
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout), f"no answer from {client.srv_name}"
        return future.result()

    def history(self) -> GetHistory.Response:
        return self.call(self.history_client, GetHistory.Request())

    def reset(self) -> ResetConversation.Response:
        return self.call(self.reset_client, ResetConversation.Request(reason="test"))

    def load_adapter(self, path: str) -> LoadAdapter.Response:
        return self.call(self.adapter_client, LoadAdapter.Request(adapter_path=path), timeout=120.0)

    def reset_safety_mode(self, operator: str, reason: str) -> ResetSafetyMode.Response:
        return self.call(self.safety_reset_client, ResetSafetyMode.Request(operator_name=operator, reason=reason))

    def say_aloud(self, text: str, cancel_after_s: float | None = None, timeout: float = 60.0):
        """Send a Say goal to the TTS node; cancel it after cancel_after_s if given. (result, feedback)"""
        client = ActionClient(self.node, Say, interfaces.SAY)
        assert client.wait_for_server(timeout_sec=30.0), "no say action server"
        feedback = []
        accepted = self._wait(client.send_goal_async(Say.Goal(text=text), feedback_callback=feedback.append),
                              timeout)
        assert accepted.accepted, "Say goal refused"
        if cancel_after_s is not None:
            time.sleep(cancel_after_s)
            self._wait(accepted.cancel_goal_async(), timeout)
        result = self._wait(accepted.get_result_async(), timeout)
        client.destroy()
        return result, [f.feedback for f in feedback]

    @staticmethod
    def _wait(future, timeout: float):
        done = threading.Event()
        future.add_done_callback(lambda _: done.set())
        assert done.wait(timeout), "no answer in time"
        return future.result()

    def close(self) -> None:
        self.executor.shutdown()
        self.node.destroy_node()
        rclpy.try_shutdown()


ENGLISH_FUNCTION_WORDS = {"i", "you", "the", "a", "to", "and", "it", "is", "that", "of", "your", "can", "be", "it's",
                          "i'm", "you're", "in", "for", "what", "how", "this", "are", "with", "my", "me", "feel"}


class Diagnostics:
    """The dialogue node's latest /diagnostics values, seen from the test's node."""

    def __init__(self, client: GraphClient):
        self.values: dict[str, str] = {}
        self._changed = threading.Condition()
        client.node.create_subscription(DiagnosticArray, "/diagnostics", self._on_message, 10)

    def _on_message(self, msg: DiagnosticArray) -> None:
        for status in msg.status:
            if status.name.endswith(": dialogue"):
                with self._changed:
                    self.values = {kv.key: kv.value for kv in status.values}
                    self._changed.notify_all()

    def wait_for(self, predicate, timeout: float) -> dict[str, str]:
        with self._changed:
            assert self._changed.wait_for(lambda: predicate(self.values), timeout), self.values
            return dict(self.values)


def looks_like_english(text: str) -> bool:
    words = re.findall(r"[A-Za-z']+", text.lower())
    ascii_share = sum(ch.isascii() for ch in text) / max(len(text), 1)
    return len(words) >= 3 and ascii_share > 0.95 and len(ENGLISH_FUNCTION_WORDS.intersection(words)) >= 2


def wait_for_event(log_path, event: str, timeout: float) -> list[dict]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log_path.exists():
            records = read_session_log(log_path)
            if any(r["event"] == event for r in records):
                return records
        time.sleep(0.5)
    raise AssertionError(f"no {event!r} in the session log within {timeout} s")
