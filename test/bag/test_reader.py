"""Reading bags back: risk streams aligned to labels (drops counted), clip grouping, and bad bags."""

from __future__ import annotations

import math
import shutil
import struct

import numpy as np
import pytest

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.reader import read_clips_bag, read_risk_bag
from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, ACCIDENT_RISK, IMAGE, get_package_typestore
from accident_anticipation_ros.bag.writer import DEFAULT_CAMERA_TOPIC, DEFAULT_LABEL_TOPIC, write_clips_bag
from accident_anticipation_ros.stamps import split_ns


def _risk_values(k: int, i: int) -> dict:
    """Distinct, float32-exact values for frame i of clip k."""
    return {
        "probability": (k * 8 + i) / 64,
        "probability_smoothed": (k * 8 + i) / 128,
        "level": i % 3,
        "alert": i >= 5,
        "state_reset": i == 0,
        "time_to_accident": (8 - i) * 0.25 if i >= 5 else math.nan,
        "latency_ms": 10.0 + i,
        "cause": ("", "cut_in", "junction")[i % 3],
        "cause_confidence": 0.5 + i / 32 if i % 3 else math.nan,
        "out_of_domain": i % 4 == 0,
        "domain_score": 10.0 + i,
    }


def _risk(store, stamp_ns: int, camera: str, k: int, i: int):
    sec, nanosec = split_ns(stamp_ns)
    v = _risk_values(k, i)
    return store.types[ACCIDENT_RISK](
        header=store.types["std_msgs/msg/Header"](
            stamp=store.types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nanosec), frame_id="camera"
        ),
        camera=camera,
        frames_since_reset=i + 1,
        reset_reason="first_frame" if i == 0 else "",
        frames_dropped=0,
        **v,
    )


@pytest.fixture
def eval_bag(tiny_clips, tmp_path):
    write_clips_bag(tiny_clips, tmp_path / "eval")
    stamps = [c.meta["stamps_ns"] for c in read_clips_bag(tmp_path / "eval")]
    return tmp_path / "eval", stamps


def _output_bag(
    bag_copier, eval_bag, dst, *, keep_camera=False, drop=(), duplicate=(), stray=(), storage="mcap"
):
    """A recorded output bag: the labels, risk streams of two cameras, optionally the camera frames.

    drop / duplicate: (camera, clip, frame) to leave out / to write twice; stray: (camera, stamp ns).
    """
    src, stamps = eval_bag
    store = get_package_typestore()
    streams = {}
    for camera, topic in [("cam_front", "/cam_front/accident_risk"), ("cam_rear", "/cam_rear/accident_risk")]:
        msgs = []
        for k, clip_stamps in enumerate(stamps):
            for i, s in enumerate(clip_stamps):
                if (camera, k, i) in drop:
                    continue
                copies = 2 if (camera, k, i) in duplicate else 1
                msgs += [(s + 5_000_000, _risk(store, s, camera, k, i))] * copies  # published 5 ms later
        msgs += [(s, _risk(store, s, camera, 0, 0)) for cam, s in stray if cam == camera]
        streams[camera] = (topic, ACCIDENT_RISK, store, msgs)
    drop_topics = () if keep_camera else (DEFAULT_CAMERA_TOPIC,)
    bag_copier(src, dst, drop_topics=drop_topics, extra=list(streams.values()), storage=storage)
    return dst


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_risk_streams_align_to_labels_and_count_drops(tiny_clips, eval_bag, bag_copier, tmp_path, storage):
    stray_ns = eval_bag[1][0][-1] + 1_000_000_000  # in the gap after clip 0
    bag = _output_bag(
        bag_copier,
        eval_bag,
        tmp_path / "out",
        drop={("cam_front", 1, 3)},
        duplicate={("cam_rear", 2, 7)},
        stray=[("cam_front", stray_ns)],
        storage=storage,
    )
    rec = read_risk_bag(bag)
    assert rec.cameras == ["cam_front", "cam_rear"]
    assert [lab.clip_id for lab in rec.labels] == [c.clip_id for c in tiny_clips]
    assert rec.dropped == 1
    assert rec.unmatched == {"cam_front": 1}

    for camera in rec.cameras:
        clips = rec.for_camera(camera)
        assert [c.clip_id for c in clips] == [c.clip_id for c in tiny_clips]
        for k, (got, src) in enumerate(zip(clips, tiny_clips, strict=True)):
            assert (got.label, got.toa, got.fps, got.num_frames) == (int(src.positive), src.toa, src.fps, 8)
            assert got.stamps.tolist() == eval_bag[1][k]
            dropped = camera == "cam_front" and k == 1
            assert got.dropped == (1 if dropped else 0)
            assert got.duplicates == (1 if camera == "cam_rear" and k == 2 else 0)
            for i in range(8):
                if dropped and i == 3:
                    assert not got.received[i] and np.isnan(got.probability[i]) and np.isnan(got.tta[i])
                    assert not got.alert[i] and not got.state_reset[i]
                    continue
                v = _risk_values(k, i)
                assert got.received[i]
                assert got.probability[i] == np.float32(v["probability"])
                assert got.probability_smoothed[i] == np.float32(v["probability_smoothed"])
                assert got.level[i] == v["level"] and got.alert[i] == v["alert"]
                assert got.state_reset[i] == v["state_reset"] and got.latency_ms[i] == np.float32(
                    v["latency_ms"]
                )
                assert (
                    np.isnan(got.tta[i])
                    if math.isnan(v["time_to_accident"])
                    else got.tta[i] == v["time_to_accident"]
                )
                assert got.cause[i] == v["cause"] and got.out_of_domain[i] == v["out_of_domain"]
                assert got.domain_score[i] == v["domain_score"]
                assert (
                    np.isnan(got.cause_confidence[i])
                    if math.isnan(v["cause_confidence"])
                    else got.cause_confidence[i] == v["cause_confidence"]
                )
            assert got.cause_label == ("cut_in" if k == 0 else "")


