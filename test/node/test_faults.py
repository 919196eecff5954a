"""Faults survived by the real anticipation_node executable over real DDS.

A camera that stops, the model file removed or replaced, a flood of corrupt frames, simulated time
from /clock, and a SIGKILL followed by a restart. What must be delivered travels over reliable QoS
end to end (the node's subscription included: ``reliability:=reliable`` with a deep queue); the
assertions are on the node's own accounting (/diagnostics counters) with generous timeouts only.
"""

from __future__ import annotations

import math
import shutil
import signal
import time
from pathlib import Path

import numpy as np
import pytest

from accident_anticipation_ros.stamps import seconds_to_ns, split_ns

pytestmark = pytest.mark.ros

NODE = "/accident_anticipation"
RELIABLE_NODE = {"reliability": "reliable", "depth": 2000, "overlay_rate": 0.0}


def _stamp(t: float):
    from builtin_interfaces.msg import Time

    sec, nanosec = split_ns(seconds_to_ns(t))
    return Time(sec=sec, nanosec=nanosec)


def _image(i: int, t: float, h: int = 48, w: int = 64):
    from sensor_msgs.msg import Image

    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([(x * 3 + i * 7) % 256, (y * 5 + i) % 256, (x + y + i * 3) % 256], -1).astype(np.uint8)
    msg = Image(height=h, width=w, encoding="rgb8", step=w * 3, data=rgb.tobytes())
    msg.header.stamp, msg.header.frame_id = _stamp(t), "cam"
    return msg


def _qos(depth: int = 100):
    from rclpy.qos import QoSProfile, ReliabilityPolicy

    return QoSProfile(depth=depth, reliability=ReliabilityPolicy.RELIABLE)


def _latched():
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy

    return QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )


def _wait_active(ros_peer, node, timeout: float = 60.0):
    from accident_anticipation_ros.msg import AnticipationInfo

    infos = ros_peer.collect(AnticipationInfo, f"{NODE}/info", _latched())
    deadline = time.monotonic() + timeout
    while not infos and time.monotonic() < deadline:
        assert node.proc.poll() is None, f"node exited:\n{node.log_text()}"
        time.sleep(0.05)
    assert infos, f"node never activated:\n{node.log_text()}"
    return infos[0]


class Diagnostics:
    """Every /diagnostics status of one camera, as (level, message, values, header stamp s)."""

    def __init__(self, ros_peer, camera: str) -> None:
        from diagnostic_msgs.msg import DiagnosticArray

        self.camera, self._arrays = camera, ros_peer.collect(DiagnosticArray, "/diagnostics", _qos(1000))

    def all(self) -> list[tuple[int, str, dict[str, str], float]]:
        out = []
        for array in list(self._arrays):
            stamp = array.header.stamp.sec + array.header.stamp.nanosec * 1e-9
            for s in array.status:
                if s.hardware_id == self.camera:
                    level = s.level if isinstance(s.level, int) else int.from_bytes(s.level, "little")
                    out.append((level, s.message, {kv.key: kv.value for kv in s.values}, stamp))
        return out

    def latest(self) -> dict[str, str]:
        got = self.all()
        return got[-1][2] if got else {}

    def count(self, key: str) -> int:
        return int(self.latest().get(key, "0"))


def _lifecycle(ros_peer):
    from lifecycle_msgs.msg import Transition
    from lifecycle_msgs.srv import ChangeState, GetState

    get_state = ros_peer.node.create_client(GetState, f"{NODE}/get_state")
    change = ros_peer.node.create_client(ChangeState, f"{NODE}/change_state")
    assert get_state.wait_for_service(timeout_sec=30) and change.wait_for_service(timeout_sec=30)

    def call(client, request):
        future = client.call_async(request)
        ros_peer.wait_for(future.done, 30, "a lifecycle service reply")
        return future.result()

    def transition(tid: int) -> bool:
        return call(change, ChangeState.Request(transition=Transition(id=tid))).success

    def state() -> int:
        # Retried: after a SIGKILL the dead node's service lingers in discovery, and a request may
        # reach only it; get_state is idempotent.
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            future = get_state.call_async(GetState.Request())
            end = time.monotonic() + 5
            while not future.done() and time.monotonic() < end:
                time.sleep(0.02)
            if future.done():
                return future.result().current_state.id
            future.cancel()
        raise AssertionError("no get_state reply in 60 s")

    return transition, state


