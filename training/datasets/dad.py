"""DAD, the Dashcam Accident Dataset (Chan et al., ACCV 2016), in its published video layout.

::

    DAD/videos/training/positive/000001.mp4     100 frames at 20 fps; the accident in the last 10 frames
    DAD/videos/training/negative/000001.mp4
    DAD/videos/testing/{positive,negative}/*.mp4

A clip may also be a folder of frames (``.../positive/000001/001.jpg ...``). ``toa`` is frame 90 for
every positive, as in DSA / UString / DSTA. The feature ``.npz`` files (``data``, ``labels``, ``det``,
``ID``) hold no frames and are not read here.
"""

from __future__ import annotations

from pathlib import Path

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.base import (
    VIDEO_EXTENSIONS,
    ClipRef,
    check_toa,
    labels_from_toa,
    list_images,
    natural_key,
    read_images,
    read_video,
)
from accident_anticipation_ros.training.datasets.errors import DatasetError

FPS = 20.0
TOA = 90.0
NUM_FRAMES = 100
SPLITS = {"training": "training", "train": "training", "testing": "testing", "test": "testing"}


def base_dir(root: Path) -> Path | None:
    """The folder holding ``training/`` and ``testing/`` (``root/videos`` or ``root`` itself)."""
    for cand in (root / "videos", root):
        if any(
            (cand / s / "positive").is_dir() or (cand / s / "negative").is_dir()
            for s in ("training", "testing")
        ):
            return cand
    return None


def is_dad(root: Path) -> bool:
    return base_dir(root) is not None


def list_clips(root: str | Path, split: str | None = None) -> list[ClipRef]:
    """Index DAD clips (``split``: ``training`` / ``testing``, or ``train`` / ``test``; ``None`` for both)."""
    root = Path(root)
    base = base_dir(root)
    if base is None:
        raise DatasetError(
            f"{root}: no DAD layout found (expected videos/{{training,testing}}/{{positive,negative}}/)"
        )
    if split is not None and split not in SPLITS:
        raise DatasetError(f"{root}: unknown DAD split {split!r} (use one of {', '.join(SPLITS)})")
    splits = (
        [SPLITS[split]] if split is not None else [s for s in ("training", "testing") if (base / s).is_dir()]
    )
    refs = []
    for sp in splits:
        for label in ("positive", "negative"):
            folder = base / sp / label
            if not folder.is_dir():
                raise DatasetError(f"{folder}: folder not found (DAD needs {sp}/positive and {sp}/negative)")
            entries = [p for p in folder.iterdir() if p.is_dir() or p.suffix.lower() in VIDEO_EXTENSIONS]
            if not entries:
                raise DatasetError(f"{folder}: no videos ({', '.join(VIDEO_EXTENSIONS)}) or frame folders")
            for entry in sorted(entries, key=natural_key):
                toa = TOA if label == "positive" else -1.0
                meta = {"label": label, "expected_frames": NUM_FRAMES}
                refs.append(
                    ClipRef("dad", f"{sp}/{label}/{entry.stem}", sp, str(entry), toa, FPS, None, meta)
                )
    return refs


def load(ref: ClipRef, size: tuple[int, int] | None = None) -> Clip:
    """Decode one DAD clip (video file or frame folder)."""
    path = Path(ref.source)
    frames = read_images(list_images(path), size) if path.is_dir() else read_video(path, size)
    check_toa(ref, len(frames))
    return Clip(ref.clip_id, frames, labels_from_toa(len(frames), ref.toa), ref.toa, ref.fps,
                meta={**ref.meta, "split": ref.split, "source": ref.source})  # fmt: skip
