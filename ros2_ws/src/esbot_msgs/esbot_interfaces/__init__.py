"""The esbot graph's interface contract besides the message types: topic and service names
(relative to the graph's namespace) and the QoS each topic is published with.

Every node and test imports these, so publishers and subscribers always match.
"""

from rclpy.qos import QoSDurabilityPolicy, QoSProfile, QoSReliabilityPolicy

# Topics
USER_TRANSCRIPT = "user_transcript"        # esbot_msgs/Transcript: ASR (or the mock humanoid) -> dialogue
REPLY = "reply"                            # esbot_msgs/ReplyChunk: dialogue -> TTS, mock humanoid
CONVERSATION_STATE = "conversation_state"  # esbot_msgs/ConversationState
GESTURE = "gesture"                        # esbot_msgs/GestureCommand: TTS -> robot
MICROPHONE_AUDIO = "microphone_audio"      # esbot_msgs/AudioFrame: robot -> ASR
SPEAKER_AUDIO = "speaker_audio"            # esbot_msgs/AudioFrame: TTS -> robot
SAFETY_ALERT = "safety_alert"              # esbot_msgs/SafetyAlert: -> human operator
ROBOT_SPEAKING = "robot_speaking"          # esbot_msgs/SpeakingState: TTS -> ASR, dialogue (latched)
SPOKEN_REPLY = "spoken_reply"              # esbot_msgs/SpokenReply: TTS -> dialogue (what was heard)
BARGE_IN = "barge_in"                      # esbot_msgs/BargeIn: ASR -> TTS, dialogue
LISTENING_STATE = "listening_state"        # esbot_msgs/ListeningState: ASR -> dialogue (latched)

# Actions
SAY = "say"                                # esbot_msgs/action/Say: TTS action server

# Services
RESET_CONVERSATION = "reset_conversation"  # esbot_msgs/srv/ResetConversation
LOAD_ADAPTER = "load_adapter"              # esbot_msgs/srv/LoadAdapter
GET_HISTORY = "get_history"                # esbot_msgs/srv/GetHistory
RESET_SAFETY_MODE = "reset_safety_mode"    # esbot_msgs/srv/ResetSafetyMode (operator)
FORGET_MEMORY = "forget_memory"            # esbot_msgs/srv/ForgetMemory (a session or a user)

# Latched: a node that starts late still learns the current state.
STATE_QOS = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL,
                       reliability=QoSReliabilityPolicy.RELIABLE)
# Reliable and deep enough that no reply chunk or transcript is dropped in a burst.
STREAM_QOS = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE)
# Audio frames (50 a second): deep enough that a node busy for several seconds (transcribing,
# synthesizing) loses none of the stream.
AUDIO_QOS = QoSProfile(depth=1000, reliability=QoSReliabilityPolicy.RELIABLE)
# Safety alerts are kept for late joiners (an operator console started after the alert) and
# never dropped in a burst.
ALERT_QOS = QoSProfile(depth=100, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL,
                       reliability=QoSReliabilityPolicy.RELIABLE)


def time_msg(seconds: float):
    """builtin_interfaces/Time from seconds on the ROS clock (epoch seconds for the system clock)."""
    from builtin_interfaces.msg import Time

    nanoseconds = int(round(seconds * 1e9))
    return Time(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def duration_msg(seconds: float):
    """builtin_interfaces/Duration; negative durations become zero."""
    from builtin_interfaces.msg import Duration

    nanoseconds = max(int(round(seconds * 1e9)), 0)
    return Duration(sec=nanoseconds // 1_000_000_000, nanosec=nanoseconds % 1_000_000_000)


def seconds_of(stamp_or_duration) -> float:
    """Seconds in a builtin_interfaces Time or Duration."""
    return stamp_or_duration.sec + stamp_or_duration.nanosec * 1e-9


def publish_from_thread(publisher, msg) -> bool:
    """Publish from a background thread (audio playback, the microphone stream); False, with
    nothing sent, once ROS is shutting down (Ctrl-C shuts the context down before the node's
    threads are stopped). Any other failure is raised."""
    import rclpy

    try:
        publisher.publish(msg)
        return True
    except Exception:
        if rclpy.ok():
            raise
        return False


def diagnostic_array(node, component: str, message: str, values: dict, level: int | None = None,
                     hardware_id: str = ""):
    """One node's /diagnostics status (level OK unless given), named "<node>: <component>" and
    stamped now: what every esbot node publishes every few seconds."""
    from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue

    status = DiagnosticStatus(level=DiagnosticStatus.OK if level is None else level,
                              name=f"{node.get_fully_qualified_name()}: {component}", message=message,
                              hardware_id=hardware_id, values=[KeyValue(key=k, value=v) for k, v in values.items()])
    array = DiagnosticArray(status=[status])
    array.header.stamp = node.get_clock().now().to_msg()
    return array

def spin_node(label: str, make_node, startup_errors: tuple, threads: int, args=None):
    """A node's main() (demo_nodes_py's pattern): init rclpy, build the node, spin it on a
    multi-threaded executor until Ctrl-C or an external shutdown, clean up. A known start-up
    error (startup_errors: a wrong model, device, parameter...) is printed as one line,
    "[label] cannot start: ...", and exits 1 instead of a traceback."""
    import rclpy
    from rclpy.executors import ExternalShutdownException, MultiThreadedExecutor

    rclpy.init(args=args)
    node = None
    exit_code = 0
    try:
        try:
            node = make_node()
        except startup_errors as error:
            print(f"[{label}] cannot start: {error}", flush=True)
            exit_code = 1
        else:
            executor = MultiThreadedExecutor(num_threads=threads)
            executor.add_node(node)
            executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
    raise SystemExit(exit_code)
