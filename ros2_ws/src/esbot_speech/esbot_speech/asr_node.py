"""The ASR node: the robot's microphone in, one final transcript per user utterance out.

Subscribes:  microphone_audio (esbot_msgs/AudioFrame; when audio_source is "topic"),
             speaker_audio (esbot_msgs/AudioFrame: the robot's own voice, the echo reference),
             robot_speaking (esbot_msgs/SpeakingState)
Publishes:   user_transcript (esbot_msgs/Transcript, final only), barge_in (esbot_msgs/BargeIn),
             listening_state (esbot_msgs/ListeningState, latched), /diagnostics
Listening (resampling, Silero VAD, echo gate, segmentation) is esbot_speech/listening.py and
recognition esbot_speech/transcriber.py; this node wires them to ROS. Utterances are
transcribed on a worker thread so the microphone is never left unread.
"""

import queue
import threading
import time
import uuid

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray
from rcl_interfaces.msg import FloatingPointRange, IntegerRange, ParameterDescriptor
from rclpy.node import Node

import esbot_interfaces as interfaces
from esbot_interfaces import diagnostic_array, duration_msg, publish_from_thread, seconds_of, spin_node, time_msg
from esbot_msgs.msg import AudioFrame, BargeIn, ListeningState, SpeakingState, Transcript
from esbot_speech.audio_format import AudioFormatError, decode_frame
from esbot_speech.echo_gate import EchoGate
from esbot_speech.listening import HeardUtterance, SpeechOnset, UtteranceDetector
from esbot_speech.silero_vad import StreamingSileroVad
from esbot_speech.transcriber import DEFAULT_MODEL, Transcriber, TranscriberLoadError, rejection_reason
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
        self.detector = UtteranceDetector(
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
        self._listening_lock = threading.Lock()
        self._user_speaking = False
        self._untranscribed = 0  # utterances heard and not transcribed yet
        self.listening_pub.publish(ListeningState(user_speaking=False, transcribing=False))
        self.diagnostics_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self._detector_lock = threading.Lock()  # microphone and speaker callbacks may run in parallel
        self._speaking_turn = ""  # the robot's turn being spoken, "" when silent
        self._utterances: queue.Queue = queue.Queue()
        self._heard_frames: queue.Queue = queue.Queue()  # (mono audio, rate, stamp) from the microphone
        self._stopping = threading.Event()
        self._format = None  # (rate, channels, encoding) of the last microphone frame
        self.counters = {name: 0 for name in ("frames", "frames_rejected", "utterances", "transcripts",
                                              "utterances_rejected", "utterances_split", "barge_ins",
                                              "clipped_utterances")}
        self._last_warning = {}  # message kind -> monotonic time, to keep a bad stream from flooding the log

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
        self._worker = threading.Thread(target=self._transcribe_utterances, name="asr-worker", daemon=True)
        self._worker.start()
        self._listener = threading.Thread(target=self._listen, name="asr-listener", daemon=True)
        self._listener.start()
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
                self._warn("device", f"sound device: {status}")
            self._heard_frames.put((block[:, 0].copy(), rate, time.time() - frames / rate))

        try:
            stream = sounddevice.InputStream(samplerate=rate, channels=1, dtype="float32", device=device,
                                             blocksize=round(rate * 0.02), callback=on_block)
            stream.start()
        except Exception as error:  # PortAudio reports missing devices and bad rates in many ways
            raise ValueError(f"cannot open the input sound device {device or '(default)'} at {rate} Hz: {error}")
        return stream

    # --- audio in ------------------------------------------------------------------------------
    def _warn(self, kind: str, message: str) -> None:
        now = time.monotonic()
        if now - self._last_warning.get(kind, -1e9) >= 5.0:
            self._last_warning[kind] = now
            self.get_logger().warning(message)

    def _on_microphone_frame(self, msg: AudioFrame) -> None:
        self.counters["frames"] += 1
        try:
            audio = decode_frame(msg.data, msg.encoding, msg.channels, msg.sample_rate)
        except AudioFormatError as error:
            self.counters["frames_rejected"] += 1
            self._warn("format", f"microphone frame dropped: {error}")
            return
        audio_format = (msg.sample_rate, msg.channels, msg.encoding)
        if self._format is not None and audio_format != self._format:
            self.get_logger().warning(f"microphone format changed from {self._format} to {audio_format}: "
                                      "resampling and downmixing to 16 kHz mono from here on")
        self._format = audio_format
        self._heard_frames.put((audio, msg.sample_rate, seconds_of(msg.header.stamp)))

    def _listen(self) -> None:
        """Judge the microphone audio on its own thread, in batches: the subscription only queues
        frames, so a busy spell (transcribing, the LLM on the same cores) never makes ROS drop
        any, and the backlog is then cleared in one VAD run."""
        while not self._stopping.is_set():
            try:
                audio, rate, stamp = self._heard_frames.get(timeout=0.2)
            except queue.Empty:
                continue
            while True:  # join the frames that follow on at the same rate
                try:
                    more, more_rate, _ = self._heard_frames.queue[0]
                except IndexError:
                    break
                if more_rate != rate:
                    break
                self._heard_frames.get_nowait()
                audio = np.concatenate([audio, more])
            try:
                self._hear(audio, rate, stamp)
            except Exception as error:  # bad audio must never stop the robot listening
                self.get_logger().error(f"microphone audio could not be processed: {error!r}")

    def _on_speaker_audio(self, msg: AudioFrame) -> None:
        try:
            audio = decode_frame(msg.data, msg.encoding, msg.channels, msg.sample_rate)
        except AudioFormatError as error:
            self._warn("reference", f"speaker frame not usable as echo reference: {error}")
            return
        with self._detector_lock:
            self.detector.echo_gate.add_reference(seconds_of(msg.header.stamp), audio, msg.sample_rate)

    def _on_speaking(self, msg: SpeakingState) -> None:
        self._speaking_turn = msg.turn_id if msg.speaking else ""

    def _hear(self, audio, sample_rate: int, stamp: float) -> None:
        with self._detector_lock:
            events = self.detector.push(audio, sample_rate, stamp)
        for event in events:
            if isinstance(event, SpeechOnset):
                self._update_listening(user_speaking=True)
                if event.over_robot_speech or self._speaking_turn:
                    self.counters["barge_ins"] += 1
                    msg = BargeIn(interrupted_turn_id=self._speaking_turn)
                    msg.header.stamp = time_msg(event.stamp)
                    publish_from_thread(self.barge_in_pub, msg)
                    self.get_logger().info(f"barge-in: the user speaks over turn {self._speaking_turn or '?'}")
            elif isinstance(event, HeardUtterance):
                self._update_listening(user_speaking=False, untranscribed=+1)
                self._utterances.put(event)

    def _update_listening(self, user_speaking: bool | None = None, untranscribed: int = 0) -> None:
        """Publish the listening state when it changes (the listener and transcription threads)."""
        with self._listening_lock:
            before = (self._user_speaking, self._untranscribed > 0)
            if user_speaking is not None:
                self._user_speaking = user_speaking
            self._untranscribed += untranscribed
            now = (self._user_speaking, self._untranscribed > 0)
            if now != before:
                msg = ListeningState(user_speaking=now[0], transcribing=now[1])
                msg.header.stamp = self.get_clock().now().to_msg()
                publish_from_thread(self.listening_pub, msg)

    # --- utterances out ------------------------------------------------------------------------
    def _transcribe_utterances(self) -> None:
        while not self._stopping.is_set():
            try:
                heard = self._utterances.get(timeout=0.2)
            except queue.Empty:
                continue
            try:
                self._transcribe(heard)
            except Exception as error:  # one bad utterance must not stop the robot listening
                self.get_logger().error(f"transcription failed: {error!r}")
            finally:
                self._update_listening(untranscribed=-1)

    def _transcribe(self, heard: HeardUtterance) -> None:
        self.counters["utterances"] += 1
        length = len(heard.audio) / 16000
        if heard.cut_reason == "max_length":
            self.counters["utterances_split"] += 1
            self.get_logger().warning(f"speech longer than max_utterance_s ({self._param('max_utterance_s')} s): "
                                      "split, and each part answered as it comes")
        if heard.clipped_fraction > 0.01:
            self.counters["clipped_utterances"] += 1
            self.get_logger().warning(f"{heard.clipped_fraction:.1%} of the utterance is clipped: the microphone "
                                      "gain is too high; transcribing it anyway")
        recognition = self.transcriber.transcribe(heard.audio)
        reason = rejection_reason(recognition, self._param("min_confidence"),
                                  self._param("max_no_speech_probability"))
        if reason is not None:
            self.counters["utterances_rejected"] += 1
            self.get_logger().warning(f"{length:.1f} s of speech not published: {reason}")
            return
        msg = Transcript(utterance_id=f"asr-{uuid.uuid4().hex[:12]}", text=recognition.text,
                         language=recognition.language, confidence=recognition.confidence, is_final=True,
                         speech_start=time_msg(heard.speech_start), speech_end=time_msg(heard.speech_end),
                         processing_time=duration_msg(recognition.processing_s))
        msg.header.stamp = self.get_clock().now().to_msg()
        msg.header.frame_id = "asr"
        publish_from_thread(self.transcript_pub, msg)
        self.counters["transcripts"] += 1
        self.get_logger().info(f"heard ({recognition.confidence:.2f}, {recognition.processing_s:.2f} s for "
                               f"{length:.1f} s): {recognition.text}")

    def _publish_diagnostics(self) -> None:
        values = {"model": self.transcriber.model_name, "device": self.transcriber.device,
                  "compute_type": self.transcriber.compute_type,
                  "loudest_echo_loss_db": f"{self.detector.echo_gate.min_echo_loss_db:.1f}",
                  "microphone_format": str(self._format or "none yet"),
                  **{name: str(value) for name, value in self.counters.items()}}
        self.diagnostics_pub.publish(diagnostic_array(self, "asr", "listening", values,
                                                      hardware_id=self.transcriber.device))

    def destroy_node(self):
        self._stopping.set()
        if self._stream is not None:
            self._stream.close()
        self._worker.join(timeout=10.0)
        self._listener.join(timeout=2.0)
        return super().destroy_node()


def main(args=None):
    spin_node("asr", AsrNode, (TranscriberLoadError, ValueError), threads=3, args=args)


if __name__ == "__main__":
    main()
