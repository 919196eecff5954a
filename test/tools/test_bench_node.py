"""bench-node runs end to end (a smoke test of the benchmark, not a timing assertion)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.ros


@pytest.mark.parametrize(
    "encoding, full_decode, threads",
    [("rgb8", False, (1, 0)), ("jpeg", False, (1, 0)), ("jpeg", True, (0, 1))],
)
def test_bench_node_reports_every_key(tmp_path, ros_env, monkeypatch, capsys, encoding, full_decode, threads):
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
                "--encoding",
                encoding,
                "--json",
                *(["--full-jpeg-decode"] if full_decode else []),
                "--opencv-threads",
                str(threads[0]),
                "--num-threads",
                str(threads[1]),
            ]
        )
        == 0
    )
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    for key in ("e2e_p50_ms", "e2e_p95_ms", "step_p50_ms", "transport_p50_ms", "processed_fps"):
        assert got[key] > 0, key
    cpu = (
        "alone_cpu_ms_per_frame",
        "alone_paced_cpu_ms_per_frame",
        "node_cpu_ms_per_frame",
        "echo_cpu_ms_per_frame",
    )
    for key in cpu:  # CPU per frame (/proc ticks of 10 ms: a 1 s run may count 0 for a process)
        assert got[key] >= 0, key
    assert got["node_cpu_ms_per_frame"] > 0 and got["alone_cpu_ms_per_frame"] > 0
    assert got["fastdds_profile"] == "fastdds_large_images.xml" and got["frame"] == f"160x120 {encoding}"
    assert (
        got["reduced_jpeg_decode"] is not full_decode
        and (got["opencv_threads"], got["num_threads"]) == threads
    )
    # No rate or delivery assertion (best effort, this machine's speed): the node's own accounting holds.
    received, processed = got["node_frames_received"], got["node_frames_processed"]
    assert 1 <= got["processed"] <= processed
    assert received == processed + got["node_frames_dropped"], got
    assert received + got["node_frames_lost_in_transport"] <= got["frames_sent"], got
    assert main(["--model", str(tmp_path / "missing.onnx")]) == 2
    assert main(["--model", str(model), "--opencv-threads", "-1"]) == 2
    assert main(["--model", str(model), "--num-threads", "-1"]) == 2


def test_bench_node_sends_real_dashcam_jpegs_as_they_are(tmp_path, ros_env, monkeypatch, capsys, real_dad):
    pytest.importorskip("torch")
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.tools.bench_node import main

    for key in ("ROS_DOMAIN_ID", "ROS_AUTOMATIC_DISCOVERY_RANGE"):
        monkeypatch.setenv(key, ros_env[key])
    monkeypatch.setenv("FASTRTPS_DEFAULT_PROFILES_FILE", "")
    model = tmp_path / "tiny.onnx"
    export_onnx(
        TSDStudent(get_config("tsd-test")).eval(), model, fps=10.0, mean=(0.5,) * 3, std=(0.25,) * 3, frames=2
    )
    clip = sorted(p for p in real_dad.iterdir() if p.is_dir())[0]
    args = ["--model", str(model), "--seconds", "1", "--rate", "20", "--frames", str(clip), "--json"]
    assert main(args) == 0
    got = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    files = sorted(clip.glob("*.jpg"))[:20]
    assert got["frame"] == "1280x720 jpeg" and got["frames_from"] == str(clip) and got["frames_sent"] == 20
    assert got["frame_bytes"] == int(sum(f.stat().st_size for f in files) / len(files))
    assert got["node_cpu_ms_per_frame"] > 0 and got["alone_decode_cpu_ms"] > 0
    received, processed = got["node_frames_received"], got["node_frames_processed"]
    assert 1 <= got["processed"] <= processed and received == processed + got["node_frames_dropped"], got
    assert main(["--model", str(model), "--frames", str(tmp_path / "absent")]) == 2
