"""``accident-anticipation replay``: a bag's camera stream through the node, its outputs into a new bag.

Over DDS (default): the bag's camera messages are published, byte for byte as recorded, at the
pace of their log times (times ``--rate``) into a running ``anticipation_node`` (or one this command
starts with ``--model``); the node's AccidentRisk, overlay, info and /diagnostics are recorded,
with the bag's ground truth (AccidentLabel), into an mcap bag. It ends when the bag has been played
and the node's outputs have drained.

Lossless by construction: the whole path is reliable (this publisher; the node started with
``reliability:=reliable`` and a queue deeper than the window; the recorder), and the replay waits
for the node: at most ``ahead`` frames are published beyond the last one the node answered. With
``ahead=1`` (the default) each frame waits for the previous one's answer, so the node never drops
one; more pipelines transport with inference, but a frame that arrives while the worker still
publishes the previous answer's overlay replaces the waiting one (a counted drop). A frame unanswered
after ``answer_timeout`` seconds is given up and listed. The summary lists every bag frame without
an AccidentRisk with its clip, stamp and reason (:mod:`accident_anticipation_ros.replay_accounting`).

A camera faster than the model is decimated by the node (``align_to_model_fps``): the frames between
its fps grid's get no AccidentRisk by design. The replay tells them from their stamps with the
node's own rule (``runtime.frame_rate.StepSchedule``, set up from the node's latched
AnticipationInfo), expects no answer for them, and counts them (``decimated``), not as missing.

``--offline``: the same ``StreamPipeline`` (conversion, ``StreamSession``, message fields) the node
runs, over every frame of the bag without DDS (no drops: the reference for large evaluations); it
writes the same topics.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.package_files import installed_executable
from accident_anticipation_ros.processes import stop_process
from accident_anticipation_ros.replay_accounting import (
    CONVERSION,
    NON_FINITE,
    MissingFrame,
    clip_finder,
    missing_frames,
)

DEFAULT_NODE = "accident_anticipation"


@dataclass(frozen=True)
class ReplaySummary:
    """What a replay did."""

    out: Path
    camera: str
    frames: int
    risk_messages: int
    overlays: int
    dropped: int
    wall_s: float
    missing: tuple = ()  # replay_accounting.MissingFrame of every frame without an AccidentRisk
    decimated: int = 0  # frames the node's fps alignment steps over (no AccidentRisk by design)


# ------------------------------------------------------------------------------------------ recording


class Recorder:
    """Serialized messages into a new mcap bag, connections made on first use (thread-safe)."""

    def __init__(self, out: Path) -> None:
        from rosbags.rosbag2 import StoragePlugin, Writer

        from accident_anticipation_ros.bag.types import get_package_typestore

        if Path(out).exists():
            raise FileExistsError(f"output bag {out} exists already; not overwriting")
        self.store = get_package_typestore()
        self._writer = Writer(out, version=9, storage_plugin=StoragePlugin.MCAP)
        self._writer.open()
        self._connections: dict[str, object] = {}
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}

    def write(self, topic: str, msgtype: str, stamp_ns: int, data: bytes) -> None:
        with self._lock:
            conn = self._connections.get(topic)
            if conn is None:
                conn = self._connections[topic] = self._writer.add_connection(
                    topic, msgtype, typestore=self.store
                )
            self._writer.write(conn, stamp_ns, data)
            self.counts[topic] = self.counts.get(topic, 0) + 1

    def write_msg(self, topic: str, msgtype: str, stamp_ns: int, msg) -> None:
        self.write(topic, msgtype, stamp_ns, bytes(self.store.serialize_cdr(msg, msgtype)))

    def close(self) -> None:
        self._writer.close()


# ---------------------------------------------------------------------------------------------- DDS


def replay_dds(
    bag: Path,
    out: Path,
    *,
    rate: float = 1.0,
    camera_topic: str | None = None,
    label_topic: str | None = None,
    node_name: str = DEFAULT_NODE,
    model: Path | None = None,
    backend: str = "onnxruntime",
    overlay_rate: float = 0.0,
    timeout: float = 60.0,
    drain_s: float = 1.5,
    ahead: int = 1,
    answer_timeout: float = 10.0,
) -> ReplaySummary:
    """Play ``bag``'s camera into the node over DDS and record its outputs into ``out`` (see module doc).

    ``ahead``: frames published beyond the node's last answer (>= 1); ``answer_timeout``: seconds
    without an answer after which the oldest unanswered frame is given up (listed as missing).
    """
    import os

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.context import Context
    from rclpy.executors import SingleThreadedExecutor
    from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
    from rclpy.serialization import deserialize_message
    from sensor_msgs.msg import CompressedImage, Image

    from accident_anticipation_ros.bag.reader import find_image_topic, open_bag
    from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, ACCIDENT_RISK, ANTICIPATION_INFO
    from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC
    from accident_anticipation_ros.msg import AccidentRisk, AnticipationInfo
    from accident_anticipation_ros.parameters import camera_name_from_topic
    from accident_anticipation_ros.runtime.frame_rate import StepSchedule
    from accident_anticipation_ros.stamps import cdr_header_stamp_ns, ns_to_seconds

    if ahead < 1:
        raise ValueError(f"ahead must be >= 1, got {ahead}")
    label_topic = label_topic or DEFAULT_LABEL_TOPIC
    started = time.monotonic()
    with open_bag(bag) as reader:
        topic, msgtype = find_image_topic(reader, camera_topic)
        connections = [c for c in reader.connections if c.topic in (topic, label_topic)]
        messages = [
            (c.topic, c.msgtype, t, bytes(raw)) for c, t, raw in reader.messages(connections=connections)
        ]
        clip_of = _clip_finder(reader, label_topic)
    camera = camera_name_from_topic(topic)
    frames = [m for m in messages if m[0] == topic]
    if not frames:
        raise RuntimeError(f"bag {bag} has no messages on {topic}")
    stamps = [cdr_header_stamp_ns(m[3]) for m in frames]
    index_of = {stamp: i for i, stamp in enumerate(stamps)}

    recorder = Recorder(out)
    proc = log = None
    if model is not None:
        try:
            proc, log = _start_node(model, backend, topic, node_name, overlay_rate, out, depth=4 * ahead + 10)
        except RuntimeError:
            recorder.close()
            raise
    context = Context()
    rclpy.init(context=context, domain_id=int(os.environ.get("ROS_DOMAIN_ID", "0")))
    node = rclpy.create_node("accident_anticipation_replay", context=context)
    executor = SingleThreadedExecutor(context=context)
    executor.add_node(node)
    inbox: queue.Queue = queue.Queue()
    last_risk = [time.monotonic()]
    answers: dict[int, int] = {}  # stamp_ns -> frames_dropped of the node's AccidentRisk
    resolved = [-1]  # index of the newest frame answered or given up (the node answers in order)
    resolved_lock = threading.Lock()
    schedule: list = [None]  # the node's StepSchedule, once its AnticipationInfo is in
    silent: set[int] = set()  # frames the node decimates: no answer expected

    def settle() -> None:
        """Past the decimated frames that follow the newest resolved one (call with the lock held)."""
        while resolved[0] + 1 in silent:
            resolved[0] += 1

    def record(out_topic: str, out_type: str, is_risk: bool = False, is_info: bool = False):
        def callback(data: bytes) -> None:
            inbox.put((out_topic, out_type, bytes(data)))
            if is_risk:
                risk = deserialize_message(bytes(data), AccidentRisk)
                stamp = cdr_header_stamp_ns(bytes(data))
                answers[stamp] = int(risk.frames_dropped)
                with resolved_lock:
                    resolved[0] = max(resolved[0], index_of.get(stamp, -1))
                    settle()
                last_risk[0] = time.monotonic()
            if is_info and schedule[0] is None:
                info = deserialize_message(bytes(data), AnticipationInfo)
                if info.assumed_fps > 0:
                    schedule[0] = StepSchedule(info.assumed_fps, info.align_to_model_fps, info.max_gap)

        return callback

    skipped = [0]  # frames the node counted as bad or non-finite: they get no answer

    def on_diagnostics(data: bytes) -> None:
        inbox.put(("/diagnostics", "diagnostic_msgs/msg/DiagnosticArray", bytes(data)))
        for status in deserialize_message(bytes(data), DiagnosticArray).status:
            if status.hardware_id == camera:
                values = {kv.key: kv.value for kv in status.values}
                total = int(values.get("bad_frames", 0)) + int(values.get("non_finite_outputs", 0))
                # decimated frames the schedule did not foresee (it cannot see a manual reset)
                total += max(0, int(values.get("frames_decimated", 0)) - len(silent))
                with resolved_lock:  # the oldest unanswered frames are those (the node works in order)
                    resolved[0] = min(resolved[0] + max(0, total - skipped[0]), k_published[0] - 1)
                    skipped[0] = max(skipped[0], total)
                    settle()

    prefix = f"/{node_name}/{camera}"
    k_published = [0]  # frames published so far
    node.create_subscription(
        AccidentRisk,
        f"{prefix}/risk",
        record(f"{prefix}/risk", ACCIDENT_RISK, True),
        QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE),
        raw=True,
    )
    node.create_subscription(
        Image,
        f"{prefix}/overlay",
        record(f"{prefix}/overlay", "sensor_msgs/msg/Image"),
        QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE),
        raw=True,
    )
    node.create_subscription(
        DiagnosticArray,
        "/diagnostics",
        on_diagnostics,
        50,
        raw=True,
    )
    latched = QoSProfile(
        depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
    )
    node.create_subscription(
        AnticipationInfo,
        f"/{node_name}/info",
        record(f"/{node_name}/info", ANTICIPATION_INFO, is_info=True),
        latched,
        raw=True,
    )
    image_cls = CompressedImage if msgtype.endswith("CompressedImage") else Image
    pub = node.create_publisher(
        image_cls, topic, QoSProfile(depth=4 * ahead + 10, reliability=ReliabilityPolicy.RELIABLE)
    )

    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set() and context.ok():
            executor.spin_once(timeout_sec=0.02)

    def drain_inbox() -> None:
        while True:
            try:
                out_topic, out_type, data = inbox.get_nowait()
            except queue.Empty:
                return
            recorder.write(out_topic, out_type, cdr_header_stamp_ns(data), data)

    spinner = threading.Thread(target=spin, daemon=True)
    spinner.start()
    try:
        deadline = time.monotonic() + timeout
        while pub.get_subscription_count() == 0 or node.count_publishers(f"{prefix}/risk") == 0:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"anticipation_node exited with code {proc.returncode}; see {log}")
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"no node subscribed to {topic} and publishing {prefix}/risk within {timeout:.0f} s; "
                    f"start anticipation_node (camera_topics:=['{topic}']) or pass --model"
                )
            time.sleep(0.05)
        time.sleep(0.5)  # let discovery settle both ways before the first frame
        _warn_if_best_effort(node, topic)
        while schedule[0] is None and time.monotonic() < deadline:  # the latched info: the node's fps rule
            time.sleep(0.05)
        if schedule[0] is None:
            print(
                f"replay: warning: no AnticipationInfo from /{node_name}/info: frames the node decimates "
                "are waited for until /diagnostics counts them",
                file=sys.stderr,
            )

        def wait_for_answers(upto: int) -> None:
            """Until every frame up to index ``upto`` is answered or given up (``answer_timeout``)."""
            progress, last = time.monotonic(), resolved[0]
            while resolved[0] < upto:
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"anticipation_node exited with code {proc.returncode}; see {log}")
                if resolved[0] != last:
                    progress, last = time.monotonic(), resolved[0]
                elif time.monotonic() - progress > answer_timeout:  # give the oldest up: listed later
                    with resolved_lock:
                        resolved[0] += 1
                    progress, last = time.monotonic(), resolved[0]
                time.sleep(0.002)
                drain_inbox()

        t_bag0, t_wall0 = messages[0][2], time.monotonic()
        for out_topic, _, t_ns, data in messages:
            wait = t_wall0 + ns_to_seconds(t_ns - t_bag0) / rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            if out_topic == topic:
                wait_for_answers(k_published[0] - ahead)  # at most `ahead` frames beyond the last answer
                last_risk[0] = time.monotonic()
                k = k_published[0]
                if schedule[0] is not None and not schedule[0].take(ns_to_seconds(stamps[k])):
                    with resolved_lock:
                        silent.add(k)
                pub.publish(data)
                k_published[0] += 1
                with resolved_lock:
                    settle()
            else:  # the ground truth goes straight into the recording, at its bag time
                recorder.write(label_topic, ACCIDENT_LABEL, t_ns, data)
            drain_inbox()
        wait_for_answers(len(frames) - 1)
        end = time.monotonic() + 30.0  # overlays and diagnostics after the last answer
        while time.monotonic() < end and time.monotonic() - last_risk[0] < drain_s:
            time.sleep(0.05)
        drain_inbox()
    finally:
        stop.set()
        spinner.join(timeout=5)
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown(context=context)
        recorder.close()
        if proc is not None:
            stop_process(proc)
    dropped = _sum_dropped(recorder, f"{prefix}/risk", out)
    unanswered = [i for i, stamp in enumerate(stamps) if stamp not in answers and i not in silent]
    errors = _conversion_errors([frames[i] for i in unanswered], unanswered)
    return ReplaySummary(
        out=Path(out),
        camera=camera,
        frames=len(frames),
        risk_messages=recorder.counts.get(f"{prefix}/risk", 0),
        overlays=recorder.counts.get(f"{prefix}/overlay", 0),
        dropped=dropped,
        wall_s=time.monotonic() - started,
        missing=tuple(missing_frames(stamps, answers, errors, clip_of, silent)),
        decimated=sum(1 for i in silent if stamps[i] not in answers),
    )


def _clip_finder(reader, label_topic: str):
    """``stamp -> clip_id`` from the bag's labels; every stamp maps to ``""`` in a bag without them."""
    from accident_anticipation_ros.bag.reader import read_labels

    if not any(c.topic == label_topic for c in reader.connections):
        return lambda _: ""
    return clip_finder(read_labels(reader, label_topic))


