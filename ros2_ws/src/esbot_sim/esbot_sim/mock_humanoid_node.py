"""The mock humanoid: a ROS 2 node standing in for the robot and its user.

The user's lines come from a conversation script or the terminal: typed lines go out as final
transcripts, `!audio` lines are WAV recordings played into the robot's microphone stream in real
time. The microphone (simulated_microphone.py) also hears the robot's own voice as an echo, as a
real robot's does. Everything the robot sends (transcripts, reply chunks, gestures, speech audio,
speaking, listening and conversational state, safety alerts) goes to a JSON-lines session log; the robot's
speech is recorded to a WAV file, and a spoken session ends with a summary of each turn.
"""

import sys
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import rclpy
from ament_index_python.packages import get_package_share_directory
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_common.model_store import default_models_dir
from esbot_interfaces import publish_from_thread, seconds_of, time_msg
from esbot_msgs.msg import (AudioFrame, BargeIn, ConversationState, GestureCommand, ListeningState, ReplyChunk,
                            SafetyAlert, SpeakingState, SpokenReply, Transcript)
from esbot_speech.audio_format import AudioFormatError, decode_frame, encode_pcm16
from esbot_msgs.srv import ResetConversation
from esbot_sim.conversation_script import (
    PlayAudio,
    Repeat,
    Reset,
    Say,
    ScriptError,
    Sleep,
    WaitForReplies,
    load_script,
    parse_line,
)
from esbot_sim.session_log import SessionLog, default_session_log_path, read_session_log
from esbot_sim.simulated_microphone import SimulatedMicrophone
from esbot_sim.turn_summary import format_turn, summarize_turns
from esbot_sim.wav_files import WavError, WavRecorder, read_wav_at, voiced_end

STATE_NAMES = {
    ConversationState.IDLE: "idle",
    ConversationState.LISTENING: "listening",
    ConversationState.THINKING: "thinking",
    ConversationState.SPEAKING: "speaking",
}
IDLE_GRACE_SECONDS = 2.0

PARAMETERS = {  # name: (default, description)
    "script_file": ("", 'Where user lines come from: "" = the packaged demo conversation, '
                        '"stdin" = the terminal, else a conversation script path.'),
    "session_log": ("", 'JSON-lines session log path; "" = ~/.local/share/esbot/sessions/sim-<time>.jsonl.'),
    "reply_timeout": (120.0, "Seconds to wait for the final chunk of a reply before logging a timeout."),
    "start_timeout": (300.0, "Seconds to wait for the dialogue node to be ready (model loading)."),
    "echo": (True, "Print the conversation to the terminal."),
    "exit_when_done": (True, "Shut the node down (ending the simulated graph) when the script is finished."),
    "user_audio_dir": ("", 'Folder that relative !audio files are read from; "" = <models folder>/user_audio '
                           "(synthesized by make setup with espeak-ng, a voice other than the robot's)."),
    "robot_speech_wav": ("", 'Where the robot\'s speech is recorded; "" = the session log path with .robot.wav.'),
    "microphone_rate": (16000, "Sample rate of the simulated microphone stream (the ASR resamples any rate)."),
    "microphone_channels": (1, "Channels of the simulated microphone stream (the ASR downmixes)."),
    "microphone_frame_ms": (20.0, "Length of each microphone_audio frame."),
    "echo_gain": (0.1, "How loud the robot's own voice is in its microphone (0.1 = 20 dB below what it played; "
                       "0 = no echo)."),
    "echo_delay_s": (0.05, "Delay from the robot's speaker to its microphone."),
    "noise_level": (0.0005, "Standard deviation of the room noise added to the microphone (full scale 1)."),
    "transcript_timeout": (20.0, "Seconds after a recording ends to wait for its transcript before logging "
                                 "no_transcript."),
}


