"""Write clips as a rosbag2 evaluation bag: camera frames plus one ``AccidentLabel`` per clip.

Layout of the bag (receive time = header stamp for every frame):

    t0 - 0.1 s   AccidentLabel on ``label_topic`` (header stamp t0 = the clip's first frame stamp)
    t0 + i/fps   frame i on ``camera_topic`` (``Image`` rgb8) or ``<camera_topic>/compressed`` (jpeg)
    ...          next clip ``gap_between_clips`` seconds after the last frame, so a node whose
                 ``max_gap`` is shorter resets its recurrent state between clips.

``write_bag`` takes the time layout as an argument (``ClipLayout``); ``continuous`` lays the clips
back to back instead, as one stream.

The bag is rosbag2 version 9 with cdr messages; the rosbags writer stores each type's full
concatenated ``.msg`` definition and its RIHS01 hash, as ``ros2 bag record`` does.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from rosbags.interfaces import Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime
from rosbags.rosbag2 import StoragePlugin, Writer, WriterError

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, COMPRESSED_IMAGE, IMAGE, get_package_typestore
from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.conversions import (
    ConversionError,
    encode_compressed_fields,
    encode_image_fields,
)
from accident_anticipation_ros.stamps import frame_stamp_ns, label_fps, seconds_to_ns, split_ns

DEFAULT_CAMERA_TOPIC = "/camera/image_raw"
DEFAULT_LABEL_TOPIC = "/accident_anticipation/ground_truth"
DEFAULT_START_TIME = 1_700_000_000.0  # seconds since the epoch of the first clip's first frame
DEFAULT_GAP = 2.0  # seconds between a clip's last frame and the next clip's first frame
LABEL_LEAD = 0.1  # seconds the label is received before its clip's first frame
STORAGES = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
BAG_VERSION = 9

# What `ros2 bag record` stores for a default publisher on Jazzy (reliable, volatile, keep last 10,
# durations infinite); `ros2 bag play` offers the same QoS. A reliable publisher also serves the node's
# best-effort camera subscription.
_INFINITE = QosTime(sec=9223372036, nsec=854775807)
OFFERED_QOS = Qos(
    history=QosHistory.KEEP_LAST,
    depth=10,
    reliability=QosReliability.RELIABLE,
    durability=QosDurability.VOLATILE,
    deadline=_INFINITE,
    lifespan=_INFINITE,
    liveliness=QosLiveliness.AUTOMATIC,
    liveliness_lease_duration=_INFINITE,
    avoid_ros_namespace_conventions=False,
)


@dataclass(frozen=True)
class WrittenBag:
    """Summary of a written evaluation bag."""

    path: Path
    storage: str
    camera_topic: str
    label_topic: str
    num_clips: int
    num_frames: int
    start_ns: int
    end_ns: int


def _time(store, ns: int):
    sec, nanosec = split_ns(ns)
    return store.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec)


def _header(store, ns: int, frame_id: str):
    return store.types["std_msgs/msg/Header"](stamp=_time(store, ns), frame_id=frame_id)


@dataclass(frozen=True)
class ClipLayout:
    """Where a bag's clips go in time (frame ``i`` of a clip is always at ``stamps.frame_stamp_ns``).

    Attributes:
        next_start: ``(clip, first_ns, last_ns) -> ns``: first-frame stamp of the clip after ``clip``,
            whose first and last frames are at ``first_ns`` and ``last_ns``.
        label_lead: ``clip -> ns``: how long before its first frame the clip's label is received.
        check: ``(clip, first clip) -> None``: raises ``BagError`` for a clip the layout cannot take.
    """

    next_start: Callable[[Clip, int, int], int]
    label_lead: Callable[[Clip], int]
    check: Callable[[Clip, Clip], None] = lambda clip, first: None


def write_clips_bag(
    clips: Iterable[Clip],
    out: Path,
    *,
    storage: str = "mcap",
    compressed: bool = False,
    camera_topic: str = DEFAULT_CAMERA_TOPIC,
    label_topic: str = DEFAULT_LABEL_TOPIC,
    frame_id: str = "camera",
    start_time: float = DEFAULT_START_TIME,
    gap_between_clips: float = DEFAULT_GAP,
    jpeg_quality: int = 95,
) -> WrittenBag:
    """Write ``clips`` to a new rosbag2 bag directory ``out``.

    Args:
        clips: Clips in playback order (any iterable; consumed once).
        out: Bag directory to create; must not exist. Removed again if writing fails.
        storage: ``"mcap"`` or ``"sqlite3"``.
        compressed: Write ``sensor_msgs/msg/CompressedImage`` jpeg on ``<camera_topic>/compressed``
            instead of ``sensor_msgs/msg/Image`` rgb8 on ``camera_topic``.
        camera_topic: Raw camera topic.
        label_topic: Topic of the ``AccidentLabel`` messages.
        frame_id: ``header.frame_id`` of every message.
        start_time: Stamp of the first clip's first frame, in seconds since the epoch.
        gap_between_clips: Seconds from a clip's last frame to the next clip's first frame; make it
            longer than the node's ``max_gap`` so the node resets its state between clips.
        jpeg_quality: JPEG quality (1..100) with ``compressed=True``.

    Returns:
        A summary of what was written.

    Raises:
        BagError: ``out`` exists, a bad option, no clips, or a clip that cannot be written.
    """
    if gap_between_clips <= LABEL_LEAD:
        raise BagError(
            f"gap_between_clips must exceed the label lead of {LABEL_LEAD} s, got {gap_between_clips}"
        )
    gap_ns, lead_ns = seconds_to_ns(gap_between_clips), seconds_to_ns(LABEL_LEAD)
    layout = ClipLayout(
        next_start=lambda clip, first_ns, last_ns: last_ns + gap_ns, label_lead=lambda clip: lead_ns
    )
    return write_bag(
        clips, out, layout, storage=storage, compressed=compressed, camera_topic=camera_topic,
        label_topic=label_topic, frame_id=frame_id, start_time=start_time, jpeg_quality=jpeg_quality,
    )  # fmt: skip


def write_bag(
    clips: Iterable[Clip],
    out: Path,
    layout: ClipLayout,
    *,
    storage: str = "mcap",
    compressed: bool = False,
    camera_topic: str = DEFAULT_CAMERA_TOPIC,
    label_topic: str = DEFAULT_LABEL_TOPIC,
    frame_id: str = "camera",
    start_time: float = DEFAULT_START_TIME,
    jpeg_quality: int = 95,
) -> WrittenBag:
    """Write ``clips`` to a new bag directory ``out`` with the time ``layout`` (options as ``write_clips_bag``)."""
    out = Path(out)
    if storage not in STORAGES:
        raise BagError(f"storage must be one of {sorted(STORAGES)}, got {storage!r}")
    if start_time <= LABEL_LEAD:
        raise BagError(
            f"start_time must be after {LABEL_LEAD} s (the first label comes before it), got {start_time}"
        )
    if not 1 <= jpeg_quality <= 100:
        raise BagError(f"jpeg_quality must be in 1..100, got {jpeg_quality}")
    if out.exists():
        raise BagError(f"bag {out} exists already; not overwriting")

    store = get_package_typestore()
    image_topic = f"{camera_topic.rstrip('/')}/compressed" if compressed else camera_topic
    image_type = COMPRESSED_IMAGE if compressed else IMAGE
    ImageMsg = store.types[image_type]
    LabelMsg = store.types[ACCIDENT_LABEL]
    start_ns = next_ns = seconds_to_ns(start_time)
    end_ns = start_ns
    num_clips = num_frames = 0
    first_clip = None

    writer = Writer(out, version=BAG_VERSION, storage_plugin=STORAGES[storage])
    try:
        with writer:
            qos = [OFFERED_QOS]
            label_conn = writer.add_connection(
                label_topic, ACCIDENT_LABEL, typestore=store, offered_qos_profiles=qos
            )
            image_conn = writer.add_connection(
                image_topic, image_type, typestore=store, offered_qos_profiles=qos
            )
            for clip in clips:
                if clip.num_frames == 0:
                    raise BagError(f"clip {clip.clip_id!r} has no frames")
                first_clip = first_clip or clip
                layout.check(clip, first_clip)
                first_ns = next_ns
                toa_ns = frame_stamp_ns(first_ns, clip.fps, clip.toa) if clip.positive else 0
                label = LabelMsg(
                    header=_header(store, first_ns, frame_id),
                    clip_id=clip.clip_id,
                    label=1 if clip.positive else 0,
                    time_of_accident=_time(store, toa_ns),
                    fps=label_fps(clip.fps),
                    num_frames=clip.num_frames,
                    caption=clip.caption,
                    cause=clip.cause,
                )
                label_ns = first_ns - layout.label_lead(clip)
                writer.write(label_conn, label_ns, store.serialize_cdr(label, ACCIDENT_LABEL))
                for i, frame in enumerate(clip.frames):
                    stamp_ns = frame_stamp_ns(first_ns, clip.fps, i)
                    header = _header(store, stamp_ns, frame_id)
                    try:
                        if compressed:
                            fields = encode_compressed_fields(frame, "jpeg", jpeg_quality)
                        else:
                            fields = encode_image_fields(frame, "rgb8")
                    except ConversionError as exc:
                        raise BagError(f"clip {clip.clip_id!r}, frame {i}: {exc}") from exc
                    msg = ImageMsg(header=header, **fields)
                    writer.write(image_conn, stamp_ns, store.serialize_cdr(msg, image_type))
                    end_ns = stamp_ns
                next_ns = layout.next_start(clip, first_ns, end_ns)
                num_clips += 1
                num_frames += clip.num_frames
            if num_clips == 0:
                raise BagError(f"no clips to write to {out}")
    except BaseException as exc:
        shutil.rmtree(out, ignore_errors=True)
        if isinstance(exc, WriterError):
            raise BagError(f"cannot write bag {out}: {exc}") from exc
        raise
    return WrittenBag(out, storage, image_topic, label_topic, num_clips, num_frames, start_ns, end_ns)
