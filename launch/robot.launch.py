"""ros2 launch launch/robot.launch.py [params_file:=...] [namespace:=esbot]

The esbot robot graph (see esbot_graph.py). Any node that exits ends the whole launch.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from esbot_graph import GRAPHS  # noqa: E402
from esbot_launch_description import graph_launch_description  # noqa: E402


def generate_launch_description():
    return graph_launch_description(GRAPHS["robot"])
