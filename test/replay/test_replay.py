"""replay over real DDS against the offline session, and its errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from rosbags.rosbag2 import Reader, StoragePlugin, Writer

from accident_anticipation_ros.bag.reader import read_risk_bag
from accident_anticipation_ros.bag.types import get_package_typestore
from accident_anticipation_ros.evaluate_bag import evaluate_bags
from accident_anticipation_ros.replay import replay_dds, replay_offline
from accident_anticipation_ros.stamps import to_ns
from accident_anticipation_ros.tools.evaluate_bag import main as evaluate_main
from accident_anticipation_ros.tools.replay import main

pytestmark = pytest.mark.ros


def corrupt_copy(src, dst, index: int):
    """``src`` rewritten with camera frame ``index`` given an unsupported encoding; (bag, its stamp ns)."""
    store = get_package_typestore()
    stamp, frame = None, 0
    with Reader(src) as reader, Writer(dst, version=9, storage_plugin=StoragePlugin.MCAP) as writer:
        conns = {c.id: writer.add_connection(c.topic, c.msgtype, typestore=store) for c in reader.connections}
        for conn, t, raw in reader.messages():
            if conn.msgtype == "sensor_msgs/msg/Image":
                if frame == index:
                    msg = store.deserialize_cdr(raw, conn.msgtype)
                    msg.encoding, stamp = "bayer_xyz16", to_ns(msg.header.stamp)
                    raw = store.serialize_cdr(msg, conn.msgtype)
                frame += 1
            writer.write(conns[conn.id], t, raw)
    return dst, stamp


def test_replay_over_dds_answers_every_frame_and_matches_offline(
    eval_bag, nano_onnx, tmp_path, ros_env, monkeypatch
):
    """Reliable end to end and paced by the node's answers: a lossless evaluation, whatever the load."""
    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(key, ros_env[key])
    offline = replay_offline(eval_bag, tmp_path / "offline", nano_onnx, overlay=True)
    dds = replay_dds(eval_bag, tmp_path / "dds", rate=4.0, model=nano_onnx)
    assert offline.frames == dds.frames == 80
    assert offline.risk_messages == 80 and offline.overlays == 80 and offline.missing == ()
    assert dds.risk_messages == 80 and dds.dropped == 0 and dds.missing == (), dds
    log = (tmp_path / "dds.node.log").read_text()
    assert "fastdds_large_images.xml" in log  # the started node runs with the package's profile
    a, b = read_risk_bag(tmp_path / "dds"), read_risk_bag(tmp_path / "offline")
    assert [c.clip_id for c in a.clips] == [c.clip_id for c in b.clips] and a.dropped == 0
    for ca, cb in zip(a.clips, b.clips, strict=True):
        # Every clip starts with a reset (the writer leaves a gap longer than max_gap between clips).
        assert ca.state_reset[0] and cb.state_reset[0]
        # The same frames through the same session: the same numbers.
        np.testing.assert_allclose(ca.probability, cb.probability, rtol=1e-5, atol=1e-6)
    m_dds = evaluate_bags([tmp_path / "dds"]).metrics
    m_off = evaluate_bags([tmp_path / "offline"]).metrics
    for key in m_off:
        assert m_dds[key] == pytest.approx(m_off[key], abs=1e-6), key


def test_a_corrupt_frame_is_listed_with_its_clip_and_stamp(
    eval_bag, nano_onnx, tmp_path, ros_env, monkeypatch, capsys
):
    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(key, ros_env[key])
    bag, stamp = corrupt_copy(eval_bag, tmp_path / "corrupt", index=25)  # clip1, frame 5
    offline = replay_offline(bag, tmp_path / "offline", nano_onnx)
    assert main([str(bag), "--out", str(tmp_path / "dds"), "--model", nano_onnx, "--rate", "4"]) == 0
    out = capsys.readouterr().out
    assert "1 of 80 frames without an answer" in out
    assert f"clip clip1 stamp {stamp} ns: conversion error: " in out and "bayer_xyz16" in out, out
    listing = json.loads((tmp_path / "dds.missing.json").read_text())
    assert len(listing) == 1 and listing[0]["clip"] == "clip1" and listing[0]["stamp_ns"] == stamp
    assert [(m.clip, m.stamp_ns) for m in offline.missing] == [("clip1", stamp)]
    assert offline.missing[0].reason == listing[0]["reason"]
    # The frame has no AccidentRisk, so evaluate-bag reports it missing and fails at --max-missing 0.
    assert evaluate_main([str(tmp_path / "dds"), "--out", str(tmp_path / "report")]) == 1
    assert "clip1" in capsys.readouterr().err


