"""The esbot node graphs, defined once.

Both the ROS 2 launch files (robot.launch.py, sim.launch.py, for `ros2 launch` on the robot
PC) and offline_launcher.py (for machines without `ros2 launch`) build their processes from
this module, so the two cannot drift. Pure Python: importable without ROS.
"""

from dataclasses import dataclass
from pathlib import Path

NAMESPACE = "esbot"
DEFAULT_PARAMS_FILE = Path(__file__).resolve().parent.parent / "config" / "esbot_params.yaml"


@dataclass(frozen=True)
class NodeSpec:
    package: str
    executable: str
    name: str  # the node name, which is also its section in the params file
    description: str
    takes_terminal: bool = False  # gets the terminal's stdin when run interactively


DIALOGUE = NodeSpec("esbot_dialogue", "dialogue_node", "dialogue",
                    "answers user transcripts with the LLM, streaming the reply")
ASR = NodeSpec("esbot_speech", "asr_node", "asr",
               "hears the user: voice activity detection, echo gate, faster-whisper; detects barge-in")
TTS = NodeSpec("esbot_speech", "tts_node", "tts",
               "speaks the reply sentence by sentence with Piper, timed gestures, stops on barge-in")
MOCK_HUMANOID = NodeSpec("esbot_sim", "mock_humanoid", "mock_humanoid",
                         "the simulated robot and user: says scripted or typed lines, logs the session",
                         takes_terminal=True)

GRAPHS: dict[str, tuple[NodeSpec, ...]] = {
    # What runs on the robot PC; the robot's audio driver provides microphone_audio and plays
    # speaker_audio (or the ASR/TTS nodes use local sound devices: audio_source / output).
    "robot": (DIALOGUE, ASR, TTS),
    # The robot graph plus the mock humanoid, which plays the user's recordings into the
    # microphone and hears the robot's voice: the spoken demo and the speech system tests.
    "spoken_sim": (DIALOGUE, ASR, TTS, MOCK_HUMANOID),
    # Dialogue and mock humanoid only, in text: the terminal chat and the dialogue system tests.
    "sim": (DIALOGUE, MOCK_HUMANOID),
}
