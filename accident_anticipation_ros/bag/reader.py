"""Read evaluation bags back: clips from camera + label topics, risk streams aligned to the labels.

``read_clips_bag`` turns an evaluation bag (see ``writer``) back into ``Clip`` records.
``read_risk_bag`` reads a recorded output bag (``AccidentRisk`` per camera plus the ``AccidentLabel``
messages) into per-clip arrays: frame ``i`` of a clip is the risk message whose header stamp equals
the stamp of the clip's ``i``-th frame. Frames without a risk message are dropped frames: their
values are NaN / False, and they are counted, never skipped silently. Frames the node steps over by
design (a camera faster than the model, decimated to its fps: ``AnticipationInfo.align_to_model_fps``)
are told from their stamps with the node's rule (``runtime.frame_rate.StepSchedule``) when the
recording holds the node's AnticipationInfo: they are ``decimated``, not dropped.
"""

from __future__ import annotations

import contextlib
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml
from rosbags.rosbag2 import Reader

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.types import (
    ACCIDENT_LABEL,
    ACCIDENT_RISK,
    ANTICIPATION_INFO,
    COMPRESSED_IMAGE,
    IMAGE_TYPES,
    get_package_typestore,
)
from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC
from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.conversions import ConversionError, compressed_to_rgb, image_to_rgb
from accident_anticipation_ros.runtime.frame_rate import stepped_mask
from accident_anticipation_ros.stamps import (
    NS_PER_S,
    cdr_header_stamp_ns,
    frame_stamp_ns,
    frame_stamps_ns,
    label_fps,
    ns_to_seconds,
    to_ns,
)

log = logging.getLogger(__name__)

STORAGE_SUFFIXES = (".mcap", ".db3")
STORAGE_IDS = ("mcap", "sqlite3")


# ---------------------------------------------------------------------------------------------- opening
@contextlib.contextmanager
def open_bag(path: Path | str) -> Iterator[Reader]:
    """Open a rosbag2 bag (directory, or a bare ``.mcap`` / ``.db3`` file) with rosbags.

    Raises:
        BagError: The path is missing, not a bag, or the bag is truncated or corrupt.
    """
    path = Path(path)
    if not path.exists():
        raise BagError(f"bag {path} does not exist")
    if path.is_file() and path.name == "metadata.yaml":
        path = path.parent
    if path.is_dir() and not (path / "metadata.yaml").is_file():
        files = sorted(p for p in path.iterdir() if p.suffix in STORAGE_SUFFIXES)
        if len(files) != 1:
            raise BagError(
                f"{path} is not a rosbag2 bag: no metadata.yaml and "
                f"{'no' if not files else len(files)} .mcap/.db3 files"
            )
        path = files[0]  # a bag whose recording stopped before metadata.yaml was written
    if path.is_file() and path.suffix not in STORAGE_SUFFIXES:
        raise BagError(f"{path} is not a rosbag2 bag: expected a bag directory or a .mcap/.db3 file")
    if path.is_dir():
        _check_storage_id(path)
    try:
        reader = Reader(path)
        reader.open()
    except Exception as exc:  # rosbags raises ReaderError, sqlite3/struct/yaml/OS errors on bad files
        raise BagError(
            f"cannot open bag {path}: {type(exc).__name__}: {exc} (truncated or corrupt?)"
        ) from exc
    try:
        yield reader
    finally:
        with contextlib.suppress(Exception):
            reader.close()


def _check_storage_id(bag: Path) -> None:
    """A bag of a storage plugin rosbags cannot read is named as such, not as a corrupt file."""
    try:
        meta = yaml.safe_load((bag / "metadata.yaml").read_text())
        storage = meta["rosbag2_bagfile_information"]["storage_identifier"]
    except Exception:  # noqa: BLE001 - a broken metadata.yaml is reported by the Reader below
        return
    if storage not in STORAGE_IDS:
        raise BagError(
            f"bag {bag}: storage {storage!r} (storage_identifier in metadata.yaml) is not supported; "
            f"this package reads {' and '.join(STORAGE_IDS)} bags (convert with `ros2 bag convert`)"
        )


def bag_topics(reader: Reader) -> dict[str, str]:
    """``{topic: message type}`` of every connection in the bag."""
    return {c.topic: c.msgtype for c in reader.connections}