class MockHumanoid(Node):
    def __init__(self):
        super().__init__("mock_humanoid")
        for name, (default, description) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description))

        log_path = self.get_parameter("session_log").value or default_session_log_path()
        self.session_log = SessionLog(log_path)
        self.echo = self.get_parameter("echo").value
        self.done = threading.Event()
        self.stopping = threading.Event()  # the node is shutting down (Ctrl-C, the graph stopping)
        self.exit_code = 0
        self._ready = threading.Event()
        self._lock = threading.Lock()
        self._outstanding: dict[str, threading.Event] = {}
        self._robot_state = (ConversationState.IDLE, 0)  # (state, pending utterances)
        self._last_activity = time.monotonic()  # last state change or utterance sent

        self._robot_speaking = threading.Event()
        self._user_has_spoken = False  # a recording was played: replies are owed without known ids
        self._recordings_played = 0
        self._last_recording_end = 0.0  # monotonic time the last recording finished playing
        self._transcripts_seen = 0
        self._transcript_arrived = threading.Condition()
        self.microphone = SimulatedMicrophone(self._param("microphone_rate"), self._param("echo_gain"),
                                              self._param("echo_delay_s"), self._param("noise_level"))
        self.recorder = WavRecorder(self._param("robot_speech_wav") or self.session_log.path.with_suffix(".robot.wav"))
        self.transcript_pub = self.create_publisher(Transcript, interfaces.USER_TRANSCRIPT, interfaces.STREAM_QOS)
        self.microphone_pub = self.create_publisher(AudioFrame, interfaces.MICROPHONE_AUDIO, interfaces.AUDIO_QOS)
        self.create_subscription(Transcript, interfaces.USER_TRANSCRIPT, self._on_transcript, interfaces.STREAM_QOS)
        self.create_subscription(SpeakingState, interfaces.ROBOT_SPEAKING, self._on_speaking, interfaces.STATE_QOS)
        self.create_subscription(SpokenReply, interfaces.SPOKEN_REPLY, self._on_spoken_reply, interfaces.STREAM_QOS)
        self.create_subscription(BargeIn, interfaces.BARGE_IN, self._on_barge_in, interfaces.STREAM_QOS)
        self.create_subscription(ListeningState, interfaces.LISTENING_STATE, self._on_listening, interfaces.STATE_QOS)
        self.create_subscription(ReplyChunk, interfaces.REPLY, self._on_reply_chunk, interfaces.STREAM_QOS)
        self.create_subscription(ConversationState, interfaces.CONVERSATION_STATE, self._on_state, interfaces.STATE_QOS)
        self.create_subscription(GestureCommand, interfaces.GESTURE, self._on_gesture, interfaces.STREAM_QOS)
        self.create_subscription(AudioFrame, interfaces.SPEAKER_AUDIO, self._on_speaker_audio, interfaces.AUDIO_QOS)
        self.create_subscription(SafetyAlert, interfaces.SAFETY_ALERT, self._on_safety_alert, interfaces.ALERT_QOS)
        self.reset_client = self.create_client(ResetConversation, interfaces.RESET_CONVERSATION)

        self.session_log.write("session_start", node=self.get_fully_qualified_name())
        self.get_logger().info(f"session log: {self.session_log.path}")
        self._microphone_thread = threading.Thread(target=self._stream_microphone, name="microphone", daemon=True)
        self._microphone_thread.start()
        threading.Thread(target=self._run_conversation, name="conversation", daemon=True).start()

    def _param(self, name):
        return self.get_parameter(name).value

    # --- what the robot sends -------------------------------------------------------------
    def _on_reply_chunk(self, msg: ReplyChunk) -> None:
        self.session_log.write(
            "reply_chunk", turn_id=msg.turn_id, utterance_id=msg.utterance_id, chunk_index=msg.chunk_index,
            text=msg.text, is_final=msg.is_final, strategy=msg.strategy, affect=msg.affect,
            since_utterance=seconds_of(msg.since_utterance), stamp=seconds_of(msg.header.stamp))
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
                               start_offset=seconds_of(msg.start_offset), duration=seconds_of(msg.duration))

    def _on_speaker_audio(self, msg: AudioFrame) -> None:
        try:
            audio = decode_frame(msg.data, msg.encoding, msg.channels, msg.sample_rate)
        except AudioFormatError as error:
            self.session_log.write("speaker_audio_error", message=str(error))
            return
        self.microphone.add_robot_audio(audio, msg.sample_rate, seconds_of(msg.header.stamp))
        self.recorder.write(audio, msg.sample_rate)

    def _on_transcript(self, msg: Transcript) -> None:
        if msg.header.frame_id == "mock_humanoid":
            return  # our own typed line, already logged as user_utterance
        self.session_log.write("transcript", utterance_id=msg.utterance_id, text=msg.text, language=msg.language,
                               confidence=msg.confidence, speech_start=seconds_of(msg.speech_start),
                               speech_end=seconds_of(msg.speech_end), processing_time=seconds_of(msg.processing_time),
                               stamp=seconds_of(msg.header.stamp))
        if self.echo:
            print(f"heard> {msg.text}", flush=True)
        with self._transcript_arrived:
            self._transcripts_seen += 1
            self._transcript_arrived.notify_all()
        with self._lock:
            self._last_activity = time.monotonic()

    def _on_speaking(self, msg: SpeakingState) -> None:
        self.session_log.write("robot_speaking", speaking=msg.speaking, turn_id=msg.turn_id,
                               stamp=seconds_of(msg.header.stamp))
        (self._robot_speaking.set if msg.speaking else self._robot_speaking.clear)()
        with self._lock:
            self._last_activity = time.monotonic()

    def _on_spoken_reply(self, msg: SpokenReply) -> None:
        self.session_log.write("spoken_reply", turn_id=msg.turn_id, spoken_text=msg.spoken_text,
                               interrupted=msg.interrupted, spoken_duration=seconds_of(msg.spoken_duration),
                               speech_start=seconds_of(msg.speech_start))

    def _on_barge_in(self, msg: BargeIn) -> None:
        self.session_log.write("barge_in", interrupted_turn_id=msg.interrupted_turn_id,
                               stamp=seconds_of(msg.header.stamp))

    def _on_listening(self, msg: ListeningState) -> None:
        self.session_log.write("listening_state", user_speaking=msg.user_speaking, transcribing=msg.transcribing)

    def _on_safety_alert(self, msg: SafetyAlert) -> None:
        self.session_log.write("safety_alert", alert_id=msg.alert_id, level=msg.level, category=msg.category,
                               utterance_id=msg.utterance_id, text=msg.text, action_taken=msg.action_taken)

    # --- the microphone -----------------------------------------------------------------------
    def _stream_microphone(self) -> None:
        """Publish the microphone stream frame by frame at the real rate, on an absolute schedule
        so the stream keeps its sample clock even when a frame goes out late."""
        rate, channels = self._param("microphone_rate"), self._param("microphone_channels")
        frame = max(1, round(rate * self._param("microphone_frame_ms") / 1000))
        origin = self.get_clock().now().nanoseconds * 1e-9
        self.microphone.start(origin)
        started = time.monotonic()
        sent = 0
        while not self.done.is_set() and rclpy.ok():
            delay = started + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            stamp, audio = self.microphone.next_frame(frame)
            sent += frame
            samples = np.repeat(audio[:, None], channels, axis=1) if channels > 1 else audio
            msg = AudioFrame(sample_rate=rate, channels=channels, encoding=AudioFrame.ENCODING_PCM_S16LE,
                             data=encode_pcm16(samples))
            msg.header.stamp = time_msg(stamp)
            msg.header.frame_id = "mock_microphone"
            if not publish_from_thread(self.microphone_pub, msg):
                return

    def _play_audio(self, step: PlayAudio) -> None:
        folder = self._param("user_audio_dir") or str(default_models_dir() / "user_audio")
        path = Path(step.file) if Path(step.file).is_absolute() else Path(folder) / step.file
        audio = read_wav_at(path, self._param("microphone_rate"))  # WavError ends the script with its message
        if step.over_robot_speech_after_s is not None:
            if not self._robot_speaking.wait(self._param("reply_timeout")):
                self.session_log.write("bargein_skipped", file=str(path), message="the robot never spoke")
                return
            self.done.wait(step.over_robot_speech_after_s)
        with self._transcript_arrived:
            transcripts_before = self._transcripts_seen
        self._user_has_spoken = True
        start, end = self.microphone.play_user_audio(audio)
        voiced = start + voiced_end(audio) / self._param("microphone_rate")
        self.session_log.write("user_audio", file=step.file, start=start, voiced_end=voiced, end=end,
                               over_robot_speech=step.over_robot_speech_after_s is not None)
        if self.echo:
            print(f"user>  (speaks {path.name}, {end - start:.1f} s)", flush=True)
        with self._lock:
            self._last_activity = time.monotonic()
        while self.microphone.user_audio_pending() and not self.done.wait(0.05):
            pass
        with self._lock:
            self._recordings_played += 1
            self._last_recording_end = self._last_activity = time.monotonic()
        if step.wait_for_reply:
            with self._transcript_arrived:
                heard = self._transcript_arrived.wait_for(lambda: self._transcripts_seen > transcripts_before,
                                                          self._param("transcript_timeout"))
            if not heard:
                self.session_log.write("no_transcript", file=step.file)
                return
            self._wait_for_outstanding()

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
                if self.stopping.is_set():
                    return  # shut down mid-script: the script did not finish
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
                elif isinstance(step, PlayAudio):
                    self._play_audio(step)
            self._wait_for_outstanding()
            if self.stopping.is_set():
                return
            self.session_log.write("script_finished", exit_code=self.exit_code)
            self._print_turn_summaries()
        except (ScriptError, WavError) as error:
            self.get_logger().error(str(error))
            self.session_log.write("script_error", message=str(error))
            self.exit_code = 2
        finally:
            if self.get_parameter("exit_when_done").value:
                self.done.set()

    def close_session(self) -> None:
        """Stop the microphone stream (before the node it publishes with is destroyed) and close
        the recording and the log."""
        self.stopping.set()
        self.done.set()
        self._microphone_thread.join(timeout=2.0)
        self.recorder.close()
        self.session_log.close()

    def _print_turn_summaries(self) -> None:
        turns = summarize_turns(read_session_log(self.session_log.path))
        if not turns:
            return  # a typed session: the conversation on screen is the summary
        self.recorder.close()
        print(f"\n--- {len(turns)} spoken turns; the robot's speech is in {self.recorder.path}, "
              f"everything else in {self.session_log.path}", flush=True)
        for number, turn in enumerate(turns, start=1):
            print(format_turn(number, turn), flush=True)

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
        self.done.wait(0.5)  # let the microphone stream settle (the ASR's VAD starts on silence)
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
        """Listening with nothing queued, silent, and quiet for a moment (so nothing is in flight)."""
        with self._lock:
            state, pending = self._robot_state
            quiet = time.monotonic() - self._last_activity
            # A recording is still owed its transcript, unless the ASR had long enough to give up on it.
            transcript_owed = (self._transcripts_seen < self._recordings_played and time.monotonic()
                               - self._last_recording_end < self._param("transcript_timeout"))
        return (state == ConversationState.LISTENING and pending == 0 and not self._robot_speaking.is_set()
                and not self.microphone.user_audio_pending() and not transcript_owed
                and quiet >= IDLE_GRACE_SECONDS)

    def _wait_for_outstanding(self) -> None:
        """Wait until every reply still owed has come or the robot has gone idle without it.

        Inputs the robot rightly ignores (empty, duplicates) get no reply, so "owed" ends when
        the robot has nothing left to do; those are logged as no_reply. Once the user has spoken
        (recordings), what is owed is not known by id, so it waits for the robot to go idle.
        """
        deadline = time.monotonic() + self.get_parameter("reply_timeout").value
        while time.monotonic() < deadline and not self.done.is_set():
            with self._lock:
                if not self._outstanding and not self._user_has_spoken:
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
            node.close_session()
            node.destroy_node()
        rclpy.try_shutdown()
    sys.exit(node.exit_code if node is not None else 1)


if __name__ == "__main__":
    main()
