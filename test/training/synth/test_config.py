"""Presets, seeds, label assignment and split sizes of the synthetic benchmark."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.synth.config import (
    PRESETS,
    SynthConfig,
    clip_id,
    clip_seed,
    is_positive,
    make_config,
    split_counts,
)


def test_presets_match_the_datasets_they_imitate():
    ccd, dad = PRESETS["ccd"], PRESETS["dad"]
    assert (ccd.num_frames, ccd.fps) == (50, 10.0)
    assert ccd.num_frames / 2 <= ccd.toa_range[0] <= ccd.toa_range[1] < ccd.num_frames
    assert (dad.num_frames, dad.fps) == (100, 20.0)
    assert dad.toa_range[0] <= 90 <= dad.toa_range[1] < dad.num_frames
    assert (ccd.width, ccd.height) == (224, 224)


def test_make_config_size_and_overrides():
    cfg = make_config("dad", size=96, positive_fraction=0.25)
    assert (cfg.width, cfg.height, cfg.num_frames, cfg.positive_fraction) == (96, 96, 100, 0.25)
    with pytest.raises(ValueError, match="unknown preset"):
        make_config("kitti")


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"num_frames": 4}, "num_frames"),
        ({"toa_range": (30.0, 60.0)}, "toa_range"),
        ({"width": 16}, "at least 32"),
        ({"toa_range": (5.0, 10.0)}, "too early"),
        ({"positive_fraction": 1.5}, "positive_fraction"),
    ],
)
def test_config_rejects_inconsistent_values(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SynthConfig(**kwargs)


def test_clip_seed_depends_on_seed_split_and_index_only():
    a = clip_seed(3, "train", 7).generate_state(4)
    assert np.array_equal(a, clip_seed(3, "train", 7).generate_state(4))
    others = [
        clip_seed(4, "train", 7),
        clip_seed(3, "val", 7),
        clip_seed(3, "train", 8),
        clip_seed(2**40 + 3, "train", 7),
    ]
    assert all(not np.array_equal(a, s.generate_state(4)) for s in others)
    with pytest.raises(ValueError):
        clip_seed(0, "train", -1)


def test_labels_follow_the_fraction_in_every_prefix():
    for fraction in (0.5, 0.3):
        labels = [is_positive(0, "train", i, fraction) for i in range(200)]
        assert abs(np.mean(labels[:20]) - fraction) <= 0.1
        assert abs(np.mean(labels) - fraction) <= 0.02
    assert not any(is_positive(0, "train", i, 0.0) for i in range(50))
    assert all(is_positive(0, "train", i, 1.0) for i in range(50))


def test_split_counts_and_ids():
    assert split_counts(100, (0.7, 0.15, 0.15)) == {"train": 70, "val": 15, "test": 15}
    assert sum(split_counts(7, (0.7, 0.15, 0.15)).values()) == 7
    assert split_counts(5, (1, 0, 0)) == {"train": 5, "val": 0, "test": 0}
    with pytest.raises(ValueError):
        split_counts(10, (0.5, 0.5))
    assert clip_id("val", 12) == "val_00012"
