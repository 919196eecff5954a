"""What `ros2 bag play` (Jazzy) needs from a bag, checked without the ros2 CLI.

- RIHS01 type hashes: rosbags' values vs the ones ROS 2 Jazzy declares (the sensor_msgs wheel's
  ``share/sensor_msgs/msg/*.json``) and vs what rosidl generates for this package's ``.msg`` files
  (rosidl_adapter + rosidl_generator_type_description, the generators ``rosidl_generate_interfaces``
  runs; and the colcon install's JSON where a build exists).
- metadata.yaml (version 9, cdr, hashes, QoS in the v9 string form), the mcap records parsed by an
  independent reader below (ros2 profile, ros2msg schemas whose text re-hashes to the official hash,
  channel QoS), the sqlite3 tables.
- The message bytes deserialize with the real ROS 2 type support (rclpy.serialization), which is
  what a subscriber of `ros2 bag play` does with them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from rosbags.rosbag2 import Reader, Writer
from rosbags.typesys import Stores, get_types_from_msg, get_typestore

from accident_anticipation_ros.bag.reader import read_clips_bag
from accident_anticipation_ros.bag.types import (
    ACCIDENT_LABEL,
    COMPRESSED_IMAGE,
    IMAGE,
    MESSAGES,
    PACKAGE,
    find_msg_dir,
    get_package_typestore,
)
from accident_anticipation_ros.bag.writer import DEFAULT_CAMERA_TOPIC, DEFAULT_LABEL_TOPIC, write_clips_bag

OURS = [f"{PACKAGE}/msg/{name}" for name in MESSAGES]
# rmw_qos_*_policy_to_str values that rosbag2 (v9 metadata) decodes
RMW_STRINGS = {
    "history": {"keep_last", "keep_all", "system_default"},
    "reliability": {"reliable", "best_effort", "system_default"},
    "durability": {"volatile", "transient_local", "system_default"},
    "liveliness": {"automatic", "manual_by_topic", "system_default"},
}


def _share_dirs() -> list[Path]:
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    return [Path(p) / "share" for p in prefixes] + [Path(sys.prefix) / "share"]


def _declared_hash(type_name: str) -> str:
    """RIHS01 hash of ``pkg/msg/Name`` from the type description JSON a ROS 2 install ships."""
    pkg, _, name = type_name.split("/")
    for share in _share_dirs():
        path = share / pkg / "msg" / f"{name}.json"
        if path.is_file():
            hashes = json.loads(path.read_text())["type_hashes"]
            return next(h["hash_string"] for h in hashes if h["type_name"] == type_name)
    pytest.skip(f"no ROS 2 type description {pkg}/msg/{name}.json in {[str(s) for s in _share_dirs()]}")


@pytest.fixture(scope="module")
def rosidl_hashes(tmp_path_factory) -> dict[str, str]:
    """RIHS01 hashes rosidl generates for this package's .msg files (the colcon build's generators)."""
    msg_adapter = pytest.importorskip(
        "rosidl_adapter.msg", reason="rosidl_adapter (ROS 2 wheels) not installed"
    )
    generator = pytest.importorskip(
        "rosidl_generator_type_description", reason="rosidl_generator_type_description not installed"
    )
    out = tmp_path_factory.mktemp("rosidl")
    pkg_dir = find_msg_dir().parent
    includes = []
    for dep in ("std_msgs", "builtin_interfaces"):
        share = next((s / dep for s in _share_dirs() if (s / dep / "msg").is_dir()), None)
        if share is None:
            pytest.skip(f"no share/{dep} with type descriptions found")
        includes.append(f"{dep}:{share}")
    tuples = []
    for name in MESSAGES:
        idl = msg_adapter.convert_msg_to_idl(
            pkg_dir, PACKAGE, Path("msg") / f"{name}.msg", out / "idl" / "msg"
        )
        tuples.append(f"{out / 'idl'}:msg/{idl.name}")
    args = out / "args.json"
    args.write_text(
        json.dumps(
            {
                "package_name": PACKAGE,
                "output_dir": str(out / "json"),
                "idl_tuples": tuples,
                "include_paths": includes,
            }
        )
    )
    hashes = {}
    for path in generator.generate_type_hash(str(args)):
        top = json.loads(Path(path).read_text())["type_hashes"][0]
        hashes[top["type_name"]] = top["hash_string"]
    return hashes


def _official_hash(type_name: str, rosidl_hashes: dict[str, str]) -> str:
    return rosidl_hashes[type_name] if type_name.startswith(PACKAGE) else _declared_hash(type_name)


# ------------------------------------------------------------------------------------------ type hashes
@pytest.mark.parametrize("type_name", [IMAGE, COMPRESSED_IMAGE, "std_msgs/msg/Header"])
def test_rosbags_hash_equals_ros2_jazzy_wheel(type_name):
    assert get_package_typestore().hash_rihs01(type_name) == _declared_hash(type_name)


@pytest.mark.parametrize("type_name", OURS)
def test_rosbags_hash_of_our_messages_equals_rosidl(type_name, rosidl_hashes):
    assert get_package_typestore().hash_rihs01(type_name) == rosidl_hashes[type_name]


@pytest.mark.parametrize("type_name", OURS)
def test_rosbags_hash_of_our_messages_equals_colcon_build(type_name):
    name = type_name.rsplit("/", 1)[1]
    shares = _share_dirs()
    found = [
        s / PACKAGE / "msg" / f"{name}.json"
        for s in shares
        if (s / PACKAGE / "msg" / f"{name}.json").is_file()
    ]
    if not found:
        pytest.skip(
            f"no colcon build of {PACKAGE} (no {name}.json under AMENT_PREFIX_PATH: source scripts/env.sh)"
        )
    declared = json.loads(found[0].read_text())["type_hashes"][0]
    assert declared["type_name"] == type_name
    assert get_package_typestore().hash_rihs01(type_name) == declared["hash_string"], found[0]


# ------------------------------------------------------------------------------------------- metadata
@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
@pytest.mark.parametrize("compressed", [False, True])
def test_metadata_yaml_is_rosbag2_v9(tiny_clips, tmp_path, storage, compressed, rosidl_hashes):
    info = write_clips_bag(tiny_clips, tmp_path / "bag", storage=storage, compressed=compressed)
    meta = yaml.safe_load((tmp_path / "bag" / "metadata.yaml").read_text())["rosbag2_bagfile_information"]
    assert meta["version"] == 9
    assert meta["storage_identifier"] == storage
    assert meta["message_count"] == 27
    suffix = ".mcap" if storage == "mcap" else ".db3"
    assert [Path(p).suffix for p in meta["relative_file_paths"]] == [suffix]
    assert (tmp_path / "bag" / meta["relative_file_paths"][0]).is_file()
    image_type = COMPRESSED_IMAGE if compressed else IMAGE
    topics = {t["topic_metadata"]["name"]: t for t in meta["topics_with_message_count"]}
    assert set(topics) == {info.camera_topic, DEFAULT_LABEL_TOPIC}
    for topic, msgtype, count in [
        (info.camera_topic, image_type, 24),
        (DEFAULT_LABEL_TOPIC, ACCIDENT_LABEL, 3),
    ]:
        tm = topics[topic]["topic_metadata"]
        assert topics[topic]["message_count"] == count
        assert tm["type"] == msgtype
        assert tm["serialization_format"] == "cdr"
        assert tm["type_description_hash"] == _official_hash(msgtype, rosidl_hashes)
        _check_qos(tm["offered_qos_profiles"])


def _check_qos(profiles) -> None:
    assert isinstance(profiles, list) and len(profiles) == 1
    qos = profiles[0]
    for key, allowed in RMW_STRINGS.items():
        assert qos[key] in allowed, (key, qos[key])
    assert (qos["reliability"], qos["durability"], qos["history"], qos["depth"]) == (
        "reliable",
        "volatile",
        "keep_last",
        10,
    )
    for key in ("deadline", "lifespan", "liveliness_lease_duration"):
        assert set(qos[key]) == {"sec", "nsec"}
    assert qos["avoid_ros_namespace_conventions"] is False


# ---------------------------------------------------------------------------------- mcap, independently
def _string(buf: bytes, pos: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<I", buf, pos)
    return buf[pos + 4 : pos + 4 + n].decode(), pos + 4 + n


def _string_map(buf: bytes, pos: int) -> tuple[dict[str, str], int]:
    (n,) = struct.unpack_from("<I", buf, pos)
    end, pos, out = pos + 4 + n, pos + 4, {}
    while pos < end:
        key, pos = _string(buf, pos)
        out[key], pos = _string(buf, pos)
    return out, end


def _mcap_top_level_records(path: Path) -> list[tuple[int, bytes]]:
    """(opcode, body) of the top-level records of an MCAP file (spec: mcap.dev/spec)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89MCAP0\r\n" and data[-8:] == b"\x89MCAP0\r\n"
    records, pos = [], 8
    while pos < len(data) - 8:
        op, n = data[pos], struct.unpack_from("<Q", data, pos + 1)[0]
        records.append((op, data[pos + 9 : pos + 9 + n]))
        pos += 9 + n
    return records


