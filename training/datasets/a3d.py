"""A3D, the AnAn Accident Detection dataset (Yao et al., IROS 2019), as released with tad-IROS2019.

::

    A3D/frames/<clip>/images/000001.jpg ...   frames at 10 fps (A3D_split.py output)
    A3D/A3D_labels.json                       {clip: {video_name, clip_start, clip_end, target, ...}}

The release ships ``A3D_labels.pkl``; pickles are never loaded here, so convert it once with
``python -c "import json, pickle, numpy as np; d = pickle.load(open('A3D_labels.pkl', 'rb'));
json.dump(d, open('A3D_labels.json', 'w'), default=lambda o: o.tolist() if hasattr(o, 'tolist') else str(o))"``.
Per clip, ``target`` is the per-frame 0/1 anomaly label (``toa``: its first 1); without ``target``,
``anomaly_start`` minus ``clip_start`` (or ``video_start``, the pytorch-i3d json) gives ``toa``. An
optional ``subset`` field names the split.
"""

from __future__ import annotations

import json
from pathlib import Path

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.base import (
    ClipRef,
    check_toa,
    labels_from_toa,
    list_images,
    read_images,
)
from accident_anticipation_ros.training.datasets.errors import DatasetError

FPS = 10.0
LABELS = "A3D_labels.json"
SPLITS = {
    "train": "train",
    "training": "train",
    "val": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}


def labels_file(root: Path) -> Path | None:
    for cand in (root / LABELS, root / "datasets" / LABELS):
        if cand.is_file():
            return cand
    return None


def is_a3d(root: Path) -> bool:
    return (
        labels_file(root) is not None
        or (root / "A3D_labels.pkl").is_file()
        or (root / "datasets" / "A3D_labels.pkl").is_file()
    )


def _toa(path: Path, clip: str, entry: dict) -> tuple[float, int | None]:
    """``(toa, num_frames)`` of one annotation entry."""
    if "target" in entry:
        target = entry["target"]
        if not isinstance(target, list) or any(x not in (0, 1, 0.0, 1.0, True, False) for x in target):
            raise DatasetError(f"{path}: clip {clip!r}: 'target' must be a list of 0/1 per frame")
        return (float(target.index(1)) if 1 in target else -1.0), len(target)
    start = entry.get("clip_start", entry.get("video_start"))
    if "anomaly_start" in entry and start is not None:
        if entry["anomaly_start"] is None:
            return -1.0, entry.get("num_frames")
        try:
            return float(int(entry["anomaly_start"]) - int(start)), entry.get("num_frames")
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{path}: clip {clip!r}: anomaly_start / clip_start must be frame numbers"
            ) from exc
    raise DatasetError(f"{path}: clip {clip!r} has neither 'target' nor 'anomaly_start' with 'clip_start'")


def frame_folder(root: Path, clip: str) -> Path:
    for cand in (root / "frames" / clip / "images", root / "frames" / clip, root / clip / "images"):
        if cand.is_dir():
            return cand
    return root / "frames" / clip / "images"


def list_clips(root: str | Path, split: str | None = None) -> list[ClipRef]:
    """Index A3D clips from ``A3D_labels.json`` (``split`` needs a ``subset`` field per clip)."""
    root = Path(root)
    path = labels_file(root)
    if path is None:
        if is_a3d(root):
            raise DatasetError(
                f"{root}: only A3D_labels.pkl found; pickles are not loaded, convert it to {LABELS}"
            )
        raise DatasetError(f"{root}: {LABELS} not found")
    try:
        labels = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(labels, dict) or not all(isinstance(v, dict) for v in labels.values()):
        raise DatasetError(f"{path}: expected {{clip: {{...}}}} objects")
    if split is not None:
        if split not in SPLITS:
            raise DatasetError(f"{path}: unknown split {split!r}")
        if not any("subset" in v for v in labels.values()):
            raise DatasetError(f"{path}: no 'subset' field, so no splits (A3D has no official split)")
    refs = []
    for clip in sorted(labels):
        entry = labels[clip]
        if split is not None and SPLITS.get(str(entry.get("subset", ""))) != SPLITS[split]:
            continue
        toa, num = _toa(path, clip, entry)
        meta = {k: entry[k] for k in ("video_name", "clip_start", "clip_end", "accident_name", "accident_id",
                                      "anomaly_class", "subset") if k in entry}  # fmt: skip
        refs.append(ClipRef("a3d", clip, split, str(frame_folder(root, clip)), toa, FPS, num, meta))
    return refs


def load(ref: ClipRef, size: tuple[int, int] | None = None) -> Clip:
    """Read one A3D clip's frames."""
    frames = read_images(list_images(Path(ref.source)), size)
    check_toa(ref, len(frames))
    return Clip(ref.clip_id, frames, labels_from_toa(len(frames), ref.toa), ref.toa, ref.fps,
                meta={**ref.meta, "split": ref.split, "source": ref.source})  # fmt: skip
