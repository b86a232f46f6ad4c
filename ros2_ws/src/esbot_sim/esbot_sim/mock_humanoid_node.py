"""The mock humanoid: a ROS 2 node standing in for the robot.

It says the user's lines (from a conversation script or the terminal) as final transcripts,
listens to everything the robot would receive (reply chunks, gestures, speech audio,
conversational state, safety alerts) and writes all of it to a JSON-lines session log.
"""

import sys
import threading
import time
import uuid
from pathlib import Path

import rclpy
from ament_index_python.packages import get_package_share_directory
from builtin_interfaces.msg import Duration
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_msgs.msg import AudioFrame, ConversationState, GestureCommand, ReplyChunk, SafetyAlert, Transcript
from esbot_msgs.srv import ResetConversation
from esbot_sim.conversation_script import (
    Repeat,
    Reset,
    Say,
    ScriptError,
    Sleep,
    WaitForReplies,
    load_script,
    parse_line,
)
from esbot_sim.session_log import SessionLog, default_session_log_path

STATE_NAMES = {
    ConversationState.IDLE: "idle",
    ConversationState.LISTENING: "listening",
    ConversationState.THINKING: "thinking",
    ConversationState.SPEAKING: "speaking",
}
BYTES_PER_SAMPLE = {AudioFrame.ENCODING_PCM_S16LE: 2, AudioFrame.ENCODING_PCM_F32LE: 4}
IDLE_GRACE_SECONDS = 2.0

PARAMETERS = {  # name: (default, description)
    "script_file": ("", 'Where user lines come from: "" = the packaged demo conversation, '
                        '"stdin" = the terminal, else a conversation script path.'),
    "session_log": ("", 'JSON-lines session log path; "" = ~/.local/share/esbot/sessions/sim-<time>.jsonl.'),
    "reply_timeout": (120.0, "Seconds to wait for the final chunk of a reply before logging a timeout."),
    "start_timeout": (300.0, "Seconds to wait for the dialogue node to be ready (model loading)."),
    "echo": (True, "Print the conversation to the terminal."),
    "exit_when_done": (True, "Shut the node down (ending the simulated graph) when the script is finished."),
}


def seconds(duration: Duration) -> float:
    return duration.sec + duration.nanosec * 1e-9


