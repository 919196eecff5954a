"""Find this package's installed executables (``lib/accident_anticipation_ros/<name>``, where ``ros2 run`` looks)."""

from __future__ import annotations

import os
from pathlib import Path


def installed_executable(name: str = "anticipation_node") -> Path:
    """The first ``<prefix>/lib/accident_anticipation_ros/<name>`` over ``AMENT_PREFIX_PATH``.

    Raises:
        RuntimeError: the package is not installed with colcon (``./accident-anticipation`` builds it).
    """
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        exe = Path(prefix) / "lib" / "accident_anticipation_ros" / name
        if prefix and exe.exists():
            return exe
    raise RuntimeError(
        f"{name} is not installed: build the package with colcon (./accident-anticipation or `make` does it) "
        "and source install/setup.bash"
    )
