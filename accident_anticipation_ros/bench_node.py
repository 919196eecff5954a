"""``accident-anticipation bench-node``: end-to-end latency of the running node, beside its raw step time.

One run, three measurements on the same frames:
1. the backend's raw ``step`` time in this process (the floor no node can beat);
2. transport: an echo process answers each image with its header, so publish -> reply measures DDS
   for the image plus a small message back (the node's path without the model);
3. end to end: the real ``anticipation_node`` process; publish -> AccidentRisk received here.
The node runs with its defaults (best-effort, depth 1); frames go out at ``--rate`` Hz.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from accident_anticipation_ros.executables import installed_executable

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "tsd-nano.onnx"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation bench-node", description=__doc__.splitlines()[0])
    p.add_argument("--model", default=None, help=f"ONNX model (default: the shipped {DEFAULT_MODEL.name})")
    p.add_argument("--rate", type=float, default=30.0, help="camera rate in Hz (default 30)")
    p.add_argument("--seconds", type=float, default=10.0, help="measurement length per phase (default 10)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument(
        "--fastdds-profile",
        default=None,
        help="Fast DDS XML profile for every process of the run (default: the package's "
        "config/fastdds_large_images.xml, shared-memory segments for images > 0.5 MB; 'none' to use Fast DDS defaults)",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--echo", action="store_true", help=argparse.SUPPRESS)  # internal: the transport echo
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.echo:
        return _echo()
    model = Path(args.model) if args.model else DEFAULT_MODEL
    if not model.exists():
        print(f"bench-node: model {model} not found; pass --model MODEL.onnx", file=sys.stderr)
        return 2
    profile = None if args.fastdds_profile == "none" else Path(args.fastdds_profile or _large_image_profile())
    if profile is not None:
        if not profile.is_file():
            print(f"bench-node: Fast DDS profile {profile} not found", file=sys.stderr)
            return 2
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(profile.resolve())  # before any participant exists
    result = run(model, args.rate, args.seconds, args.width, args.height)
    result["fastdds_profile"] = profile.name if profile is not None else "default"
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<24}{value:.3f}" if isinstance(value, float) else f"{key:<24}{value}")
    return 0


def _large_image_profile() -> Path:
    candidates = [Path(__file__).resolve().parents[1] / "config" / "fastdds_large_images.xml"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(
                Path(prefix) / "share" / "accident_anticipation_ros" / "config" / "fastdds_large_images.xml"
            )
    return next((c for c in candidates if c.is_file()), candidates[0])


def _frames(n: int, height: int, width: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return [np.roll(base, 7 * i, axis=1) for i in range(n)]


def raw_step_ms(model: Path, frames: list[np.ndarray]) -> np.ndarray:
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor

    backend = create_backend(model, "onnxruntime")
    pre = Preprocessor(backend.info)
    state = backend.init_state()
    times = []
    for i, frame in enumerate(frames):
        image = pre(frame)
        t0 = time.perf_counter()
        _, state = backend.step(image, state)
        if i >= 5:
            times.append((time.perf_counter() - t0) * 1e3)
    backend.close()
    return np.asarray(times)


def run(model: Path, rate: float, seconds: float, width: int, height: int) -> dict:
    """Measure and return the JSON-able summary (see the module docstring)."""
    import rclpy
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    from accident_anticipation_ros.conversions import rgb_to_image
    from accident_anticipation_ros.msg import AccidentRisk

    n = max(20, int(rate * seconds))
    frames = _frames(n, height, width)
    step = raw_step_ms(model, frames)

    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    context = Context()
    rclpy.init(context=context, domain_id=int(env["ROS_DOMAIN_ID"]))
    node = rclpy.create_node("bench_node_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}

    def on_reply(msg) -> None:
        arrived[msg.header.stamp.sec if hasattr(msg, "header") else msg.stamp.sec] = time.perf_counter()

    pub = node.create_publisher(
        Image, "/bench/image_raw", QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE)
    )
    node.create_subscription(Header, "/bench/echo", on_reply, 100)
    node.create_subscription(AccidentRisk, "/accident_anticipation/bench/risk", on_reply, 100)
    msgs = [rgb_to_image(f, encoding="rgb8") for f in frames]

    def phase(proc: subprocess.Popen, wait_topic: str) -> tuple[np.ndarray, int]:
        deadline = time.monotonic() + 60
        while node.count_subscribers("/bench/image_raw") == 0 or node.count_publishers(wait_topic) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench-node: {proc.args[2:]} did not come up (exit code {proc.poll()})")
            executor.spin_once(timeout_sec=0.05)
        time.sleep(1.0)  # discovery settles both ways
        sent.clear()
        arrived.clear()
        period, start = 1.0 / rate, time.perf_counter()
        for i, msg in enumerate(msgs):
            msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + i, 0
            sent[1000 + i] = time.perf_counter()
            pub.publish(msg)
            while time.perf_counter() < start + (i + 1) * period:
                executor.spin_once(timeout_sec=max(0.0, start + (i + 1) * period - time.perf_counter()))
        end = time.perf_counter() + 2.0
        while time.perf_counter() < end:
            executor.spin_once(timeout_sec=0.05)
        lat = [(arrived[k] - sent[k]) * 1e3 for k in sorted(arrived) if k in sent]
        return np.asarray(lat[5:]), len(lat)

    exe = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        echo = subprocess.Popen(
            [exe, "-m", "accident_anticipation_ros.cli", "bench-node", "--echo"], env=env, cwd=tmp
        )
        try:
            transport, _ = phase(echo, "/bench/echo")
        finally:
            echo.terminate()
            echo.wait(10)
        node_exe = installed_executable()
        params = [
            "--ros-args",
            "-r",
            "__node:=accident_anticipation",
            "-p",
            f"model_path:={model.resolve()}",
            "-p",
            "backend:=onnxruntime",
            "-p",
            "camera_topics:=['/bench/image_raw']",
            "-p",
            "overlay_rate:=0.0",
        ]
        log = open(Path(tmp) / "node.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([exe, str(node_exe), *params], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            e2e, processed = phase(proc, "/accident_anticipation/bench/risk")
        finally:
            proc.terminate()
            proc.wait(15)
            log.close()
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)

    def pct(a: np.ndarray, q: float) -> float:
        return float(np.percentile(a, q)) if a.size else float("nan")

    step_p50, transport_p50, e2e_p50 = pct(step, 50), pct(transport, 50), pct(e2e, 50)
    return {
        "model": model.name,
        "input_hz": rate,
        "frame": f"{width}x{height} rgb8",
        "frames_sent": n,
        "step_p50_ms": step_p50,
        "step_p95_ms": pct(step, 95),
        "transport_p50_ms": transport_p50,
        "transport_p95_ms": pct(transport, 95),
        "e2e_p50_ms": e2e_p50,
        "e2e_p95_ms": pct(e2e, 95),
        "processed": processed,
        "processed_fps": processed / (n / rate),
        "e2e_over_step_plus_transport": e2e_p50 / (step_p50 + transport_p50),
        "e2e_p95_over_p50": pct(e2e, 95) / e2e_p50,
    }


def _echo() -> int:
    """Answer every image on /bench/image_raw with its header on /bench/echo (the transport baseline)."""
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import Image
    from std_msgs.msg import Header

    rclpy.init()
    node = rclpy.create_node("bench_node_echo")
    pub = node.create_publisher(Header, "/bench/echo", 100)
    node.create_subscription(
        Image,
        "/bench/image_raw",
        lambda m: pub.publish(m.header),
        QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
    )
    with contextlib.suppress(KeyboardInterrupt, ExternalShutdownException):
        rclpy.spin(node)
    rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
