"""Repoint the ROS 2 wheels' exported CMake files at this virtualenv.

The ROS 2 PyPI wheels are built in a manylinux container whose Python lives in
/opt/python/cpXY-cpXY. Their exported CMake files and ament index entries keep
those paths, so `colcon build` of a custom interface package fails to find the
Python headers and numpy's headers. This rewrites them, in place and
idempotently, to this interpreter's real paths.
"""

import re
import sys
import sysconfig
from pathlib import Path

import numpy

WHEEL_PYTHON_ROOT = re.compile(r"/opt/python/cp\d+-cp\d+")


def replacements(venv: Path) -> list[tuple[re.Pattern, str]]:
    """Most specific first: headers, then numpy's headers, then the prefix itself."""
    python_include = sysconfig.get_paths()["include"]
    numpy_include = numpy.get_include()
    root = WHEEL_PYTHON_ROOT.pattern
    return [
        (re.compile(root + r"/include/python\d+\.\d+"), python_include),
        (re.compile(root + r"/lib/python\d+\.\d+/site-packages/numpy/_core/include"), numpy_include),
        (re.compile(root), str(venv)),
    ]


def fix_file(path: Path, rules) -> bool:
    try:
        text = path.read_text()
    except (UnicodeDecodeError, OSError):
        return False
    new = text
    for pattern, target in rules:
        new = pattern.sub(target, new)
    if new == text:
        return False
    path.write_text(new)
    return True


def main() -> int:
    venv = Path(sys.prefix)
    share = venv / "share"
    if not share.is_dir():
        print(f"fix_ros_wheels: {share} not found: are the ROS 2 wheels installed in this venv?", file=sys.stderr)
        return 1
    rules = replacements(venv)
    changed = [p for p in share.rglob("*") if p.is_file() and fix_file(p, rules)]
    print(f"fix_ros_wheels: repointed {len(changed)} file(s) under {share}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
