"""CCD, the Car Crash Dataset (Bao et al., ACM MM 2020), in its published layout.

::

    CarCrash/videos/Crash-1500.txt            one line per accident video (below)
    CarCrash/videos/Crash-1500/000001.mp4     50 frames at 10 fps
    CarCrash/videos/Normal/000001.mp4         normal driving (negatives)
    CarCrash/vgg16_features/train.txt         split lists: "positive/000001.npz 1" / "negative/000001.npz 0"
    CarCrash/vgg16_features/test.txt          (res101_features/ has the same lists)

``Crash-1500.txt``: ``vid,[50 binary labels],startframe,youtubeID,Day/Night,weather,egoinvolve``.
``toa`` is the first frame labelled 1, clamped to ``[1, T - 1]`` as UString does (:func:`ustring_toa`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.base import (
    ClipRef,
    check_toa,
    labels_from_toa,
    natural_key,
    read_video,
)
from accident_anticipation_ros.training.datasets.errors import DatasetError

FPS = 10.0
NUM_FRAMES = 50
ANNOTATION = "Crash-1500.txt"
SPLITS = {"train": "train", "training": "train", "test": "test", "testing": "test"}
_LINE = re.compile(r"^\s*(\d+)\s*,\s*\[([^\]]*)\]\s*,(.*)$")


def ustring_toa(first: int, num_frames: int) -> float:
    """UString's CCD time of accident: the first frame labelled 1, clamped to ``[1, T - 1]``.

    Cogito2012/UString ``src/DataLoader.py``, ``CrashDataset.get_toa_all``:
    ``toa = np.where(labels == 1)[0][0]; toa = min(max(1, toa), self.n_frames-1)`` with ``n_frames = 50``.
    A clip labelled from frame 0 gets toa 1 (the UString protocol scores frames ``[0, toa)``, so toa 0
    would leave nothing to score); one labelled at or after its last frame gets ``T - 1``.
    """
    return float(min(max(1, int(first)), num_frames - 1))


def videos_dir(root: Path) -> Path | None:
    """The folder holding ``Crash-1500.txt`` (``root/videos`` or ``root``)."""
    for cand in (root / "videos", root):
        if (cand / ANNOTATION).is_file():
            return cand
    return None


def is_ccd(root: Path) -> bool:
    return videos_dir(root) is not None


def parse_annotation(path: Path) -> dict[str, dict]:
    """``Crash-1500.txt`` -> ``{vid: {labels, toa, startframe, youtube_id, timing, weather, ego_involved}}``."""
    if not path.is_file():
        raise DatasetError(f"{path}: annotation file not found")
    out: dict[str, dict] = {}
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        if not line.strip() or line.lstrip().lower().startswith(("vid", "#")):
            continue
        m = _LINE.match(line)
        if m is None:
            raise DatasetError(
                f"{path}:{lineno}: expected 'vid,[labels],startframe,youtubeID,timing,weather,ego'"
            )
        vid, labels_text, rest = m.groups()
        try:
            labels = [int(x) for x in labels_text.split(",") if x.strip()]
        except ValueError as exc:
            raise DatasetError(f"{path}:{lineno}: labels must be integers 0/1 ({exc})") from exc
        if not labels or any(x not in (0, 1) for x in labels):
            raise DatasetError(f"{path}:{lineno}: labels must be a non-empty list of 0/1")
        if 1 not in labels:
            raise DatasetError(f"{path}:{lineno}: video {vid} has no frame labelled 1 (no time of accident)")
        fields = [f.strip() for f in rest.split(",")]
        if len(fields) != 5:
            raise DatasetError(
                f"{path}:{lineno}: expected 5 fields after the labels, got {len(fields)}: {rest!r}"
            )
        start, youtube, timing, weather, ego = fields
        out[vid.zfill(6)] = {
            "binlabels": labels,
            "toa": ustring_toa(labels.index(1), NUM_FRAMES),
            "labelled_toa": labels.index(1),  # before the clamp
            "startframe": start,
            "youtube_id": youtube,
            "timing": timing,
            "weather": weather,
            "ego_involved": ego.lower() in ("1", "yes", "true", "y"),
        }
    if not out:
        raise DatasetError(f"{path}: no annotation lines")
    return out


def read_split(root: Path, split: str) -> list[tuple[str, str]]:
    """``(label_dir, vid)`` pairs of a split list (``*_features/{train,test}.txt``)."""
    if split not in SPLITS:
        raise DatasetError(f"{root}: unknown CCD split {split!r} (use train or test)")
    name = f"{SPLITS[split]}.txt"
    candidates = [root / d / name for d in ("vgg16_features", "res101_features")]
    candidates += sorted(p / name for p in root.glob("*_features") if p.is_dir())
    path = next((p for p in candidates if p.is_file()), None)
    if path is None:
        raise DatasetError(
            f"{root}: split list {name} not found (looked in vgg16_features/, res101_features/)"
        )
    pairs = []
    for lineno, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split()
        entry = parts[0].replace("\\", "/")
        if "/" not in entry or entry.split("/")[0] not in ("positive", "negative"):
            raise DatasetError(
                f"{path}:{lineno}: expected 'positive/<vid>.npz 1' or 'negative/<vid>.npz 0', got {line!r}"
            )
        label_dir, file = entry.split("/", 1)
        pairs.append((label_dir, Path(file).stem.zfill(6)))
    return pairs


def list_clips(root: str | Path, split: str | None = None) -> list[ClipRef]:
    """Index CCD clips (``split``: ``train`` / ``test`` from the split lists; ``None``: every video)."""
    root = Path(root)
    vdir = videos_dir(root)
    if vdir is None:
        raise DatasetError(f"{root}: {ANNOTATION} not found (expected videos/{ANNOTATION})")
    ann = parse_annotation(vdir / ANNOTATION)
    data_root = vdir.parent if vdir.name == "videos" else vdir
    if split is None:
        pairs = [("positive", vid) for vid in sorted(ann)]
        normal = vdir / "Normal"
        if normal.is_dir():
            pairs += [("negative", p.stem) for p in sorted(normal.glob("*.mp4"), key=natural_key)]
    else:
        pairs = read_split(data_root, split)
    refs = []
    for label_dir, vid in pairs:
        if label_dir == "positive":
            if vid not in ann:
                raise DatasetError(
                    f"{vdir / ANNOTATION}: no line for positive video {vid} (listed in the {split} split)"
                )
            a = ann[vid]
            source = vdir / "Crash-1500" / f"{vid}.mp4"
            refs.append(ClipRef("ccd", f"positive/{vid}", split, str(source), a["toa"], FPS, None, dict(a)))
        else:
            source = vdir / "Normal" / f"{vid}.mp4"
            refs.append(ClipRef("ccd", f"negative/{vid}", split, str(source), -1.0, FPS, None, {}))
    return refs


def load(ref: ClipRef, size: tuple[int, int] | None = None) -> Clip:
    """Decode one CCD video."""
    frames = read_video(Path(ref.source), size)
    if ref.positive:  # the same clamp on the decoded length (a video shorter than its 50 labels)
        ref = replace(ref, toa=ustring_toa(ref.toa, len(frames)))
    check_toa(ref, len(frames))
    meta = {**ref.meta, "split": ref.split, "source": ref.source}
    if "timing" in meta:
        meta["lighting"] = meta["timing"].lower()
    return Clip(ref.clip_id, frames, labels_from_toa(len(frames), ref.toa), ref.toa, ref.fps, meta=meta)
