"""``accident-anticipation bag-from-clips``: arguments, and a dataset split written as a bag."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accident_anticipation_ros.bag.reader import read_clips_bag
from accident_anticipation_ros.tools.bag_from_clips import main
from accident_anticipation_ros.tools.cli import main as top_main


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


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """Three tiny clips written by ``accident-anticipation synth`` (all in the test split)."""
    pytest.importorskip("accident_anticipation_ros.training.synth", reason="training not installed")
    root = tmp_path_factory.mktemp("synth") / "set"
    argv = ["synth", "--out", str(root), "--clips", "3", "--size", "32", "--split-fractions", "0,0,1"]
    assert top_main(argv) == 0
    return root


@pytest.mark.parametrize(("storage", "compressed"), [("mcap", False), ("sqlite3", True)])
def test_dataset_split_to_bag_and_back(dataset, tmp_path, capsys, storage, compressed):
    from accident_anticipation_ros.training.datasets import iter_clips

    argv = [str(dataset), "--out", str(tmp_path / "bag"), "--split", "test", "--max-clips", "2"]
    argv += ["--storage", storage, "--camera-topic", "/cam_front/image_raw"] + (
        ["--compressed"] if compressed else []
    )
    assert top_main(["bag-from-clips", *argv]) == 0
    assert "wrote 2 clips (100 frames" in capsys.readouterr().out

    source = list(iter_clips(dataset, split="test"))[:2]
    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [c.clip_id for c in source]
    assert back[0].meta["camera_topic"] == "/cam_front/image_raw" + ("/compressed" if compressed else "")
    for got, src in zip(back, source, strict=True):
        assert (got.toa, got.fps, got.caption) == (src.toa, src.fps, src.caption)
        assert np.array_equal(got.labels, src.labels)
        err = np.abs(got.frames.astype(np.int16) - src.frames)
        assert err.max() == 0 if not compressed else err.mean() < 8.0


def test_dataset_errors_exit_1_and_leave_no_bag(dataset, tmp_path, capsys):
    assert main([str(dataset), "--out", str(tmp_path / "bag"), "--split", "nosuch"]) == 1
    err = capsys.readouterr().err
    assert "accident-anticipation bag-from-clips: error: " in err and "no split 'nosuch'" in err
    assert not (tmp_path / "bag").exists()


SHIPPED = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"


def _replayed_resets(bag, out):
    from accident_anticipation_ros.bag.reader import read_risk_bag
    from accident_anticipation_ros.replay import replay_offline

    replay_offline(bag, out, SHIPPED)
    rec = read_risk_bag(out)
    assert rec.dropped == 0
    return np.flatnonzero(np.concatenate([c.state_reset for c in rec.clips])).tolist()


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model missing")
def test_continuous_bag_has_one_step_and_replays_without_reset(dataset, tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    argv = [str(dataset), "--out", str(tmp_path / "bag"), "--continuous"]
    assert top_main(["bag-from-clips", *argv]) == 0
    assert "wrote 3 clips (150 frames, 14.9 s)" in capsys.readouterr().out
    back = list(read_clips_bag(tmp_path / "bag"))
    stamps = np.concatenate([c.meta["stamps_ns"] for c in back]) if "stamps_ns" in back[0].meta else None
    if stamps is not None:
        assert set(np.diff(stamps).tolist()) == {100_000_000}
    assert _replayed_resets(tmp_path / "bag", tmp_path / "out") == [0]
    assert main([str(dataset), "--out", str(tmp_path / "gaps")]) == 0  # the default layout resets per clip
    assert _replayed_resets(tmp_path / "gaps", tmp_path / "out_gaps") == [0, 50, 100]


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model missing")
def test_a_drive_folder_is_written_as_one_stream(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from accident_anticipation_ros.training.synth.drive_storage import iter_drive_clips, read_drive

    drive = tmp_path / "drive"
    argv = ["synth", "--drive", "--out", str(drive), "--size", "32", "--minutes", "0.25", "--lead-in", "2,3"]
    assert top_main([*argv, "--piece-seconds", "6", "--seed", "2"]) == 0
    assert main([str(drive), "--out", str(tmp_path / "bag")]) == 0
    n = read_drive(drive)["num_frames"]
    assert f"({n} frames" in capsys.readouterr().out.splitlines()[-1]
    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [c.clip_id for c in iter_drive_clips(drive)]
    assert _replayed_resets(tmp_path / "bag", tmp_path / "out") == [0]
