"""``accident-anticipation evaluate --stream``: a tiny drive and a chained clip set through StreamSession."""

from __future__ import annotations

import json

import numpy as np
import pytest

from accident_anticipation_ros.tools.cli import main as top_main

pytest.importorskip("onnxruntime")
torch = pytest.importorskip("torch")

WINDOWS = ["--before", "1.5", "--after", "0.5", "--margin", "0.5"]


@pytest.fixture(scope="module")
def student(tmp_path_factory):
    """A randomly initialised ``tsd-test`` checkpoint and its ONNX export."""
    from accident_anticipation_ros.model.checkpoint import save_checkpoint
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent

    folder = tmp_path_factory.mktemp("tsd_test")
    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test"))
    meta = {"fps": 10.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    weights, _ = save_checkpoint(model, folder / "tsd-test", meta)
    export_onnx(weights, folder / "tsd-test.onnx", frames=2)
    return weights, folder / "tsd-test.onnx"


@pytest.fixture(scope="module")
def drive(tmp_path_factory):
    root = tmp_path_factory.mktemp("drive") / "d"
    argv = ["synth", "--drive", "--out", str(root), "--size", "32", "--minutes", "0.5", "--lead-in", "2,3"]
    assert top_main([*argv, "--safe-gap", "3,4", "--accident-fraction", "0.5", "--seed", "4"]) == 0
    return root


def test_stream_run_is_one_session_and_windows_run_fresh(student, drive):
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.stream_metrics import WindowSpec, event_windows, truth_from_drive
    from accident_anticipation_ros.training.stream_evaluate import _session, run_stream
    from accident_anticipation_ros.training.synth.drive_storage import (
        iter_drive_clips,
        read_drive,
        read_frames,
    )

    truth = truth_from_drive(read_drive(drive), read_frames(drive))
    windows = event_windows(truth, WindowSpec(before=1.5, after=0.5, margin=0.5)).windows
    assert any(w.positive for w in windows)
    frames = np.concatenate([c.frames for c in iter_drive_clips(drive)])
    backend = create_backend(student[1], "onnxruntime", threads=1)
    out = run_stream(backend, iter(frames), len(frames), truth.fps, windows)
    assert np.flatnonzero(out.state_reset).tolist() == [0]
    session = _session(backend, True)  # the same stream by hand
    by_hand = [session.step(f, k / truth.fps, "rgb8") for k, f in enumerate(frames)]
    assert np.array_equal(out.probability, [r.probability for r in by_hand])
    assert np.array_equal(out.alert, [r.alert for r in by_hand])
    w = windows[0]
    fresh = _session(backend, True)
    alone = [fresh.step(frames[k], k / truth.fps, "rgb8").probability for k in range(w.start, w.end)]
    assert np.array_equal(out.fresh[0], alone)
    assert not np.array_equal(out.fresh[0], out.probability[w.start : w.end])  # carried state differs


def test_cli_stream_report_on_a_drive_with_model_or_checkpoint(student, drive, capsys):
    weights, onnx = student
    assert (
        top_main(["evaluate", "--stream", "--model", str(onnx), "--data", str(drive), *WINDOWS, "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert report["resets"] == 1 and report["steps"] == report["frames"]
    assert report["windows"]["accident"] == report["accidents"] - report["windows_skipped"] >= 1
    for block in ("stream", "fresh"):
        assert 0.0 <= report[block]["ap"] <= 1.0
    assert set(report["lead_share"]) == {"0.5", "1.0", "2.0"}
    assert report["map_truth"]["chance"] == 1 / report["map_truth"]["cells"]
    assert report["map_truth"]["frames"] > 0
    argv = ["evaluate", "--stream", "--checkpoint", str(weights), "--data", str(drive), *WINDOWS, "--json"]
    assert top_main(argv) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["stream"]["ap"] == pytest.approx(report["stream"]["ap"], abs=1e-6)
    assert top_main(["evaluate", "--stream", "--model", str(onnx), "--data", str(drive), *WINDOWS]) == 0
    text = capsys.readouterr().out
    assert (
        "evenly spaced" in text and "alerts per hour of safe driving" in text and "risk map top cell" in text
    )


def test_cli_stream_chains_a_clip_set(student, tmp_path, capsys):
    data = tmp_path / "set"
    argv = ["synth", "--out", str(data), "--clips", "4", "--size", "32", "--split-fractions", "0,0,1"]
    assert top_main([*argv, "--seed", "1"]) == 0
    capsys.readouterr()
    argv = ["evaluate", "--stream", "--model", str(student[1]), "--data", str(data), "--json"]
    assert top_main(argv) == 0
    cut = json.loads(capsys.readouterr().out)
    assert top_main([*argv, "--aftermath"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert cut["clips"] == kept["clips"] == 4 and cut["resets"] == kept["resets"] == 1
    assert cut["fresh"]["ap"] == pytest.approx(kept["fresh"]["ap"])  # fresh: scored before toa either way


def test_cli_stream_needs_one_model(tmp_path, capsys):
    assert top_main(["evaluate", "--stream", "--data", str(tmp_path)]) == 2
    assert "exactly one of --model" in capsys.readouterr().err


def test_cli_streams_a_gru_checkpoint_through_the_student_backend(drive, tmp_path, capsys):
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.stream_metrics import WindowSpec
    from accident_anticipation_ros.training.checkpoint import save_student
    from accident_anticipation_ros.training.gru_student import build_student
    from accident_anticipation_ros.training.stream_evaluate import evaluate_drive_stream
    from accident_anticipation_ros.training.student_backend import StudentBackend

    torch.manual_seed(0)
    meta = {"fps": 10.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
    weights, _ = save_student(build_student("gru", get_config("tsd-test")), tmp_path / "gru", meta)
    argv = ["evaluate", "--stream", "--checkpoint", str(weights), "--data", str(drive), *WINDOWS, "--json"]
    assert top_main(argv) == 0
    out = capsys.readouterr()
    assert "GRU student, streamed in PyTorch" in out.err
    report = json.loads(out.out)
    lib = evaluate_drive_stream(
        StudentBackend(weights, threads=1), drive, WindowSpec(before=1.5, after=0.5, margin=0.5)
    )
    assert report["stream"]["ap"] == pytest.approx(lib["stream"]["ap"]) and report["resets"] == 1