def test_mcap_records_follow_the_ros2_profile(tiny_clips, tmp_path, rosidl_hashes):
    write_clips_bag(tiny_clips, tmp_path / "bag", storage="mcap")
    (mcap,) = (tmp_path / "bag").glob("*.mcap")
    records = _mcap_top_level_records(mcap)

    header = next(body for op, body in records if op == 0x01)
    assert _string(header, 0)[0] == "ros2"

    schemas = {}
    for op, body in records:
        if op == 0x03:  # Schema: id, name, encoding, data
            (sid,) = struct.unpack_from("<H", body, 0)
            name, pos = _string(body, 2)
            encoding, pos = _string(body, pos)
            (n,) = struct.unpack_from("<I", body, pos)
            schemas[sid] = (name, encoding, body[pos + 4 : pos + 4 + n].decode())
    assert {name for name, _, _ in schemas.values()} == {IMAGE, ACCIDENT_LABEL}
    for name, encoding, text in schemas.values():
        assert encoding == "ros2msg"
        # the full concatenated definition: the type, then every nested type after a MSG: separator
        assert "=" * 80 + "\nMSG: std_msgs/Header\n" in text and "\nMSG: builtin_interfaces/Time\n" in text
        fresh = get_typestore(Stores.EMPTY)
        fresh.register(get_types_from_msg(text, name))
        assert fresh.hash_rihs01(name) == _official_hash(name, rosidl_hashes), name

    channels = {}
    for op, body in records:
        if op == 0x04:  # Channel: id, schema id, topic, message encoding, metadata
            _, schema_id = struct.unpack_from("<HH", body, 0)
            topic, pos = _string(body, 4)
            encoding, pos = _string(body, pos)
            channels[topic] = (schemas[schema_id][0], encoding, _string_map(body, pos)[0])
    assert set(channels) == {DEFAULT_CAMERA_TOPIC, DEFAULT_LABEL_TOPIC}
    for topic, (schema_name, encoding, metadata) in channels.items():
        assert encoding == "cdr"
        assert schema_name == (IMAGE if topic == DEFAULT_CAMERA_TOPIC else ACCIDENT_LABEL)
        _check_qos(yaml.safe_load(metadata["offered_qos_profiles"]))

    metadata = [_string_map(body, _string(body, 0)[1])[0] for op, body in records if op == 0x0C]
    (rosbag2,) = [m for m in metadata if "serialized_metadata" in m]
    assert yaml.safe_load(rosbag2["serialized_metadata"])["version"] == 9


