"""Writing the benchmark to disk (the contract the loaders read).

Layout::

    DIR/synth.json                 manifest: format, generator, preset, seed, fps, frame size, splits
    DIR/<split>/<clip_id>.npz      frames: uint8 (T, H, W, 3) RGB, deflate-compressed
    DIR/<split>/<clip_id>.json     labels, toa, fps, caption, frame_captions, meta

Files are byte-for-byte reproducible: the npz is written with fixed zip timestamps.
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.synth.config import GENERATOR_VERSION, SynthConfig

MANIFEST = "synth.json"
FORMAT = "aar-synth-1"
_EPOCH = (1980, 1, 1, 0, 0, 0)


def save_npz(path: str | Path, **arrays: np.ndarray) -> None:
    """Like ``np.savez_compressed`` but deterministic (no timestamps in the zip)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=3) as zf:
        for name, array in arrays.items():
            buf = io.BytesIO()
            np.lib.format.write_array(buf, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, buf.getvalue(), compresslevel=3)
    os.replace(tmp, path)


def _write_json(path: Path, obj) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=None, separators=(",", ":")) + "\n")
    os.replace(tmp, path)


def clip_record(clip: Clip, split: str) -> dict:
    """The JSON side of a clip."""
    return {
        "clip_id": clip.clip_id,
        "split": split,
        "label": int(clip.positive),
        "labels": [int(x) for x in clip.labels],
        "toa": float(clip.toa),
        "fps": float(clip.fps),
        "num_frames": clip.num_frames,
        "height": int(clip.frames.shape[1]),
        "width": int(clip.frames.shape[2]),
        "caption": clip.caption,
        "frame_captions": list(clip.frame_captions),
        "meta": clip.meta,
    }


def write_clip(root: str | Path, split: str, clip: Clip) -> tuple[Path, Path]:
    """Write ``DIR/<split>/<clip_id>.npz`` and ``.json``; return both paths."""
    folder = Path(root) / split
    folder.mkdir(parents=True, exist_ok=True)
    npz, meta = folder / f"{clip.clip_id}.npz", folder / f"{clip.clip_id}.json"
    save_npz(npz, frames=clip.frames)
    _write_json(meta, clip_record(clip, split))
    return npz, meta


def write_manifest(root: str | Path, cfg: SynthConfig, seed: int, splits: dict[str, list[str]],
                   positives: dict[str, int], split_fractions: tuple[float, ...], toa: dict[str, float]) -> Path:  # fmt: skip
    """Write ``DIR/synth.json`` (``toa`` per clip id lets loaders index clips without opening them)."""
    manifest = {
        "format": FORMAT,
        "generator": GENERATOR_VERSION,
        "preset": cfg.preset,
        "seed": int(seed),
        "fps": cfg.fps,
        "num_frames": cfg.num_frames,
        "width": cfg.width,
        "height": cfg.height,
        "toa_range": list(cfg.toa_range),
        "event_lead": list(cfg.event_lead),
        "positive_fraction": cfg.positive_fraction,
        "split_fractions": list(split_fractions),
        "splits": {name: sorted(ids) for name, ids in splits.items()},
        "positives": positives,
        "toa": {cid: float(toa[cid]) for cid in sorted(toa)},
    }
    path = Path(root) / MANIFEST
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_json(path, manifest)
    return path
