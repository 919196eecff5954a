"""write_benchmark: every clip of every split, then a manifest that counts them."""

from __future__ import annotations

import json

import pytest

from accident_anticipation_ros.training.synth.config import make_config
from accident_anticipation_ros.training.synth.writer import write_benchmark


def test_writes_the_clips_of_each_split_and_the_manifest(tmp_path):
    cfg = make_config("ccd", size=32, positive_fraction=1.0)
    info = write_benchmark(
        tmp_path, cfg, 5, {"train": 1, "val": 0, "test": 2}, (1.0, 0.0, 2.0), progress=False
    )
    assert (info.manifest, info.clips, info.positives) == (tmp_path / "synth.json", 3, 3)
    manifest = json.loads(info.manifest.read_text())
    assert manifest["splits"] == {"train": ["train_00000"], "val": [], "test": ["test_00000", "test_00001"]}
    assert manifest["split_fractions"] == [1.0, 0.0, 2.0] and manifest["seed"] == 5
    assert sorted(p.name for p in (tmp_path / "test").iterdir()) == [
        "test_00000.json",
        "test_00000.npz",
        "test_00001.json",
        "test_00001.npz",
    ]


def test_needs_a_worker(tmp_path):
    with pytest.raises(ValueError, match="workers must be >= 1"):
        write_benchmark(
            tmp_path, make_config("ccd", size=32), 0, {"train": 1, "val": 0, "test": 0}, (1, 0, 0), 0
        )