class MockHumanoid(Node):
    def __init__(self):
        super().__init__("mock_humanoid")
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description))

        log_path = self.get_parameter("session_log").value or default_session_log_path()
        self.session_log = SessionLog(log_path)
        self.echo = self.get_parameter("echo").value
        self.done = threading.Event()
        self.exit_code = 0
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._outstanding: dict[str, threading.Event] = {}
        self._robot_state = (ConversationState.IDLE, 0)  # (state, pending utterances)
        self._last_activity = time.monotonic()  # last state change or utterance sent

        self.transcript_pub = self.create_publisher(Transcript, interfaces.USER_TRANSCRIPT, interfaces.STREAM_QOS)
        self.create_subscription(ReplyChunk, interfaces.REPLY, self._on_reply_chunk, interfaces.STREAM_QOS)
        self.create_subscription(ConversationState, interfaces.CONVERSATION_STATE, self._on_state, interfaces.STATE_QOS)
        self.create_subscription(GestureCommand, interfaces.GESTURE, self._on_gesture, interfaces.STREAM_QOS)
        self.create_subscription(AudioFrame, interfaces.SPEAKER_AUDIO, self._on_speaker_audio, interfaces.STREAM_QOS)
        self.create_subscription(SafetyAlert, interfaces.SAFETY_ALERT, self._on_safety_alert, interfaces.ALERT_QOS)
        self.reset_client = self.create_client(ResetConversation, interfaces.RESET_CONVERSATION)

        self.session_log.write("session_start", node=self.get_fully_qualified_name())
        self.get_logger().info(f"session log: {self.session_log.path}")
        threading.Thread(target=self._run_conversation, name="conversation", daemon=True).start()

    # --- what the robot sends -------------------------------------------------------------
    def _on_reply_chunk(self, msg: ReplyChunk) -> None:
        self.session_log.write(
            "reply_chunk", turn_id=msg.turn_id, utterance_id=msg.utterance_id, chunk_index=msg.chunk_index,
            text=msg.text, is_final=msg.is_final, strategy=msg.strategy, affect=msg.affect,
            since_utterance=seconds(msg.since_utterance))
        if self.echo:
            if msg.chunk_index == 0:
                print("robot> ", end="", flush=True)
            print(msg.text + (" " if msg.text else ""), end="\n" if msg.is_final else "", flush=True)
        if msg.is_final:
            with self._lock:
                finished = self._outstanding.pop(msg.utterance_id, None)
            if finished:
                finished.set()

    def _on_state(self, msg: ConversationState) -> None:
        self.session_log.write("state", state=STATE_NAMES.get(msg.state, str(msg.state)), turn_id=msg.turn_id,
                               pending_utterances=msg.pending_utterances)
        with self._lock:
            self._robot_state = (msg.state, msg.pending_utterances)
            self._last_activity = time.monotonic()
        if msg.state != ConversationState.IDLE:
            self._ready.set()

    def _on_gesture(self, msg: GestureCommand) -> None:
        self.session_log.write("gesture", turn_id=msg.turn_id, name=msg.name, intensity=msg.intensity,
                               start_offset=seconds(msg.start_offset), duration=seconds(msg.duration))

    def _on_speaker_audio(self, msg: AudioFrame) -> None:
        frame_bytes = BYTES_PER_SAMPLE.get(msg.encoding, 0) * max(msg.channels, 1)
        duration = len(msg.data) / frame_bytes / msg.sample_rate if frame_bytes and msg.sample_rate else None
        self.session_log.write("speaker_audio", sample_rate=msg.sample_rate, channels=msg.channels,
                               encoding=msg.encoding, n_bytes=len(msg.data), duration=duration)

    def _on_safety_alert(self, msg: SafetyAlert) -> None:
        self.session_log.write("safety_alert", alert_id=msg.alert_id, level=msg.level, category=msg.category,
                               utterance_id=msg.utterance_id, text=msg.text, action_taken=msg.action_taken)

    # --- what the user says ---------------------------------------------------------------
    def _steps(self):
        source = self.get_parameter("script_file").value
        if source == "stdin":
            print("Type what you want to say to the robot (Ctrl-D to end).", flush=True)
            for number, line in enumerate(sys.stdin, start=1):
                try:
                    step = parse_line(line, number)
                except ScriptError as error:
                    print(f"(not understood: {error})", flush=True)
                    continue
                if step is not None:
                    yield step
            return
        path = source or str(Path(get_package_share_directory("esbot_sim")) / "scripts" / "demo_conversation.txt")
        yield from load_script(path)

    def _run_conversation(self) -> None:
        try:
            if not self._wait_until_robot_ready():
                self.exit_code = 1
                return
            last = None
            for step in self._steps():
                if isinstance(step, Say):
                    last = (f"sim-{uuid.uuid4().hex[:12]}", step.text)
                    self._say(*last, wait=step.wait_for_reply)
                elif isinstance(step, Repeat) and last is not None:
                    self._say(*last, wait=False)
                elif isinstance(step, Sleep):
                    self.done.wait(step.seconds)
                elif isinstance(step, Reset):
                    self._reset()
                elif isinstance(step, WaitForReplies):
                    self._wait_for_outstanding()
            self._wait_for_outstanding()
            self.session_log.write("script_finished", exit_code=self.exit_code)
        except ScriptError as error:
            self.get_logger().error(str(error))
            self.session_log.write("script_error", message=str(error))
            self.exit_code = 2
        finally:
            if self.get_parameter("exit_when_done").value:
                self.done.set()

    def _wait_until_robot_ready(self) -> bool:
        timeout = self.get_parameter("start_timeout").value
        self.get_logger().info("waiting for the dialogue node ...")
        if not self._ready.wait(timeout):
            self.get_logger().error(f"the dialogue node did not come up within {timeout:.0f} s")
            self.session_log.write("robot_not_ready", timeout=timeout)
            return False
        while self.transcript_pub.get_subscription_count() == 0 and not self.done.wait(0.05):
            pass
        self.session_log.write("robot_ready")
        return True

    def _say(self, utterance_id: str, text: str, wait: bool) -> None:
        finished = threading.Event()
        with self._lock:
            self._outstanding.setdefault(utterance_id, finished)
        msg = Transcript(utterance_id=utterance_id, text=text, language="en", confidence=1.0, is_final=True)
        now = self.get_clock().now().to_msg()
        msg.header.stamp = msg.speech_start = msg.speech_end = now
        msg.header.frame_id = "mock_humanoid"
        self.session_log.write("user_utterance", utterance_id=utterance_id, text=text, wait_for_reply=wait)
        if self.echo and self.get_parameter("script_file").value != "stdin":  # typed lines are already on screen
            print(f"user>  {text}", flush=True)
        self.transcript_pub.publish(msg)
        with self._lock:
            self._last_activity = time.monotonic()
        if wait:
            self._wait_for_reply(utterance_id, finished)

    def _wait_for_reply(self, utterance_id: str, finished: threading.Event) -> None:
        if not finished.wait(self.get_parameter("reply_timeout").value):
            self.get_logger().warning(f"no complete reply to {utterance_id}")
            self.session_log.write("reply_timeout", utterance_id=utterance_id)
            with self._lock:
                self._outstanding.pop(utterance_id, None)
            self.exit_code = 1

    def _robot_idle(self) -> bool:
        """Listening with nothing queued, and quiet for a moment (so nothing is in flight)."""
        with self._lock:
            state, pending = self._robot_state
            quiet = time.monotonic() - self._last_activity
        return state == ConversationState.LISTENING and pending == 0 and quiet >= IDLE_GRACE_SECONDS

    def _wait_for_outstanding(self) -> None:
        """Wait until every reply still owed has come or the robot has gone idle without it.

        Inputs the robot rightly ignores (empty, duplicates) get no reply, so "owed" ends when
        the robot has nothing left to do; those are logged as no_reply.
        """
        deadline = time.monotonic() + self.get_parameter("reply_timeout").value
        while time.monotonic() < deadline and not self.done.is_set():
            with self._lock:
                if not self._outstanding:
                    return
            if self._robot_idle():
                break
            time.sleep(0.1)
        with self._lock:
            unanswered, self._outstanding = list(self._outstanding), {}
        for utterance_id in unanswered:
            self.session_log.write("no_reply", utterance_id=utterance_id)

    def _reset(self) -> None:
        if not self.reset_client.wait_for_service(timeout_sec=10.0):
            self.session_log.write("reset", success=False, message="reset_conversation service not available")
            return
        done = threading.Event()
        future = self.reset_client.call_async(ResetConversation.Request(reason="mock humanoid script"))
        future.add_done_callback(lambda _: done.set())
        if not done.wait(60.0) or future.result() is None:
            self.session_log.write("reset", success=False, message="no answer from reset_conversation")
            return
        result = future.result()
        self.session_log.write("reset", success=result.success, cleared_turns=result.cleared_turns,
                               message=result.message)


def main(args=None):
    rclpy.init(args=args)
    node = None
    try:
        node = MockHumanoid()
        executor = MultiThreadedExecutor(num_threads=2)
        executor.add_node(node)
        while rclpy.ok() and not node.done.is_set():
            executor.spin_once(timeout_sec=0.1)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.session_log.close()
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(node.exit_code if node is not None else 1)


if __name__ == "__main__":
    main()
