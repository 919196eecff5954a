"""The torch Dataset wrapper: tensors, resizing, temporal crops, flips, stride and padding."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.torch_dataset import ClipDataset
from accident_anticipation_ros.training.synth.storage import write_clip


@pytest.fixture
def bench(tmp_path):
    root = tmp_path / "b"
    T = 20
    ids, toa = [], {}
    for i, t in enumerate((14.0, -1.0)):
        frames = np.zeros((T, 16, 20, 3), np.uint8)
        frames[:, :, :10] = 200  # bright left half: shows flips
        frames[:, 0, 0, 1] = np.arange(T) * 10  # frame index in a pixel: shows crops
        labels = (np.arange(T) >= t).astype(np.uint8) if t >= 0 else np.zeros(T, np.uint8)
        write_clip(root, "train", Clip(f"c{i}", frames, labels, t, 10.0))
        ids.append(f"c{i}")
        toa[f"c{i}"] = t
    (root / "synth.json").write_text(json.dumps({"fps": 10.0, "splits": {"train": ids}, "toa": toa}))
    return root


def test_whole_clips_as_tensors(bench):
    ds = ClipDataset(bench, size=(10, 8))
    item = ds[0]
    assert item["frames"].shape == (20, 3, 8, 10) and item["frames"].dtype == torch.float32
    assert float(item["frames"].min()) >= 0.0 and float(item["frames"].max()) <= 1.0
    assert item["labels"].tolist() == [0.0] * 14 + [1.0] * 6
    assert float(item["toa"]) == 14.0 and float(item["fps"]) == 10.0 and bool(item["positive"])
    assert float(ds[1]["toa"]) == -1.0 and not ds[1]["labels"].any()
    batch = torch.utils.data.default_collate([ds[0], ds[1]])
    assert batch["frames"].shape == (2, 20, 3, 8, 10)


def test_eval_window_keeps_the_accident_and_shifts_toa(bench):
    item = ClipDataset(bench, size=(20, 16), num_frames=8)[0]
    start = round(float(item["frames"][0, 1, 0, 0]) * 255 / 10)
    assert float(item["toa"]) == 14.0 - start and 0 <= float(item["toa"]) < 8
    assert item["labels"].tolist() == [float(k >= item["toa"]) for k in range(8)]


def test_train_crops_and_flips_are_seeded(bench):
    ds = ClipDataset(bench, size=(20, 16), num_frames=6, train=True, flip_prob=1.0, seed=1)
    a, b = ds[0], ds[0]
    assert torch.equal(a["frames"], b["frames"])
    assert float(a["frames"][0, 0, 8, 15]) > 0.7 and float(a["frames"][0, 0, 8, 2]) < 0.1  # flipped
    starts = set()
    for epoch in range(6):
        ds.set_epoch(epoch)
        starts.add(round(float(ds[1]["frames"][0, 1, 0, 19]) * 255 / 10))  # index pixel moved by the flip
    assert len(starts) > 1


def test_stride_and_padding(bench):
    item = ClipDataset(bench, size=(20, 16), stride=2)[0]
    assert item["frames"].shape[0] == 10 and float(item["fps"]) == 5.0 and float(item["toa"]) == 7.0
    padded = ClipDataset(bench, size=(20, 16), num_frames=30)[1]
    assert padded["frames"].shape[0] == 30 and padded["valid"].sum() == 20 and not padded["valid"][20:].any()
    with pytest.raises(ValueError):
        ClipDataset(bench, stride=0)
