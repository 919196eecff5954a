"""End-to-end latency of the running node, beside its raw step time.

One run, three measurements on the same frames:
1. the backend's raw ``step`` time in this process (the floor no node can beat), and the CPU time
   (this process, all threads) of decoding the messages (``msg_to_rgb``), preprocessing and
   stepping them, each alone (:func:`alone_cpu_ms`);
2. transport: an echo process answers each image with its header, so publish -> reply measures DDS
   for the image plus a small message back (the node's path without the model);
3. end to end: the real ``anticipation_node`` process; publish -> AccidentRisk received here, and
   the node process's CPU time (``/proc/<pid>/stat``, all threads) over the phase per processed
   frame, against the sum of (1) (``node_cpu_over_alone``).
The node runs with its defaults (best-effort, depth 1); frames (rgb8 Image or JPEG CompressedImage;
random pixels, or real JPEG files sent as their own bytes with ``frames_dir``) go out at ``rate`` Hz
from a reliable publisher. The node's own accounting from /diagnostics is reported beside: frames
received, dropped (newest frame wins) and lost in transport (DDS ``message_lost``). This is the
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

from accident_anticipation_ros.dds_profile import PROFILE_VARS, without_profile
from accident_anticipation_ros.package_files import installed_executable
from accident_anticipation_ros.parameters import NodeParams
from accident_anticipation_ros.processes import stop_process

ECHO = "from accident_anticipation_ros.bench_node import echo_images; echo_images()"  # the echo process


def _frames(n: int, height: int, width: int) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
    return [np.roll(base, 7 * i, axis=1) for i in range(n)]


def jpeg_files(folder: Path, n: int) -> tuple[list[bytes], list[np.ndarray]]:
    """``n`` JPEG files of ``folder`` (searched recursively, in name order, repeated if fewer): their
    bytes as a camera driver would send them, and the decoded RGB frames for the raw step."""
    import cv2

    paths = sorted(Path(folder).rglob("*.jpg")) + sorted(Path(folder).rglob("*.jpeg"))
    if not paths:
        raise FileNotFoundError(f"no .jpg files under {folder}")
    paths = paths[:n]
    data = [path.read_bytes() for path in paths]  # each file read and decoded once, repeated below
    frames = []
    for path, raw in zip(paths, data, strict=True):
        bgr = cv2.imdecode(np.frombuffer(raw, np.uint8), cv2.IMREAD_COLOR)
        if bgr is None:
            raise ValueError(f"{path} is not a readable JPEG")
        frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    return [data[i % len(data)] for i in range(n)], [frames[i % len(frames)] for i in range(n)]


def alone_cpu_ms(
    model: Path,
    msgs: list,
    warmup: int = 5,
    period: float = 0.0,
    reduced_jpeg: bool = True,
    opencv_threads: int = 1,
    num_threads: int = 0,
) -> dict[str, float]:
    """CPU ms per frame (this process, all threads) of decoding, preprocessing and stepping ``msgs``,
    each timed alone, with the node's backend settings; ``period`` > 0 paces the frames at that
    interval (s) as a camera does (cold caches, idle backend threads woken per frame), 0 runs them
    back to back. JPEGs are decoded as the node decodes them (its ``reduced_jpeg_decode``), with its
    ``opencv_threads``; ``num_threads`` is its ONNX Runtime intra-op threads (0: the default)."""
    from accident_anticipation_ros.conversions import msg_to_rgb, set_opencv_threads
    from accident_anticipation_ros.pipeline import decode_min_size
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor

    set_opencv_threads(opencv_threads)
    backend = create_backend(model, "onnxruntime", **_backend_options(num_threads))
    pre = Preprocessor(backend.info)
    min_size = decode_min_size(pre, reduced_jpeg)
    state = backend.init_state()
    spent = {"decode": 0.0, "preprocess": 0.0, "step": 0.0}
    clock = time.process_time
    for i, msg in enumerate(msgs):
        c0 = clock()
        rgb = msg_to_rgb(msg, min_size)
        c1 = clock()
        image = pre(rgb)
        c2 = clock()
        _, state = backend.step(image, state)
        c3 = clock()
        if i >= warmup:
            for key, value in zip(spent, (c1 - c0, c2 - c1, c3 - c2), strict=True):
                spent[key] += value
        if period > 0:
            time.sleep(period)
    backend.close()
    frames = max(len(msgs) - warmup, 1)
    return {key: value * 1e3 / frames for key, value in spent.items()}


def _backend_options(num_threads: int) -> dict[str, object]:
    """The backend options the node passes on ONNX Runtime with its defaults and ``num_threads``."""
    return NodeParams(backend="onnxruntime", num_threads=num_threads).backend_options()


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (all its threads; Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def raw_step_ms(model: Path, frames: list[np.ndarray], num_threads: int = 0) -> np.ndarray:
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor

    backend = create_backend(model, "onnxruntime", **_backend_options(num_threads))
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


ENCODINGS = ("rgb8", "jpeg")


def _topic(encoding: str) -> str:
    return "/bench/image_raw/compressed" if encoding == "jpeg" else "/bench/image_raw"


def run(
    model: Path,
    rate: float,
    seconds: float,
    width: int,
    height: int,
    fastdds_profile: Path | None = None,
    encoding: str = "rgb8",
    frames_dir: Path | None = None,
    reduced_jpeg: bool = True,
    opencv_threads: int = 1,
    num_threads: int = 0,
) -> dict:
    """Measure and return the JSON-able summary (see the module docstring).

    Args:
        model: ONNX model the node runs.
        rate: Camera rate (Hz) of the publisher.
        seconds: Length of each phase.
        width: Frame width.
        height: Frame height.
        fastdds_profile: Fast DDS XML profile for every process of the run (None: Fast DDS defaults);
            set in this process's environment before any participant exists.
        encoding: ``rgb8`` (sensor_msgs/Image) or ``jpeg`` (CompressedImage on ``.../compressed``).
        frames_dir: Real JPEG files to send instead of random pixels (implies ``jpeg``; the size is the
            files', ``width`` and ``height`` are ignored).
        reduced_jpeg: The node's ``reduced_jpeg_decode`` (and the alone baseline's decoding).
        opencv_threads: The node's ``opencv_threads`` (and the alone baseline's).
        num_threads: The node's ``num_threads`` (and the raw step's and the alone baseline's).
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {encoding!r}")
    if fastdds_profile is not None:
        os.environ.update({var: str(Path(fastdds_profile).resolve()) for var in PROFILE_VARS})
    else:
        without_profile(os.environ)
    import cv2
    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header

    from accident_anticipation_ros.conversions import rgb_to_image
    from accident_anticipation_ros.msg import AccidentRisk

    n = max(20, int(rate * seconds))
    if frames_dir is not None:
        encoding = "jpeg"
        jpegs, frames = jpeg_files(frames_dir, n)
        height, width = frames[0].shape[:2]
    else:
        jpegs, frames = None, _frames(n, height, width)
    step = raw_step_ms(model, frames, num_threads)
    topic = _topic(encoding)

    env = dict(os.environ, ROS_AUTOMATIC_DISCOVERY_RANGE="LOCALHOST")
    env.setdefault("ROS_DOMAIN_ID", str(1 + os.getpid() % 100))
    context = Context()
    rclpy.init(context=context, domain_id=int(env["ROS_DOMAIN_ID"]))
    node = rclpy.create_node("bench_node_client", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    sent: dict[int, float] = {}
    arrived: dict[int, float] = {}
    node_totals: dict[str, str] = {}

    def on_reply(msg) -> None:
        arrived[msg.header.stamp.sec if hasattr(msg, "header") else msg.stamp.sec] = time.perf_counter()

    def on_diagnostics(msg) -> None:
        for status in msg.status:
            if status.hardware_id == "bench":
                node_totals.update({kv.key: kv.value for kv in status.values})

    if jpegs is not None:
        image_cls = CompressedImage
        msgs = [CompressedImage(format="jpeg", data=data) for data in jpegs]
    elif encoding == "jpeg":
        image_cls = CompressedImage
        msgs = []
        for f in frames:
            ok, buf = cv2.imencode(".jpg", cv2.cvtColor(f, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
            msgs.append(CompressedImage(format="jpeg", data=buf.tobytes()))
    else:
        image_cls = Image
        msgs = [rgb_to_image(f, encoding="rgb8") for f in frames]
    settings = {"reduced_jpeg": reduced_jpeg, "opencv_threads": opencv_threads, "num_threads": num_threads}
    alone = alone_cpu_ms(model, msgs, **settings)
    paced = alone_cpu_ms(
        model,
        msgs[: max(20, int(rate * min(seconds, 5.0)))],
        period=1.0 / rate,
        **settings,
    )
    pub = node.create_publisher(image_cls, topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.RELIABLE))
    node.create_subscription(Header, "/bench/echo", on_reply, 100)
    node.create_subscription(AccidentRisk, "/accident_anticipation/bench/risk", on_reply, 100)
    node.create_subscription(DiagnosticArray, "/diagnostics", on_diagnostics, 10)

    cpu_spent: dict[str, float] = {}

    def phase(proc: subprocess.Popen, wait_topic: str) -> tuple[np.ndarray, int]:
        deadline = time.monotonic() + 60
        while node.count_subscribers(topic) == 0 or node.count_publishers(wait_topic) == 0:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"bench-node: {proc.args[2:]} did not come up (exit code {proc.poll()})")
            executor.spin_once(timeout_sec=0.05)
        time.sleep(1.0)  # discovery settles both ways
        idle0, t0 = process_cpu_s(proc.pid), time.perf_counter()
        while time.perf_counter() < t0 + 2.0:  # the process's CPU with no frames (timers, DDS)
            executor.spin_once(timeout_sec=0.05)
        cpu_spent["idle " + wait_topic] = (process_cpu_s(proc.pid) - idle0) / (time.perf_counter() - t0)
        sent.clear()
        arrived.clear()
        cpu0 = process_cpu_s(proc.pid)
        period, start = 1.0 / rate, time.perf_counter()
        for i, msg in enumerate(msgs):
            msg.header.stamp.sec, msg.header.stamp.nanosec = 1000 + i, 0
            sent[1000 + i] = time.perf_counter()
            pub.publish(msg)
            while time.perf_counter() < start + (i + 1) * period:
                executor.spin_once(timeout_sec=max(0.0, start + (i + 1) * period - time.perf_counter()))
        end = time.perf_counter() + 2.0  # replies drain; the node's diagnostics (1 s period) catch up
        last, count, drained = time.perf_counter(), len(arrived), None
        while time.perf_counter() < end:
            executor.spin_once(timeout_sec=0.05)
            if len(arrived) != count:
                last, count = time.perf_counter(), len(arrived)
            elif drained is None and time.perf_counter() - last > 0.3:  # replies have stopped coming
                drained = process_cpu_s(proc.pid) - cpu0
        cpu_spent[wait_topic] = drained if drained is not None else process_cpu_s(proc.pid) - cpu0
        lat = [(arrived[k] - sent[k]) * 1e3 for k in sorted(arrived) if k in sent]
        return np.asarray(lat[5:]), len(lat)

    exe = sys.executable
    with tempfile.TemporaryDirectory() as tmp:
        echo = subprocess.Popen([exe, "-c", ECHO, encoding], env=env, cwd=tmp)
        try:
            transport, echoed = phase(echo, "/bench/echo")
        finally:
            stop_process(echo, 10.0)
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
            f"camera_topics:=['{topic}']",
            "-p",
            "overlay_rate:=0.0",
            "-p",
            f"reduced_jpeg_decode:={str(reduced_jpeg).lower()}",
            "-p",
            f"opencv_threads:={opencv_threads}",
            "-p",
            f"num_threads:={num_threads}",
        ]
        log = open(Path(tmp) / "node.log", "w")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([exe, str(node_exe), *params], env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            e2e, processed = phase(proc, "/accident_anticipation/bench/risk")
        finally:
            stop_process(proc)
            log.close()
    executor.shutdown()
    node.destroy_node()
    rclpy.try_shutdown(context=context)

    def pct(a: np.ndarray, q: float) -> float:
        return float(np.percentile(a, q)) if a.size else float("nan")

    def total(key: str) -> int:
        return int(node_totals.get(key, -1))

    step_p50, transport_p50, e2e_p50 = pct(step, 50), pct(transport, 50), pct(e2e, 50)
    alone_sum, paced_sum = sum(alone.values()), sum(paced.values())
    node_cpu = 1e3 * cpu_spent["/accident_anticipation/bench/risk"] / max(processed, 1)
    return {
        "model": model.name,
        "reduced_jpeg_decode": reduced_jpeg,
        "opencv_threads": opencv_threads,
        "num_threads": num_threads,
        "input_hz": rate,
        "frame": f"{width}x{height} {encoding}",
        "frame_bytes": int(np.mean([len(m.data) for m in msgs])),
        "frames_from": str(frames_dir) if frames_dir is not None else "random pixels",
        "frames_sent": n,
        "step_p50_ms": step_p50,
        "step_p95_ms": pct(step, 95),
        "transport_echoed": echoed,
        "transport_p50_ms": transport_p50,
        "transport_p95_ms": pct(transport, 95),
        "e2e_p50_ms": e2e_p50,
        "e2e_p95_ms": pct(e2e, 95),
        "processed": processed,
        "processed_fps": processed / (n / rate),
        # the node's own accounting (its last /diagnostics; -1 if none arrived)
        "node_frames_received": total("frames_received"),
        "node_frames_processed": total("frames_processed"),
        "node_frames_dropped": total("frames_dropped"),
        "node_frames_lost_in_transport": total("frames_lost_in_transport"),
        "node_frames_missing_by_stamp": total("frames_missing_by_stamp"),
        "e2e_over_step_plus_transport": e2e_p50 / (step_p50 + transport_p50),
        # CPU per frame: the node process over the phase / processed frames, against decode +
        # preprocess + step measured alone in this process (all threads of each process counted)
        "alone_decode_cpu_ms": alone["decode"],
        "alone_preprocess_cpu_ms": alone["preprocess"],
        "alone_step_cpu_ms": alone["step"],
        "alone_cpu_ms_per_frame": alone_sum,
        "alone_paced_step_cpu_ms": paced["step"],
        "alone_paced_cpu_ms_per_frame": paced_sum,
        "node_cpu_ms_per_frame": node_cpu,
        "node_cpu_over_alone": node_cpu / alone_sum if alone_sum > 0 else float("nan"),
        "node_cpu_over_alone_paced": node_cpu / paced_sum if paced_sum > 0 else float("nan"),
        # the echo process (receives each image in rclpy, publishes its header): ROS's share
        "echo_cpu_ms_per_frame": 1e3 * cpu_spent["/bench/echo"] / max(echoed, 1),
        "node_idle_cpu_ms_per_s": 1e3 * cpu_spent["idle /accident_anticipation/bench/risk"],
        "e2e_p95_over_p50": pct(e2e, 95) / e2e_p50,
        "fastdds_profile": Path(fastdds_profile).name if fastdds_profile is not None else "default",
    }


def echo_images() -> int:
    """Answer every image on the bench topic with its header on /bench/echo (the transport baseline).

    ``sys.argv[1]`` is the encoding (``rgb8`` or ``jpeg``), as :func:`run` starts it.
    """
    import rclpy
    from rclpy.executors import ExternalShutdownException
    from rclpy.qos import QoSProfile, ReliabilityPolicy
    from sensor_msgs.msg import CompressedImage, Image
    from std_msgs.msg import Header

    encoding = sys.argv[1] if len(sys.argv) > 1 else "rgb8"
    rclpy.init()
    node = rclpy.create_node("bench_node_echo")
    pub = node.create_publisher(Header, "/bench/echo", 100)
    node.create_subscription(
        CompressedImage if encoding == "jpeg" else Image,
        _topic(encoding),
        lambda m: pub.publish(m.header),
        QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT),
    )
    with contextlib.suppress(KeyboardInterrupt, ExternalShutdownException):
        rclpy.spin(node)
    rclpy.try_shutdown()
    return 0
