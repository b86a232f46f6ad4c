"""Turns a graph from esbot_graph.py into a launch_ros LaunchDescription (needs ROS 2 launch)."""

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, Shutdown
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

from esbot_graph import DEFAULT_PARAMS_FILE, NAMESPACE, NodeSpec


def graph_launch_description(nodes: tuple[NodeSpec, ...]) -> LaunchDescription:
    params_file = LaunchConfiguration("params_file")
    namespace = LaunchConfiguration("namespace")
    actions = [
        DeclareLaunchArgument("params_file", default_value=str(DEFAULT_PARAMS_FILE),
                              description="YAML parameters for every node (sections named after the nodes)"),
        DeclareLaunchArgument("namespace", default_value=NAMESPACE,
                              description="namespace of every node, topic and service of the graph"),
    ]
    for spec in nodes:
        actions.append(Node(
            package=spec.package,
            executable=spec.executable,
            name=spec.name,
            namespace=namespace,
            parameters=[params_file],
            output="screen",
            emulate_tty=True,
            on_exit=Shutdown(reason=f"{spec.name} exited"),
        ))
    return LaunchDescription(actions)
