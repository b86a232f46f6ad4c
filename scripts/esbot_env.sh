# Source this file to get esbot's environment: the virtualenv, ROS 2 from its wheels, the
# built workspace, localhost-only DDS discovery and the models folder.
# (On a robot PC with ROS 2 from apt, source /opt/ros/jazzy/setup.bash and
# ros2_ws/install/setup.bash instead.)

ESBOT_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ESBOT_ROOT

if [ ! -x "$ESBOT_ROOT/.venv/bin/python" ]; then
    echo "esbot_env.sh: no virtualenv at $ESBOT_ROOT/.venv: run 'make setup' first" >&2
    return 1 2>/dev/null || exit 1
fi
# shellcheck disable=SC1091
. "$ESBOT_ROOT/.venv/bin/activate"

# The ROS wheels install their CMake configs and ament index into the venv prefix.
case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *) export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *) export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac
if [ -f "$ESBOT_ROOT/ros2_ws/install/local_setup.bash" ]; then
    # shellcheck disable=SC1091
    . "$ESBOT_ROOT/ros2_ws/install/local_setup.bash"
fi

# Without this, DDS discovery multicasts out of the machine's network interface.
export ROS_AUTOMATIC_DISCOVERY_RANGE="${ROS_AUTOMATIC_DISCOVERY_RANGE:-LOCALHOST}"
# Unbuffered so node output interleaves in order with the launcher's.
export PYTHONUNBUFFERED=1
export ESBOT_MODELS_DIR="${ESBOT_MODELS_DIR:-$HOME/.local/share/esbot/models}"
export NLTK_DATA="${NLTK_DATA:-$ESBOT_MODELS_DIR/nltk_data}"