def test_a_30_fps_bag_is_decimated_alike_offline_and_over_dds(
    eval_bag_30fps, nano_onnx, tmp_path, ros_env, monkeypatch
):
    """Into the 10 fps model both paths step frames 0, 3, ..., 18 of every 20-frame clip, the same numbers.

    The frames between get no AccidentRisk by design: the DDS replay foresees them (the node's rule
    from its AnticipationInfo), so the lockstep does not wait on them, and neither the replay nor
    evaluate-bag counts them missing.
    """
    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(key, ros_env[key])
    offline = replay_offline(eval_bag_30fps, tmp_path / "offline", nano_onnx)
    dds = replay_dds(eval_bag_30fps, tmp_path / "dds", rate=1.0, model=nano_onnx, answer_timeout=60.0)
    assert offline.frames == dds.frames == 80
    assert offline.risk_messages == 28 and offline.decimated == 52 and offline.missing == (), offline
    # Every frame the model steps is answered. A decimated frame may still be replaced in the node's slot
    # by the next one while the worker publishes the previous answer's overlay (a loaded machine): the
    # node counts it as dropped; it would have been skipped anyway, so the same frames step.
    assert dds.risk_messages == 28 and dds.decimated == 52 and dds.missing == (), dds
    assert dds.dropped <= dds.decimated, dds
    a, b = read_risk_bag(tmp_path / "dds"), read_risk_bag(tmp_path / "offline")
    assert a.dropped == b.dropped == 0  # evaluate-bag: no frame that should have an answer lacks one
    for ca, cb in zip(a.clips, b.clips, strict=True):
        stepped = np.flatnonzero(cb.received)
        assert stepped.tolist() == list(range(0, 20, 3))
        assert cb.state_reset[stepped].tolist() == [True] + [False] * 6
        assert (ca.decimated == ~ca.received).all() and cb.num_decimated == 13
        np.testing.assert_array_equal(ca.received, cb.received)
        np.testing.assert_allclose(ca.probability[stepped], cb.probability[stepped], rtol=1e-5, atol=1e-6)
    for name in ("dds", "offline"):
        assert evaluate_main([str(tmp_path / name), "--out", str(tmp_path / f"report_{name}")]) == 0
        summary = json.loads((tmp_path / f"report_{name}" / "metrics.json").read_text())
        assert summary["missing_frames"] == 0 and summary["decimated_frames"] == 52, summary


def test_replay_errors_are_clear(eval_bag, nano_onnx, tmp_path, capsys):
    def run(bag, *extra) -> int:
        return main([str(bag), "--out", str(tmp_path / f"out{len(list(tmp_path.iterdir()))}"), *extra])

    missing = tmp_path / "missing"
    assert run(missing, "--offline", "--model", nano_onnx) == 1
    assert f"bag {missing} does not exist" in capsys.readouterr().err
    assert run(eval_bag, "--offline", "--model", str(tmp_path / "x.onnx")) == 1
    assert "x.onnx does not exist" in capsys.readouterr().err
    assert run(eval_bag, "--offline") == 2
    assert "--offline needs --model" in capsys.readouterr().err
    assert run(eval_bag, "--camera-topic", "/nope", "--offline", "--model", nano_onnx) == 1
    err = capsys.readouterr().err
    assert "/nope" in err and "/camera/image_raw" in err, err
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"  # under a regular file: cannot be created
    assert main([str(eval_bag), "--out", str(out), "--offline", "--model", nano_onnx]) == 1
    assert capsys.readouterr().err.startswith("replay: error: ")


def test_replay_without_a_node_times_out_with_advice(eval_bag, tmp_path, ros_env, monkeypatch, capsys):
    monkeypatch.setenv("ROS_DOMAIN_ID", ros_env["ROS_DOMAIN_ID"])
    assert main([str(eval_bag), "--out", str(tmp_path / "o"), "--timeout", "1"]) == 1
    assert "start anticipation_node" in capsys.readouterr().err