def _conversion_errors(frames: list[tuple], indices: list[int]) -> dict[int, str]:
    """``{index: reason}`` of the given bag frames that cannot be converted (the node skips those too)."""
    from accident_anticipation_ros.bag.types import COMPRESSED_IMAGE, get_package_typestore
    from accident_anticipation_ros.conversions import ConversionError, compressed_to_rgb, image_to_rgb

    store, errors = get_package_typestore(), {}
    for i, (_, msgtype, _, data) in zip(indices, frames, strict=True):
        try:
            msg = store.deserialize_cdr(data, msgtype)
            (compressed_to_rgb if msgtype == COMPRESSED_IMAGE else image_to_rgb)(msg)
        except ConversionError as exc:
            errors[i] = CONVERSION + str(exc)
        except Exception as exc:  # noqa: BLE001 - undecodable CDR: the node never sees a message
            errors[i] = f"undecodable message ({type(exc).__name__}: {exc})"
    return errors


def _warn_if_best_effort(node, topic: str) -> None:
    """A best-effort subscriber (a node not started by replay) may lose frames: say so up front."""
    from rclpy.qos import ReliabilityPolicy

    for info in node.get_subscriptions_info_by_topic(topic):
        if info.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT:
            print(
                f"replay: warning: {info.node_name} subscribes to {topic} best-effort: frames may be lost "
                "(they are listed); start it with reliability:=reliable for a lossless replay",
                file=sys.stderr,
            )


