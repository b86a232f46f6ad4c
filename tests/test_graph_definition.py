"""The graph is defined once (launch/esbot_graph.py) and both launchers describe the same one."""

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from esbot_graph import DEFAULT_PARAMS_FILE, GRAPHS, NAMESPACE
import offline_launcher

ROOT = Path(__file__).resolve().parent.parent
LAUNCH_FILES = {name: ROOT / "launch" / f"{name}.launch.py" for name in ("robot", "sim", "spoken_sim")}


def declared_parameters(executable: str) -> dict:
    if executable == "dialogue_node":
        from esbot_dialogue.dialogue_node import PARAMETERS
    elif executable == "asr_node":
        from esbot_speech.asr_node import PARAMETERS
    elif executable == "tts_node":
        from esbot_speech.tts_node import PARAMETERS
    else:
        from esbot_sim.mock_humanoid_node import PARAMETERS
    return PARAMETERS


def test_every_node_of_every_graph_is_a_real_executable():
    for graph in GRAPHS.values():
        for spec in graph:
            setup_py = (ROOT / "ros2_ws" / "src" / spec.package / "setup.py").read_text()
            assert re.search(rf'"{spec.executable} = {spec.package}\.\w+:main"', setup_py)
            assert offline_launcher.find_executable(spec).is_file()  # built by `make setup`


def test_the_spoken_sim_graph_is_the_robot_graph_plus_the_mock_humanoid():
    assert GRAPHS["spoken_sim"][: len(GRAPHS["robot"])] == GRAPHS["robot"]
    assert [spec.name for spec in GRAPHS["spoken_sim"][len(GRAPHS["robot"]):]] == ["mock_humanoid"]
    assert {spec.name for spec in GRAPHS["sim"]} == {"dialogue", "mock_humanoid"}  # the text-only graph


def test_every_graph_has_a_launch_file():
    assert set(LAUNCH_FILES) == set(GRAPHS) and all(path.is_file() for path in LAUNCH_FILES.values())


def test_params_file_sets_only_declared_parameters_and_every_one_is_described():
    params = yaml.safe_load(DEFAULT_PARAMS_FILE.read_text())
    nodes = {spec.name: spec for graph in GRAPHS.values() for spec in graph}
    assert set(params) == set(nodes)
    for name, spec in nodes.items():
        declared = declared_parameters(spec.executable)
        assert set(params[name]["ros__parameters"]) == set(declared), name
        for parameter, (default, description, *_) in declared.items():
            assert len(description) > 15, f"{name}.{parameter} lacks a description"
            assert type(params[name]["ros__parameters"][parameter]) is type(default), f"{name}.{parameter}"


def test_offline_launcher_command_uses_the_params_file_name_and_namespace():
    spec = GRAPHS["sim"][-1]
    overrides = offline_launcher.parse_overrides(["mock_humanoid.script_file=stdin"], GRAPHS["sim"])
    command = offline_launcher.node_command(spec, DEFAULT_PARAMS_FILE, NAMESPACE, overrides[spec.name])
    assert command[1:] == ["--ros-args", "-r", "__node:=mock_humanoid", "-r", "__ns:=/esbot",
                           "--params-file", str(DEFAULT_PARAMS_FILE), "-p", "script_file:=stdin"]


@pytest.mark.parametrize("bad", ["noequals", "nodot=1", "ghost.param=1", "dialogue.=1"])
def test_offline_launcher_rejects_bad_overrides(bad):
    with pytest.raises(offline_launcher.LaunchError):
        offline_launcher.parse_overrides([bad], GRAPHS["sim"])


def test_offline_launcher_refuses_a_missing_params_file(tmp_path, capsys):
    assert offline_launcher.main(["robot", "--params", str(tmp_path / "nope.yaml")]) == 2
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(importlib.util.find_spec("launch_ros") is None,
                    reason="launch_ros is not installable here (no ROS 2 apt repository); runs on a robot PC")
@pytest.mark.parametrize("graph_name", sorted(LAUNCH_FILES))
def test_launch_file_describes_the_shared_graph(graph_name):
    from launch_ros.actions import Node

    spec_ = importlib.util.spec_from_file_location(f"{graph_name}_launch", LAUNCH_FILES[graph_name])
    module = importlib.util.module_from_spec(spec_)
    spec_.loader.exec_module(module)
    description = module.generate_launch_description()
    nodes = [action for action in description.entities if isinstance(action, Node)]
    described = [(n.node_package, n.node_executable, n._Node__node_name) for n in nodes]
    assert described == [(s.package, s.executable, s.name) for s in GRAPHS[graph_name]]
    arguments = {a.name for a in description.get_launch_arguments()}
    assert {"params_file", "namespace"} <= arguments
