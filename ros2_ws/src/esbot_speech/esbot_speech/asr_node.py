"""The ASR node: the robot's microphone in, one final transcript per user utterance out.

Subscribes:  microphone_audio (esbot_msgs/AudioFrame; when audio_source is "topic"),
             speaker_audio (esbot_msgs/AudioFrame: the robot's own voice, the echo reference),
             robot_speaking (esbot_msgs/SpeakingState)
Publishes:   user_transcript (esbot_msgs/Transcript, final only), barge_in (esbot_msgs/BargeIn),
             listening_state (esbot_msgs/ListeningState, latched), /diagnostics
The pipeline from microphone audio to transcripts, with its listener and transcription threads,
is esbot_speech/asr_pipeline.py (listening: listening.py, recognition: transcriber.py); this node
builds it from the parameters and wires it to ROS.
"""

import time
import uuid

from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_interfaces import diagnostic_array, duration_msg, publish_from_thread, seconds_of, spin_node, time_msg
from esbot_msgs.msg import AudioFrame, BargeIn, ListeningState, SpeakingState, Transcript
from esbot_speech.asr_pipeline import AsrPipeline
from esbot_speech.echo_gate import EchoGate
from esbot_speech.listening import HeardUtterance, UtteranceDetector
from esbot_speech.silero_vad import StreamingSileroVad
from esbot_speech.transcriber import DEFAULT_MODEL, Recognition, Transcriber, TranscriberLoadError
from esbot_speech.vad_segmenter import VadSegmenter


def _range(low, high):
    if isinstance(low, int) and isinstance(high, int):
        return {"integer_range": [IntegerRange(from_value=low, to_value=high)]}
    return {"floating_point_range": [FloatingPointRange(from_value=float(low), to_value=float(high))]}


# name: (default, description, extra descriptor fields); all need a restart (read-only).
PARAMETERS = {
    "audio_source": ("topic", 'Where the microphone audio comes from: "topic" (microphone_audio, published by '
                              'the robot\'s audio driver or the mock humanoid) or "sounddevice" (a local input '
                              "device through PortAudio).", {}),
    "input_device": ("", 'sounddevice input device name or index; "" = the system default.', {}),
    "device_sample_rate": (16000, "Sample rate to open the sound device at (sounddevice source).", _range(8000, 192000)),
    "model": (DEFAULT_MODEL, "faster-whisper model: a size (base, small, ...), hub id or local folder; "
                             "ids prepared in the models folder load offline.", {}),
    "models_dir": ("", 'Models folder; "" = $ESBOT_MODELS_DIR or ~/.local/share/esbot/models.', {}),
    "device": ("auto", "auto (cuda if CTranslate2 sees a GPU, else cpu), cpu or cuda.", {}),
    "compute_type": ("auto", "auto (int8 on CPU, float16 on CUDA) or any CTranslate2 compute type.", {}),
    "cpu_threads": (0, "CPU threads for Whisper; 0 = CTranslate2's default.", _range(0, 256)),
    "language": ("en", 'Language code (ISO 639-1) the user speaks; "" = detect per utterance.', {}),
    "beam_size": (1, "Whisper beam size (1 = greedy, fastest).", _range(1, 16)),
    "vad_threshold": (0.5, "Silero speech probability at which speech starts.", _range(0.05, 0.99)),
    "min_speech_ms": (250.0, "Speech must last this long to count (shorter blips are ignored); also the "
                             "barge-in reaction time.", _range(30.0, 5000.0)),
    "end_silence_ms": (500.0, "Silence that ends an utterance: shorter answers sooner, longer cuts fewer "
                              "pauses.", _range(100.0, 5000.0)),
    "pre_speech_ms": (300.0, "Audio kept from before the detected onset, so the first syllable is not cut.",
                      _range(0.0, 2000.0)),
    "max_utterance_s": (20.0, "Longer speech is split here (with a warning) and each part transcribed.",
                        _range(2.0, 120.0)),
    "min_confidence": (0.35, "Transcripts less confident than this (exp mean token log-prob) are dropped "
                             "with a warning, not answered.", _range(0.0, 1.0)),
    "max_no_speech_probability": (0.6, "Whisper's no-speech probability above which a low-confidence result "
                                       "is taken for noise.", _range(0.0, 1.0)),
    "echo_margin_db": (6.0, "While the robot speaks, the microphone must be this much above the robot's "
                            "expected echo to count as the user (barge-in).", _range(0.0, 40.0)),
    "echo_loss_db": (20.0, "How much quieter than the played audio the robot's voice reaches its microphone. "
                           "Calibrate per robot: let it speak with nobody talking and read loudest_echo_loss_db "
                           "in /diagnostics (set this a little below it).", _range(0.0, 60.0)),
    "echo_max_delay_s": (0.2, "Longest delay from the speaker audio's stamp to its echo in the microphone.",
                         _range(0.0, 2.0)),
    "echo_tail_s": (0.15, "How long the room rings after the robot stops.", _range(0.0, 2.0)),
    "echo_reference_wait_ms": (150.0, "Microphone audio is judged this far behind real time, so the robot's "
                                      "speaker audio (the echo reference, on its own topic) has arrived by then; "
                                      "adds as much to the reply latency.", _range(0.0, 1000.0)),
}


