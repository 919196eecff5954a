"""Rendered drives: byte-for-byte determinism, the per-frame table, cuts, pieces read by the loaders, bags."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from accident_anticipation_ros.training.datasets import list_clips
from accident_anticipation_ros.training.synth.drive import generate_drive, piece_bounds
from accident_anticipation_ros.training.synth.drive_config import make_drive_config
from accident_anticipation_ros.training.synth.drive_storage import (
    FRAME_COLUMNS,
    iter_drive_clips,
    read_drive,
    read_frames,
)

# Short, small and eventful: seed 12 gives two accident worlds (cuts) and a world with two near misses.
CFG = make_drive_config(
    "ccd", size=32, duration=30.0, lead_in=(2.5, 3.5), safe_gap=(2.0, 4.0), aftermath=1.0, piece_seconds=6.0
)  # fmt: skip
SEED = 12


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    root = tmp_path_factory.mktemp("drive") / "d"
    summary = generate_drive(CFG, SEED, root)
    return root, summary


def _files(root):
    return {p.relative_to(root): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_drive(drive, tmp_path):
    root, summary = drive
    again = tmp_path / "again"
    assert generate_drive(CFG, SEED, again) == dataclasses.replace(summary, root=again)
    assert _files(again) == _files(root)
    other = tmp_path / "other"
    generate_drive(CFG, SEED + 1, other)
    assert read_drive(other)["events"] != read_drive(root)["events"]
    a = np.concatenate([c.frames for c in iter_drive_clips(root)])
    b = np.concatenate([c.frames for c in iter_drive_clips(other)])
    n = min(len(a), len(b))
    assert not np.array_equal(a[:n], b[:n])
    with pytest.raises(FileExistsError):
        generate_drive(CFG, SEED, root)


def test_events_cuts_and_the_frame_table_agree(drive):
    root, summary = drive
    index, cols = read_drive(root), read_frames(root)
    n = index["num_frames"]
    assert set(cols) == set(FRAME_COLUMNS) and all(len(c) == n for c in cols.values())
    assert n == summary.num_frames <= CFG.frames(CFG.duration)
    assert np.allclose(cols["stamp"], np.arange(n) / CFG.fps)
    worlds = index["worlds"]
    assert summary.worlds == len(worlds) >= 3 and summary.accidents >= 2 and summary.near_misses >= 2
    for w in worlds:
        rows = slice(w["first_frame"], w["first_frame"] + w["num_frames"])
        assert (cols["world"][rows] == w["index"]).all()
        assert cols["cut"][w["first_frame"]] == int(w["index"] > 0)
    assert cols["cut"].sum() == len(worlds) - 1
    assert sum(w["num_frames"] for w in worlds) == n
    for w in worlds[:-1]:
        assert w["ends"] == "accident"  # a cut follows an accident only
    for ev in index["events"]:
        lo, hi = ev["window"]
        assert (cols["event"][lo : hi + 1] == ev["id"]).all()
        assert cols["event_offset"][ev["critical_frame"]] == 0
        world = worlds[ev["world"]]
        if ev["kind"] == "accident":
            toa = ev["toa"]
            assert toa == ev["critical_frame"] and hi == world["first_frame"] + world["num_frames"] - 1
            assert cols["label"][toa - 1] == 0 and cols["label"][toa : hi + 1].all()
            # the colliding road user is in the picture just before the crash, marked as this event's
            assert cols["key_event"][toa - 1] == ev["id"]
            x0, y0, x1, y1 = cols["key_box"][toa - 1]
            assert 0 <= x0 < x1 < CFG.width and 0 <= y0 < y1 < CFG.height
        else:
            assert ev["toa"] is None and not cols["label"][lo : hi + 1].any()
    assert (cols["event"] == -1).sum() > n // 4  # plain safe driving between events
    assert ((cols["key_box"][:, 0] >= 0) == (cols["key_event"] >= 0)).all()


def test_pieces_are_clips_the_loaders_read_in_stream_order(drive):
    root, summary = drive
    index = read_drive(root)
    refs = list_clips(root, split="drive")
    assert [r.clip_id for r in refs] == [p["clip_id"] for p in index["pieces"]]
    first = 0
    events = {ev["id"]: ev for ev in index["events"]}
    for piece, clip in zip(index["pieces"], iter_drive_clips(root), strict=True):
        assert piece["first_frame"] == first == clip.meta["first_frame"]
        assert clip.num_frames == piece["num_frames"] and clip.fps == CFG.fps
        assert clip.frames.shape[1:] == (CFG.height, CFG.width, 3)
        assert len(clip.meta["objects"]) == clip.num_frames
        assert clip.meta["cut_before"] == (first > 0 and first in {w["first_frame"] for w in index["worlds"]})
        ev = events.get(piece["event"])
        if ev is not None and ev["kind"] == "accident":
            assert clip.toa == ev["toa"] - first and clip.labels[int(clip.toa)] == 1
            assert clip.meta["scenario"] == ev["scenario"]
        else:
            assert clip.toa == -1.0 and not clip.labels.any()
        first += clip.num_frames
    assert first == summary.num_frames


def test_piece_bounds_keep_events_whole():
    class Ev:
        def __init__(self, start, end):
            self.start, self.end = start, end

    events = [Ev(30, 40), Ev(44, 50)]
    assert piece_bounds(events, 70, 12) == [
        (0, 12, None),
        (12, 24, None),
        (24, 41, 0),
        (41, 51, 1),
        (51, 63, None),
        (63, 70, None),
    ]


def test_a_drive_is_one_continuous_bag(drive, tmp_path):
    from accident_anticipation_ros.bag.continuous import write_continuous_bag
    from accident_anticipation_ros.bag.reader import open_bag, read_clips_bag, read_labels
    from accident_anticipation_ros.stamps import frame_stamp_ns, seconds_to_ns

    root, summary = drive
    start_ns = seconds_to_ns(1_700_000_000.0)
    info = write_continuous_bag(iter_drive_clips(root), tmp_path / "bag", start_time=1_700_000_000.0)
    assert (info.num_frames, info.num_clips) == (summary.num_frames, summary.pieces)
    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [p["clip_id"] for p in read_drive(root)["pieces"]]
    # frame k of the drive is at start + k / fps, across pieces and cuts alike
    stamps = np.concatenate([c.meta["stamps_ns"] for c in back])
    assert stamps.tolist() == [frame_stamp_ns(start_ns, CFG.fps, k) for k in range(summary.num_frames)]
    with open_bag(tmp_path / "bag") as reader:
        labels = {lab.clip_id: lab for lab in read_labels(reader)}
    accidents = [ev for ev in read_drive(root)["events"] if ev["kind"] == "accident"]
    for ev in accidents:
        lab = labels[ev["piece"]]
        assert lab.positive and frame_stamp_ns(lab.start_ns, CFG.fps, lab.toa) == frame_stamp_ns(
            start_ns, CFG.fps, ev["toa"]
        )
    assert sum(lab.positive for lab in labels.values()) == len(accidents)


def test_after_accident_end_stops_the_drive_at_its_first_accident(tmp_path):
    cfg = dataclasses.replace(CFG, after_accident="end")
    summary = generate_drive(cfg, SEED, tmp_path / "d")
    index = read_drive(tmp_path / "d")
    assert (summary.worlds, summary.accidents) == (1, 1) and index["worlds"][0]["ends"] == "accident"
    last = index["events"][-1]
    assert last["kind"] == "accident" and last["window"][1] == summary.num_frames - 1
