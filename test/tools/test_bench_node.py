"""bench-node runs end to end (a smoke test of the benchmark, not a timing assertion)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ros


def test_bench_node_reports_every_key(tmp_path, ros_env, monkeypatch, capsys):
    pytest.importorskip("torch")
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.tools.bench_node import main

    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(key, ros_env[key])
    monkeypatch.setenv("FASTRTPS_DEFAULT_PROFILES_FILE", "")  # bench-node sets it; restored afterwards
    model = tmp_path / "tiny.onnx"
    export_onnx(
        TSDStudent(get_config("tsd-test")).eval(), model, fps=10.0, mean=(0.5,) * 3, std=(0.25,) * 3, frames=2
    )
    assert (
        main(
            [
                "--model",
                str(model),
                "--seconds",
                "1",
                "--rate",
                "20",
                "--width",
                "160",
                "--height",
                "120",
                "--json",
            ]
        )
        == 0
    )
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("e2e_p50_ms", "e2e_p95_ms", "step_p50_ms", "transport_p50_ms", "processed_fps"):
        assert got[key] > 0, key
    assert got["processed"] >= 15 and got["fastdds_profile"] == "fastdds_large_images.xml"
    assert main(["--model", str(tmp_path / "missing.onnx")]) == 2