def test_risk_frame_stamps_from_the_camera_topic(eval_bag, bag_copier, tmp_path):
    bag = _output_bag(bag_copier, eval_bag, tmp_path / "out", keep_camera=True, drop={("cam_rear", 0, 0)})
    by_label = read_risk_bag(bag)
    by_camera = read_risk_bag(bag, camera_topic=DEFAULT_CAMERA_TOPIC)
    assert by_camera.dropped == by_label.dropped == 1
    for a, b in zip(by_label.clips, by_camera.clips, strict=True):
        assert np.array_equal(a.stamps, b.stamps) and np.array_equal(a.received, b.received)
        assert np.array_equal(a.probability, b.probability, equal_nan=True)

    # a camera frame missing from the bag is an error in this mode, not a silent shift of frames
    bag_copier(
        eval_bag[0], tmp_path / "short", keep=lambda topic, i: not (topic == DEFAULT_CAMERA_TOPIC and i == 9)
    )
    with pytest.raises(BagError, match=r"'neg_0001' has 7 frames .* its label says 8"):
        read_risk_bag(tmp_path / "short", risk_topics=[], camera_topic=DEFAULT_CAMERA_TOPIC)


def test_risk_labels_and_frames_from_the_played_bag(eval_bag, bag_copier, tmp_path):
    """A recording with only the risk topics is aligned with the labels of the evaluation bag."""
    full = _output_bag(bag_copier, eval_bag, tmp_path / "full", drop={("cam_front", 2, 7)})
    bag_copier(full, tmp_path / "risk_only", drop_topics=(DEFAULT_LABEL_TOPIC,))
    with pytest.raises(BagError, match=r"topic '/accident_anticipation/ground_truth' not found"):
        read_risk_bag(tmp_path / "risk_only")
    for camera_topic in (None, DEFAULT_CAMERA_TOPIC):
        got = read_risk_bag(tmp_path / "risk_only", labels_bag=eval_bag[0], camera_topic=camera_topic)
        want = read_risk_bag(full)
        assert got.dropped == want.dropped == 1
        assert [lab.clip_id for lab in got.labels] == [lab.clip_id for lab in want.labels]
        for a, b in zip(got.clips, want.clips, strict=True):
            assert (a.camera, a.clip_id) == (b.camera, b.clip_id)
            assert np.array_equal(a.stamps, b.stamps) and np.array_equal(a.received, b.received)
            assert np.array_equal(a.probability, b.probability, equal_nan=True)


def test_risk_read_from_ros2_serialized_messages(eval_bag, bag_copier, tmp_path):
    """Risk bytes written by the real ROS 2 type support (what `ros2 bag record` stores) read back."""
    serialization = pytest.importorskip(
        "rclpy.serialization", reason="rclpy (ROS 2 Jazzy wheels) not installed"
    )
    try:
        from accident_anticipation_ros.msg import AccidentRisk
    except ImportError:
        pytest.skip("accident_anticipation_ros.msg not generated (needs the colcon build: make build)")
    from rosbags.rosbag2 import Reader, Writer

    store = get_package_typestore()
    rows = []
    for k, clip_stamps in enumerate(eval_bag[1]):
        for i, s in enumerate(clip_stamps):
            msg = AccidentRisk(camera="cam_front", **_risk_values(k, i))
            msg.header.stamp.sec, msg.header.stamp.nanosec = split_ns(s)
            rows.append((s, serialization.serialize_message(msg)))
    with Reader(eval_bag[0]) as reader, Writer(tmp_path / "out", version=9) as writer:
        label_conn = next(c for c in reader.connections if c.topic == DEFAULT_LABEL_TOPIC)
        out_label = writer.add_connection(DEFAULT_LABEL_TOPIC, label_conn.msgtype, typestore=store)
        for _, t, raw in reader.messages([label_conn]):
            writer.write(out_label, t, raw)
        risk_conn = writer.add_connection("/risk", ACCIDENT_RISK, typestore=store)
        for t, raw in rows:
            writer.write(risk_conn, t, raw)
    rec = read_risk_bag(tmp_path / "out")
    assert rec.dropped == 0 and rec.cameras == ["cam_front"]
    assert [c.probability.tolist() for c in rec.clips] == [
        [np.float32(_risk_values(k, i)["probability"]) for i in range(8)] for k in range(3)
    ]


