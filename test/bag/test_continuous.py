"""Clips back to back as one stream: stamps without a gap, labels in place, clips read back in order."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from accident_anticipation_ros.bag.continuous import write_continuous_bag
from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.reader import open_bag, read_clips_bag, read_labels, read_risk_bag
from accident_anticipation_ros.bag.types import get_package_typestore
from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC, write_clips_bag
from accident_anticipation_ros.stamps import to_ns

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"


@pytest.fixture
def stream_clips(clip_factory):
    """``fps -> clips``: a positive clip, a negative one and one with a fractional toa (7, 8, 9 frames)."""

    def make(fps: float) -> list:
        return [
            clip_factory("pos_0000", 5.0, fps, seed=1, t=7),
            clip_factory("neg_0001", -1.0, fps, seed=2, t=8),
            clip_factory("pos_0002", 3.25, fps, seed=3, t=9),
        ]

    return make


def _messages(path):
    """(topic, receive ns, message) in bag order."""
    store = get_package_typestore()
    with Reader(path) as reader:
        return [(c.topic, t, store.deserialize_cdr(raw, c.msgtype)) for c, t, raw in reader.messages()]


@pytest.mark.parametrize("fps", [10.0, 29.97])
def test_stamps_have_one_step_and_labels_sit_at_their_clips(tmp_path, stream_clips, fps):
    clips = stream_clips(fps)
    info = write_continuous_bag(clips, tmp_path / "bag", start_time=1_650_000_000.25)
    assert (info.num_clips, info.num_frames) == (3, 24)
    msgs = _messages(tmp_path / "bag")
    frames = [(t, m) for topic, t, m in msgs if topic != DEFAULT_LABEL_TOPIC]
    stamps = np.array([to_ns(m.header.stamp) for _, m in frames])
    assert [t for t, _ in frames] == list(stamps)  # receive time = header stamp
    assert stamps[0] == 1_650_000_000_250_000_000
    period = 1e9 / float(np.float32(fps))
    steps = np.diff(stamps)
    assert steps.min() > 0 and np.abs(steps - period).max() <= 1, steps  # ns rounding only, no gap anywhere
    assert steps.max() < 1.5 * period

    # In bag order: each label, then its clip's frames; the label's stamp is its first frame's.
    order = [topic == DEFAULT_LABEL_TOPIC for topic, _, _ in msgs]
    assert order == [True] + [False] * 7 + [True] + [False] * 8 + [True] + [False] * 9
    first = 0
    for clip, (_, recv, label) in zip(clips, [m for m in msgs if m[0] == DEFAULT_LABEL_TOPIC], strict=True):
        clip_stamps = stamps[first : first + clip.num_frames]
        assert to_ns(label.header.stamp) == clip_stamps[0]
        assert (label.clip_id, label.num_frames, label.label) == (
            clip.clip_id,
            clip.num_frames,
            int(clip.positive),
        )
        if first:
            assert stamps[first - 1] < recv < clip_stamps[0]  # received between the two frames
        if clip.positive:
            lo = int(clip.toa)
            step = int(clip_stamps[lo + 1] - clip_stamps[lo])
            assert abs(to_ns(label.time_of_accident) - int(clip_stamps[lo]) - (clip.toa - lo) * step) <= 1
        first += clip.num_frames

    # The readers' own layout (label stamp + i/fps) gives exactly the stamps in the bag.
    with open_bag(tmp_path / "bag") as reader:
        labels = read_labels(reader)
    assert np.array_equal(np.concatenate([lab.frame_stamps_ns() for lab in labels]), stamps)


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_clips_read_back_in_order_and_unchanged(tmp_path, stream_clips, storage):
    clips = stream_clips(20.0)
    write_continuous_bag(clips, tmp_path / "bag", storage=storage)
    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [c.clip_id for c in clips]
    for src, got in zip(clips, back, strict=True):
        assert np.array_equal(got.frames, src.frames)
        assert np.array_equal(got.labels, src.labels)
        assert (got.toa, got.fps, got.caption) == (src.toa, src.fps, src.caption)


def test_one_frame_rate_and_one_frame_size(tmp_path, clip_factory):
    make_clip = clip_factory
    mixed_fps = [make_clip("a", -1.0, 10.0, seed=1), make_clip("b", -1.0, 20.0, seed=2)]
    with pytest.raises(BagError, match="one frame rate"):
        write_continuous_bag(mixed_fps, tmp_path / "fps")
    small = make_clip("c", -1.0, 10.0, seed=3)
    small.frames = small.frames[:, :16]
    with pytest.raises(BagError, match="one frame size"):
        write_continuous_bag([make_clip("a", -1.0, 10.0, seed=1), small], tmp_path / "size")
    assert not (tmp_path / "fps").exists() and not (tmp_path / "size").exists()
    with pytest.raises(BagError, match="no clips"):
        write_continuous_bag([], tmp_path / "empty")


@pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model missing")
def test_the_session_resets_only_on_the_first_frame(tmp_path, stream_clips):
    pytest.importorskip("onnxruntime")
    from accident_anticipation_ros.replay import replay_offline

    clips = stream_clips(10.0)
    write_continuous_bag(clips, tmp_path / "stream")
    write_clips_bag(clips, tmp_path / "clips")  # the 2 s gaps reset the state at every clip
    resets = {}
    for name in ("stream", "clips"):
        replay_offline(tmp_path / name, tmp_path / f"{name}_out", SHIPPED)
        rec = read_risk_bag(tmp_path / f"{name}_out")
        assert rec.dropped == 0
        resets[name] = np.concatenate([c.state_reset for c in rec.clips])
    assert np.flatnonzero(resets["stream"]).tolist() == [0]
    assert np.flatnonzero(resets["clips"]).tolist() == [0, 7, 15]