class AsrNode(Node):
    def __init__(self):
        super().__init__("asr")
        for name, (default, description, extra) in PARAMETERS.items():
            self.declare_parameter(name, default, ParameterDescriptor(description=description, read_only=True,
                                                                      **extra))
        p = self._param
        self.transcriber = Transcriber(p("model"), p("device"), p("compute_type"), p("language"), p("beam_size"),
                                       p("cpu_threads"), p("models_dir") or None)
        detector = UtteranceDetector(
            VadSegmenter(threshold=p("vad_threshold"), min_speech_ms=p("min_speech_ms"),
                         end_silence_ms=p("end_silence_ms"), pre_speech_ms=p("pre_speech_ms"),
                         max_utterance_s=p("max_utterance_s")),
            StreamingSileroVad(),
            EchoGate(echo_loss_db=p("echo_loss_db"), margin_db=p("echo_margin_db"),
                     max_echo_delay_s=p("echo_max_delay_s"), tail_s=p("echo_tail_s")),
            reference_wait_s=p("echo_reference_wait_ms") / 1000)
        self.get_logger().info(f"ASR {self.transcriber.model_name} on {self.transcriber.device} "
                               f"({self.transcriber.compute_type}), language {p('language') or 'auto'}")

        self.transcript_pub = self.create_publisher(Transcript, interfaces.USER_TRANSCRIPT, interfaces.STREAM_QOS)
        self.barge_in_pub = self.create_publisher(BargeIn, interfaces.BARGE_IN, interfaces.STREAM_QOS)
        self.listening_pub = self.create_publisher(ListeningState, interfaces.LISTENING_STATE, interfaces.STATE_QOS)
        self.listening_pub.publish(ListeningState(user_speaking=False, transcribing=False))
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.pipeline = AsrPipeline(
            detector, self.transcriber, min_confidence=p("min_confidence"),
            max_no_speech_probability=p("max_no_speech_probability"), max_utterance_s=p("max_utterance_s"),
            on_barge_in=self._publish_barge_in, on_listening=self._publish_listening,
            on_transcript=self._publish_transcript, log=self.get_logger())

        self.create_subscription(AudioFrame, interfaces.SPEAKER_AUDIO, self._on_speaker_audio, interfaces.AUDIO_QOS)
        self.create_subscription(SpeakingState, interfaces.ROBOT_SPEAKING, self._on_speaking, interfaces.STATE_QOS)
        self._stream = None
        if p("audio_source") == "topic":
            self.create_subscription(AudioFrame, interfaces.MICROPHONE_AUDIO, self._on_microphone_frame,
                                     interfaces.AUDIO_QOS)
        elif p("audio_source") == "sounddevice":
            self._stream = self._open_input_device()
        else:
            raise ValueError(f'audio_source must be "topic" or "sounddevice", not {p("audio_source")!r}')
        self.create_timer(2.0, self._publish_diagnostics)
        self.pipeline.start()
        self.get_logger().info(f"ready: listening on {p('audio_source')}")

    def _param(self, name):
        return self.get_parameter(name).value

    def _open_input_device(self):
        import sounddevice

        rate = self._param("device_sample_rate")
        device = self._param("input_device") or None
        if device is not None and device.isdigit():
            device = int(device)

        def on_block(block, frames, time_info, status):
            if status:
                self.pipeline.warn_now_and_then("device", f"sound device: {status}")
            self.pipeline.hear_samples(block[:, 0].copy(), rate, time.time() - frames / rate)

        try:
            stream = sounddevice.InputStream(samplerate=rate, channels=1, dtype="float32", device=device,
                                             blocksize=round(rate * 0.02), callback=on_block)
            stream.start()
        except Exception as error:  # PortAudio reports missing devices and bad rates in many ways
            raise ValueError(f"cannot open the input sound device {device or '(default)'} at {rate} Hz: {error}")
        return stream

    # --- audio in ------------------------------------------------------------------------------
    def _on_microphone_frame(self, msg: AudioFrame) -> None:
        self.pipeline.hear_frame(msg.data, msg.encoding, msg.channels, msg.sample_rate, seconds_of(msg.header.stamp))

    def _on_speaker_audio(self, msg: AudioFrame) -> None:
        self.pipeline.hear_robot(msg.data, msg.encoding, msg.channels, msg.sample_rate, seconds_of(msg.header.stamp))

    def _on_speaking(self, msg: SpeakingState) -> None:
        self.pipeline.set_robot_speaking(msg.turn_id if msg.speaking else "")

    # --- events out (from the pipeline's threads) ----------------------------------------------
    def _publish_barge_in(self, interrupted_turn_id: str, stamp: float) -> None:
        msg = BargeIn(interrupted_turn_id=interrupted_turn_id)
        msg.header.stamp = time_msg(stamp)
        publish_from_thread(self.barge_in_pub, msg)

    def _publish_listening(self, user_speaking: bool, transcribing: bool) -> None:
        msg = ListeningState(user_speaking=user_speaking, transcribing=transcribing)
        msg.header.stamp = self.get_clock().now().to_msg()
        publish_from_thread(self.listening_pub, msg)

    def _publish_transcript(self, recognition: Recognition, heard: HeardUtterance) -> None:
        msg = Transcript(utterance_id=f"asr-{uuid.uuid4().hex[:12]}", text=recognition.text,
                         language=recognition.language, confidence=recognition.confidence, is_final=True,
                         speech_start=time_msg(heard.speech_start), speech_end=time_msg(heard.speech_end),
                         processing_time=duration_msg(recognition.processing_s))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = "asr"
        publish_from_thread(self.transcript_pub, msg)

    def _publish_diagnostics(self) -> None:
        values = {"model": self.transcriber.model_name, "device": self.transcriber.device,
                  "compute_type": self.transcriber.compute_type, **self.pipeline.status()}
        self.diagnostics_pub.publish(diagnostic_array(self, "asr", "listening", values,
                                                      hardware_id=self.transcriber.device))

    def destroy_node(self):
        if self._stream is not None:
            self._stream.close()
        self.pipeline.stop()
        return super().destroy_node()


def main(args=None):
    spin_node("asr", AsrNode, (TranscriberLoadError, ValueError), threads=3, args=args)


if __name__ == "__main__":
    main()