def test_risk_bag_errors_name_what_is_there(eval_bag, bag_copier, tmp_path):
    with pytest.raises(
        BagError,
        match=r"no accident_anticipation_ros/msg/AccidentRisk topic; topics in the bag: "
        r"/accident_anticipation/ground_truth \[accident_anticipation_ros/msg/AccidentLabel\], "
        r"/camera/image_raw \[sensor_msgs/msg/Image\]",
    ):
        read_risk_bag(eval_bag[0])
    bag = _output_bag(bag_copier, eval_bag, tmp_path / "out")
    with pytest.raises(
        BagError, match=r"topic '/nope' not found; topics in the bag: .*/cam_front/accident_risk"
    ):
        read_risk_bag(bag, label_topic="/nope")
    with pytest.raises(
        BagError, match=r"topic '/accident_anticipation/ground_truth' has type .*AccidentLabel, expected "
    ):
        read_risk_bag(bag, risk_topics=[DEFAULT_LABEL_TOPIC])


def test_risk_recorded_with_another_definition_is_refused(eval_bag, bag_copier, tmp_path):
    """A bag from an older AccidentRisk (different fields) must not be decoded with today's layout."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    old = get_typestore(Stores.ROS2_JAZZY)
    old.register(get_types_from_msg("std_msgs/Header header\nfloat32 probability\n", ACCIDENT_RISK))
    msg = old.types[ACCIDENT_RISK](
        header=old.types["std_msgs/msg/Header"](
            stamp=old.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0), frame_id=""
        ),
        probability=0.5,
    )
    bag_copier(eval_bag[0], tmp_path / "old", extra=[("/risk", ACCIDENT_RISK, old, [(1, msg)])])
    with pytest.raises(BagError, match=r"'/risk' was recorded with another definition of .*AccidentRisk"):
        read_risk_bag(tmp_path / "old")


# ------------------------------------------------------------------------------------------ clips bags
def test_clip_with_a_missing_frame_is_an_error(eval_bag, bag_copier, tmp_path):
    bag_copier(
        eval_bag[0], tmp_path / "cut", keep=lambda topic, i: not (topic == DEFAULT_CAMERA_TOPIC and i == 20)
    )
    clips = read_clips_bag(tmp_path / "cut")
    assert next(clips).clip_id == "pos_0000"  # complete clips stream out before the problem is found
    with pytest.raises(
        BagError, match=r"clips with missing frames on '/camera/image_raw': 'pos_0002' \(7/8\)"
    ):
        list(clips)


def test_camera_topic_choice(eval_bag, bag_copier, tmp_path):
    store = get_package_typestore()
    frame = store.deserialize_cdr(_first_raw(eval_bag[0], DEFAULT_CAMERA_TOPIC), IMAGE)
    bag_copier(eval_bag[0], tmp_path / "two", extra=[("/overlay", IMAGE, store, [(1, frame)])])
    with pytest.raises(BagError, match=r"several image topics \(/camera/image_raw, /overlay\); pick one"):
        list(read_clips_bag(tmp_path / "two"))
    assert len(list(read_clips_bag(tmp_path / "two", camera_topic=DEFAULT_CAMERA_TOPIC))) == 3
    with pytest.raises(
        BagError, match=r"topic '/accident_anticipation/ground_truth' has type .*AccidentLabel, expected"
    ):
        list(read_clips_bag(tmp_path / "two", camera_topic=DEFAULT_LABEL_TOPIC))
    with pytest.raises(
        BagError, match=r"topic '/labels' not found; topics in the bag: /accident_anticipation/gro"
    ):
        list(read_clips_bag(tmp_path / "two", label_topic="/labels"))
    bag_copier(eval_bag[0], tmp_path / "none", drop_topics=(DEFAULT_CAMERA_TOPIC,))
    with pytest.raises(BagError, match=r"cannot pick the camera topic: no image topic"):
        list(read_clips_bag(tmp_path / "none"))


def _first_raw(bag, topic):
    from rosbags.rosbag2 import Reader

    with Reader(bag) as reader:
        conns = [c for c in reader.connections if c.topic == topic]
        return bytes(next(reader.messages(conns))[2])


def test_older_bag_versions_and_bare_storage_files_are_read(tiny_clips, eval_bag, bag_copier, tmp_path):
    bag_copier(eval_bag[0], tmp_path / "v8", version=8, storage="sqlite3")
    assert [c.clip_id for c in read_clips_bag(tmp_path / "v8")] == [c.clip_id for c in tiny_clips]
    # a recording that stopped before metadata.yaml was written: the .mcap alone
    shutil.copytree(eval_bag[0], tmp_path / "bare")
    (tmp_path / "bare" / "metadata.yaml").unlink()
    for path in (tmp_path / "bare", next((tmp_path / "bare").glob("*.mcap"))):
        got = list(read_clips_bag(path))
        assert all(np.array_equal(a.frames, b.frames) for a, b in zip(got, tiny_clips, strict=True))


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_truncated_bag_is_a_clear_error(tiny_clips, tmp_path, storage):
    write_clips_bag(tiny_clips, tmp_path / "bag", storage=storage)
    (data,) = [p for p in (tmp_path / "bag").iterdir() if p.suffix in (".mcap", ".db3")]
    size = data.stat().st_size
    with data.open("r+b") as f:
        f.truncate(size // 2)
    with pytest.raises(BagError, match=rf"bag {tmp_path / 'bag'}.*(truncated or corrupt)"):
        list(read_clips_bag(tmp_path / "bag"))
    with pytest.raises(BagError, match="truncated or corrupt"):
        read_risk_bag(tmp_path / "bag")


def test_corrupt_chunk_is_a_clear_error(tiny_clips, tmp_path):
    """A broken record inside an mcap chunk (index and footer intact) fails while reading messages."""
    write_clips_bag(tiny_clips, tmp_path / "bag")
    (mcap,) = (tmp_path / "bag").glob("*.mcap")
    data = bytearray(mcap.read_bytes())
    pos = 8 + 9 + struct.unpack_from("<Q", data, 9)[0]  # past the magic and the Header record
    assert data[pos] == 0x06, "expected the first Chunk record after the Header"
    body = pos + 9
    (compression_len,) = struct.unpack_from("<I", data, body + 28)
    first_inner = body + 32 + compression_len + 8  # chunk fields, compression string, records length
    data[first_inner + 1 : first_inner + 9] = b"\xff" * 8  # length of the first record in the chunk
    mcap.write_bytes(bytes(data))
    with pytest.raises(BagError, match=r"cannot read messages .*the file is truncated or corrupt"):
        list(read_clips_bag(tmp_path / "bag"))


def test_not_a_bag(tmp_path):
    with pytest.raises(BagError, match=r"does not exist"):
        list(read_clips_bag(tmp_path / "missing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(BagError, match=r"is not a rosbag2 bag: no metadata.yaml and no .mcap/.db3 files"):
        list(read_clips_bag(tmp_path / "empty"))
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(BagError, match=r"notes.txt is not a rosbag2 bag"):
        read_risk_bag(tmp_path / "notes.txt")
    (tmp_path / "junk.mcap").write_bytes(b"\x89MCAP0\r\n" + bytes(range(256)) * 4)
    with pytest.raises(BagError, match=r"junk.mcap.*truncated or corrupt"):
        list(read_clips_bag(tmp_path / "junk.mcap"))
    (tmp_path / "junk.db3").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(BagError, match=r"junk.db3.*truncated or corrupt"):
        list(read_clips_bag(tmp_path / "junk.db3"))


def test_bad_labels_are_refused(eval_bag, bag_copier, tmp_path):
    store = get_package_typestore()
    raw = _first_raw(eval_bag[0], DEFAULT_LABEL_TOPIC)

    inside = store.deserialize_cdr(raw, ACCIDENT_LABEL)
    inside.clip_id, inside.header.stamp.nanosec = "intruder", 300_000_000  # within pos_0000 (0.0 .. 0.7 s)
    bag_copier(
        eval_bag[0], tmp_path / "overlap", extra=[(DEFAULT_LABEL_TOPIC, ACCIDENT_LABEL, store, [(1, inside)])]
    )
    with pytest.raises(BagError, match=r"clips 'pos_0000' and 'intruder' overlap in time"):
        list(read_clips_bag(tmp_path / "overlap"))

    empty = store.deserialize_cdr(raw, ACCIDENT_LABEL)
    empty.clip_id, empty.num_frames, empty.header.stamp.sec = "empty", 0, 1_800_000_000
    bag_copier(
        eval_bag[0], tmp_path / "empty", extra=[(DEFAULT_LABEL_TOPIC, ACCIDENT_LABEL, store, [(1, empty)])]
    )
    with pytest.raises(BagError, match=r"label of clip 'empty': num_frames must be at least 1, got 0"):
        read_risk_bag(tmp_path / "empty")