def _sum_dropped(recorder: Recorder, risk_topic: str, out: Path) -> int:
    from accident_anticipation_ros.bag.reader import open_bag
    from accident_anticipation_ros.bag.types import ACCIDENT_RISK

    total = 0
    with open_bag(out) as reader:
        conns = [c for c in reader.connections if c.topic == risk_topic]
        for _, _, raw in reader.messages(connections=conns):
            total += recorder.store.deserialize_cdr(raw, ACCIDENT_RISK).frames_dropped
    return total


def _start_node(
    model: Path, backend: str, topic: str, node_name: str, overlay_rate: float, out: Path, depth: int = 10
):
    import os

    from accident_anticipation_ros.dds_profile import apply_default_profile

    if not Path(model).is_file():
        raise RuntimeError(f"model {model} does not exist")
    log_path = Path(str(out).rstrip("/") + ".node.log")
    env = dict(os.environ)
    apply_default_profile(env)
    with open(log_path, "w") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(
            _node_args(model, backend, topic, node_name, overlay_rate, depth),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    return proc, log_path


def _node_args(
    model: Path, backend: str, topic: str, node_name: str, overlay_rate: float, depth: int = 10
) -> list[str]:
    return [
        sys.executable,
        str(installed_executable()),
        "--ros-args",
        "-r",
        f"__node:={node_name}",
        "-p",
        f"model_path:={Path(model).resolve()}",
        "-p",
        f"backend:={backend}",
        "-p",
        f"camera_topics:=['{topic}']",
        "-p",
        f"overlay_rate:={overlay_rate if overlay_rate > 0 else 1000.0}",
        "-p",
        "reliability:=reliable",  # with this replay's reliable publisher: no frame lost in transport
        "-p",
        f"depth:={depth}",
    ]


# ------------------------------------------------------------------------------------------ offline


def replay_offline(
    bag: Path,
    out: Path,
    model: Path,
    *,
    backend: str = "onnxruntime",
    overlay: bool = False,
    camera_topic: str | None = None,
    label_topic: str | None = None,
    node_name: str = DEFAULT_NODE,
) -> ReplaySummary:
    """Run the node's ``StreamPipeline`` over every frame of ``bag`` and write the node's topics to ``out``."""
    from accident_anticipation_ros.bag.reader import find_image_topic, open_bag
    from accident_anticipation_ros.bag.types import ACCIDENT_LABEL, ACCIDENT_RISK, ANTICIPATION_INFO
    from accident_anticipation_ros.bag.writer import DEFAULT_LABEL_TOPIC
    from accident_anticipation_ros.conversions import encode_image_fields
    from accident_anticipation_ros.parameters import NodeParams, camera_name_from_topic
    from accident_anticipation_ros.pipeline import DROP_BAD_FRAME, DROP_DECIMATED, StreamPipeline, info_fields
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor
    from accident_anticipation_ros.runtime.session import StreamSession
    from accident_anticipation_ros.stamps import cdr_header_stamp_ns
    from accident_anticipation_ros.visualization import draw_result_overlay

    label_topic = label_topic or DEFAULT_LABEL_TOPIC
    params = NodeParams()
    started = time.monotonic()
    engine = create_backend(model, backend)
    session = StreamSession(
        engine, params.session_config(), Preprocessor(engine.info, mode=params.preprocess_mode)
    )
    frames = risk = overlays = decimated = 0
    missing: list[MissingFrame] = []
    with open_bag(bag) as reader:
        topic, _ = find_image_topic(reader, camera_topic)  # before anything is written
        clip_of = _clip_finder(reader, label_topic)
    camera = camera_name_from_topic(topic)
    pipeline = StreamPipeline(session, camera, params.reduced_jpeg_decode)
    recorder = Recorder(out)
    try:
        with open_bag(bag) as reader:
            prefix = f"/{node_name}/{camera}"
            store = recorder.store
            Risk = store.types[ACCIDENT_RISK]
            ImageMsg = store.types["sensor_msgs/msg/Image"]
            Info, Header, Time = (
                store.types[t]
                for t in (ANTICIPATION_INFO, "std_msgs/msg/Header", "builtin_interfaces/msg/Time")
            )
            # the node's latched info, as the DDS replay records it: which model, which fps rule
            info = Info(
                header=Header(stamp=Time(sec=0, nanosec=0), frame_id=""),  # a replay has no wall time
                **info_fields(engine.info, engine.name, params, [camera]),
            )
            connections = [c for c in reader.connections if c.topic in (topic, label_topic)]
            for conn, t_ns, raw in reader.messages(connections=connections):
                if info is not None:
                    recorder.write_msg(f"/{node_name}/info", ANTICIPATION_INFO, t_ns, info)
                    info = None
                if conn.topic == label_topic:
                    recorder.write(label_topic, ACCIDENT_LABEL, t_ns, bytes(raw))
                    continue
                frames += 1
                msg = store.deserialize_cdr(raw, conn.msgtype)
                frame = pipeline.handle_msg(msg)
                if frame.drop == DROP_BAD_FRAME:
                    stamp = cdr_header_stamp_ns(bytes(raw))
                    missing.append(MissingFrame(clip_of(stamp), stamp, CONVERSION + frame.error))
                    continue
                if frame.drop == DROP_DECIMATED:  # stepped over by the fps alignment: no message
                    decimated += 1
                    continue
                if not frame.published:  # a non-finite model output: the node publishes nothing either
                    missing.append(MissingFrame(clip_of(frame.stamp_ns), frame.stamp_ns, NON_FINITE))
                    continue
                out_msg = Risk(header=msg.header, **frame.risk.as_dict())
                recorder.write_msg(f"{prefix}/risk", ACCIDENT_RISK, frame.stamp_ns, out_msg)
                risk += 1
                if overlay:
                    img = draw_result_overlay(
                        frame.rgb,
                        frame.result,
                        camera=camera,
                        max_width=params.overlay_max_width,
                        risk_map_trained=engine.info.risk_map_trained,
                    )
                    fields = encode_image_fields(img, "rgb8")
                    recorder.write_msg(
                        f"{prefix}/overlay",
                        "sensor_msgs/msg/Image",
                        frame.stamp_ns,
                        ImageMsg(header=msg.header, **fields),
                    )
                    overlays += 1
    finally:
        recorder.close()
        engine.close()
    return ReplaySummary(
        Path(out), camera, frames, risk, overlays, 0, time.monotonic() - started, tuple(missing), decimated
    )
