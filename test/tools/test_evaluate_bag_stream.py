"""``evaluate-bag --stream``: a drive written as one continuous bag, replayed offline, scored as a stream."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from accident_anticipation_ros.tools.cli import main as top_main

SHIPPED = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"
pytestmark = pytest.mark.skipif(not SHIPPED.is_file(), reason="shipped model missing")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("accident_anticipation_ros.training.synth", reason="training not installed")
    from accident_anticipation_ros.replay import replay_offline

    tmp = tmp_path_factory.mktemp("stream")
    drive = tmp / "drive"
    argv = ["synth", "--drive", "--out", str(drive), "--size", "32", "--minutes", "0.5", "--lead-in", "2,3"]
    assert top_main([*argv, "--safe-gap", "3,4", "--accident-fraction", "0.5", "--seed", "4"]) == 0
    assert top_main(["bag-from-clips", str(drive), "--out", str(tmp / "bag")]) == 0
    replay_offline(tmp / "bag", tmp / "run", SHIPPED)
    return drive, tmp / "run"


def test_stream_section_matches_the_session_run(replayed, tmp_path, capsys):
    from accident_anticipation_ros.stream_metrics import WindowSpec
    from accident_anticipation_ros.training.stream_evaluate import evaluate_drive_stream

    drive, run = replayed
    capsys.readouterr()
    argv = [
        "evaluate-bag",
        str(run),
        "--out",
        str(tmp_path / "rep"),
        "--stream",
        "--drive",
        str(drive),
        "--json",
    ]
    assert top_main(argv) == 0
    stream = json.loads(capsys.readouterr().out)["stream"]
    assert json.loads((tmp_path / "rep" / "stream.json").read_text()) == stream
    assert (stream["resets"], stream["dropped"], stream["truth"]) == (1, 0, "given")
    lib = evaluate_drive_stream(SHIPPED, drive, WindowSpec(), fresh=False)
    assert stream["windows"] == lib["windows"] and stream["accidents"] == lib["accidents"] >= 1
    assert stream["alerts"] == lib["alerts"] and stream["lead_share"] == lib["lead_share"]
    assert stream["stream"]["ap"] == pytest.approx(lib["stream"]["ap"], abs=1e-3)  # float32 in the message
    # from the labels alone the near miss counts as safe driving: no near-miss window
    assert top_main(["evaluate-bag", str(run), "--out", str(tmp_path / "rep2"), "--stream", "--json"]) == 0
    labels_only = json.loads(capsys.readouterr().out)["stream"]
    assert labels_only["truth"] == "labels" and labels_only["windows"]["near_miss"] == 0
    assert labels_only["accidents"] == lib["accidents"]
    assert top_main(["evaluate-bag", str(run), "--out", str(tmp_path / "rep3"), "--stream"]) == 0
    assert "## Streaming" in capsys.readouterr().out


def test_a_bag_with_gaps_is_not_a_stream(tmp_path, capsys):
    pytest.importorskip("onnxruntime")
    from accident_anticipation_ros.replay import replay_offline

    clips = tmp_path / "set"
    assert (
        top_main(["synth", "--out", str(clips), "--clips", "2", "--size", "32", "--split-fractions", "0,0,1"])
        == 0
    )
    assert top_main(["bag-from-clips", str(clips), "--out", str(tmp_path / "gaps")]) == 0
    replay_offline(tmp_path / "gaps", tmp_path / "run", SHIPPED)
    capsys.readouterr()
    assert top_main(["evaluate-bag", str(tmp_path / "run"), "--out", str(tmp_path / "r"), "--stream"]) == 1
    assert "not one continuous stream" in capsys.readouterr().err