def _describe(topics: dict[str, str]) -> str:
    if not topics:
        return "the bag has no topics"
    return "topics in the bag: " + ", ".join(f"{t} [{m}]" for t, m in sorted(topics.items()))


def _connections(reader: Reader, topic: str, msgtypes: Iterable[str]):
    """Connections of ``topic``; BagError if the topic is missing or of another type."""
    msgtypes = tuple(msgtypes)
    conns = [c for c in reader.connections if c.topic == topic]
    if not conns:
        raise BagError(f"bag {reader.path}: topic {topic!r} not found; {_describe(bag_topics(reader))}")
    for conn in conns:
        if conn.msgtype not in msgtypes:
            raise BagError(
                f"bag {reader.path}: topic {topic!r} has type {conn.msgtype}, expected {' or '.join(msgtypes)}"
            )
    _check_definitions(reader, conns)
    return conns


def _check_definitions(reader: Reader, conns) -> None:
    """The bag's RIHS01 hash of each type, where stored, must equal this package's definition."""
    store = get_package_typestore()
    for conn in conns:
        if conn.digest.startswith("RIHS01_") and conn.digest != (ours := store.hash_rihs01(conn.msgtype)):
            raise BagError(
                f"bag {reader.path}: topic {conn.topic!r} was recorded with another definition of "
                f"{conn.msgtype} (hash {conn.digest}, this package has {ours}); the bag needs a matching version"
            )


def _raw_messages(reader: Reader, conns) -> Iterator[tuple]:
    """``(connection, receive time ns, cdr bytes)`` of ``conns``; BagError where the storage breaks off."""
    stream = reader.messages(connections=conns)
    while True:
        try:
            yield next(stream)
        except StopIteration:
            return
        except Exception as exc:  # rosbags/sqlite3/struct errors from a truncated or corrupt file
            raise BagError(
                f"bag {reader.path}: cannot read messages ({type(exc).__name__}: {exc}); "
                "the file is truncated or corrupt"
            ) from exc


def _messages(reader: Reader, conns) -> Iterator[tuple[str, int, object]]:
    """``(topic, receive time ns, message)`` of ``conns``; BagError on unreadable data."""
    store = get_package_typestore()
    for conn, timestamp, raw in _raw_messages(reader, conns):
        try:
            msg = store.deserialize_cdr(raw, conn.msgtype)
        except Exception as exc:
            raise BagError(
                f"bag {reader.path}: message on {conn.topic!r} at {timestamp} ns is not a valid {conn.msgtype} "
                f"({type(exc).__name__}: {exc})"
            ) from exc
        yield conn.topic, timestamp, msg


def _header_stamps(reader: Reader, conns) -> Iterator[int]:
    """Header stamps (ns) of messages whose first field is a ``std_msgs/Header``, without decoding them."""
    for conn, timestamp, raw in _raw_messages(reader, conns):
        try:
            yield cdr_header_stamp_ns(raw)
        except ValueError:
            raise BagError(
                f"bag {reader.path}: message on {conn.topic!r} at {timestamp} ns is truncated"
            ) from None


def find_image_topic(reader: Reader, camera_topic: str | None = None) -> tuple[str, str]:
    """``(topic, msgtype)`` of the camera: ``camera_topic`` if given, else the bag's only image topic."""
    topics = bag_topics(reader)
    if camera_topic is not None:
        conns = _connections(reader, camera_topic, IMAGE_TYPES)
        return camera_topic, conns[0].msgtype
    images = sorted(t for t, m in topics.items() if m in IMAGE_TYPES)
    if len(images) != 1:
        what = "no image topic" if not images else f"several image topics ({', '.join(images)}); pick one"
        raise BagError(f"bag {reader.path}: cannot pick the camera topic: {what}; {_describe(topics)}")
    _check_definitions(reader, [c for c in reader.connections if c.topic == images[0]])
    return images[0], topics[images[0]]


