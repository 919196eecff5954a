"""A3D: frames/<clip>/images/NNNNNN.jpg + A3D_labels.json (target per frame, or anomaly_start / clip_start)."""

from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.training.datasets import DatasetError, detect_format, list_clips, load_clip


def frames(folder, n):
    folder.mkdir(parents=True)
    for i in range(n):
        cv2.imwrite(str(folder / f"{i + 1:06d}.jpg"), np.full((16, 24, 3), 10 * i, np.uint8))


@pytest.fixture
def a3d(tmp_path):
    root = tmp_path / "A3D"
    frames(root / "frames" / "abcdEFGH_000001" / "images", 10)
    frames(root / "frames" / "abcdEFGH_000002" / "images", 8)
    labels = {
        "abcdEFGH_000001": {"video_name": "abcdEFGH", "clip_start": 21, "clip_end": 30, "target": [0] * 6 + [1] * 4,
                            "accident_name": "lateral", "subset": "train"},
        "abcdEFGH_000002": {"video_name": "abcdEFGH", "video_start": 100, "video_end": 107, "anomaly_start": 103,
                            "anomaly_end": 107, "num_frames": 8, "subset": "val"},
    }  # fmt: skip
    (root / "A3D_labels.json").write_text(json.dumps(labels))
    return root


def test_index_and_round_trip(a3d):
    assert detect_format(a3d) == "a3d"
    refs = list_clips(a3d)
    assert [(r.clip_id, r.toa, r.num_frames) for r in refs] == [
        ("abcdEFGH_000001", 6.0, 10),
        ("abcdEFGH_000002", 3.0, 8),
    ]
    assert refs[0].meta["accident_name"] == "lateral" and {r.fps for r in refs} == {10.0}
    clip = load_clip(refs[0])
    assert clip.frames.shape == (10, 16, 24, 3) and clip.labels.tolist() == [0] * 6 + [1] * 4
    assert [r.clip_id for r in list_clips(a3d, split="validation")] == ["abcdEFGH_000002"]


def test_errors(a3d):
    path = a3d / "A3D_labels.json"
    labels = json.loads(path.read_text())
    labels["abcdEFGH_000001"]["target"] = [0, 2]
    path.write_text(json.dumps(labels))
    with pytest.raises(DatasetError, match="'target' must be a list of 0/1"):
        list_clips(a3d)
    path.write_text('{"clip": {"video_name": "x"}}')
    with pytest.raises(DatasetError, match="neither 'target' nor 'anomaly_start'"):
        list_clips(a3d)
    path.write_text("{not json")
    with pytest.raises(DatasetError, match="A3D_labels.json: invalid JSON"):
        list_clips(a3d)
    path.write_text(json.dumps({"c": {"target": [0, 1]}}))
    with pytest.raises(DatasetError, match="no 'subset' field"):
        list_clips(a3d, split="train")
    (ref,) = list_clips(a3d)
    with pytest.raises(DatasetError, match="frames/c/images: frame folder not found"):
        load_clip(ref)
    path.unlink()
    (a3d / "A3D_labels.pkl").write_bytes(b"\x80\x04.")
    with pytest.raises(DatasetError, match="pickles are not loaded"):
        list_clips(a3d)
