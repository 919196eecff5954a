"""Stamp arithmetic, in one place (ROS-free): nanoseconds, ``(sec, nanosec)`` and seconds.

Every conversion between a ``builtin_interfaces/msg/Time``, integer nanoseconds and float seconds
goes through here: the node, offline replay, the bag writer and readers, render and the markers.

Frame ``i`` of a clip that starts at ``start_ns`` has the stamp ``start_ns + round(i * 1e9 / fps)``,
where ``fps`` is the clip's frame rate rounded to float32 (the precision of ``AccidentLabel.fps``),
so a reader that only has the label recomputes every frame stamp exactly.
"""

from __future__ import annotations

import struct

import numpy as np

NS_PER_S = 1_000_000_000


def label_fps(fps: float) -> float:
    """``fps`` as stored in ``AccidentLabel.fps`` (float32), returned as its shortest decimal."""
    return float(str(np.float32(fps)))


def frame_stamp_ns(start_ns: int, fps: float, index: float) -> int:
    """Stamp in nanoseconds of (possibly fractional) frame ``index`` of a clip starting at ``start_ns``."""
    return int(start_ns) + int(round(float(index) * NS_PER_S / label_fps(fps)))


def frame_stamps_ns(start_ns: int, fps: float, num_frames: int) -> np.ndarray:
    """``(T,)`` int64 stamps of the frames of a clip starting at ``start_ns``."""
    return np.array([frame_stamp_ns(start_ns, fps, i) for i in range(num_frames)], dtype=np.int64)


def seconds_to_ns(seconds: float) -> int:
    """Seconds (int or float) to integer nanoseconds, exact for integer seconds."""
    whole = int(seconds // 1)
    return whole * NS_PER_S + int(round((seconds - whole) * NS_PER_S))


def ns_to_seconds(ns: int) -> float:
    """Integer nanoseconds to float seconds, as ``sec + nanosec * 1e-9``."""
    sec, nanosec = split_ns(ns)
    return sec + nanosec * 1e-9


def to_ns(stamp) -> int:
    """A ``builtin_interfaces/msg/Time`` (``sec``, ``nanosec``) to integer nanoseconds."""
    return int(stamp.sec) * NS_PER_S + int(stamp.nanosec)


def to_seconds(stamp) -> float:
    """A ``builtin_interfaces/msg/Time`` to float seconds (what ``StreamSession.step`` takes)."""
    return ns_to_seconds(to_ns(stamp))


def split_ns(ns: int) -> tuple[int, int]:
    """Integer nanoseconds to ``(sec, nanosec)`` with ``0 <= nanosec < 1e9``."""
    sec, nanosec = divmod(int(ns), NS_PER_S)
    return sec, nanosec


def cdr_header_stamp_ns(data: bytes) -> int:
    """The header stamp (ns) of a CDR-serialized message whose first field is a ``std_msgs/Header``.

    Reads the stamp without decoding the message.

    Raises:
        ValueError: ``data`` is shorter than the CDR encapsulation and the stamp (12 bytes).
    """
    if len(data) < 12:
        raise ValueError(f"a serialized message with a header has at least 12 bytes, got {len(data)}")
    order = "<" if data[1] & 1 else ">"  # CDR encapsulation: 0x0001 little endian, 0x0000 big endian
    sec, nanosec = struct.unpack_from(f"{order}iI", data, 4)
    return sec * NS_PER_S + nanosec
