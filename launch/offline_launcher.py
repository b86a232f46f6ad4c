"""Start an esbot graph without `ros2 launch`.

    python launch/offline_launcher.py sim [--params FILE] [--namespace NS] [--set NODE.PARAM=VALUE ...]

Runs the same installed node executables with the same params file as robot.launch.py and
sim.launch.py (both read esbot_graph.py). Every node is stopped cleanly (SIGINT, then SIGTERM,
then SIGKILL) on Ctrl-C, on SIGTERM, or as soon as any node exits; the exit status is that of
the first node that exited (0 when the mock humanoid finished its script; 128+N for a node
killed by signal N).
Needs the ROS environment of scripts/esbot_env.sh (the Makefile targets set it up).
"""

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from esbot_graph import DEFAULT_PARAMS_FILE, GRAPHS, NAMESPACE, NodeSpec  # noqa: E402

STOP_GRACE_SECONDS = (10.0, 5.0)  # after SIGINT, after SIGTERM


class LaunchError(RuntimeError):
    pass


def find_executable(spec: NodeSpec) -> Path:
    from ament_index_python.packages import PackageNotFoundError, get_package_prefix

    try:
        prefix = Path(get_package_prefix(spec.package))
    except PackageNotFoundError as error:
        raise LaunchError(f"package {spec.package} is not installed: run `make setup` "
                          f"(or source ros2_ws/install/setup.bash)") from error
    path = prefix / "lib" / spec.package / spec.executable
    if not path.is_file():
        raise LaunchError(f"{path} is missing: rebuild the workspace with `make setup`")
    return path


def parse_overrides(items: list[str], graph: tuple[NodeSpec, ...]) -> dict[str, list[str]]:
    """NODE.PARAM=VALUE items to each node's extra `-p PARAM:=VALUE` arguments."""
    names = {spec.name for spec in graph}
    per_node: dict[str, list[str]] = {name: [] for name in names}
    for item in items:
        target, sep, value = item.partition("=")
        node, dot, parameter = target.partition(".")
        if not sep or not dot or not parameter:
            raise LaunchError(f"--set {item!r}: expected NODE.PARAM=VALUE")
        if node not in names:
            raise LaunchError(f"--set {item!r}: no node {node!r} in this graph ({', '.join(sorted(names))})")
        per_node[node] += ["-p", f"{parameter}:={value}"]
    return per_node


def node_command(spec: NodeSpec, params_file: Path, namespace: str, extra: list[str]) -> list[str]:
    return [str(find_executable(spec)), "--ros-args",
            "-r", f"__node:={spec.name}", "-r", f"__ns:=/{namespace.strip('/')}",
            "--params-file", str(params_file), *extra]


class GraphProcesses:
    def __init__(self):
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, spec: NodeSpec, command: list[str]) -> None:
        # Own session: Ctrl-C reaches only the launcher, which then stops the nodes in order.
        # The node that reads the terminal keeps the launcher's stdin.
        self.processes[spec.name] = subprocess.Popen(
            command, env=os.environ.copy(), start_new_session=True,
            stdin=None if spec.takes_terminal else subprocess.DEVNULL)
        print(f"[launcher] started {spec.name} (pid {self.processes[spec.name].pid})", flush=True)

    def first_exited(self) -> tuple[str, int] | None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                return name, process.returncode
        return None

    def stop_all(self) -> None:
        running = [p for p in self.processes.values() if p.poll() is None]
        for sig, grace in zip((signal.SIGINT, signal.SIGTERM), STOP_GRACE_SECONDS):
            for process in running:
                if process.poll() is None:
                    process.send_signal(sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(p.poll() is None for p in running):
                time.sleep(0.05)
        for process in running:
            if process.poll() is None:
                process.kill()
                process.wait()


def run_graph(graph_name: str, params_file: Path, namespace: str, overrides: list[str]) -> int:
    graph = GRAPHS[graph_name]
    if not params_file.is_file():
        raise LaunchError(f"params file {params_file} not found")
    extra = parse_overrides(overrides, graph)
    commands = [(spec, node_command(spec, params_file, namespace, extra[spec.name])) for spec in graph]

    stop_requested = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, _frame: stop_requested.append(signum))

    processes = GraphProcesses()
    try:
        for spec, command in commands:
            processes.start(spec, command)
        while not stop_requested and (exited := processes.first_exited()) is None:
            time.sleep(0.1)
    finally:
        processes.stop_all()
    if stop_requested:
        print("[launcher] stopped on request; all nodes are down", flush=True)
        return 0
    name, code = exited
    if code < 0:  # killed by a signal: report it the way shells do
        print(f"[launcher] {name} was killed by {signal.Signals(-code).name}; all nodes are down", flush=True)
        return 128 - code
    print(f"[launcher] {name} exited with status {code}; all nodes are down", flush=True)
    return code


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("graph", choices=sorted(GRAPHS), help="which graph to run")
    parser.add_argument("--params", type=Path, default=DEFAULT_PARAMS_FILE, help="YAML params file")
    parser.add_argument("--namespace", default=NAMESPACE, help="namespace of the graph")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="NODE.PARAM=VALUE",
                        help="override one parameter of one node (repeatable)")
    args = parser.parse_args(argv)
    try:
        return run_graph(args.graph, args.params.resolve(), args.namespace, args.overrides)
    except LaunchError as error:
        print(f"[launcher] error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
