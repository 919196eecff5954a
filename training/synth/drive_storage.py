"""A continuous drive on disk (the contract evaluation reads).

Layout::

    DIR/synth.json                 the synthetic-benchmark manifest with one split, ``drive``, whose
                                   clips are the drive's pieces in stream order: the dataset loaders
                                   (``iter_clips(DIR, split="drive")``) and the bag writers read it
    DIR/drive/<clip_id>.npz|.json  the pieces, in the clip format of ``storage.py``: consecutive
                                   stretches of the stream; a piece holds at most one event, never
                                   splits one and never spans a cut; ``toa`` is the accident's frame
                                   in the piece (-1 without one); ``meta`` adds the piece's place in
                                   the drive (``first_frame``, ``world``, ``cut_before``, ``event``)
    DIR/drive.json                 the drive: config, seed, frame count, worlds, events, pieces
    DIR/frames.npz                 one row per frame of the whole stream (``FRAME_COLUMNS``)

Frame ``k`` of the stream has the stamp ``k / fps`` seconds from the drive's start. Worlds (segments)
follow each other without a gap: a cut is a change of world between two consecutive frames, marked
by ``cut`` and ``world`` in ``frames.npz`` and ``cut_before`` in the piece. Events (``drive.json``):
``id``, ``world``, ``kind`` (``accident`` / ``near_miss``), ``scenario`` (the cause), ``variant``,
``window`` (first and last frame of the event), ``toa`` (the frame at which the ego touches the key
actor; ``null`` for a near miss), ``critical_frame`` (toa, or a near miss's matched reference frame),
``event_frame`` (start of the critical manoeuvre, fractional), ``key_actor``, ``min_gap``, ``piece``.
All frame indices count from the drive's first frame. Files are byte-for-byte reproducible.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.synth.storage import FORMAT, MANIFEST, _write_json, save_npz

DRIVE_FORMAT = "aar-synth-drive-1"
DRIVE_INDEX = "drive.json"
FRAMES = "frames.npz"
SPLIT = "drive"
FRAME_COLUMNS = {
    "stamp": "float64 seconds from the drive's first frame (k / fps)",
    "world": "int32 world (segment) index; a new world starts after a cut",
    "cut": "uint8 1 on the first frame of every world after the first",
    "piece": "int32 index of the piece (clip file) holding the frame",
    "event": "int32 id of the event whose window holds the frame, -1 in plain safe driving",
    "event_offset": "int32 frame minus the event's critical frame (toa of an accident); 0 where event is -1",
    "label": "uint8 1 from an accident's toa to the end of its world (the clips' per-frame labels)",
    "key_event": "int32 id of the current or next event whose key actor is in view, else -1",
    "key_box": "int32 (N, 4) x0, y0, x1, y1 of that key actor in the image (the object that will collide), else -1",
    "ego_speed": "float32 m/s",
}


def piece_id(index: int) -> str:
    """Clip id (file stem) of piece ``index``, e.g. ``"drive_00012"``."""
    return f"{SPLIT}_{index:05d}"


def write_frames(root: str | Path, columns: dict[str, np.ndarray]) -> Path:
    """Write ``DIR/frames.npz``; ``columns`` must hold exactly ``FRAME_COLUMNS``."""
    if set(columns) != set(FRAME_COLUMNS):
        raise ValueError(f"frame columns must be {sorted(FRAME_COLUMNS)}, got {sorted(columns)}")
    path = Path(root) / FRAMES
    save_npz(path, **{name: columns[name] for name in FRAME_COLUMNS})
    return path


def write_index(root: str | Path, index: dict) -> Path:
    """Write ``DIR/drive.json`` (``index``: the drive's record) and the ``DIR/synth.json`` manifest."""
    root = Path(root)
    _write_json(root / DRIVE_INDEX, {"format": DRIVE_FORMAT, **index})
    pieces = index["pieces"]
    manifest = {
        "format": FORMAT,
        "generator": index["generator"],
        "preset": index["config"]["preset"],
        "seed": index["seed"],
        "fps": index["fps"],
        "width": index["width"],
        "height": index["height"],
        "splits": {SPLIT: [p["clip_id"] for p in pieces]},
        "positives": {SPLIT: sum(p["toa"] >= 0 for p in pieces)},
        "toa": {p["clip_id"]: float(p["toa"]) for p in pieces},
        "drive": DRIVE_INDEX,
    }
    _write_json(root / MANIFEST, manifest)
    return root / DRIVE_INDEX


def read_drive(root: str | Path) -> dict:
    """``DIR/drive.json``, checked for its format."""
    path = Path(root) / DRIVE_INDEX
    record = json.loads(path.read_text())
    if not isinstance(record, dict) or record.get("format") != DRIVE_FORMAT:
        raise ValueError(f"{path}: not a drive index (format {DRIVE_FORMAT!r})")
    return record


def read_frames(root: str | Path) -> dict[str, np.ndarray]:
    """The per-frame columns of ``DIR/frames.npz``."""
    with np.load(Path(root) / FRAMES, allow_pickle=False) as data:
        return {name: data[name] for name in data.files}


def iter_drive_clips(root: str | Path) -> Iterator[Clip]:
    """The drive's pieces as ``Clip`` records, in stream order (one piece in memory at a time)."""
    from accident_anticipation_ros.training.datasets import iter_clips

    yield from iter_clips(root, fmt="synthetic", split=SPLIT)