def test_a_camera_that_stops_warns_then_errors_and_its_next_frame_resets_with_gap(
    ros_peer, start_node, tiny_onnx
):
    from sensor_msgs.msg import Image

    node = start_node(
        model_path=tiny_onnx,
        camera_topics=["/cam/image_raw"],
        diagnostics_period=0.5,
        stale_error_after=1.5,
        max_gap=0.5,
        **RELIABLE_NODE,
    )
    _wait_active(ros_peer, node)
    diags = Diagnostics(ros_peer, "cam")
    pub = ros_peer.node.create_publisher(Image, "/cam/image_raw", _qos())
    ros_peer.wait_for_subscriber(pub)
    for i in range(10):  # a 10 Hz camera by its stamps
        pub.publish(_image(i, 50.0 + i * 0.1))
        time.sleep(0.1)
    ros_peer.wait_for(lambda: diags.count("frames_processed") == 10, 30, f"10 processed: {diags.latest()}")
    ros_peer.wait_for(
        lambda: any(level == 2 for level, *_ in diags.all()), 30, f"an ERROR status; got {diags.all()[-3:]}"
    )
    stale = [
        (level, msg, values)
        for level, msg, values, _ in diags.all()
        if "no frame for" in msg or "stalled" in msg
    ]
    warns = [s for s in stale if s[0] == 1]
    errors = [s for s in stale if s[0] == 2]
    assert warns and errors, stale
    period = float(warns[0][2]["expected_period_s"])
    assert abs(period - 0.1) < 1e-3, "the period comes from the stamps"
    first_warn = float(warns[0][2]["since_last_frame_s"])
    # The watchdog reports an overdue frame as it happens, not a diagnostics period later (1 s: load slack).
    assert 2 * period < first_warn < 2 * period + 1.0, warns[0]
    assert all(float(v["since_last_frame_s"]) <= 1.5 for _, _, v in warns)
    assert "stale_error_after 1.5 s" in errors[0][1] and float(errors[0][2]["since_last_frame_s"]) > 1.5

    for i in range(10, 30):  # the camera comes back
        pub.publish(_image(i, 60.0 + i * 0.1))
        time.sleep(0.1)
    ros_peer.wait_for(lambda: diags.count("frames_processed") == 30, 30, f"30 processed: {diags.latest()}")
    # The first frame after the stop reset the state for the gap (the node's own reset count).
    ros_peer.wait_for(lambda: diags.latest()["resets"] == "first_frame=1, gap=1", 10, f"{diags.latest()}")
    ros_peer.wait_for(
        lambda: any(level == 0 and int(v["frames_processed"]) >= 20 for level, _, v, _ in diags.all()),
        10,
        f"an OK status once the camera was back: {diags.all()[-4:]}",
    )
    assert node.proc.poll() is None


