"""Broken bags give one clear error naming the file: in the library (BagError) and in the tools
(``<prog>: error: ...`` on stderr, exit 1, no traceback). Every bag is written in tmp_path."""

from __future__ import annotations

import re

import pytest

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.bag.reader import read_clips_bag, read_risk_bag
from accident_anticipation_ros.bag.writer import write_clips_bag
from accident_anticipation_ros.tools import evaluate_bag as evaluate_bag_tool
from accident_anticipation_ros.tools import render as render_tool


def _data_file(bag):
    (data,) = [p for p in bag.iterdir() if p.suffix in (".mcap", ".db3")]
    return data


def _truncated(tiny_clips, tmp_path, storage="mcap"):
    bag = tmp_path / "truncated"
    write_clips_bag(tiny_clips, bag, storage=storage)
    data = _data_file(bag)
    with data.open("r+b") as f:
        f.truncate(data.stat().st_size // 3)
    return bag


def _unknown_storage(tiny_clips, tmp_path):
    bag = tmp_path / "unknown_storage"
    write_clips_bag(tiny_clips, bag)
    meta = bag / "metadata.yaml"
    meta.write_text(meta.read_text().replace("storage_identifier: mcap", "storage_identifier: hdf5"))
    assert "storage_identifier: hdf5" in meta.read_text()
    return bag


def _bad_cdr(tiny_clips, tmp_path, bag_copier, storage="mcap"):
    """Every camera frame's CDR replaced by bytes that are not an Image (index and chunks intact)."""
    src = tmp_path / "good"
    write_clips_bag(tiny_clips, src, storage=storage)
    bag = tmp_path / "bad_cdr"
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer

    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Reader(src) as reader, Writer(bag, version=9, storage_plugin=plugin) as writer:
        conns = {
            c.id: writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest)
            for c in reader.connections
        }
        for c, t, raw in reader.messages():
            if c.msgtype == "sensor_msgs/msg/Image":
                raw = b"\x00\x01\x00\x00" + b"\xff" * 11  # a CDR header, then a string length past the end
            writer.write(conns[c.id], t, bytes(raw))
    return bag


BROKEN = {
    "truncated": lambda clips, tmp, copier: _truncated(clips, tmp),
    "truncated_sqlite3": lambda clips, tmp, copier: _truncated(clips, tmp, "sqlite3"),
    "unknown_storage": lambda clips, tmp, copier: _unknown_storage(clips, tmp),
    "bad_cdr": lambda clips, tmp, copier: _bad_cdr(clips, tmp, copier),
    "bad_cdr_sqlite3": lambda clips, tmp, copier: _bad_cdr(clips, tmp, copier, "sqlite3"),
}
EXPECTED = {
    "truncated": "truncated or corrupt",
    "truncated_sqlite3": "truncated or corrupt",
    "unknown_storage": "storage 'hdf5' (storage_identifier in metadata.yaml) is not supported",
    "bad_cdr": "is not a valid sensor_msgs/msg/Image",
    "bad_cdr_sqlite3": "is not a valid sensor_msgs/msg/Image",
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_library_error_names_the_bag_and_the_problem(kind, tiny_clips, tmp_path, bag_copier):
    bag = BROKEN[kind](tiny_clips, tmp_path, bag_copier)
    with pytest.raises(BagError) as info:
        list(read_clips_bag(bag))
    assert str(bag) in str(info.value) and EXPECTED[kind] in str(info.value), str(info.value)


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_tools_print_one_error_line_naming_the_file(kind, tiny_clips, tmp_path, bag_copier, capsys):
    bag = BROKEN[kind](tiny_clips, tmp_path, bag_copier)
    if kind.startswith("bad_cdr"):  # the camera frames are not what evaluate-bag reads: break the labels
        bag = _bad_labels(bag, tmp_path)
    assert evaluate_bag_tool.main([str(bag), "--out", str(tmp_path / "report")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evaluate-bag: error: ") and str(bag) in err[0], err
    assert "Traceback" not in "\n".join(err)
    assert render_tool.main([str(bag), "--out", str(tmp_path / "v.gif")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("render: error: ") and str(bag) in err[0], err


def _bad_labels(src, tmp_path):
    """A copy of ``src`` whose label messages are undecodable CDR."""
    from rosbags.rosbag2 import Reader, Writer

    bag = tmp_path / "bad_labels"
    with Reader(src) as reader, Writer(bag, version=9) as writer:
        conns = {
            c.id: writer.add_connection(c.topic, c.msgtype, msgdef=c.msgdef.data, rihs01=c.digest)
            for c in reader.connections
        }
        for c, t, raw in reader.messages():
            if "AccidentLabel" in c.msgtype:
                raw = b"\x00\x01\x00\x00\xff\xff"
            writer.write(conns[c.id], t, bytes(raw))
    return bag


def test_risk_reader_reports_the_same(tiny_clips, tmp_path, bag_copier):
    for kind in ("truncated", "unknown_storage"):
        bag = BROKEN[kind](tiny_clips, tmp_path / kind, bag_copier)
        with pytest.raises(BagError, match=re.escape(EXPECTED[kind])):
            read_risk_bag(bag)