def test_sqlite3_tables_hold_definitions_and_hashes(tiny_clips, tmp_path, rosidl_hashes):
    write_clips_bag(tiny_clips, tmp_path / "bag", storage="sqlite3")
    (db,) = (tmp_path / "bag").glob("*.db3")
    con = sqlite3.connect(db)
    try:
        topics = con.execute(
            "SELECT name, type, serialization_format, offered_qos_profiles, type_description_hash FROM topics"
        ).fetchall()
        definitions = con.execute(
            "SELECT topic_type, encoding, encoded_message_definition, type_description_hash FROM message_definitions"
        ).fetchall()
        (version,) = con.execute("SELECT metadata_version FROM metadata").fetchone()
    finally:
        con.close()
    assert version == 9
    assert {(name, typ) for name, typ, *_ in topics} == {
        (DEFAULT_CAMERA_TOPIC, IMAGE),
        (DEFAULT_LABEL_TOPIC, ACCIDENT_LABEL),
    }
    for _, typ, fmt, qos, digest in topics:
        assert fmt == "cdr" and digest == _official_hash(typ, rosidl_hashes)
        _check_qos(yaml.safe_load(qos))
    assert {d[0] for d in definitions} == {IMAGE, ACCIDENT_LABEL}
    for typ, encoding, text, digest in definitions:
        assert encoding == "ros2msg" and digest == _official_hash(typ, rosidl_hashes)
        fresh = get_typestore(Stores.EMPTY)
        fresh.register(get_types_from_msg(text, typ))
        assert fresh.hash_rihs01(typ) == digest