def test_use_sim_time_staleness_and_diagnostics_follow_clock_not_the_wall(ros_peer, start_node, tiny_onnx):
    from rosgraph_msgs.msg import Clock
    from sensor_msgs.msg import Image

    node = start_node(
        model_path=tiny_onnx,
        camera_topics=["/cam/image_raw"],
        use_sim_time=True,
        diagnostics_period=0.5,
        stale_error_after=2.0,
        **RELIABLE_NODE,
    )
    _wait_active(ros_peer, node)
    diags = Diagnostics(ros_peer, "cam")
    clock = ros_peer.node.create_publisher(Clock, "/clock", _qos(10))
    pub = ros_peer.node.create_publisher(Image, "/cam/image_raw", _qos())
    ros_peer.wait_for_subscriber(pub)
    ros_peer.wait_for_subscriber(clock)

    def tick(t: float) -> None:
        clock.publish(Clock(clock=_stamp(t)))

    t0 = 1000.0
    for i in range(20):  # frames at 10 Hz of simulated time, played at twice the wall speed
        tick(t0 + i * 0.1)
        pub.publish(_image(i, t0 + i * 0.1))
        time.sleep(0.05)
    last = t0 + 1.9
    # The simulated clock stands still for 3 s of wall time: longer than stale_error_after, but no
    # simulated time passes, so the camera is not stale (and the diagnostics timer, on ROS time, waits).
    for _ in range(30):
        tick(last)
        time.sleep(0.1)
    assert not [s for s in diags.all() if s[0] == 2], diags.all()[-3:]
    # Now 3 s of simulated time pass in ~0.6 s of wall time: WARN, then ERROR, measured on /clock.
    t = last
    while t < last + 3.0:
        t += 0.1
        tick(t)
        time.sleep(0.02)
    for _ in range(50):
        tick(t)
        if any(s[0] == 2 for s in diags.all()):
            break
        time.sleep(0.1)
    statuses = diags.all()
    errors = [s for s in statuses if s[0] == 2]
    assert errors and "stalled" in errors[0][1], statuses[-3:]
    since = float(errors[0][2]["since_last_frame_s"])
    assert 2.0 < since <= 3.1 + 1e-6, errors[0]  # simulated seconds since the last frame
    assert all(t0 - 1 <= stamp <= t + 1e-6 for *_, stamp in statuses if stamp > 0), "diagnostics on sim time"
    assert any(s[0] == 1 and "no frame for" in s[1] for s in statuses), "WARN before ERROR"
    values = errors[-1][2]
    assert int(values["frames_received"]) == 20, values  # reliable end to end
    assert int(values["frames_processed"]) + int(values["frames_dropped"]) == 20, values
    assert node.proc.poll() is None


def test_sigkill_then_restart_comes_back_active_and_republishes_latched_info(ros_peer, start_node, tiny_onnx):
    from lifecycle_msgs.msg import State
    from sensor_msgs.msg import Image

    from accident_anticipation_ros.msg import AnticipationInfo

    params = {"model_path": tiny_onnx, "camera_topics": ["/cam/image_raw"], **RELIABLE_NODE}
    first = start_node(**params)
    info = _wait_active(ros_peer, first)
    first.proc.send_signal(signal.SIGKILL)
    assert first.proc.wait(timeout=10) == -signal.SIGKILL

    second = start_node(**params)  # what launch's respawn=True does (checked in test/test_launch.py)
    _, state = _lifecycle(ros_peer)
    ros_peer.wait_for(
        lambda: state() == State.PRIMARY_STATE_ACTIVE, 60, f"ACTIVE again:\n{second.log_text()}"
    )
    time.sleep(0.5)
    late = ros_peer.collect(AnticipationInfo, f"{NODE}/info", _latched())  # subscribes after the publication
    ros_peer.wait_for(lambda: late, 30, "the latched info for a late subscriber")
    assert late[0].model_hash == info.model_hash and list(late[0].cameras) == ["cam"]
    diags = Diagnostics(ros_peer, "cam")
    pub = ros_peer.node.create_publisher(Image, "/cam/image_raw", _qos())
    ros_peer.wait_for_subscriber(pub)
    for i in range(3):
        pub.publish(_image(i, 5.0 + i * 0.1))
        time.sleep(0.1)
    ros_peer.wait_for(
        lambda: diags.count("frames_processed") == 3, 30, f"3 processed after the restart: {diags.latest()}"
    )
    assert second.proc.poll() is None


