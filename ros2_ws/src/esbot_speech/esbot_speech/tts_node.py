"""The TTS node: the robot's voice and the gestures that go with it.

Subscribes:  reply (esbot_msgs/ReplyChunk: spoken sentence by sentence as they stream in),
             barge_in (esbot_msgs/BargeIn: stop speaking at once)
Publishes:   speaker_audio (esbot_msgs/AudioFrame, pcm_s16le at the voice's rate, each frame at the
             time it plays), gesture (esbot_msgs/GestureCommand), robot_speaking
             (esbot_msgs/SpeakingState, latched), spoken_reply (esbot_msgs/SpokenReply), /diagnostics
Actions:     say (esbot_msgs/action/Say, cancellable)
Synthesis, real-time playback, gesture timing and barge-in accounting are
esbot_speech/speech_output.py; this node wires them to ROS.
"""

import threading
import time
import uuid
from pathlib import Path

import rclpy
from ament_index_python.packages import get_package_share_directory
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, ParameterDescriptor
from rclpy.action import ActionServer, CancelResponse, GoalResponse
from rclpy.callback_groups import ReentrantCallbackGroup
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_common.sentence_stream import SentenceChunker
from esbot_interfaces import diagnostic_array, duration_msg, publish_from_thread, spin_node, time_msg
from esbot_msgs.action import Say
from esbot_msgs.msg import AudioFrame, BargeIn, GestureCommand, ReplyChunk, SpeakingState, SpokenReply
from esbot_speech.audio_format import encode_pcm16
from esbot_speech.gestures import GestureConfigError, load_gesture_config
from esbot_speech.speech_output import (AudioOut, GestureOut, SentenceStarted, SpeakingChanged, SpeechOutput,
                                        TurnSpoken)
from esbot_speech.voice import Voice, VoiceLoadError

# name: (default, description, extra descriptor fields); all need a restart (read-only).
PARAMETERS = {
    "voice_model": ("", 'Piper voice (.onnx with its .onnx.json beside it); "" = the packaged en_US joe medium '
                        "voice in the models folder.", {}),
    "models_dir": ("", 'Models folder; "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models.', {}),
    "use_cuda": (False, "Run Piper on CUDA (needs onnxruntime-gpu).", {}),
    "output": ("topic", 'Where the voice goes: "topic" (speaker_audio, for the robot\'s audio driver and the '
                        'mock humanoid), "sounddevice" (a local output device) or "both". speaker_audio is '
                        "published in every case: the ASR node uses it to recognise the robot's own voice.", {}),
    "output_device": ("", 'sounddevice output device name or index; "" = the system default.', {}),
    "gestures_file": ("", 'Gesture vocabulary and rules (YAML); "" = config/gestures.yaml installed with '
                          "esbot_speech.", {}),
    "frame_ms": (20.0, "Audio frame length: also the longest a barge-in waits before the voice stops.",
                 {"floating_point_range": [FloatingPointRange(from_value=5.0, to_value=200.0)]}),
    "turn_idle_timeout_s": (15.0, "A reply whose end never arrives is closed this long after its last sentence.",
                            {"floating_point_range": [FloatingPointRange(from_value=1.0, to_value=600.0)]}),
}


