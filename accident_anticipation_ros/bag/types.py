"""A rosbags typestore for ROS 2 Jazzy extended with this package's messages.

The messages are parsed from the package's own ``.msg`` files, so the definitions and RIHS01 hashes
stored in a bag are those rosidl generates for the colcon-built package (checked in the tests).
"""

from __future__ import annotations

import functools
from pathlib import Path

from rosbags.typesys import Stores, get_types_from_msg, get_typestore
from rosbags.typesys.store import Typestore

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.package_files import PACKAGE, search_paths

MESSAGES = ("AccidentRisk", "AnticipationInfo", "AccidentLabel")

ACCIDENT_RISK = f"{PACKAGE}/msg/AccidentRisk"
ANTICIPATION_INFO = f"{PACKAGE}/msg/AnticipationInfo"
ACCIDENT_LABEL = f"{PACKAGE}/msg/AccidentLabel"
IMAGE = "sensor_msgs/msg/Image"
COMPRESSED_IMAGE = "sensor_msgs/msg/CompressedImage"
IMAGE_TYPES = (IMAGE, COMPRESSED_IMAGE)


def msg_dir_candidates() -> list[Path]:
    """Directories that may hold the package's ``.msg`` files, in search order.

    The ament share dir of every ``AMENT_PREFIX_PATH`` entry (colcon install), then
    ``sys.prefix/share`` (pip install), then the source tree (:func:`package_files.search_paths`).
    """
    return search_paths("share/msg")


def find_msg_dir() -> Path:
    """Return the first candidate directory that holds all of the package's ``.msg`` files."""
    candidates = msg_dir_candidates()
    for directory in candidates:
        if all((directory / f"{name}.msg").is_file() for name in MESSAGES):
            return directory
    searched = "\n  ".join(str(c) for c in candidates)
    wanted = ", ".join(f"{name}.msg" for name in MESSAGES)
    raise BagError(
        f"message definitions of {PACKAGE} not found: no directory holds {wanted}. Searched:\n  {searched}\n"
        "Install the package (colcon build, or pip install) or run from its source tree."
    )


@functools.cache
def _typestore_for(msg_dir: Path) -> Typestore:
    store = get_typestore(Stores.ROS2_JAZZY)
    types = {}
    for name in MESSAGES:
        path = msg_dir / f"{name}.msg"
        try:
            types.update(get_types_from_msg(path.read_text(encoding="utf-8"), f"{PACKAGE}/msg/{name}"))
        except Exception as exc:  # rosbags raises its own parse errors; name the file
            raise BagError(f"cannot parse message definition {path}: {exc}") from exc
    store.register(types)
    return store


def get_package_typestore() -> Typestore:
    """The ROS 2 Jazzy typestore with ``accident_anticipation_ros/msg/*`` registered (cached)."""
    return _typestore_for(find_msg_dir())