def test_model_file_removed_or_replaced_while_running(ros_peer, start_node, tiny_onnx, tmp_path):
    from lifecycle_msgs.msg import State, Transition
    from sensor_msgs.msg import Image

    from accident_anticipation_ros.runtime.model_trust import write_sidecar

    model = tmp_path / "model.onnx"
    shutil.copy(tiny_onnx, model)
    write_sidecar(model)  # the recorded hash
    node = start_node(model_path=str(model), camera_topics=["/cam/image_raw"], **RELIABLE_NODE)
    _wait_active(ros_peer, node)
    diags = Diagnostics(ros_peer, "cam")
    pub = ros_peer.node.create_publisher(Image, "/cam/image_raw", _qos())
    ros_peer.wait_for_subscriber(pub)
    frame = iter(range(1000))

    def processed(n: int, what: str) -> None:
        ros_peer.wait_for(lambda: diags.count("frames_processed") == n, 30, f"{what}: {diags.latest()}")

    def send(n: int) -> None:
        for _ in range(n):
            i = next(frame)
            pub.publish(_image(i, 10.0 + i * 0.1))
            time.sleep(0.1)

    send(3)
    processed(3, "frames processed with the model in place")
    assert "matches the sidecar" in node.log_text()
    model.unlink()
    send(3)
    processed(6, "frames processed after the model file was removed: the loaded model runs on")

    transition, state = _lifecycle(ros_peer)
    assert transition(Transition.TRANSITION_DEACTIVATE) and transition(Transition.TRANSITION_CLEANUP)
    assert transition(Transition.TRANSITION_CONFIGURE) is False
    assert state() == State.PRIMARY_STATE_UNCONFIGURED
    ros_peer.wait_for(
        lambda: f"model file {model} does not exist" in node.log_text(), 10, "the reason in the log"
    )

    model.write_bytes(
        Path(tiny_onnx).read_bytes() + b"\x00 appended by an intruder"
    )  # replaced: another hash
    assert transition(Transition.TRANSITION_CONFIGURE) is False
    ros_peer.wait_for(lambda: "refusing to load" in node.log_text(), 10, "the hash mismatch in the log")
    assert f"model file {model} has sha256" in node.log_text() and "but sidecar" in node.log_text()

    shutil.copy(tiny_onnx, model)  # the recorded file is back
    assert transition(Transition.TRANSITION_CONFIGURE) and transition(Transition.TRANSITION_ACTIVATE)
    ros_peer.wait_for_subscriber(pub)
    send(3)
    processed(3, "frames processed after the reconfigure (fresh counters)")
    assert node.proc.poll() is None


def _load_test_module(name: str):
    """A module of test/ (the fuzz generators), loaded from its file."""
    import importlib.util

    path = Path(__file__).resolve().parent.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _corrupt(i: int, t: float):
    """A corrupt Image: unknown encoding, truncated data, zero size or a step smaller than a row."""
    msg = _image(i, t)
    kind = i % 4
    if kind == 0:
        msg.encoding = "bayer_xyz16"
    elif kind == 1:
        msg.data = bytes(msg.data[: 1 + i % 500])
    elif kind == 2:
        msg.height = msg.width = msg.step = 0
        msg.data = b""
    else:
        msg.step = msg.width * 3 - 1
    return msg


def test_a_thousand_corrupt_frames_are_all_counted_and_memory_stays_flat(ros_peer, start_node, tiny_onnx):
    from sensor_msgs.msg import Image

    node = start_node(
        model_path=tiny_onnx, camera_topics=["/cam/image_raw"], diagnostics_period=0.25, **RELIABLE_NODE
    )
    _wait_active(ros_peer, node)
    diags = Diagnostics(ros_peer, "cam")
    pub = ros_peer.node.create_publisher(Image, "/cam/image_raw", _qos(2000))
    ros_peer.wait_for_subscriber(pub)

    def flood(first: int, n: int) -> None:
        for i in range(first, first + n):
            pub.publish(_corrupt(i, 20.0 + i / 30))
            time.sleep(0.002)

    flood(0, 200)  # warm-up: allocator and logger caches settle
    ros_peer.wait_for(lambda: diags.count("frames_received") == 200, 60, f"200 received; {diags.latest()}")
    rss_start = node.rss_kb()
    flood(200, 1000)
    ros_peer.wait_for(lambda: diags.count("frames_received") == 1200, 60, f"1200 received; {diags.latest()}")
    ros_peer.wait_for(
        lambda: diags.count("bad_frames") + diags.count("frames_dropped") == 1200,
        30,
        f"every corrupt frame counted bad or dropped; {diags.latest()}",
    )
    rss_end = node.rss_kb()
    assert diags.count("frames_processed") == 0
    assert diags.count("bad_frames") >= 1, diags.latest()
    assert diags.count("inference_errors") == 0
    assert (rss_end - rss_start) / 1024 < 10, f"RSS grew {(rss_end - rss_start) / 1024:.1f} MB"
    for i in range(3):  # valid frames are processed again
        pub.publish(_image(i, 100.0 + i * 0.1))
        time.sleep(0.1)
    ros_peer.wait_for(
        lambda: diags.count("frames_processed") == 3, 30, f"valid frames after the flood: {diags.latest()}"
    )
    assert node.proc.poll() is None