class TtsNode(Node):
    def __init__(self):
        super().__init__("tts")
        for name, (default, description, extra) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=True,
                                                                      **extra))
        p = self._param
        if p("output") not in ("topic", "sounddevice", "both"):
            raise ValueError(f'output must be "topic", "sounddevice" or "both", not {p("output")!r}')
        gestures_file = p("gestures_file") or str(
            Path(get_package_share_directory("esbot_speech")) / "config" / "gestures.yaml")
        gestures = load_gesture_config(gestures_file)
        started = time.monotonic()
        self.voice = Voice(p("voice_model"), p("models_dir") or None, p("use_cuda"))
        self.get_logger().info(f"voice {self.voice.path} ({self.voice.sample_rate} Hz) loaded in "
                               f"{time.monotonic() - started:.1f} s; gestures from {gestures_file}")
        self._device_stream = self._open_output_device() if p("output") in ("sounddevice", "both") else None

        self.audio_pub = self.create_publisher(AudioFrame, interfaces.SPEAKER_AUDIO, interfaces.AUDIO_QOS)
        self.gesture_pub = self.create_publisher(GestureCommand, interfaces.GESTURE, interfaces.STREAM_QOS)
        self.speaking_pub = self.create_publisher(SpeakingState, interfaces.ROBOT_SPEAKING, interfaces.STATE_QOS)
        self.spoken_pub = self.create_publisher(SpokenReply, interfaces.SPOKEN_REPLY, interfaces.STREAM_QOS)
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._publish_speaking(False, "", time.time())
        self._finished: dict[str, TurnSpoken] = {}  # Say goals waiting for their turn's report
        self._finished_changed = threading.Condition()
        self._progress: dict[str, tuple] = {}  # Say turn id -> (goal handle, sentence count, sentences started)
        self.counters = {"turns_spoken": 0, "turns_interrupted": 0, "gestures": 0, "seconds_spoken": 0.0}
        self.speech = SpeechOutput(self.voice.synthesize, self.voice.sample_rate, gestures, self._on_speech_event,
                                   frame_s=p("frame_ms") / 1000, turn_idle_timeout_s=p("turn_idle_timeout_s"))

        self.create_subscription(ReplyChunk, interfaces.REPLY, self._on_reply_chunk, interfaces.STREAM_QOS)
        self.create_subscription(BargeIn, interfaces.BARGE_IN, self._on_barge_in, interfaces.STREAM_QOS)
        self._say_server = ActionServer(self, Say, interfaces.SAY, self._execute_say,
                                        goal_callback=self._accept_goal, cancel_callback=self._accept_cancel,
                                        callback_group=ReentrantCallbackGroup())
        self.create_timer(2.0, self._publish_diagnostics)
        self.get_logger().info("ready: speaking replies")

    def _param(self, name):
        return self.get_parameter(name).value

    def _open_output_device(self):
        import sounddevice

        device = self._param("output_device") or None
        if device is not None and device.isdigit():
            device = int(device)
        try:
            stream = sounddevice.OutputStream(samplerate=self.voice.sample_rate, channels=1, dtype="float32",
                                              device=device)
            stream.start()
        except Exception as error:  # PortAudio reports missing devices and bad rates in many ways
            raise ValueError(f"cannot open the output sound device {device or '(default)'}: {error}")
        return stream

    # --- replies in ----------------------------------------------------------------------------
    def _on_reply_chunk(self, msg: ReplyChunk) -> None:
        self.speech.say(msg.turn_id, msg.text, msg.is_final, msg.strategy, msg.affect)

    def _on_barge_in(self, msg: BargeIn) -> None:
        stopped = self.speech.interrupt(msg.interrupted_turn_id)
        if stopped:
            self.get_logger().info(f"barge-in: stopped speaking turn {stopped}")

    # --- speech out ----------------------------------------------------------------------------
    def _on_speech_event(self, event) -> None:
        """Called from the speech threads; every event becomes a message."""
        if isinstance(event, AudioOut):
            frame = AudioFrame(sample_rate=event.sample_rate, channels=1, encoding=AudioFrame.ENCODING_PCM_S16LE,
                               data=encode_pcm16(event.samples))
            frame.header.stamp = time_msg(event.stamp)
            frame.header.frame_id = "speaker"
            publish_from_thread(self.audio_pub, frame)
            if self._device_stream is not None:
                self._device_stream.write(event.samples.reshape(-1, 1))
        elif isinstance(event, GestureOut):
            plan = event.plan
            msg = GestureCommand(turn_id=event.turn_id, name=plan.name, intensity=plan.intensity,
                                 start_offset=duration_msg(plan.start_offset_s), duration=duration_msg(plan.duration_s))
            msg.header.stamp = self.get_clock().now().to_msg()
            publish_from_thread(self.gesture_pub, msg)
            self.counters["gestures"] += 1
        elif isinstance(event, SpeakingChanged):
            self._publish_speaking(event.speaking, event.turn_id, event.stamp)
        elif isinstance(event, SentenceStarted):
            self._report_progress(event)
        elif isinstance(event, TurnSpoken):
            self._report_turn(event)

    def _publish_speaking(self, speaking: bool, turn_id: str, stamp: float) -> None:
        msg = SpeakingState(speaking=speaking, turn_id=turn_id)
        msg.header.stamp = time_msg(stamp)
        publish_from_thread(self.speaking_pub, msg)

    def _report_turn(self, spoken: TurnSpoken) -> None:
        msg = SpokenReply(turn_id=spoken.turn_id, spoken_text=spoken.spoken_text, interrupted=spoken.interrupted,
                          spoken_duration=duration_msg(spoken.spoken_s),
                          speech_start=time_msg(spoken.speech_start or 0.0))
        msg.header.stamp = self.get_clock().now().to_msg()
        publish_from_thread(self.spoken_pub, msg)
        self.counters["turns_spoken"] += 1
        self.counters["turns_interrupted"] += spoken.interrupted
        self.counters["seconds_spoken"] += spoken.spoken_s
        if spoken.interrupted:
            self.get_logger().info(f"turn {spoken.turn_id} cut short after {spoken.spoken_s:.2f} s: "
                                   f"{spoken.spoken_text!r}")
        with self._finished_changed:
            if spoken.turn_id in self._progress:
                self._finished[spoken.turn_id] = spoken
                self._finished_changed.notify_all()

    def _report_progress(self, event: SentenceStarted) -> None:
        goal = self._progress.get(event.turn_id)
        if goal is None or not rclpy.ok():
            return
        handle, total, started = goal
        started.append(event.text)
        handle.publish_feedback(Say.Feedback(current_sentence=event.text, progress=(len(started) - 1) / total))

    # --- the Say action ------------------------------------------------------------------------
    def _accept_goal(self, goal: Say.Goal) -> GoalResponse:
        if not goal.text.strip():
            self.get_logger().warning("say: refused a goal with no text")
            return GoalResponse.REJECT
        return GoalResponse.ACCEPT

    def _accept_cancel(self, goal_handle) -> CancelResponse:
        return CancelResponse.ACCEPT

    def _execute_say(self, goal_handle):
        goal = goal_handle.request
        turn_id = goal.turn_id or f"say-{uuid.uuid4().hex[:12]}"
        chunker = SentenceChunker()
        sentences = chunker.feed(goal.text) + chunker.flush()
        with self._finished_changed:
            self._progress[turn_id] = (goal_handle, len(sentences), [])
        for sentence in sentences:
            self.speech.say(turn_id, sentence)
        self.speech.say(turn_id, "", final=True)
        with self._finished_changed:
            while turn_id not in self._finished:
                if goal_handle.is_cancel_requested:
                    self.speech.interrupt(turn_id)
                self._finished_changed.wait(timeout=0.02)
            spoken = self._finished.pop(turn_id)
            self._progress.pop(turn_id)
        result = Say.Result(completed=not spoken.interrupted, spoken_text=spoken.spoken_text,
                            spoken_duration=duration_msg(spoken.spoken_s),
                            message="cancelled" if spoken.interrupted else "")
        if goal_handle.is_cancel_requested:
            goal_handle.canceled()
        else:
            goal_handle.succeed()
        return result

    def _publish_diagnostics(self) -> None:
        values = {"voice": self.voice.path, "sample_rate": str(self.voice.sample_rate),
                  "speaking_turn": self.speech.current_turn, "last_synthesis_s": f"{self.voice.last_synthesis_s:.3f}",
                  **{name: f"{value:.1f}" if isinstance(value, float) else str(value)
                     for name, value in self.counters.items()}}
        self.diagnostics_pub.publish(diagnostic_array(self, "tts", "speaking" if self.speech.current_turn else "ready",
                                                      values))

    def destroy_node(self):
        self.speech.close()
        if self._device_stream is not None:
            self._device_stream.close()
        return super().destroy_node()


def main(args=None):
    spin_node("tts", TtsNode, (VoiceLoadError, GestureConfigError, ValueError), threads=4, args=args)


if __name__ == "__main__":
    main()
