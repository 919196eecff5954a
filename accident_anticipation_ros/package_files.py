"""Where this package's installed files are: one search rule for executables, models, configs and messages.

A colcon install puts executables in ``<prefix>/lib/accident_anticipation_ros/`` (where ``ros2 run``
looks) and data in ``<prefix>/share/accident_anticipation_ros/`` (``launch/``, ``config/``,
``models/``, ``msg/``), for every prefix of ``AMENT_PREFIX_PATH``; ``pip install`` puts its data files
under ``sys.prefix``; a checkout holds the same data at the top of the source tree.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

PACKAGE = "accident_anticipation_ros"
SOURCE_ROOT = Path(__file__).resolve().parents[1]  # the checkout (or, pip-installed, site-packages)
KINDS = ("lib", "share")
SHIPPED_MODEL = "share/models/tsd-nano.onnx"  # the small demo model the repository ships


class PackageFileError(RuntimeError):
    """A file of the package is in none of the places it is installed to."""


def search_paths(relative: str) -> list[Path]:
    """Where ``relative`` of this package may be, in search order.

    Args:
        relative: ``lib/<name>`` (an executable) or ``share/<path>`` (data, e.g. ``share/models/tsd-nano.onnx``).

    Returns:
        ``<prefix>/<lib|share>/accident_anticipation_ros/<rest>`` for every ``AMENT_PREFIX_PATH`` entry,
        the same under ``sys.prefix``, then (``share/`` only) ``<rest>`` in the source tree.
    """
    kind, _, rest = relative.partition("/")
    if kind not in KINDS or not rest:
        raise ValueError(f"relative path must start with 'lib/' or 'share/', got {relative!r}")
    prefixes = [Path(p) for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    paths = [p / kind / PACKAGE / rest for p in [*prefixes, Path(sys.prefix)]]
    if kind == "share":
        paths.append(SOURCE_ROOT / rest)
    return paths


def find_installed(relative: str, accept: Callable[[Path], bool] = Path.exists) -> Path:
    """The first of :func:`search_paths` that ``accept`` takes (default: that exists).

    Raises:
        PackageFileError: none does; the message lists every place searched.
    """
    paths = search_paths(relative)
    for path in paths:
        if accept(path):
            return path
    searched = "\n  ".join(str(p) for p in paths)
    raise PackageFileError(
        f"{relative} of {PACKAGE} not found. Searched:\n  {searched}\n"
        "Build the package with colcon (`make` or ./accident-anticipation does it) and source "
        "install/setup.bash, or run from its source tree."
    )


def installed_executable(name: str = "anticipation_node") -> Path:
    """``lib/accident_anticipation_ros/<name>`` of the colcon install (what ``ros2 run`` starts)."""
    return find_installed(f"lib/{name}")
