"""The synthetic benchmark written by ``accident-anticipation synth`` (see ``synth/storage.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.base import ClipRef, _resize
from accident_anticipation_ros.training.datasets.errors import DatasetError

MANIFEST = "synth.json"


def is_synthetic(root: Path) -> bool:
    return (root / MANIFEST).is_file()


def _read_json(path: Path) -> dict:
    if not path.is_file():
        raise DatasetError(f"{path}: file not found")
    try:
        data = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DatasetError(f"{path}: invalid JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_manifest(root: Path) -> dict:
    """``synth.json``, checked for the fields the loader needs."""
    path = Path(root) / MANIFEST
    manifest = _read_json(path)
    for key in ("fps", "splits"):
        if key not in manifest:
            raise DatasetError(f"{path}: missing field {key!r}")
    splits = manifest["splits"]
    if not isinstance(splits, dict) or not all(isinstance(v, list) for v in splits.values()):
        raise DatasetError(f"{path}: 'splits' must map split names to lists of clip ids")
    if not isinstance(manifest["fps"], (int, float)) or manifest["fps"] <= 0:
        raise DatasetError(f"{path}: 'fps' must be a positive number, got {manifest['fps']!r}")
    return manifest


def list_clips(root: str | Path, split: str | None = None) -> list[ClipRef]:
    """Index the clips of ``split`` (all splits for ``None``) from the manifest alone."""
    root = Path(root)
    manifest = read_manifest(root)
    splits = manifest["splits"]
    if split is not None and split not in splits:
        raise DatasetError(f"{root / MANIFEST}: no split {split!r} (has {', '.join(splits)})")
    toas = manifest.get("toa", {})
    refs = []
    for name in [split] if split is not None else list(splits):
        for cid in splits[name]:
            if cid in toas:
                toa = float(toas[cid])
            else:  # older manifests: read the clip's JSON
                toa = float(_read_json(root / name / f"{cid}.json").get("toa", -1.0))
            refs.append(ClipRef("synthetic", cid, name, str(root / name / f"{cid}.npz"), toa, float(manifest["fps"]),
                                manifest.get("num_frames")))  # fmt: skip
    return refs


def load(ref: ClipRef, size: tuple[int, int] | None = None) -> Clip:
    """Read one clip (frames from the ``.npz``, annotation from the ``.json`` beside it)."""
    npz = Path(ref.source)
    record = _read_json(npz.with_suffix(".json"))
    if not npz.is_file():
        raise DatasetError(f"{npz}: file not found")
    try:
        with np.load(npz, allow_pickle=False) as data:
            if "frames" not in data.files:
                raise DatasetError(f"{npz}: no 'frames' array (has {', '.join(data.files) or 'nothing'})")
            frames = data["frames"]
    except DatasetError:
        raise
    except Exception as exc:  # zip / npy format errors
        raise DatasetError(f"{npz}: not a readable .npz ({exc})") from exc
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise DatasetError(f"{npz}: 'frames' must be uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    for key in ("labels", "toa", "fps"):
        if key not in record:
            raise DatasetError(f"{npz.with_suffix('.json')}: missing field {key!r}")
    labels = np.asarray(record["labels"], np.uint8)
    if labels.shape != (frames.shape[0],):
        raise DatasetError(
            f"{npz.with_suffix('.json')}: 'labels' has {labels.size} entries for {frames.shape[0]} frames"
        )
    source_size = [int(frames.shape[1]), int(frames.shape[2])]
    if size is not None:
        frames = np.stack([_resize(f, size) for f in frames])
    return Clip(
        clip_id=record.get("clip_id", ref.clip_id),
        frames=frames,
        labels=labels,
        toa=float(record["toa"]),
        fps=float(record["fps"]),
        caption=record.get("caption", ""),
        frame_captions=list(record.get("frame_captions", [])),
        meta={**record.get("meta", {}), "split": ref.split, "source": str(npz), "frame_size": source_size},
    )


def key_boxes(clip: Clip) -> np.ndarray | None:
    """Per-frame box of the clip's key road user (the colliding one in an accident clip).

    Read from the generator's per-frame ``meta["objects"]`` (the object flagged ``key``), scaled from
    ``meta["frame_size"]`` (the stored frames' ``(H, W)``) to the clip's frames.

    Returns:
        ``(T, 4)`` float32 ``(x0, y0, x1, y1)`` pixels, NaN where the key object is not in view; None
        when the clip has no per-frame objects (other datasets, older benchmarks).
    """
    objects = clip.meta.get("objects")
    if not isinstance(objects, list) or len(objects) != clip.num_frames:
        return None
    H, W = clip.frames.shape[1:3]
    src_h, src_w = clip.meta.get("frame_size", (H, W))
    scale = np.array([W / src_w, H / src_h, W / src_w, H / src_h], np.float64)
    boxes = np.full((clip.num_frames, 4), np.nan, np.float32)
    for t, frame_objects in enumerate(objects):
        for obj in frame_objects:
            if obj.get("key"):
                boxes[t] = np.asarray(obj["box"], np.float64) * scale
                break
    return boxes