# ----------------------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class ClipLabel:
    """One ``AccidentLabel`` of a bag: a clip's ground truth and where its frames are."""

    clip_id: str
    label: int
    toa: float  # time of accident as a frame index, -1 for negatives
    fps: float
    num_frames: int
    caption: str
    start_ns: int  # stamp of the clip's first frame
    frame_id: str
    cause: str = ""  # the clip's cause label (see Clip.cause); "" when unknown

    @property
    def positive(self) -> bool:
        return self.label == 1

    def frame_stamps_ns(self) -> np.ndarray:
        """``(T,)`` int64 frame stamps as the writer lays them out (frame i at ``start + i/fps``)."""
        return frame_stamps_ns(self.start_ns, self.fps, self.num_frames)

    def frame_labels(self) -> np.ndarray:
        """``(T,)`` uint8 per-frame labels: 1 from the time of accident on."""
        if not self.positive:
            return np.zeros(self.num_frames, dtype=np.uint8)
        return (np.arange(self.num_frames) >= self.toa).astype(np.uint8)


def _to_clip_label(msg, path: Path) -> ClipLabel:
    start_ns, fps = to_ns(msg.header.stamp), label_fps(msg.fps)
    where = f"bag {path}: label of clip {msg.clip_id!r}"
    if msg.label not in (0, 1):
        raise BagError(f"{where}: label must be 0 or 1, got {msg.label}")
    if not np.isfinite(fps) or fps <= 0:
        raise BagError(f"{where}: fps must be positive, got {msg.fps}")
    if msg.num_frames < 1:
        raise BagError(f"{where}: num_frames must be at least 1, got {msg.num_frames}")
    toa = -1.0
    if msg.label == 1:
        toa_ns = to_ns(msg.time_of_accident)
        if toa_ns == 0:
            raise BagError(f"{where}: positive clip with a zero time_of_accident")
        toa = round((toa_ns - start_ns) * fps / NS_PER_S, 6)
        if frame_stamp_ns(start_ns, fps, toa) != toa_ns:  # toa rounded to 1e-6 frames; keep the exact value
            toa = (toa_ns - start_ns) * fps / NS_PER_S
    return ClipLabel(
        clip_id=msg.clip_id,
        label=int(msg.label),
        toa=toa,
        fps=fps,
        num_frames=int(msg.num_frames),
        caption=msg.caption,
        start_ns=start_ns,
        frame_id=msg.header.frame_id,
        cause=msg.cause,
    )


def read_labels(reader: Reader, label_topic: str = DEFAULT_LABEL_TOPIC) -> list[ClipLabel]:
    """The bag's ``AccidentLabel`` messages, sorted by first-frame stamp; BagError if clips overlap."""
    conns = _connections(reader, label_topic, [ACCIDENT_LABEL])
    labels = sorted(
        (_to_clip_label(msg, reader.path) for *_, msg in _messages(reader, conns)), key=lambda c: c.start_ns
    )
    if not labels:
        raise BagError(f"bag {reader.path}: topic {label_topic!r} has no messages")
    for prev, cur in zip(labels, labels[1:], strict=False):
        last_ns = frame_stamp_ns(prev.start_ns, prev.fps, prev.num_frames - 1)
        if cur.start_ns <= last_ns:
            raise BagError(
                f"bag {reader.path}: clips {prev.clip_id!r} and {cur.clip_id!r} overlap in time "
                f"({cur.clip_id!r} starts at {cur.start_ns} ns, {prev.clip_id!r} ends at {last_ns} ns)"
            )
    return labels


def _starts(labels: list[ClipLabel]) -> np.ndarray:
    return np.array([lab.start_ns for lab in labels], dtype=np.int64)


def _clip_index(starts: np.ndarray, stamp_ns: int) -> int:
    """Index of the clip whose first-frame stamp (``starts``) is the latest at or before ``stamp_ns``; -1 if none."""
    return int(np.searchsorted(starts, stamp_ns, side="right")) - 1


