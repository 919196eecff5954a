"""``accident-anticipation bag-from-clips``: arguments, and a dataset split written as a bag."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accident_anticipation_ros.bag.cli import main
from accident_anticipation_ros.bag.reader import read_clips_bag
from accident_anticipation_ros.cli import main as top_main


def test_help_through_the_top_level_command(capsys):
    with pytest.raises(SystemExit) as exit_:
        top_main(["bag-from-clips", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: accident-anticipation bag-from-clips")
    for option in ("--out", "--storage", "--compressed", "--split", "--fmt", "--max-clips", "--camera-topic"):
        assert option in out


def test_bad_arguments_exit_2_with_a_reason(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path / "nowhere"), "--out", str(tmp_path / "bag")])
    assert exit_.value.code == 2
    assert f"dataset root {tmp_path / 'nowhere'} does not exist" in capsys.readouterr().err

    (tmp_path / "bag").mkdir()
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), "--out", str(tmp_path / "bag")])
    assert exit_.value.code == 2
    assert "exists already" in capsys.readouterr().err

    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), "--out", str(tmp_path / "new"), "--storage", "rosbag1"])
    assert exit_.value.code == 2
    with pytest.raises(SystemExit) as exit_:
        main([str(tmp_path), "--out", str(tmp_path / "new"), "--max-clips", "0"])
    assert exit_.value.code == 2
    assert not (tmp_path / "new").exists()


def _write_synthetic_layout(root, splits) -> None:
    """A dataset in the synthetic benchmark's layout: synth.json + <split>/<id>.npz + <split>/<id>.json."""
    root.mkdir()
    manifest = {"fps": 10.0, "splits": {}, "toa": {}}
    for split, clips in splits.items():
        (root / split).mkdir()
        manifest["splits"][split] = [c.clip_id for c in clips]
        for c in clips:
            manifest["toa"][c.clip_id] = c.toa
            np.savez(root / split / f"{c.clip_id}.npz", frames=c.frames)
            record = {"clip_id": c.clip_id, "labels": c.labels.tolist(), "toa": c.toa, "fps": c.fps}
            (root / split / f"{c.clip_id}.json").write_text(json.dumps({**record, "caption": c.caption}))
    (root / "synth.json").write_text(json.dumps(manifest))


@pytest.fixture
def dataset(tiny_clips, tmp_path):
    pytest.importorskip("accident_anticipation_ros.training.datasets", reason="dataset loaders not installed")
    _write_synthetic_layout(tmp_path / "synth", {"train": tiny_clips[:1], "test": tiny_clips})
    return tmp_path / "synth"


@pytest.mark.parametrize(("storage", "compressed"), [("mcap", False), ("sqlite3", True)])
def test_dataset_split_to_bag_and_back(dataset, tiny_clips, tmp_path, capsys, storage, compressed):
    argv = [str(dataset), "--out", str(tmp_path / "bag"), "--split", "test", "--max-clips", "2"]
    argv += ["--storage", storage, "--camera-topic", "/cam_front/image_raw"] + (
        ["--compressed"] if compressed else []
    )
    assert top_main(["bag-from-clips", *argv]) == 0
    assert "wrote 2 clips (16 frames" in capsys.readouterr().out

    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [c.clip_id for c in tiny_clips[:2]]
    assert back[0].meta["camera_topic"] == "/cam_front/image_raw" + ("/compressed" if compressed else "")
    for got, src in zip(back, tiny_clips, strict=False):
        assert (got.toa, got.fps, got.caption) == (src.toa, src.fps, src.caption)
        assert np.array_equal(got.labels, src.labels)
        err = np.abs(got.frames.astype(np.int16) - src.frames)
        assert err.max() == 0 if not compressed else err.mean() < 4.0


def test_dataset_errors_exit_1_and_leave_no_bag(dataset, tmp_path, capsys):
    assert main([str(dataset), "--out", str(tmp_path / "bag"), "--split", "val"]) == 1
    assert "no split 'val'" in capsys.readouterr().err
    assert not (tmp_path / "bag").exists()
