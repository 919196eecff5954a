# Source me (bash): the environment every command of this repository runs in.
# The venv (Python + ROS 2 wheels), the colcon install space, and localhost-only DDS discovery.
# ROS_DISTRO picks the distro (default jazzy), named as the Makefile names them: Jazzy uses .venv and
# install/, any other distro .venv-<distro> and install-<distro>/ (`make build ROS_DISTRO=kilted`).
_aar_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROS_DISTRO="${ROS_DISTRO:-jazzy}"
if [ "$ROS_DISTRO" = jazzy ]; then _aar_suffix=""; else _aar_suffix="-$ROS_DISTRO"; fi
if [ ! -f "$_aar_root/.venv$_aar_suffix/bin/activate" ]; then
  echo "scripts/env.sh: no venv .venv$_aar_suffix for ROS_DISTRO=$ROS_DISTRO: run make setup ROS_DISTRO=$ROS_DISTRO" >&2
  unset _aar_root _aar_suffix
  return 1
fi
# shellcheck disable=SC1091
source "$_aar_root/.venv$_aar_suffix/bin/activate"
# The colcon install space of this distro: the one place tools and tests read it from.
export AAR_INSTALL_BASE="$_aar_root/install$_aar_suffix"
if [ -f "$AAR_INSTALL_BASE/setup.bash" ]; then
  # shellcheck disable=SC1091
  source "$AAR_INSTALL_BASE/setup.bash"
fi
# The wheels' ROS packages live in the venv prefix, which has no local_setup files: add it by hand.
export AMENT_PREFIX_PATH="$AAR_INSTALL_BASE/accident_anticipation_ros:$VIRTUAL_ENV"
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
export PYTHONDONTWRITEBYTECODE=1
unset _aar_root _aar_suffix
