"""Soak the real node: 2 cameras x 30 Hz for N minutes; RSS growth, latency p50/p99 per block, drops.

    source scripts/env.sh && python benchmarks/soak.py --minutes 30            # the full soak
    python benchmarks/soak.py --minutes 3 --block-minutes 1 --out soak.json     # a short one

Not part of the test suite. Frames (``--width`` x ``--height`` rgb8, moving) go out from this process
on ``/soak_<k>/image_raw`` at ``--rate`` Hz per camera over a reliable publisher; the installed
``anticipation_node`` runs with its defaults (best effort, depth 1, newest frame wins). Latency is
publish -> AccidentRisk received here, keyed by (camera, stamp). Per block: latency p50/p99, frames
sent and answered, the frames the node's fps alignment steps over by design (a 30 Hz camera into the
10 fps model: two in three; told from the stamps by ``runtime.frame_rate.stepped_mask``), the node's
dropped count (from AccidentRisk.frames_dropped), and the node's RSS (from /proc) at the block's end.
Totals come from the node's /diagnostics (``frames_decimated`` is the node's own count).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def soak(
    model: Path, minutes: float, block_minutes: float, rate: float, cameras: int, width: int, height: int
) -> dict:
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image

    from accident_anticipation_ros.conversions import rgb_to_image
    from accident_anticipation_ros.dds_profile import apply_default_profile
    from accident_anticipation_ros.msg import AccidentRisk
    from accident_anticipation_ros.package_files import installed_executable
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.frame_rate import stepped_mask
    from accident_anticipation_ros.stamps import ns_to_seconds

    engine = create_backend(model, "onnxruntime")
    model_fps = engine.info.fps  # what the node aligns the cameras to
    engine.close()

    # Frames of 0.9 MB need the package's Fast DDS shared-memory profile (unless one is set already).
    profile_line = apply_default_profile(os.environ)
    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    names = [f"soak_{k}" for k in range(cameras)]
    topics = [f"/{n}/image_raw" for n in names]
    context = Context()
    rclpy.init(context=context, domain_id=int(env["ROS_DOMAIN_ID"]))
    node = rclpy.create_node("soak_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    sent: dict[tuple[str, int], float] = {}
    answers: list[tuple[str, int, float, int]] = []  # camera, stamp ns, arrival, frames_dropped
    diags: dict[str, dict[str, str]] = {}

    def on_risk(msg) -> None:
        answers.append(
            (
                msg.camera,
                msg.header.stamp.sec * 10**9 + msg.header.stamp.nanosec,
                time.perf_counter(),
                msg.frames_dropped,
            )
        )

    def on_diag(msg) -> None:
        for s in msg.status:
            diags[s.hardware_id] = {kv.key: kv.value for kv in s.values}

    pubs = [
        node.create_publisher(Image, t, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
        for t in topics
    ]
    for n in names:
        node.create_subscription(AccidentRisk, f"/accident_anticipation/{n}/risk", on_risk, 100)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diag, 10)

    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    msgs = [rgb_to_image(np.roll(base, 5 * i, axis=1), encoding="rgb8") for i in range(30)]
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "node.log", "w")  # noqa: SIM115 - closed below
        args = [
            "--ros-args",
            "-p", f"model_path:={model.resolve()}",
            "-p", "backend:=onnxruntime",
            "-p", "camera_topics:=[" + ",".join(f"'{t}'" for t in topics) + "]",
            "-p", "overlay_rate:=0.0",
        ]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, str(installed_executable()), *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 120
            while any(node.count_subscribers(t) == 0 for t in topics):
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the node did not come up:\n{(Path(tmp) / 'node.log').read_text()}")
                executor.spin_once(timeout_sec=0.05)
            time.sleep(1.0)
            rss_start = _rss_mb(proc.pid)
            stamps = [
                ns_to_seconds(10**12 + int(i * (1.0 / rate) * 1e9)) for i in range(int(minutes * 60 * rate))
            ]
            steps = stepped_mask(stamps, model_fps)
            blocks, block_s = [], block_minutes * 60
            period, start = 1.0 / rate, time.perf_counter()
            n_total = int(minutes * 60 * rate)
            block_end, block_first = start + block_s, 0
            for i in range(n_total):
                stamp_ns = 10**12 + int(i * period * 1e9)
                for name, pub in zip(names, pubs, strict=True):
                    msg = msgs[i % len(msgs)]
                    msg.header.stamp.sec, msg.header.stamp.nanosec = divmod(stamp_ns, 10**9)
                    sent[(name, stamp_ns)] = time.perf_counter()
                    pub.publish(msg)
                while (now := time.perf_counter()) < start + (i + 1) * period:
                    executor.spin_once(timeout_sec=max(0.0, start + (i + 1) * period - now))
                last_frame = i == n_total - 1
                if last_frame or (time.perf_counter() >= block_end and n_total - i > rate):  # no stub block
                    blocks.append(
                        _block(
                            len(blocks), block_first, i + 1, sent, answers, _rss_mb(proc.pid), period, steps
                        )
                    )
                    print(json.dumps(blocks[-1]), flush=True)
                    block_end, block_first = block_end + block_s, i + 1
            end = time.perf_counter() + 3.0
            while time.perf_counter() < end:
                executor.spin_once(timeout_sec=0.05)
            rss_end = _rss_mb(proc.pid)
        finally:
            proc.terminate()
            proc.wait(15)
            log.close()
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)
    return {
        "model": model.name,
        "minutes": minutes,
        "cameras": cameras,
        "rate_hz": rate,
        "frame": f"{width}x{height} rgb8",
        "fastdds_profile": profile_line,
        "frames_sent": len(sent),
        "answered": len(answers),
        "rss_start_mb": rss_start,
        "rss_end_mb": rss_end,
        "rss_growth_mb": rss_end - rss_start,
        "node_totals": {
            cam: {k: v for k, v in d.items() if k.startswith("frames_") or k == "bad_frames"}
            for cam, d in diags.items()
        },
        "blocks": blocks,
    }


def _block(index, first, last, sent, answers, rss_mb, period, steps) -> dict:
    lo_ns, hi_ns = 10**12 + int(first * period * 1e9), 10**12 + int((last - 1) * period * 1e9)
    mine = [(c, s, t, d) for c, s, t, d in answers if lo_ns <= s <= hi_ns]
    lat = [(t - sent[(c, s)]) * 1e3 for c, s, t, _ in mine if (c, s) in sent]
    cameras = len({k[0] for k in sent})
    frames = (last - first) * cameras
    decimated = (last - first - sum(steps[first:last])) * cameras
    return {
        "block": index,
        "frames_sent": frames,
        "answered": len(mine),
        "decimated_by_design": decimated,
        "dropped_by_node": int(sum(d for *_, d in mine)),
        "unanswered": frames - decimated - len(mine),
        "latency_p50_ms": round(_pct(lat, 50), 2),
        "latency_p99_ms": round(_pct(lat, 99), 2),
        "rss_mb": round(rss_mb, 1),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=REPO / "models" / "tsd-nano.onnx")
    p.add_argument("--minutes", type=float, default=30.0)
    p.add_argument("--block-minutes", type=float, default=5.0)
    p.add_argument("--rate", type=float, default=30.0, help="frames per second per camera")
    p.add_argument("--cameras", type=int, default=2)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--out", type=Path, default=None, help="write the summary JSON here")
    a = p.parse_args(argv)
    summary = soak(a.model, a.minutes, a.block_minutes, a.rate, a.cameras, a.width, a.height)
    text = json.dumps(summary, indent=2)
    print(text)
    if a.out:
        a.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
