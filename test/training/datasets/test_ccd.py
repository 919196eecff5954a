"""CCD: videos/Crash-1500.txt + Crash-1500/*.mp4 + Normal/*.mp4, splits from *_features/{train,test}.txt."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from accident_anticipation_ros.training.datasets import DatasetError, detect_format, list_clips, load_clip


def write_video(path, n, h=24, w=32):
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10.0, (w, h))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((h, w, 3), (5 * i) % 255, np.uint8))
    writer.release()


def line(vid, toa, ego="Yes"):
    labels = ", ".join("1" if i >= toa else "0" for i in range(50))
    return f"{vid},[{labels}],000123,abcDEF_123,Night,Rainy,{ego}"


@pytest.fixture
def ccd(tmp_path):
    root = tmp_path / "CarCrash"
    videos = root / "videos"
    write_video(videos / "Crash-1500" / "000001.mp4", 50)
    write_video(videos / "Crash-1500" / "000002.mp4", 50)
    write_video(videos / "Normal" / "000001.mp4", 50)
    (videos / "Crash-1500.txt").write_text(line("000001", 32) + "\n" + line("000002", 45, "No") + "\n")
    feats = root / "vgg16_features"
    feats.mkdir(parents=True)
    (feats / "train.txt").write_text("positive/000001.npz 1\nnegative/000001.npz 0\n")
    (feats / "test.txt").write_text("positive/000002.npz 1\n")
    return root


def test_index_and_round_trip(ccd):
    assert detect_format(ccd) == "ccd"
    refs = list_clips(ccd)
    assert [(r.clip_id, r.toa) for r in refs] == [
        ("positive/000001", 32.0),
        ("positive/000002", 45.0),
        ("negative/000001", -1.0),
    ]
    meta = refs[0].meta
    assert (meta["timing"], meta["weather"], meta["ego_involved"], meta["youtube_id"]) == (
        "Night",
        "Rainy",
        True,
        "abcDEF_123",
    )
    assert refs[1].meta["ego_involved"] is False
    clip = load_clip(refs[0])
    assert clip.frames.shape == (50, 24, 32, 3) and clip.fps == 10.0 and clip.toa == 32.0
    assert clip.labels.tolist() == meta["binlabels"]
    assert clip.meta["lighting"] == "night"
    assert not load_clip(refs[2]).labels.any()


def test_splits_from_the_feature_lists(ccd):
    assert [r.clip_id for r in list_clips(ccd, split="train")] == ["positive/000001", "negative/000001"]
    assert [r.clip_id for r in list_clips(ccd, split="testing")] == ["positive/000002"]
    (ccd / "vgg16_features" / "test.txt").unlink()
    with pytest.raises(DatasetError, match="test.txt not found"):
        list_clips(ccd, split="test")


@pytest.mark.parametrize(
    "text, match",
    [
        ("000001,[0, 0, 2],1,a,Day,Normal,No\n", "Crash-1500.txt:1: labels must be a non-empty list of 0/1"),
        ("000001,[0, 0, 0],1,a,Day,Normal,No\n", "no frame labelled 1"),
        ("000001 0 0 1\n", "Crash-1500.txt:1: expected"),
        ("000001,[0, 1],1,a,Day\n", "expected 5 fields"),
    ],
)
def test_malformed_annotation(ccd, text, match):
    (ccd / "videos" / "Crash-1500.txt").write_text(text)
    with pytest.raises(DatasetError, match=match):
        list_clips(ccd)


def test_missing_files(ccd):
    (ccd / "vgg16_features" / "train.txt").write_text("positive/000007.npz 1\n")
    with pytest.raises(DatasetError, match="no line for positive video 000007"):
        list_clips(ccd, split="train")
    (ccd / "videos" / "Crash-1500" / "000002.mp4").unlink()
    ref = [r for r in list_clips(ccd) if r.clip_id == "positive/000002"][0]
    with pytest.raises(DatasetError, match="000002.mp4: video file not found"):
        load_clip(ref)


def test_toa_clamped_to_1_and_t_minus_1_as_ustring(ccd, tmp_path):
    """UString's CrashDataset clamps the first labelled frame to [1, T - 1]: a clip labelled from frame 0
    gets toa 1, one labelled at or after its last frame T - 1; ``evaluate`` then scores both (it raised
    on toa 0 and the loader on a toa past the decoded frames)."""
    import torch

    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.training.checkpoint import save_student
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint

    videos = ccd / "videos"
    write_video(videos / "Crash-1500" / "000003.mp4", 40)  # shorter than its 50 labels
    write_video(videos / "Crash-1500" / "000004.mp4", 50)
    late = ", ".join("1" if i >= 55 else "0" for i in range(60))  # a longer label list, labelled past T
    lines = [line("000001", 0), line("000002", 45), line("000003", 45)]
    lines.append(f"000004,[{late}],1,abc,Day,Normal,No")
    (videos / "Crash-1500.txt").write_text("\n".join(lines) + "\n")
    (ccd / "vgg16_features" / "test.txt").write_text(
        "positive/000001.npz 1\npositive/000003.npz 1\npositive/000004.npz 1\nnegative/000001.npz 0\n"
    )
    refs = {r.clip_id: r for r in list_clips(ccd, split="test")}
    assert refs["positive/000001"].toa == 1.0 and refs["positive/000001"].meta["labelled_toa"] == 0
    assert refs["positive/000003"].toa == 45.0  # the annotation alone: T = 50
    assert refs["positive/000004"].toa == 49.0 and refs["positive/000004"].meta["labelled_toa"] == 55
    first, short = load_clip(refs["positive/000001"]), load_clip(refs["positive/000003"])
    assert first.toa == 1.0 and first.labels.tolist() == [0] + [1] * 49
    assert short.num_frames == 40 and short.toa == 39.0 and short.labels.sum() == 1

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test", image_size=(64, 64), window_size=2)).eval()
    save_student(model, tmp_path / "m", {"fps": 10.0, "mean": [0.0] * 3, "std": [1.0] * 3})
    metrics, details = evaluate_checkpoint(tmp_path / "m", ccd, "test")
    assert details["toa"] == [1.0, 39.0, 49.0, -1.0] and details["positives"] == 3
    assert 0.0 <= metrics["ap"] <= 1.0