# ------------------------------------------------------------------------------------------------ clips
def read_clips_bag(
    path: Path | str,
    camera_topic: str | None = None,
    label_topic: str = DEFAULT_LABEL_TOPIC,
) -> Iterator[Clip]:
    """Yield the clips of an evaluation bag, in time order.

    Frames are assigned to the clip whose label stamp is the latest at or before their header stamp;
    each clip must have exactly the ``num_frames`` of its label.

    Args:
        path: Bag directory (or bare ``.mcap`` / ``.db3`` file).
        camera_topic: ``Image`` or ``CompressedImage`` topic; default: the bag's only image topic.
        label_topic: ``AccidentLabel`` topic.

    Raises:
        BagError: Missing/corrupt bag, missing topic, a frame outside every clip, a clip with missing
            or extra frames, or frames of one clip with different sizes.
    """
    with open_bag(path) as reader:
        labels = read_labels(reader, label_topic)
        topic, msgtype = find_image_topic(reader, camera_topic)
        decode = compressed_to_rgb if msgtype == COMPRESSED_IMAGE else image_to_rgb
        conns = [c for c in reader.connections if c.topic == topic]
        starts = _starts(labels)
        frames: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
        done: set[int] = set()
        for _, _, msg in _messages(reader, conns):
            stamp_ns = to_ns(msg.header.stamp)
            k = _clip_index(starts, stamp_ns)
            if k < 0:
                raise BagError(
                    f"bag {reader.path}: frame at {stamp_ns} ns on {topic!r} is before the first label"
                )
            if k in done:
                raise BagError(
                    f"bag {reader.path}: clip {labels[k].clip_id!r} has more than its {labels[k].num_frames} "
                    f"frames (extra frame at {stamp_ns} ns)"
                )
            try:
                rgb = decode(msg)
            except ConversionError as exc:
                raise BagError(f"bag {reader.path}: frame at {stamp_ns} ns on {topic!r}: {exc}") from exc
            frames[k].append((stamp_ns, rgb))
            if len(frames[k]) == labels[k].num_frames:
                done.add(k)
                yield _make_clip(labels[k], frames.pop(k), reader.path, topic)
        missing = [k for k in range(len(labels)) if k not in done]
        if missing:
            got = ", ".join(
                f"{labels[k].clip_id!r} ({len(frames.get(k, []))}/{labels[k].num_frames})" for k in missing
            )
            raise BagError(f"bag {reader.path}: clips with missing frames on {topic!r}: {got}")


def _make_clip(label: ClipLabel, frames: list[tuple[int, np.ndarray]], path: Path, topic: str) -> Clip:
    frames.sort(key=lambda f: f[0])
    shapes = {rgb.shape for _, rgb in frames}
    if len(shapes) != 1:
        raise BagError(f"bag {path}: clip {label.clip_id!r} mixes frame sizes {sorted(shapes)}")
    return Clip(
        clip_id=label.clip_id,
        frames=np.stack([rgb for _, rgb in frames]),  # (T, H, W, 3)
        labels=label.frame_labels(),
        toa=label.toa,
        fps=label.fps,
        caption=label.caption,
        meta={
            "bag": str(path),
            "camera_topic": topic,
            "frame_id": label.frame_id,
            "stamps_ns": [s for s, _ in frames],
            "cause": label.cause,
        },
    )


# ------------------------------------------------------------------------------------------------- risk
@dataclass
class RiskClip:
    """One camera's risk stream over one labelled clip; arrays are ``(T,)``, one entry per frame.

    Dropped frames (no ``AccidentRisk`` for the frame's stamp) have ``received`` False, NaN floats,
    level 0 and False booleans; so have the ``decimated`` ones (no message by design), which are not
    counted as dropped.
    """

    camera: str
    clip_id: str
    label: int
    toa: float
    fps: float
    stamps: np.ndarray  # (T,) int64 ns, the frames' stamps
    received: np.ndarray  # (T,) bool
    probability: np.ndarray  # (T,) float32
    probability_smoothed: np.ndarray  # (T,) float32
    level: np.ndarray  # (T,) uint8
    alert: np.ndarray  # (T,) bool
    state_reset: np.ndarray  # (T,) bool
    tta: np.ndarray  # (T,) float32, NaN when unknown
    latency_ms: np.ndarray  # (T,) float32
    duplicates: int = 0  # risk messages for a frame that already had one (the first is kept)
    cause_label: str = ""  # the clip's cause (AccidentLabel.cause); "" when unknown
    cause: np.ndarray | None = None  # (T,) object: AccidentRisk.cause, "" when none or dropped
    cause_confidence: np.ndarray | None = None  # (T,) float32, NaN when no cause
    out_of_domain: np.ndarray | None = None  # (T,) bool
    domain_score: np.ndarray | None = None  # (T,) float32, NaN when unknown or dropped
    decimated: np.ndarray | None = None  # (T,) bool: no message by design (fps alignment)

    @property
    def num_frames(self) -> int:
        return int(self.stamps.shape[0])

    @property
    def num_decimated(self) -> int:
        """Frames the node's fps alignment stepped over (held at the last value, not dropped)."""
        return 0 if self.decimated is None else int(self.decimated.sum())

    @property
    def dropped(self) -> int:
        """Frames of the clip without a risk message that the node should have answered."""
        return int(self.num_frames - self.received.sum()) - self.num_decimated

    @property
    def positive(self) -> bool:
        return self.label == 1


