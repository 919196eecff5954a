# Source me (bash): the environment every command of this repository runs in.
# The venv (Python + ROS 2 Jazzy wheels), the colcon install space, and localhost-only DDS discovery.
_aar_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC1091
source "$_aar_root/.venv/bin/activate"
if [ -f "$_aar_root/install/setup.bash" ]; then
  # shellcheck disable=SC1091
  source "$_aar_root/install/setup.bash"
fi
# The wheels' ROS packages live in the venv prefix, which has no local_setup files: add it by hand.
export AMENT_PREFIX_PATH="$_aar_root/install/accident_anticipation_ros:$VIRTUAL_ENV"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export PYTHONDONTWRITEBYTECODE=1
unset _aar_root
