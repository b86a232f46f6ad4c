"""ros2 launch launch/sim.launch.py [params_file:=...] [namespace:=esbot]

The dialogue node and the mock humanoid in text, no speech (see esbot_graph.py). The launch ends when the mock
humanoid has finished its conversation script, or when any node exits.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from esbot_graph import GRAPHS  # noqa: E402
from esbot_launch_description import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description(GRAPHS["sim"])
