"""DAD: videos/{training,testing}/{positive,negative}/*.mp4 (or frame folders), toa = frame 90."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.training.datasets import (
    DatasetError,
    detect_format,
    iter_clips,
    list_clips,
    load_clip,
)


def write_video(path, frames):
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames.shape[1:3]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 20.0, (w, h))
    assert writer.isOpened(), "this OpenCV build cannot write mp4v"
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    writer.release()


def ramp(n, h=24, w=32):
    """Frames whose brightness rises with the index (to check order after decoding)."""
    return np.stack([np.full((h, w, 3), int(20 + 200 * i / max(n - 1, 1)), np.uint8) for i in range(n)])


@pytest.fixture
def dad(tmp_path):
    root = tmp_path / "DAD"
    write_video(root / "videos" / "training" / "positive" / "000001.mp4", ramp(100))
    write_video(root / "videos" / "training" / "negative" / "000002.mp4", ramp(100))
    write_video(root / "videos" / "testing" / "positive" / "000003.mp4", ramp(100))
    frames_dir = root / "videos" / "testing" / "negative" / "000004"
    frames_dir.mkdir(parents=True)
    for i, f in enumerate(ramp(100)):
        cv2.imwrite(str(frames_dir / f"{i + 1:03d}.jpg"), f)
    return root


def test_index_and_round_trip(dad):
    assert detect_format(dad) == "dad"
    refs = list_clips(dad)
    assert [r.clip_id for r in refs] == [
        "training/positive/000001",
        "training/negative/000002",
        "testing/positive/000003",
        "testing/negative/000004",
    ]
    assert [r.toa for r in refs] == [90.0, -1.0, 90.0, -1.0] and {r.fps for r in refs} == {20.0}
    clip = load_clip(refs[0])
    assert clip.frames.shape == (100, 24, 32, 3) and clip.toa == 90.0 and clip.fps == 20.0
    assert clip.labels[:90].sum() == 0 and clip.labels[90:].all()
    means = clip.frames.reshape(100, -1).mean(1)
    assert means[-1] > means[0] + 150  # decoded in order
    neg = load_clip(refs[3])  # a frame folder
    assert neg.frames.shape == (100, 24, 32, 3) and not neg.labels.any() and not neg.positive


def test_split_aliases_and_resize(dad):
    assert [r.clip_id for r in list_clips(dad, split="test")] == [
        "testing/positive/000003",
        "testing/negative/000004",
    ]
    clips = list(iter_clips(dad, split="training", size=(16, 12)))
    assert [c.frames.shape for c in clips] == [(100, 12, 16, 3)] * 2
    with pytest.raises(DatasetError, match="unknown DAD split"):
        list_clips(dad, fmt="dad", split="val")


def test_errors_name_the_file(dad, tmp_path):
    bad = dad / "videos" / "training" / "positive" / "000009.mp4"
    bad.write_bytes(b"not a video at all")
    ref = next(r for r in list_clips(dad) if r.source == str(bad))
    with pytest.raises(DatasetError, match="000009.mp4"):
        load_clip(ref)
    short = tmp_path / "short"
    write_video(short / "videos" / "training" / "positive" / "a.mp4", ramp(30))
    write_video(short / "videos" / "training" / "negative" / "b.mp4", ramp(30))
    with pytest.raises(DatasetError, match="a.mp4: time of accident at frame 90 but the clip has only 30"):
        load_clip(list_clips(short)[0])
    (short / "videos" / "testing" / "positive").mkdir(parents=True)
    with pytest.raises(DatasetError, match="testing/positive: no videos"):
        list_clips(short, fmt="dad")
    write_video(short / "videos" / "testing" / "positive" / "c.mp4", ramp(100))
    with pytest.raises(DatasetError, match="testing/negative: folder not found"):
        list_clips(short, fmt="dad")
    with pytest.raises(DatasetError, match="no DAD layout"):
        list_clips(tmp_path / "nothing", fmt="dad")
