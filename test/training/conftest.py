"""Fixtures of the training tests: a tiny learnable dataset in the synthetic on-disk format, a tiny
train-teacher checkpoint, and a tiny training config (all written in temporary folders)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

FPS = 10.0
FRAMES = 16
SIZE = 64


def blob_clip(rng: np.random.Generator, positive: bool, frames: int = FRAMES, size: int = SIZE):
    """A grey road with a red square; in a positive clip it grows fast over the frames before ``toa``.

    Returns ``(video, labels, toa, captions, objects)``; ``objects`` are the per-frame road users as
    the generator stores them (the square, flagged ``key``, with its box).
    """
    toa = float(rng.integers(frames - 7, frames - 3)) if positive else -1.0
    video = np.empty((frames, size, size, 3), np.uint8)
    cx, cy = rng.integers(size // 4, 3 * size // 4, 2)
    objects = []
    for t in range(frames):
        img = np.full((size, size, 3), 90, np.uint8)
        img[size // 2 :] = 60
        closing = positive and t >= toa - 6
        r = 3 + (int(2 * (t - toa + 6)) if closing else 0)
        img[max(0, cy - r) : cy + r, max(0, cx - r) : cx + r] = (220, 30, 30)
        box = [int(max(0, cx - r)), int(max(0, cy - r)), int(min(size, cx + r)), int(min(size, cy + r))]
        objects.append([{"id": 1, "cls": "car", "box": box, "distance": 10.0, "ttc": None, "key": True}])
        video[t] = img + rng.integers(0, 8, img.shape, dtype=np.uint8)
    labels = (np.arange(frames) >= toa).astype(np.uint8) if positive else np.zeros(frames, np.uint8)
    captions = [
        ("a red car closes in fast" if positive and t >= toa - 6 else "a red car waits ahead")
        for t in range(frames)
    ]
    return video, labels, toa, captions, objects


def write_synth(
    root: Path,
    counts: dict[str, int],
    seed: int = 0,
    frames: int = FRAMES,
    size: int = SIZE,
    scenarios: tuple[str, ...] = (),
) -> Path:
    """Write a dataset in the ``accident-anticipation synth`` layout (synth.json + <split>/<id>.npz/.json);
    clip ``i`` gets the scenario ``scenarios[i % len(scenarios)]`` when given (``Clip.cause``)."""
    rng = np.random.default_rng(seed)
    splits, toas = {}, {}
    for split, n in counts.items():
        (root / split).mkdir(parents=True, exist_ok=True)
        splits[split] = []
        for i in range(n):
            cid = f"{split}_{i:05d}"
            video, labels, toa, captions, objects = blob_clip(
                rng, positive=i % 2 == 0, frames=frames, size=size
            )
            np.savez_compressed(root / split / f"{cid}.npz", frames=video)
            # as the generator's metadata: the reference frame (toa of a positive) and the closing's onset
            critical = toa if toa >= 0 else float(frames - 5)
            events = {"critical_frame": critical, "event_frame": max(0.0, critical - 6)}
            record = {"clip_id": cid, "labels": labels.tolist(), "toa": toa, "fps": FPS, "caption": captions[-1],
                      "frame_captions": captions,
                      "meta": {"objects": objects, **events,
                               **({"scenario": scenarios[(i // 2) % len(scenarios)]} if scenarios else {})}}  # fmt: skip
            (root / split / f"{cid}.json").write_text(json.dumps(record))
            splits[split].append(cid)
            toas[cid] = toa
    manifest = {"format": "aar-synth-1", "fps": FPS, "num_frames": frames, "width": size, "height": size,
                "splits": splits, "toa": toas}  # fmt: skip
    (root / "synth.json").write_text(json.dumps(manifest))
    return root


@pytest.fixture(scope="session")
def synth_root(tmp_path_factory) -> Path:
    return write_synth(tmp_path_factory.mktemp("synth"), {"train": 8, "val": 4, "test": 4})


@pytest.fixture(scope="session")
def caused_synth_root(tmp_path_factory) -> Path:
    """8 training clips whose accidents have causes (``cut_in``, ``junction``: the synthetic scenario)."""
    return write_synth(tmp_path_factory.mktemp("caused"), {"train": 8}, scenarios=("cut_in", "junction"))


@pytest.fixture(scope="session")
def tiny_teacher(tmp_path_factory) -> Path:
    """A random tiny MCi-shaped CLIP teacher written like ``train-teacher`` does (stem path)."""
    import torch

    from accident_anticipation_ros.training.teacher_clip import (
        ImageTowerSpec,
        TeacherCLIP,
        TeacherSpec,
        TextTowerSpec,
        save_teacher_clip,
    )

    torch.manual_seed(0)
    spec = TeacherSpec(
        name="tiny-teacher",
        embed_dim=24,
        image=ImageTowerSpec(widths=(8, 16, 32, 32), depths=(1, 1, 1, 1), image_size=(64, 64)),
        text=TextTowerSpec(context_length=16, width=32, heads=2, layers=1),
    )
    stem = tmp_path_factory.mktemp("teacher") / "teacher"
    save_teacher_clip(TeacherCLIP(spec), stem)
    return stem


def tiny_config(root: Path, teacher_stem: Path, out: Path, **sections) -> dict:
    """A training config dict for ``tsd-test`` at 64x64 on the fixture dataset."""
    cfg = {
        "name": "tiny",
        "out_dir": str(out),
        "data": {"root": str(root), "window": 8},
        "teacher": {"source": "aar", "checkpoint": str(teacher_stem), "batch_size": 16},
        "cache": {"dir": str(out.parent / "cache")},
        "student": {"config": "tsd-test", "overrides": {"image_size": [64, 64], "window_size": 2}},
        "loss": {
            "contrastive": {"prompts": ["a red car closes in fast", "a red car waits ahead", "an empty road"]}
        },
        "optim": {"lr": 3e-3, "warmup_steps": 1},
        "train": {"epochs": 2, "batch_size": 2, "threads": 2, "progress": False, "export_onnx": False},
    }
    for key, value in sections.items():
        cfg[key] = {**cfg.get(key, {}), **value} if isinstance(value, dict) else value
    return cfg


@pytest.fixture
def make_config(synth_root, tiny_teacher, tmp_path):
    """``make_config(**sections)`` -> a tiny training config dict writing under ``tmp_path/run``."""

    def make(out: Path | None = None, **sections) -> dict:
        return tiny_config(synth_root, tiny_teacher, out or tmp_path / "run", **sections)

    return make
