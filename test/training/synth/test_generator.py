"""Whole clips: determinism, presets, labels, captions and per-frame metadata (small frames, few clips)."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.synth.config import make_config
from accident_anticipation_ros.training.synth.generator import generate_clip

SMALL = make_config("ccd", size=64)


def test_same_arguments_give_identical_clips():
    a = generate_clip(SMALL, 5, "train", 3)
    generate_clip(SMALL, 5, "train", 4)  # other clips in between change nothing
    b = generate_clip(SMALL, 5, "train", 3)
    assert a.frames.tobytes() == b.frames.tobytes()
    assert a.meta == b.meta and a.caption == b.caption and a.frame_captions == b.frame_captions
    assert a.toa == b.toa and np.array_equal(a.labels, b.labels)


def test_seed_split_and_index_change_the_clip():
    base = generate_clip(SMALL, 5, "train", 3).frames
    for other in (
        generate_clip(SMALL, 6, "train", 3),
        generate_clip(SMALL, 5, "val", 3),
        generate_clip(SMALL, 5, "train", 5),
    ):
        assert other.frames.shape == base.shape
        assert not np.array_equal(other.frames, base)


@pytest.mark.parametrize("preset, frames, fps", [("ccd", 50, 10.0), ("dad", 100, 20.0)])
def test_preset_frame_counts_fps_and_toa(preset, frames, fps):
    cfg = make_config(preset, size=48)
    clip = generate_clip(cfg, 1, "test", 0, positive=True)
    assert clip.frames.shape == (frames, 48, 48, 3) and clip.frames.dtype == np.uint8
    assert clip.fps == fps and clip.positive
    assert cfg.toa_range[0] <= clip.toa <= cfg.toa_range[1]
    assert np.array_equal(clip.labels, (np.arange(frames) >= clip.toa).astype(np.uint8))
    assert clip.meta["critical_frame"] == clip.toa


def test_negatives_have_no_accident_but_a_matched_reference_time():
    clip = generate_clip(SMALL, 1, "test", 1, positive=False)
    assert clip.toa == -1.0 and not clip.labels.any()
    assert SMALL.toa_range[0] <= clip.meta["critical_frame"] <= SMALL.toa_range[1]
    assert clip.meta["variant"] != "collision" and "no collision" in clip.caption + clip.frame_captions[-1]


@pytest.mark.parametrize("scenario", ["lead_brake", "cut_in", "crossing", "junction"])
def test_captions_and_object_metadata(scenario):
    clip = generate_clip(SMALL, 2, "train", 0, positive=True, scenario=scenario)
    meta = clip.meta
    assert meta["scenario"] == scenario and meta["variant"] == "collision"
    assert clip.caption.startswith(f"{meta['lighting']}, {meta['weather']}: ")
    assert meta["key_actor"]["noun"] in clip.caption
    assert len(clip.frame_captions) == clip.num_frames == len(meta["objects"]) == len(meta["ego_speed_kmh"])
    assert "collided" in clip.frame_captions[-1]
    first = clip.frame_captions[0]
    assert "km/h" in first and "collid" not in first  # before the event: no hint of the outcome
    toa = int(np.ceil(clip.toa))
    keys = [o for o in meta["objects"][toa] if o["key"]]
    assert keys, "the key actor is visible at the time of accident"
    x0, y0, x1, y1 = keys[0]["box"]
    assert 0 <= x0 < x1 <= 63 and 0 <= y0 < y1 <= 63
    assert max(x1 - x0, y1 - y0) >= 0.3 * 64  # at the moment of impact it fills much of the view
    assert keys[0]["distance"] < 6.0
    for objs in meta["objects"]:
        for o in objs:
            assert set(o) == {"id", "cls", "box", "distance", "ttc", "key"}
            assert o["ttc"] is None or o["ttc"] >= 0


def test_the_accident_changes_the_picture_more_than_a_normal_frame_step():
    clip = generate_clip(make_config("ccd", size=64), 3, "val", 0, positive=True, scenario="lead_brake")
    f = clip.frames.astype(float)
    toa = int(np.ceil(clip.toa))
    early = np.abs(f[5] - f[4]).mean()
    crash = np.abs(f[toa] - f[toa - 3]).mean()
    assert crash > 3 * early
