"""``accident-anticipation synth``: manifest, clip files, byte-for-byte reproducibility, previews, bad arguments."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accident_anticipation_ros.tools.synth import main
from accident_anticipation_ros.training.datasets import list_clips, load_clip

ARGS = ["--clips", "5", "--seed", "3", "--size", "40", "--split-fractions", "0.6,0.2,0.2"]


def test_cli_writes_manifest_and_clip_files(tmp_path, capsys):
    out = tmp_path / "bench"
    assert main(["--out", str(out), *ARGS]) == 0
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["preset"] == "ccd" and manifest["seed"] == 3
    assert (manifest["fps"], manifest["num_frames"], manifest["width"], manifest["height"]) == (
        10.0,
        50,
        40,
        40,
    )
    assert manifest["generator"].startswith("synth-")
    assert {k: len(v) for k, v in manifest["splits"].items()} == {"train": 3, "val": 1, "test": 1}
    for split, ids in manifest["splits"].items():
        for cid in ids:
            with np.load(out / split / f"{cid}.npz") as data:
                assert data["frames"].shape == (50, 40, 40, 3) and data["frames"].dtype == np.uint8
            record = json.loads((out / split / f"{cid}.json").read_text())
            assert record["toa"] == manifest["toa"][cid]
            assert len(record["labels"]) == len(record["frame_captions"]) == 50
            assert {"scenario", "lighting", "weather", "objects"} <= set(record["meta"])
    assert "wrote 5 clips" in capsys.readouterr().out
    # The loader reads it back as Clip records.
    refs = list_clips(out)
    assert len(refs) == 5 and {r.fmt for r in refs} == {"synthetic"}
    clip = load_clip(refs[0])
    assert clip.frames.shape == (50, 40, 40, 3) and clip.fps == 10.0


def test_same_seed_same_bytes_and_workers_do_not_matter(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["--out", str(a), *ARGS]) == 0
    assert main(["--out", str(b), *ARGS, "--workers", "2"]) == 0
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    for rel in files:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    c = tmp_path / "c"
    assert main(["--out", str(c), *ARGS[:2], "--seed", "4", *ARGS[4:]]) == 0
    assert (a / "train" / "train_00000.npz").read_bytes() != (c / "train" / "train_00000.npz").read_bytes()


def test_preview_files_and_refusing_to_overwrite(tmp_path, capsys):
    out = tmp_path / "p"
    assert main(["--out", str(out), "--clips", "4", "--size", "40", "--preview", "--preset", "dad"]) == 0
    assert (out / "preview.png").stat().st_size > 1000
    assert (out / "preview.gif").read_bytes()[:6] in (b"GIF89a", b"GIF87a")
    assert main(["--out", str(out), "--clips", "4", "--size", "40"]) == 2
    assert "exists" in capsys.readouterr().err
    assert main(["--out", str(out), "--clips", "2", "--size", "40", "--force"]) == 0


@pytest.mark.parametrize(
    "bad", [["--split-fractions", "1,2"], ["--clips", "0"], ["--positive-fraction", "2"]]
)
def test_bad_arguments_exit_2(tmp_path, bad, capsys):
    args = ["--out", str(tmp_path / "x"), "--clips", "3", *bad]
    assert main(args) == 2
    assert "error" in capsys.readouterr().err


def test_the_project_cli_dispatches_to_synth(tmp_path):
    from accident_anticipation_ros.tools.cli import main as project_main

    assert project_main(["synth", "--out", str(tmp_path / "x"), "--clips", "1", "--size", "32"]) == 0
    assert (tmp_path / "x" / "synth.json").is_file()


DRIVE_ARGS = ["--drive", "--size", "32", "--minutes", "0.25", "--lead-in", "2,3", "--safe-gap", "2,3"]
DRIVE_ARGS += ["--accident-fraction", "1.0", "--piece-seconds", "6", "--seed", "2"]


def test_drive_writes_a_tiny_continuous_drive(tmp_path, capsys):
    from accident_anticipation_ros.training.synth.drive_storage import (
        iter_drive_clips,
        read_drive,
        read_frames,
    )

    out = tmp_path / "drive"
    assert main(["--out", str(out), *DRIVE_ARGS]) == 0
    index, cols = read_drive(out), read_frames(out)
    cfg = index["config"]
    assert (cfg["duration"], cfg["accident_fraction"], cfg["lead_in"], cfg["safe_gap"]) == (
        15.0,
        1.0,
        [2, 3],
        [2, 3],
    )
    assert (index["fps"], index["width"], cfg["piece_seconds"]) == (10.0, 32, 6.0)
    accidents = [e for e in index["events"] if e["kind"] == "accident"]
    assert accidents and len(accidents) == len(index["events"])
    for e in accidents:  # toa exact in the frame table: the label turns on at toa
        assert cols["label"][e["toa"]] == 1 and cols["label"][e["toa"] - 1] == 0
    pieces = list(iter_drive_clips(out))
    assert sum(c.num_frames for c in pieces) == index["num_frames"] == len(cols["stamp"])
    printed = capsys.readouterr().out
    assert f"{len(accidents)} accidents" in printed and f"{index['num_frames']} frames at 10 fps" in printed
    assert main(["--out", str(out), *DRIVE_ARGS]) == 2  # exists
    assert "--force" in capsys.readouterr().err
    assert main(["--out", str(out), *DRIVE_ARGS, "--force"]) == 0


def test_drive_bad_options_exit_2(tmp_path, capsys):
    assert main(["--out", str(tmp_path / "d"), "--drive", "--lead-in", "3"]) == 2
    assert "--lead-in must be LOW,HIGH" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "d"), "--drive", "--accident-fraction", "2"]) == 2
    assert "accident_fraction" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "d"), "--drive", "--lead-traffic", "-1"]) == 2
    assert "lead_traffic" in capsys.readouterr().err
    assert main(["--out", str(tmp_path / "d")]) == 2
    assert "--clips is required" in capsys.readouterr().err
