"""The synthetic benchmark's loader, format detection and the iter_clips filters."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets import (
    DatasetError,
    detect_format,
    iter_clips,
    list_clips,
    load_clip,
)
from accident_anticipation_ros.training.synth.storage import write_clip


def make_bench(root, n=4, T=12):
    ids, toa = {"train": [], "test": []}, {}
    for i in range(n):
        split = "train" if i < n - 1 else "test"
        positive = i % 2 == 0
        frames = np.full((T, 8, 10, 3), 10 * i, np.uint8)
        t = 7.5 if positive else -1.0
        labels = (np.arange(T) >= t).astype(np.uint8) if positive else np.zeros(T, np.uint8)
        clip = Clip(
            f"{split}_{i:05d}",
            frames,
            labels,
            t,
            10.0,
            f"clip {i}",
            [f"f{k}" for k in range(T)],
            {"scenario": "x"},
        )
        write_clip(root, split, clip)
        ids[split].append(clip.clip_id)
        toa[clip.clip_id] = t
    manifest = {"format": "aar-synth-1", "fps": 10.0, "num_frames": T, "splits": ids, "toa": toa}
    (root / "synth.json").write_text(json.dumps(manifest))
    return root


def test_round_trip_and_filters(tmp_path):
    root = make_bench(tmp_path / "s")
    assert detect_format(root) == "synthetic"
    refs = list_clips(root)
    assert [(r.clip_id, r.split, r.toa) for r in refs] == [
        ("train_00000", "train", 7.5), ("train_00001", "train", -1.0), ("train_00002", "train", 7.5), ("test_00003", "test", -1.0)
    ]  # fmt: skip
    clip = load_clip(refs[0])
    assert (
        clip.frames.shape == (12, 8, 10, 3) and clip.toa == 7.5 and clip.labels.tolist() == [0] * 8 + [1] * 4
    )
    assert clip.caption == "clip 0" and clip.frame_captions[3] == "f3" and clip.meta["scenario"] == "x"
    assert [c.clip_id for c in iter_clips(root, positive=False)] == ["train_00001", "test_00003"]
    assert [c.clip_id for c in iter_clips(root, split="train", limit=2)] == ["train_00000", "train_00001"]
    assert next(iter_clips(root, size=(5, 4))).frames.shape == (12, 4, 5, 3)


def test_loader_errors_name_the_file(tmp_path):
    root = make_bench(tmp_path / "s")
    with pytest.raises(DatasetError, match="no split 'val'"):
        list_clips(root, split="val")
    ref = list_clips(root)[0]
    (root / "train" / "train_00000.json").write_text("{oops")
    with pytest.raises(DatasetError, match="train_00000.json: invalid JSON"):
        load_clip(ref)
    ref = list_clips(root)[1]
    np.savez(root / "train" / "train_00001.npz", frames=np.zeros((12, 8, 10, 3), np.float32))
    with pytest.raises(DatasetError, match="train_00001.npz: 'frames' must be uint8"):
        load_clip(ref)
    ref = list_clips(root)[2]
    record = json.loads((root / "train" / "train_00002.json").read_text())
    record["labels"] = record["labels"][:5]
    (root / "train" / "train_00002.json").write_text(json.dumps(record))
    with pytest.raises(DatasetError, match="'labels' has 5 entries for 12 frames"):
        load_clip(ref)
    (root / "test" / "test_00003.npz").unlink()
    with pytest.raises(DatasetError, match="test_00003.npz: file not found"):
        load_clip(list_clips(root, split="test")[0])
    (root / "synth.json").write_text(json.dumps({"fps": 10.0}))
    with pytest.raises(DatasetError, match="synth.json: missing field 'splits'"):
        list_clips(root)


def test_detection_errors(tmp_path):
    with pytest.raises(DatasetError, match="dataset folder not found"):
        detect_format(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="cannot tell the dataset format"):
        list_clips(tmp_path / "empty")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        list_clips(tmp_path / "empty", fmt="kitti")


def test_key_boxes_are_the_generators_key_object_scaled_to_the_loaded_frames(tmp_path):
    from accident_anticipation_ros.training.datasets.synthetic import key_boxes
    from accident_anticipation_ros.training.synth.config import make_config
    from accident_anticipation_ros.training.synth.generator import generate_clip

    clip = generate_clip(make_config("ccd", size=64), 1, "train", 0, positive=True)
    write_clip(tmp_path, "train", clip)
    manifest = {"format": "aar-synth-1", "fps": clip.fps, "num_frames": clip.num_frames,
                "splits": {"train": [clip.clip_id]}, "toa": {clip.clip_id: clip.toa}}  # fmt: skip
    (tmp_path / "synth.json").write_text(json.dumps(manifest))
    ref = list_clips(tmp_path)[0]
    full, half = load_clip(ref), load_clip(ref, size=(32, 32))
    boxes = key_boxes(full)
    assert boxes.shape == (clip.num_frames, 4)
    for t, objects in enumerate(clip.meta["objects"]):
        key = [o["box"] for o in objects if o["key"]]
        assert np.array_equal(boxes[t], key[0]) if key else np.isnan(boxes[t]).all()
    t = int(np.flatnonzero(~np.isnan(boxes[:, 0]))[-1])
    assert key_boxes(half)[t] == pytest.approx(boxes[t] / 2)
    seen = ~np.isnan(boxes[:, 0])
    assert seen[int(clip.toa) - 5 : int(clip.toa)].all()  # the colliding object is in view before toa
    assert key_boxes(Clip("x", full.frames, full.labels, full.toa, full.fps)) is None  # no per-frame objects
