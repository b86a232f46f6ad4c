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
MOCK_HUMANOID = NodeSpec("esbot_sim", "mock_humanoid", "mock_humanoid",
                         "the simulated robot and user: says scripted or typed lines, logs the session",
                         takes_terminal=True)

GRAPHS: dict[str, tuple[NodeSpec, ...]] = {
    # What runs on the robot PC; the robot's own drivers provide the rest.
    "robot": (DIALOGUE,),
    # The robot graph plus the mock humanoid: simulation tests, the demo and the terminal chat.
    "sim": (DIALOGUE, MOCK_HUMANOID),
}
