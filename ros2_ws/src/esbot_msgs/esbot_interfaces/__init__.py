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

# Services
RESET_CONVERSATION = "reset_conversation"  # esbot_msgs/srv/ResetConversation
LOAD_ADAPTER = "load_adapter"              # esbot_msgs/srv/LoadAdapter
GET_HISTORY = "get_history"                # esbot_msgs/srv/GetHistory
RESET_SAFETY_MODE = "reset_safety_mode"    # esbot_msgs/srv/ResetSafetyMode (operator)

# Latched: a node that starts late still learns the current state.
STATE_QOS = QoSProfile(depth=1, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL,
                       reliability=QoSReliabilityPolicy.RELIABLE)
# Reliable and deep enough that no reply chunk or transcript is dropped in a burst.
STREAM_QOS = QoSProfile(depth=100, reliability=QoSReliabilityPolicy.RELIABLE)
# Safety alerts are kept for late joiners (an operator console started after the alert) and
# never dropped in a burst.
ALERT_QOS = QoSProfile(depth=100, durability=QoSDurabilityPolicy.TRANSIENT_LOCAL,
                       reliability=QoSReliabilityPolicy.RELIABLE)