# ------------------------------------------------------------------------ bytes vs the real type support
@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_image_bytes_deserialize_with_ros2_type_support(tiny_clips, tmp_path, storage):
    serialization = pytest.importorskip(
        "rclpy.serialization", reason="rclpy (ROS 2 Jazzy wheels) not installed"
    )
    sensor_msgs = pytest.importorskip("sensor_msgs.msg")
    write_clips_bag(tiny_clips, tmp_path / "bag", storage=storage)
    frames = np.concatenate([c.frames for c in tiny_clips])
    with Reader(tmp_path / "bag") as reader:
        conns = [c for c in reader.connections if c.topic == DEFAULT_CAMERA_TOPIC]
        raws = [bytes(raw) for _, _, raw in reader.messages(conns)]
    got = [serialization.deserialize_message(raw, sensor_msgs.Image) for raw in raws]
    assert len(got) == len(frames)
    # same CDR layout as the ROS 2 type support writes (byte equality fails only on padding, which
    # Fast-CDR leaves uninitialised)
    assert all(
        len(serialization.serialize_message(msg)) == len(raw) for msg, raw in zip(got, raws, strict=True)
    )
    for msg, frame in zip(got, frames, strict=True):
        assert (msg.height, msg.width, msg.encoding, msg.step, msg.is_bigendian) == (32, 32, "rgb8", 96, 0)
        assert np.array_equal(np.frombuffer(bytes(msg.data), np.uint8).reshape(32, 32, 3), frame)


def test_label_bytes_deserialize_with_the_built_message(tiny_clips, tmp_path):
    serialization = pytest.importorskip(
        "rclpy.serialization", reason="rclpy (ROS 2 Jazzy wheels) not installed"
    )
    try:
        from accident_anticipation_ros.msg import AccidentLabel
    except ImportError:
        pytest.skip("accident_anticipation_ros.msg not generated (needs the colcon build: make build)")
    write_clips_bag(tiny_clips, tmp_path / "bag")
    with Reader(tmp_path / "bag") as reader:
        conns = [c for c in reader.connections if c.topic == DEFAULT_LABEL_TOPIC]
        raws = [bytes(raw) for _, _, raw in reader.messages(conns)]
    got = [serialization.deserialize_message(raw, AccidentLabel) for raw in raws]
    assert all(
        len(serialization.serialize_message(msg)) == len(raw) for msg, raw in zip(got, raws, strict=True)
    )
    assert [m.clip_id for m in got] == [c.clip_id for c in tiny_clips]
    assert [m.label for m in got] == [int(c.positive) for c in tiny_clips]
    assert [m.num_frames for m in got] == [8, 8, 8]
    assert [m.caption for m in got] == [c.caption for c in tiny_clips]
    assert [m.cause for m in got] == ["cut_in", "", ""]


def test_frames_serialized_by_ros2_type_support_read_back(tiny_clips, tmp_path):
    """Image bytes as `ros2 bag record` stores them (serialized by the real type support) read back exactly."""
    serialization = pytest.importorskip(
        "rclpy.serialization", reason="rclpy (ROS 2 Jazzy wheels) not installed"
    )
    pytest.importorskip("sensor_msgs.msg")
    from accident_anticipation_ros.conversions import rgb_to_image

    write_clips_bag(tiny_clips, tmp_path / "ours")
    store = get_package_typestore()
    with Reader(tmp_path / "ours") as reader, Writer(tmp_path / "recorded", version=9) as writer:
        out = {
            c.topic: writer.add_connection(c.topic, c.msgtype, typestore=store) for c in reader.connections
        }
        for conn, t, raw in reader.messages():
            if conn.topic == DEFAULT_CAMERA_TOPIC:
                ours = store.deserialize_cdr(raw, IMAGE)
                msg = rgb_to_image(np.asarray(ours.data).reshape(ours.height, ours.width, 3))
                msg.header.stamp.sec, msg.header.stamp.nanosec = (
                    ours.header.stamp.sec,
                    ours.header.stamp.nanosec,
                )
                msg.header.frame_id = ours.header.frame_id
                raw = serialization.serialize_message(msg)
            writer.write(out[conn.topic], t, raw)
    back = list(read_clips_bag(tmp_path / "recorded"))
    assert [c.clip_id for c in back] == [c.clip_id for c in tiny_clips]
    for got, src in zip(back, tiny_clips, strict=True):
        assert np.array_equal(got.frames, src.frames)
