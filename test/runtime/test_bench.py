"""The benchmark CLI runs end to end on the tiny student and reports its keys (not a performance test)."""

from __future__ import annotations

import json

import pytest

from accident_anticipation_ros.runtime.bench import short, targets
from accident_anticipation_ros.tools.bench import main


def test_bench_json_on_tsd_test(tmp_path, capsys):
    pytest.importorskip("torch")  # the paired-model half of the benchmark
    out = tmp_path / "bench.json"
    argv = ["--json", "--out", str(out), "--models", "tsd-test", "--stream-model", "tsd-test"]
    argv += ["--paired-model", "tsd-test", "--stream-frames", "50", "--frames", "3", "--warmup", "1"]
    argv += [
        "--rounds",
        "2",
        "--skip-torch",
        "--skip-mci0",
        "--skip-matmul",
        "--threads",
        "1",
        "--clock",
        "thread",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads(out.read_text())
    for key in (
        "test_onnx_step_ms",
        "test_onnx_fps",
        "test_gflops",
        "test_params_m",
        "frame1000_over_frame10",
    ):
        assert printed[key] > 0, key
    assert printed["window16_gflops"] > 10 * printed["test_gflops"]  # 16 frames re-encoded per step
    assert printed["window16_over_recurrent"] > 1
    assert 0.001 < printed["test_params_m"] < 1.0  # tsd-test is tiny
    ratio = printed["frame1000_over_frame10_paired"]
    assert ratio > 0 and printed["target_constant_cost"] is (abs(ratio - 1.0) <= 0.1)  # within 10 %


def test_thread_clock_needs_one_thread(capsys):
    with pytest.raises(SystemExit):
        main(["--clock", "thread", "--threads", "2"])
    assert "use it with --threads 1" in capsys.readouterr().err


def test_key_names_and_targets():
    assert short("tsd-nano") == "nano" and short("tsd-s0") == "s0"
    r = {
        "nano_onnx_fps": 31.0,
        "s0_fraction_of_mci0_trunk": 0.6,
        "s0_fraction_of_matmul": 0.6,
        "frame1000_over_frame10_paired": 1.12,
        "window16_over_recurrent": 12.0,
        "window16_cached_over_recurrent": 0.9,
    }
    t = targets(r)
    assert t == {
        "target_nano_30fps": True,
        "target_s0_90pct_of_mci0_trunk": False,
        "target_s0_60pct_of_matmul": True,
        "target_constant_cost": False,
        "target_10x_cheaper_than_window16": True,
        "target_cheaper_than_cached_window": False,
    }
    assert all(type(v) is bool for v in t.values())