@dataclass
class RiskRecording:
    """Everything ``read_risk_bag`` found: clips per camera and what did not fit."""

    path: Path
    labels: list[ClipLabel]
    clips: list[RiskClip]  # per camera (sorted), in label order
    unmatched: dict[str, int] = field(default_factory=dict)  # camera -> risk messages matching no frame

    @property
    def cameras(self) -> list[str]:
        return sorted({c.camera for c in self.clips})

    @property
    def dropped(self) -> int:
        """Frames without a risk message, over all cameras and clips."""
        return sum(c.dropped for c in self.clips)

    def for_camera(self, camera: str) -> list[RiskClip]:
        return [c for c in self.clips if c.camera == camera]


def _empty_risk_clip(camera: str, label: ClipLabel, stamps: np.ndarray) -> RiskClip:
    n = stamps.shape[0]
    nan = np.full(n, np.nan, dtype=np.float32)
    return RiskClip(
        camera=camera,
        clip_id=label.clip_id,
        label=label.label,
        toa=label.toa,
        fps=label.fps,
        stamps=stamps,
        received=np.zeros(n, dtype=bool),
        probability=nan.copy(),
        probability_smoothed=nan.copy(),
        level=np.zeros(n, dtype=np.uint8),
        alert=np.zeros(n, dtype=bool),
        state_reset=np.zeros(n, dtype=bool),
        tta=nan.copy(),
        latency_ms=nan.copy(),
        cause_label=label.cause,
        cause=np.full(n, "", dtype=object),
        cause_confidence=nan.copy(),
        out_of_domain=np.zeros(n, dtype=bool),
        domain_score=nan.copy(),
        decimated=np.zeros(n, dtype=bool),
    )


def _frame_stamps_from_camera(reader: Reader, labels: list[ClipLabel], camera_topic: str) -> list[np.ndarray]:
    conns = _connections(reader, camera_topic, IMAGE_TYPES)
    per_clip: list[list[int]] = [[] for _ in labels]
    starts = _starts(labels)
    for stamp_ns in _header_stamps(reader, conns):
        k = _clip_index(starts, stamp_ns)
        if k < 0:
            raise BagError(
                f"bag {reader.path}: frame at {stamp_ns} ns on {camera_topic!r} is before the first label"
            )
        per_clip[k].append(stamp_ns)
    for label, stamps in zip(labels, per_clip, strict=True):
        if len(stamps) != label.num_frames:
            raise BagError(
                f"bag {reader.path}: clip {label.clip_id!r} has {len(stamps)} frames on {camera_topic!r}, "
                f"its label says {label.num_frames}"
            )
    return [np.sort(np.array(s, dtype=np.int64)) for s in per_clip]


def _clip_frames(reader: Reader, label_topic: str, camera_topic: str | None):
    """Labels and per-clip frame stamps of the bag open in ``reader``."""
    labels = read_labels(reader, label_topic)
    if camera_topic is None:
        return labels, [lab.frame_stamps_ns() for lab in labels]
    return labels, _frame_stamps_from_camera(reader, labels, camera_topic)


