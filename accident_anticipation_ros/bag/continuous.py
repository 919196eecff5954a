"""Write any clip set as one continuous stream: clips back to back, no gap, one frame rate.

Layout of the bag (receive time = header stamp for every frame; P = 1/fps):

    t0 - min(0.1 s, P/2)   AccidentLabel of clip 0 (header stamp t0, its first frame's stamp)
    t0 + i*P               frame i of clip 0
    t1 = t0 + T0*P         clip 1's first frame, one period after clip 0's last; its label is
                           received between the two frames, so messages stay in stream order

Every stamp is ``stamps.frame_stamp_ns`` of its clip's first stamp, as in every evaluation bag, so
``read_clips_bag`` and ``read_risk_bag`` read it unchanged; the step between any two consecutive
frames, within a clip or across a boundary, is the period to the nanosecond (rounding only). The
node sees one stream: no gap and no time jump, so nothing resets its state between clips. All clips
must share one frame rate and one frame size (a resolution change would reset the node).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.writer import (
    DEFAULT_CAMERA_TOPIC,
    DEFAULT_LABEL_TOPIC,
    DEFAULT_START_TIME,
    LABEL_LEAD,
    ClipLayout,
    WrittenBag,
    write_bag,
)
from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.stamps import frame_stamp_ns, label_fps, seconds_to_ns


def _check(clip: Clip, first: Clip) -> None:
    if label_fps(clip.fps) != label_fps(first.fps):
        raise BagError(
            f"clip {clip.clip_id!r} has {clip.fps} fps, the stream {first.fps} fps (from {first.clip_id!r}): "
            "a continuous bag has one frame rate"
        )
    if clip.frames.shape[1:] != first.frames.shape[1:]:
        raise BagError(
            f"clip {clip.clip_id!r} has {clip.frames.shape[2]}x{clip.frames.shape[1]} frames, the stream "
            f"{first.frames.shape[2]}x{first.frames.shape[1]}: a continuous bag has one frame size (resize while loading)"
        )


def _label_lead(clip: Clip) -> int:
    """The usual label lead, or half a frame period where that is shorter."""
    return min(seconds_to_ns(LABEL_LEAD), frame_stamp_ns(0, clip.fps, 0.5))


CONTINUOUS = ClipLayout(
    next_start=lambda clip, first_ns, last_ns: frame_stamp_ns(first_ns, clip.fps, clip.num_frames),
    label_lead=_label_lead,
    check=_check,
)


def write_continuous_bag(
    clips: Iterable[Clip],
    out: Path,
    *,
    storage: str = "mcap",
    compressed: bool = False,
    camera_topic: str = DEFAULT_CAMERA_TOPIC,
    label_topic: str = DEFAULT_LABEL_TOPIC,
    frame_id: str = "camera",
    start_time: float = DEFAULT_START_TIME,
    jpeg_quality: int = 95,
) -> WrittenBag:
    """Write ``clips`` as one continuous stream to a new rosbag2 bag directory ``out``.

    Each clip keeps its ``AccidentLabel`` (clip id, label, toa as a stamp, fps, frame count,
    caption); a synthetic drive is written with ``training.synth.drive_storage.iter_drive_clips``.

    Args:
        clips: Clips in playback order (any iterable; consumed once), all at one fps and frame size.
        out: Bag directory to create; must not exist. Removed again if writing fails.
        storage: ``"mcap"`` or ``"sqlite3"``.
        compressed: ``CompressedImage`` jpeg on ``<camera_topic>/compressed`` instead of ``Image`` rgb8.
        camera_topic: Raw camera topic.
        label_topic: Topic of the ``AccidentLabel`` messages.
        frame_id: ``header.frame_id`` of every message.
        start_time: Stamp of the first frame, in seconds since the epoch.
        jpeg_quality: JPEG quality (1..100) with ``compressed=True``.

    Returns:
        A summary of what was written.

    Raises:
        BagError: ``out`` exists, a bad option, no clips, a clip that cannot be written, or clips
            with different frame rates or sizes.
    """
    return write_bag(
        clips, out, CONTINUOUS, storage=storage, compressed=compressed, camera_topic=camera_topic,
        label_topic=label_topic, frame_id=frame_id, start_time=start_time, jpeg_quality=jpeg_quality,
    )  # fmt: skip
