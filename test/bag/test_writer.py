"""Clips -> bag -> clips, and the timing of frames and labels in the bag."""

from __future__ import annotations

import numpy as np
import pytest
from rosbags.rosbag2 import Reader

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.reader import read_clips_bag
from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, get_package_typestore
from accident_anticipation_ros.bag.writer import (
    DEFAULT_CAMERA_TOPIC,
    DEFAULT_LABEL_TOPIC,
    LABEL_LEAD,
    write_clips_bag,
)
from accident_anticipation_ros.stamps import to_ns


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_rgb8_round_trip_is_exact(tiny_clips, tmp_path, storage):
    info = write_clips_bag(tiny_clips, tmp_path / "bag", storage=storage)
    assert (info.num_clips, info.num_frames, info.camera_topic) == (3, 24, DEFAULT_CAMERA_TOPIC)

    back = list(read_clips_bag(tmp_path / "bag"))
    assert [c.clip_id for c in back] == [c.clip_id for c in tiny_clips]
    for src, got in zip(tiny_clips, back, strict=True):
        assert got.frames.dtype == np.uint8 and got.frames.shape == src.frames.shape
        assert np.array_equal(got.frames, src.frames), src.clip_id
        assert np.array_equal(got.labels, src.labels), src.clip_id
        assert got.toa == src.toa and got.fps == src.fps and got.caption == src.caption
        assert got.cause == src.cause  # the synthetic scenario travels as AccidentLabel.cause
        assert got.meta["camera_topic"] == DEFAULT_CAMERA_TOPIC
    assert [c.cause for c in back] == ["cut_in", "", ""]


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_jpeg_round_trip_is_close(tiny_clips, tmp_path, storage):
    info = write_clips_bag(tiny_clips, tmp_path / "bag", storage=storage, compressed=True, jpeg_quality=95)
    assert info.camera_topic == f"{DEFAULT_CAMERA_TOPIC}/compressed"
    with Reader(tmp_path / "bag") as reader:
        assert {c.topic: c.msgtype for c in reader.connections}[info.camera_topic] == (
            "sensor_msgs/msg/CompressedImage"
        )

    back = list(read_clips_bag(tmp_path / "bag"))  # the only image topic is found without being named
    assert [c.clip_id for c in back] == [c.clip_id for c in tiny_clips]
    for src, got in zip(tiny_clips, back, strict=True):
        assert got.frames.shape == src.frames.shape
        err = np.abs(got.frames.astype(np.int16) - src.frames.astype(np.int16))
        assert err.mean() < 4.0 and not np.array_equal(got.frames, src.frames), (src.clip_id, err.mean())
        # a channel swap would show as a large error on the red/blue channels of these gradients
        assert err[..., 0].mean() < 4.0 and err[..., 2].mean() < 4.0
        assert got.toa == src.toa and got.fps == src.fps


def _raw(path):
    """(topic, receive ns, message) of every message, in receive order."""
    store = get_package_typestore()
    with Reader(path) as reader:
        return [(c.topic, t, store.deserialize_cdr(raw, c.msgtype)) for c, t, raw in reader.messages()]


def test_frames_and_labels_are_laid_out_in_time(tiny_clips, tmp_path):
    start, gap = 1_650_000_000.5, 3.0
    write_clips_bag(
        tiny_clips, tmp_path / "bag", start_time=start, gap_between_clips=gap, frame_id="cam_front"
    )
    msgs = _raw(tmp_path / "bag")
    assert len(msgs) == 3 + 24

    # each clip: its label first, then its frames; stamps spaced at the clip's fps; recv time = stamp
    expected_first = 1_650_000_000_500_000_000
    prev_last = None
    for k, clip in enumerate(tiny_clips):
        block = msgs[k * 9 : (k + 1) * 9]
        (label_topic, label_recv, label), frames = block[0], block[1:]
        assert label_topic == DEFAULT_LABEL_TOPIC and label.__msgtype__ == ACCIDENT_LABEL
        stamps = [to_ns(m.header.stamp) for _, _, m in frames]
        assert [t for _, t, _ in frames] == stamps
        assert all(m.header.frame_id == "cam_front" for _, _, m in frames)
        assert stamps[0] == expected_first
        assert np.abs(np.diff(stamps) - 1e9 / clip.fps).max() <= 1, clip.clip_id  # ns rounding only

        assert to_ns(label.header.stamp) == stamps[0] and label.header.frame_id == "cam_front"
        assert label_recv == stamps[0] - int(LABEL_LEAD * 1e9)  # just before its first frame ...
        if prev_last is not None:
            assert stamps[0] - prev_last == int(gap * 1e9)  # ... and after the previous clip
            assert label_recv > prev_last
        assert (label.clip_id, label.num_frames, label.caption) == (clip.clip_id, 8, clip.caption)
        assert label.label == int(clip.positive)
        assert abs(label.fps - clip.fps) < 1e-5

        toa_ns = to_ns(label.time_of_accident)
        if not clip.positive:
            assert (label.time_of_accident.sec, label.time_of_accident.nanosec) == (0, 0)
        elif clip.toa == int(clip.toa):
            assert toa_ns == stamps[int(clip.toa)]
        else:  # fractional toa: interpolated between the two frames around it
            lo, frac = int(clip.toa), clip.toa - int(clip.toa)
            assert abs(toa_ns - stamps[lo] - frac * (stamps[lo + 1] - stamps[lo])) <= 1
        prev_last = stamps[-1]
        expected_first = stamps[-1] + int(gap * 1e9)


def test_writer_refuses_bad_options_and_existing_output(tiny_clips, tmp_path):
    (tmp_path / "exists").mkdir()
    with pytest.raises(BagError, match="exists already"):
        write_clips_bag(tiny_clips, tmp_path / "exists")
    with pytest.raises(BagError, match="storage must be one of"):
        write_clips_bag(tiny_clips, tmp_path / "a", storage="rosbag1")
    with pytest.raises(BagError, match="gap_between_clips"):
        write_clips_bag(tiny_clips, tmp_path / "b", gap_between_clips=0.05)
    with pytest.raises(BagError, match="start_time must be after"):
        write_clips_bag(tiny_clips, tmp_path / "c", start_time=0.0)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_no_clips_is_an_error_not_an_empty_bag(tmp_path):
    with pytest.raises(BagError, match="no clips to write"):
        write_clips_bag([], tmp_path / "bag")
    assert not (tmp_path / "bag").exists()


def test_failed_write_leaves_no_partial_bag(tiny_clips, tmp_path):
    def clips():
        yield tiny_clips[0]
        raise RuntimeError("dataset broke")

    with pytest.raises(RuntimeError, match="dataset broke"):
        write_clips_bag(clips(), tmp_path / "bag")
    assert not (tmp_path / "bag").exists()