def read_risk_bag(
    path: Path | str,
    *,
    risk_topics: Iterable[str] | None = None,
    label_topic: str = DEFAULT_LABEL_TOPIC,
    camera_topic: str | None = None,
    labels_bag: Path | str | None = None,
) -> RiskRecording:
    """Read a recorded output bag: ``AccidentRisk`` streams aligned to the ``AccidentLabel`` clips.

    Streams are told apart by ``AccidentRisk.camera`` (the topic name where it is empty). Every camera
    gets one ``RiskClip`` per label.

    Args:
        path: Bag directory (or bare ``.mcap`` / ``.db3`` file) with the ``AccidentRisk`` messages.
        risk_topics: ``AccidentRisk`` topics to read; default: every topic of that type in the bag.
        label_topic: ``AccidentLabel`` topic.
        camera_topic: If given, frame stamps are the header stamps of this image topic's messages
            (grouped by label); by default they are computed from the labels as the writer lays
            them out. Do not pass a topic the node republishes (an overlay): its stamps skip the
            frames the node dropped.
        labels_bag: Bag holding the labels (and ``camera_topic``), e.g. the evaluation bag that was
            played, when the recording has no labels; default: ``path``.

    Raises:
        BagError: Missing/corrupt bag, no risk or label topic, a topic of the wrong type.
    """
    if labels_bag is not None:
        with open_bag(labels_bag) as reader:
            labels, stamps = _clip_frames(reader, label_topic, camera_topic)
    with open_bag(path) as reader:
        if labels_bag is None:
            labels, stamps = _clip_frames(reader, label_topic, camera_topic)
        if risk_topics is None:
            topics = sorted({c.topic for c in reader.connections if c.msgtype == ACCIDENT_RISK})
            if not topics:
                raise BagError(
                    f"bag {reader.path}: no {ACCIDENT_RISK} topic; {_describe(bag_topics(reader))}"
                )
        else:
            topics = list(risk_topics)
        conns = [c for t in topics for c in _connections(reader, t, [ACCIDENT_RISK])]
        where = {int(s): (k, i) for k, clip_stamps in enumerate(stamps) for i, s in enumerate(clip_stamps)}

        clips: dict[tuple[str, int], RiskClip] = {}
        unmatched: dict[str, int] = defaultdict(int)
        for topic, _, msg in _messages(reader, conns):
            camera = msg.camera or topic
            hit = where.get(to_ns(msg.header.stamp))
            if hit is None:
                unmatched[camera] += 1
                continue
            k, i = hit
            if (camera, k) not in clips:
                clips[(camera, k)] = _empty_risk_clip(camera, labels[k], stamps[k])
            clip = clips[(camera, k)]
            if clip.received[i]:
                clip.duplicates += 1
                continue
            clip.received[i] = True
            clip.probability[i] = msg.probability
            clip.probability_smoothed[i] = msg.probability_smoothed
            clip.level[i] = msg.level
            clip.alert[i] = msg.alert
            clip.state_reset[i] = msg.state_reset
            clip.tta[i] = msg.time_to_accident
            clip.latency_ms[i] = msg.latency_ms
            clip.cause[i] = msg.cause
            clip.cause_confidence[i] = msg.cause_confidence
            clip.out_of_domain[i] = msg.out_of_domain
            clip.domain_score[i] = msg.domain_score

        info = _node_info(reader)

    cameras = sorted({cam for cam, _ in clips} | set(unmatched))
    result = [
        clips.get((cam, k)) or _empty_risk_clip(cam, lab, stamps[k])
        for cam in cameras
        for k, lab in enumerate(labels)
    ]
    if info is not None:
        _mark_decimated(result, info)
    recording = RiskRecording(Path(path), labels, result, dict(unmatched))
    if recording.dropped or recording.unmatched:
        log.warning(
            "bag %s: %d of %d frames have no risk message (dropped); %d risk messages match no frame",
            path,
            recording.dropped,
            sum(c.num_frames for c in result),
            sum(recording.unmatched.values()),
        )
    return recording


def _node_info(reader: Reader):
    """The first AnticipationInfo of the recording (the node's fps rule), or None."""
    conns = [c for c in reader.connections if c.msgtype == ANTICIPATION_INFO]
    for _, _, msg in _messages(reader, conns) if conns else ():
        return msg if msg.assumed_fps > 0 else None
    return None


def _mark_decimated(clips: list[RiskClip], info) -> None:
    """Mark the unanswered frames the node steps over by design, camera by camera, in stamp order."""
    for camera in {c.camera for c in clips}:
        mine = sorted(
            (c for c in clips if c.camera == camera), key=lambda c: int(c.stamps[0]) if c.num_frames else 0
        )
        if not mine:
            continue
        stamps = np.concatenate([c.stamps for c in mine])
        order = np.argsort(stamps, kind="stable")
        steps = np.empty(stamps.shape[0], dtype=bool)
        steps[order] = stepped_mask(
            (ns_to_seconds(int(t)) for t in stamps[order]),
            info.assumed_fps,
            info.align_to_model_fps,
            info.max_gap,
        )
        start = 0
        for clip in mine:
            n = clip.num_frames
            clip.decimated = ~steps[start : start + n] & ~clip.received
            start += n