def test_fuzzed_messages_into_the_running_node_are_processed_or_counted(ros_peer, start_node, tiny_onnx):
    """1,500 random and mutated Image / CompressedImage messages (seeded, the generators of
    test_fuzz_conversions) over reliable QoS: every one processed, counted bad, dropped or decimated, no other
    error, memory flat."""
    import random

    from sensor_msgs.msg import CompressedImage, Image

    fuzz = _load_test_module("test_fuzz_conversions")
    random_compressed, random_image, seed_files = fuzz.random_compressed, fuzz.random_image, fuzz.seed_files

    node = start_node(
        model_path=tiny_onnx,
        camera_topics=["/raw/image_raw", "/jpg/image_raw/compressed"],
        diagnostics_period=0.25,
        **RELIABLE_NODE,
    )
    _wait_active(ros_peer, node)
    raw_diag, jpg_diag = Diagnostics(ros_peer, "raw"), Diagnostics(ros_peer, "jpg")
    raw_pub = ros_peer.node.create_publisher(Image, "/raw/image_raw", _qos(2000))
    jpg_pub = ros_peer.node.create_publisher(CompressedImage, "/jpg/image_raw/compressed", _qos(2000))
    ros_peer.wait_for_subscriber(raw_pub)
    ros_peer.wait_for_subscriber(jpg_pub)
    rng, seeds = random.Random(7), seed_files()

    def to_ros(fields, kind):
        if kind == "raw":
            msg = Image(
                height=int(fields.height),
                width=int(fields.width),
                encoding=str(fields.encoding).replace("\x00", ""),
                is_bigendian=int(fields.is_bigendian),
                step=int(fields.step),
            )
        else:
            msg = CompressedImage(format=fields.format)
        msg.data = bytes(fields.data)
        return msg

    def send(n: int, first: int) -> tuple[int, int]:
        counts = {"raw": 0, "jpg": 0}
        for i in range(first, first + n):
            kind = "raw" if rng.random() < 0.5 else "jpg"
            fields = random_image(rng, seeds) if kind == "raw" else random_compressed(rng, seeds)
            msg = to_ros(fields, kind)
            msg.header.stamp = _stamp(30.0 + i / 30)
            (raw_pub if kind == "raw" else jpg_pub).publish(msg)
            counts[kind] += 1
            time.sleep(0.002)
        return counts["raw"], counts["jpg"]

    def accounted(diag) -> int:
        return sum(
            diag.count(k)
            for k in (
                "frames_processed",
                "bad_frames",
                "frames_dropped",
                "frames_decimated",
                "non_finite_outputs",
            )
        )

    raw0, jpg0 = send(300, 0)  # warm-up
    ros_peer.wait_for(
        lambda: raw_diag.count("frames_received") == raw0 and jpg_diag.count("frames_received") == jpg0,
        60,
        "the warm-up messages received",
    )
    rss_start = node.rss_kb()
    raw1, jpg1 = send(1200, 300)
    ros_peer.wait_for(
        lambda: (
            raw_diag.count("frames_received") == raw0 + raw1
            and jpg_diag.count("frames_received") == jpg0 + jpg1
        ),
        60,
        f"all 1,500 received; raw {raw_diag.latest()}, jpg {jpg_diag.latest()}",
    )
    for diag, sent in ((raw_diag, raw0 + raw1), (jpg_diag, jpg0 + jpg1)):
        ros_peer.wait_for(
            lambda d=diag, s=sent: accounted(d) == s, 30, f"every message accounted: {diag.latest()}"
        )
        assert diag.count("inference_errors") == 0, diag.latest()
        assert diag.count("frames_processed") > 0 and diag.count("bad_frames") > 0, diag.latest()
    rss_end = node.rss_kb()
    assert (rss_end - rss_start) / 1024 < 20, f"RSS grew {(rss_end - rss_start) / 1024:.1f} MB"
    assert node.proc.poll() is None
    assert math.isfinite(float(raw_diag.latest()["latency_p50_ms"]))
