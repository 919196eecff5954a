"""Point the ROS 2 wheels' CMake exports at this venv's Python and numpy headers.

The PyPI wheels of ROS 2 Jazzy and Kilted ship ``share/*/cmake/*__rosidl_generator_pyExport*.cmake`` files
that name the wheel builder's include directories (``/opt/python/cpXY-cpXY/include/pythonX.Y`` and its
numpy include).
CMake refuses imported targets whose include directories don't exist, so building any package with
messages fails until they name this interpreter's directories. Idempotent; prints what it changed.
"""

from __future__ import annotations

import re
import sys
import sysconfig
from pathlib import Path

import numpy

PATTERN = re.compile(r'INTERFACE_INCLUDE_DIRECTORIES "[^"]*"')


def main() -> int:
    prefix = Path(sys.prefix)
    includes = f'INTERFACE_INCLUDE_DIRECTORIES "{sysconfig.get_paths()["include"]};{numpy.get_include()}"'
    changed = 0
    for path in sorted((prefix / "share").glob("*/cmake/*__rosidl_generator_pyExport*.cmake")):
        text = path.read_text()
        if "/opt/python/" not in text:
            continue
        path.write_text(PATTERN.sub(lambda m: includes if "/opt/python/" in m.group(0) else m.group(0), text))
        changed += 1
    print(f"fix_ros_wheel_cmake: rewrote include paths in {changed} file(s) under {prefix / 'share'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
