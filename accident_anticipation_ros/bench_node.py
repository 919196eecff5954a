"""End-to-end latency of the running node, beside its raw step time.

One run, three measurements on the same frames:
1. the backend's raw ``step`` time in this process (the floor no node can beat);
2. transport: an echo process answers each image with its header, so publish -> reply measures DDS
   for the image plus a small message back (the node's path without the model);
3. end to end: the real ``anticipation_node`` process; publish -> AccidentRisk received here.
The node runs with its defaults (best-effort, depth 1); frames go out at ``rate`` Hz. This is the
library of ``accident-anticipation bench-node``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from accident_anticipation_ros.package_files import find_installed, installed_executable

LARGE_IMAGE_PROFILE = "share/config/fastdds_large_images.xml"  # shared-memory segments for images > 0.5 MB
ECHO = "from accident_anticipation_ros.bench_node import echo_images; echo_images()"  # the echo process


def large_image_profile() -> Path:
    """The package's Fast DDS profile for large images (``config/fastdds_large_images.xml``)."""
    return find_installed(LARGE_IMAGE_PROFILE, Path.is_file)


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


def run(
    model: Path, rate: float, seconds: float, width: int, height: int, fastdds_profile: Path | None = None
) -> dict:
    """Measure and return the JSON-able summary (see the module docstring).

    ``fastdds_profile``: Fast DDS XML profile for every process of the run (None: Fast DDS defaults);
    set in this process's environment before any participant exists.
    """
    if fastdds_profile is not None:
        os.environ["FASTRTPS_DEFAULT_PROFILES_FILE"] = str(Path(fastdds_profile).resolve())
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
        echo = subprocess.Popen([exe, "-c", ECHO], env=env, cwd=tmp)
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
        "fastdds_profile": Path(fastdds_profile).name if fastdds_profile is not None else "default",
    }


def echo_images() -> int:
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
