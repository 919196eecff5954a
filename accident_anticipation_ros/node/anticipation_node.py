"""``anticipation_node``: a lifecycle node that turns camera streams into AccidentRisk.

The node only converts and calls. Subscription callbacks put the newest frame of each camera into a
slot (never blocking the executor); one worker thread hands it to that camera's ``StreamPipeline``
(conversion, stamp, ``StreamSession`` step: the ROS-free sequence offline replay runs too) and
publishes AccidentRisk, the overlay and the markers. With ``batch_cameras`` and a model with a batch
axis, the worker takes every camera with a frame waiting and steps them in one model call
(``pipeline.handle_batch``; each camera keeps its own state); /diagnostics counts those rounds. With ``align_to_model_fps`` the pipeline steps
the model at its own fps by stamps; a decimated frame publishes nothing and counts as
``frames_decimated`` in /diagnostics.

Lifecycle: parameters are declared in ``__init__``; ``on_configure`` validates them, loads and warms
up the model (FAILURE with the reason on a bad path or model); ``on_activate`` subscribes and starts
the worker; ``on_deactivate`` unsubscribes and stops it; ``on_cleanup`` frees the model.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING

import numpy as np
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.exceptions import ParameterUninitializedException
from rclpy.lifecycle import LifecycleNode, LifecycleState, TransitionCallbackReturn
from rclpy.parameter import Parameter
from rclpy.qos import (
    DurabilityPolicy,
    HistoryPolicy,
    QoSProfile,
    ReliabilityPolicy,
)
from sensor_msgs.msg import CompressedImage, Image
from visualization_msgs.msg import MarkerArray

from accident_anticipation_ros import parameters
from accident_anticipation_ros.conversions import rgb_to_image, set_opencv_threads
from accident_anticipation_ros.frame_slots import LatestFrameSlots
from accident_anticipation_ros.msg import AccidentRisk, AnticipationInfo
from accident_anticipation_ros.node.markers import risk_markers
from accident_anticipation_ros.pipeline import (
    DROP_BAD_FRAME,
    DROP_DECIMATED,
    DROP_NON_FINITE,
    FrameOutput,
    StreamPipeline,
    handle_batch,
    info_fields,
)
from accident_anticipation_ros.stream_stats import CpuPerFrame, StreamStats
from accident_anticipation_ros.visualization import draw_result_overlay

try:  # Jazzy
    from rclpy.event_handler import SubscriptionEventCallbacks, UnsupportedEventTypeError
except ImportError:  # Humble
    from rclpy.qos_event import SubscriptionEventCallbacks, UnsupportedEventTypeError

if TYPE_CHECKING:  # the runtime is imported in on_configure / on_activate
    from accident_anticipation_ros.runtime.session import RiskResult

# Wall seconds between staleness checks (of the node clock's staleness). A thread of its own, not an
# rclpy timer: each executor wake-up costs ~0.5 ms of Python, so a 20 Hz timer was ~10 ms of CPU a second.
_STALE_CHECK_PERIOD = 0.05
_DIAG_LEVELS = (DiagnosticStatus.OK, DiagnosticStatus.WARN, DiagnosticStatus.ERROR)


@dataclass
class Camera:
    """One camera's runtime: its pipeline (session, recurrent state), statistics and ROS endpoints."""

    name: str
    topic: str
    compressed: bool
    pipeline: StreamPipeline | None = None
    stats: StreamStats = field(default_factory=StreamStats)
    risk_pub: object = None
    overlay_pub: object = None
    markers_pub: object = None
    subscription: object = None
    last_overlay: float = -math.inf
    qos_warned: bool = False
    fps_warned: bool = False
    diag_level: int = 0  # the level last published in /diagnostics


class AnticipationNode(LifecycleNode):
    """Accident anticipation for one or more cameras (see the module docstring)."""

    def __init__(self, node_name: str = "accident_anticipation", **kwargs) -> None:
        super().__init__(node_name, **kwargs)
        for name, default in parameters.defaults().items():
            descriptor = ParameterDescriptor(description=parameters.DESCRIPTIONS.get(name, ""))
            if default == []:  # an empty list has no type of its own: declare the type
                self.declare_parameter(name, Parameter.Type.STRING_ARRAY, descriptor)
            else:
                self.declare_parameter(name, default, descriptor)
        self.params: parameters.NodeParams | None = None
        self.backend = None
        self.cameras: dict[str, Camera] = {}
        self._slots: LatestFrameSlots | None = None
        self._worker: threading.Thread | None = None
        self._running = threading.Event()
        self._info_pub = None
        self._diag_pub = None
        self._diag_timer = None
        self._watchdog: threading.Thread | None = None
        self._watchdog_stop = threading.Event()
        self._diag_lock = threading.Lock()  # diagnostics come from the timer and from the watchdog
        self._session_config = None
        self._loaded_model = None  # runtime.model_trust.TrustedModel of the last configure
        self._cpu = CpuPerFrame()
        self._batching = False  # the worker steps the cameras with a frame ready in one call
        self._batch_rounds = 0  # model calls that ran 2+ cameras as one batch
        self._batch_rows = 0  # frames in those calls

    # ------------------------------------------------------------------ lifecycle

    def on_configure(self, state: LifecycleState) -> TransitionCallbackReturn:
        try:
            return self._configure()
        except Exception as exc:  # rclpy would turn it into a silent ERROR transition
            self.get_logger().error(f"configure failed: unexpected {type(exc).__name__}: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE

    def _parameter_values(self) -> dict[str, object]:
        values = {}
        for f in fields(parameters.NodeParams):
            try:
                values[f.name] = self.get_parameter(f.name).value
            except ParameterUninitializedException:  # an empty string array has no value
                values[f.name] = getattr(parameters.NodeParams, f.name)
        return values

    def _configure(self) -> TransitionCallbackReturn:
        try:
            self.params = parameters.from_values(self._parameter_values())
            cameras = self.params.cameras
        except parameters.ParameterError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        p = self.params
        if not p.model_path:
            self.get_logger().error(
                "configure failed: parameter 'model_path' is empty; set it to an .onnx model"
            )
            return TransitionCallbackReturn.FAILURE
        # The runtime is imported here so that a bad install surfaces as a FAILURE with its reason.
        from accident_anticipation_ros.runtime.errors import BackendError
        from accident_anticipation_ros.runtime.factory import create_backend
        from accident_anticipation_ros.runtime.model_trust import verify_model_file

        try:
            trusted = verify_model_file(p.model_path, p.model_sha256)
        except BackendError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            return TransitionCallbackReturn.FAILURE
        self._note_model_change(trusted)
        opencv_threads = set_opencv_threads(p.opencv_threads)
        try:
            self.backend = create_backend(
                p.model_path, p.backend, step_delay_ms=p.debug_step_delay_ms, **p.backend_options()
            )
            if p.debug_step_delay_ms > 0:
                self.get_logger().warning(
                    f"debug_step_delay_ms={p.debug_step_delay_ms:g}: every model step sleeps that long "
                    "first (a testing/benchmarking setting; set it to 0 in production)"
                )
            self._batching = p.batch_cameras and self.backend.batched and len(cameras) > 1
            started = time.monotonic()
            self._warm_up(batch=len(cameras) if self._batching else 1)
            warm_ms = (time.monotonic() - started) * 1e3
        except (BackendError, OSError, ValueError, RuntimeError) as exc:
            self.get_logger().error(f"configure failed: cannot load model '{p.model_path}': {exc}")
            self.backend = None
            return TransitionCallbackReturn.FAILURE
        info = self.backend.info
        try:
            self._session_config = p.session_config()
        except ValueError as exc:
            self.get_logger().error(f"configure failed: {exc}")
            self._release()
            return TransitionCallbackReturn.FAILURE
        self.cameras = {}
        for name, topic in cameras:
            cam = Camera(
                name=name,
                topic=topic,
                compressed=parameters.is_compressed_topic(topic),
                stats=StreamStats(max_gap=p.max_gap),
            )
            cam.risk_pub = self.create_publisher(AccidentRisk, f"~/{name}/risk", 10)
            cam.overlay_pub = self.create_publisher(Image, f"~/{name}/overlay", 2)
            cam.markers_pub = self.create_publisher(MarkerArray, f"~/{name}/markers", 2)
            self.cameras[name] = cam
        latched = QoSProfile(
            depth=1, reliability=ReliabilityPolicy.RELIABLE, durability=DurabilityPolicy.TRANSIENT_LOCAL
        )
        self._info_pub = self.create_publisher(AnticipationInfo, "~/info", latched)
        self._diag_pub = self.create_publisher(DiagnosticArray, "/diagnostics", 10)
        self.get_logger().info(
            f"configured: model '{info.model_name}' ({info.input_width}x{info.input_height}, "
            f"{info.fps:g} fps, {self.params.preprocess_mode or info.preprocess}) on {self.backend.describe()}, "
            f"{self._batch_note(len(cameras))}, OpenCV {opencv_threads} thread(s), warm-up {warm_ms:.0f} ms; file sha256 "
            f"{trusted.sha256[:12]}... ({'matches the ' + trusted.source if trusted.verified else 'unchecked'}); "
            "cameras: "
            + ", ".join(
                f"{c.name} <- {c.topic}{' (compressed)' if c.compressed else ''}"
                for c in self.cameras.values()
            )
        )
        mode = self.params.preprocess_mode
        if mode is not None and mode != info.preprocess:
            self.get_logger().warning(
                f"preprocess '{mode}' differs from the model's own '{info.preprocess}' (how its training "
                "fitted frames): the model sees other crops than it was trained on; use preprocess: model"
            )
        return TransitionCallbackReturn.SUCCESS

    def _batch_note(self, cameras: int) -> str:
        """How the worker steps the cameras, for logs and diagnostics."""
        if self._batching:
            return "cameras batched"
        if cameras < 2:
            return "one camera"
        if not self.params.batch_cameras:
            return "cameras one by one (batch_cameras false)"
        return "cameras one by one (the model has no batch axis: re-export it to batch)"

    def _note_model_change(self, trusted) -> None:
        """Warn when the file at the same path is not the one loaded at the last configure."""
        last = self._loaded_model
        if last is not None and last.path == trusted.path and last.sha256 != trusted.sha256:
            self.get_logger().warning(
                f"model file {trusted.path} changed since the last configure "
                f"(sha256 {last.sha256[:12]}... -> {trusted.sha256[:12]}...)"
            )
        self._loaded_model = trusted

    def on_activate(self, state: LifecycleState) -> TransitionCallbackReturn:
        from accident_anticipation_ros.runtime.preprocessing import Preprocessor
        from accident_anticipation_ros.runtime.session import StreamSession

        p = self.params
        qos = QoSProfile(
            history=HistoryPolicy.KEEP_LAST,
            depth=p.depth,
            reliability=ReliabilityPolicy.BEST_EFFORT
            if p.reliability == "best_effort"
            else ReliabilityPolicy.RELIABLE,
            durability=DurabilityPolicy.VOLATILE,
        )
        self._slots = LatestFrameSlots(list(self.cameras))
        for cam in self.cameras.values():
            # A fresh session per activation: its first frame reports the reset "first_frame".
            session = StreamSession(
                self.backend, self._session_config, Preprocessor(self.backend.info, mode=p.preprocess_mode)
            )
            cam.pipeline = StreamPipeline(session, cam.name, p.reduced_jpeg_decode)
            cam.subscription = self._subscribe(cam, qos)
        self._running.set()
        self._worker = threading.Thread(target=self._work, name="anticipation_worker", daemon=True)
        self._worker.start()
        self._publish_info()
        self._cpu = CpuPerFrame()  # CPU per frame counts from here
        self._batch_rounds = self._batch_rows = 0  # as the sessions' counters: per activation
        self._cpu.sample(sum(cam.stats.total("processed") for cam in self.cameras.values()))
        self._diag_timer = self.create_timer(p.diagnostics_period, self._publish_diagnostics)
        self._watchdog_stop.clear()
        self._watchdog = threading.Thread(target=self._watch, name="anticipation_watchdog", daemon=True)
        self._watchdog.start()
        self.get_logger().info("active: subscribed to " + ", ".join(c.topic for c in self.cameras.values()))
        return TransitionCallbackReturn.SUCCESS

    def on_deactivate(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self.get_logger().info("inactive: unsubscribed")
        return TransitionCallbackReturn.SUCCESS

    def on_cleanup(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._release()
        self.get_logger().info("cleaned up: model released")
        return TransitionCallbackReturn.SUCCESS

    def on_shutdown(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    def on_error(self, state: LifecycleState) -> TransitionCallbackReturn:
        self._stop_streaming()
        self._release()
        return TransitionCallbackReturn.SUCCESS

    # ------------------------------------------------------------------ streaming

    def _subscribe(self, cam: Camera, qos):
        """The camera subscription, with QoS-incompatibility warnings and, where the RMW reports them,
        a count of frames lost in DDS before they reach the node (``message_lost``)."""
        callbacks = {
            "incompatible_qos": lambda event: self._on_incompatible_qos(cam, event),
            "message_lost": lambda event: self._on_message_lost(cam, event),
        }
        msg_type = CompressedImage if cam.compressed else Image

        def subscribe():
            return self.create_subscription(
                msg_type,
                cam.topic,
                lambda msg: self._on_image(cam, msg),
                qos,
                event_callbacks=SubscriptionEventCallbacks(**callbacks),
            )

        try:
            return subscribe()
        except UnsupportedEventTypeError:
            del callbacks["message_lost"]
            self.get_logger().info(
                f"camera '{cam.name}': this RMW does not report messages lost in transport; "
                "frames_lost_in_transport stays 0"
            )
            return subscribe()

    def _on_message_lost(self, cam: Camera, event) -> None:
        lost = int(event.total_count_change)
        cam.stats.count("lost_in_transport", lost)
        self.get_logger().warning(
            f"camera '{cam.name}': {lost} frame(s) lost in DDS before reaching the node ({event.total_count} "
            "in all). Large frames over Fast DDS need bigger shared-memory segments "
            "(config/fastdds_large_images.xml, see README); or use reliability:=reliable.",
            throttle_duration_sec=5.0,
        )

    def _on_image(self, cam: Camera, msg) -> None:
        """Subscription callback: hand the frame over and return at once (newest frame wins)."""
        cam.stats.count("received")
        stamp = msg.header.stamp
        missing = cam.stats.arrived(stamp.sec + stamp.nanosec * 1e-9, self._now())
        if missing:
            self.get_logger().warning(
                f"camera '{cam.name}': {missing} frame(s) missing before stamp "
                f"{stamp.sec}.{stamp.nanosec:09d} by the stream's own frame interval "
                f"({cam.stats.total('missing_by_stamp')} in all): lost before the node took them "
                "(camera driver, network, DDS, or the bag)",
                throttle_duration_sec=5.0,
            )
        if self._slots is not None and self._slots.put(cam.name, (msg, time.monotonic())):
            cam.stats.count("dropped")

    def _on_incompatible_qos(self, cam: Camera, event) -> None:
        if cam.qos_warned:
            return
        cam.qos_warned = True
        ours = self.params.reliability
        fix = (
            "set the parameter reliability:=best_effort (accepts both reliable and best-effort publishers)"
            if ours == "reliable"
            else "make the publisher's QoS compatible (durability volatile or transient_local, any reliability)"
        )
        self.get_logger().warning(
            f"camera '{cam.name}': a publisher on {cam.topic} offers a QoS incompatible with this node's "
            f"subscription (reliability={ours}, depth={self.params.depth}; last policy in conflict: "
            f"{_policy_name(event)}); no frames will arrive from it. To fix: {fix}."
        )

    def _work(self) -> None:
        while self._running.is_set():
            taken = self._slots.take_waiting(timeout=0.1, every=self._batching)
            if not taken:
                continue
            if len(taken) > 1:
                self._process_batch(taken)
                continue
            name, (msg, received), dropped = taken[0]
            try:
                self._process(self.cameras[name], msg, received, dropped)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything a frame causes
                self._frame_failed(name, exc)

    def _frame_failed(self, name: str, exc: BaseException) -> None:
        self.cameras[name].stats.error("inference_errors", f"{type(exc).__name__}: {exc}")
        self.get_logger().error(
            f"camera '{name}': frame failed: {type(exc).__name__}: {exc}", throttle_duration_sec=5.0
        )

    def _process_batch(self, taken: list) -> None:
        """One frame of each of several cameras, the due ones in one model call."""
        items = [
            (self.cameras[name].pipeline, msg, received, dropped) for name, (msg, received), dropped in taken
        ]
        try:
            batch = handle_batch(items)
        except Exception as exc:  # noqa: BLE001 - a failed model call fails each camera's frame
            for name, _, _ in taken:
                self._frame_failed(name, exc)
            return
        if batch.batched:
            self._batch_rounds += 1
            self._batch_rows += batch.rows
        for (name, (msg, _), _), out in zip(taken, batch.outputs, strict=True):
            try:
                if isinstance(out, Exception):
                    raise out
                self._publish(self.cameras[name], msg, out)
            except Exception as exc:  # noqa: BLE001 - the worker must survive anything a frame causes
                self._frame_failed(name, exc)

    def _process(self, cam: Camera, msg, received: float, dropped: int) -> None:
        self._publish(cam, msg, cam.pipeline.handle_msg(msg, received=received, dropped=dropped))

    def _publish(self, cam: Camera, msg, out: FrameOutput) -> None:
        """Count a camera's processed frame and publish what it produced."""
        if not cam.fps_warned:
            warning = cam.pipeline.session.frame_rate.warning()
            if warning:
                cam.fps_warned = True
                self.get_logger().warning(f"camera '{cam.name}': {warning} (said once)")
        if out.drop == DROP_DECIMATED:
            cam.stats.count(DROP_DECIMATED)
            return
        if out.drop == DROP_BAD_FRAME:
            cam.stats.error(DROP_BAD_FRAME, out.error)
            self.get_logger().warning(
                f"camera '{cam.name}': frame skipped: {out.error}", throttle_duration_sec=5.0
            )
            return
        if out.drop == DROP_NON_FINITE:
            cam.stats.count(DROP_NON_FINITE)
            self.get_logger().warning(
                f"camera '{cam.name}': non-finite model output at t={out.result.stamp:.3f}; state reset, "
                "frame not published",
                throttle_duration_sec=5.0,
            )
            return
        result = out.result
        cam.risk_pub.publish(AccidentRisk(header=msg.header, **out.risk.as_dict()))
        cam.stats.processed(out.risk.latency_ms, result.step_ms, result.reset_reason, result.out_of_domain)
        if cam.markers_pub.get_subscription_count():
            frame_header = msg.header
            if not frame_header.frame_id:
                frame_header.frame_id = cam.name
            cam.markers_pub.publish(
                risk_markers(
                    frame_header,
                    cam.name,
                    result.probability_smoothed,
                    result.level,
                    result.alert,
                    result.time_to_accident,
                    cause=result.cause,
                    cause_confidence=result.cause_confidence,
                    out_of_domain=result.out_of_domain,
                )
            )
        self._maybe_publish_overlay(cam, msg, out.rgb, result)

    def _maybe_publish_overlay(self, cam: Camera, msg, rgb: np.ndarray, result: RiskResult) -> None:
        rate = self.params.overlay_rate
        now = time.monotonic()
        if rate <= 0 or now - cam.last_overlay < 1.0 / rate or not cam.overlay_pub.get_subscription_count():
            return
        cam.last_overlay = now
        overlay = draw_result_overlay(
            rgb,
            result,
            camera=cam.name,
            max_width=self.params.overlay_max_width,
            risk_map_trained=self.backend.info.risk_map_trained,
        )
        cam.overlay_pub.publish(rgb_to_image(overlay, header=msg.header, encoding="rgb8"))

    # ------------------------------------------------------------------ info and diagnostics

    def _publish_info(self) -> None:
        fields = info_fields(self.backend.info, self.backend.name, self.params, list(self.cameras))
        msg = AnticipationInfo(**fields)
        msg.header.stamp = self.get_clock().now().to_msg()
        self._info_pub.publish(msg)

    def _now(self) -> float:
        """The node clock in seconds: ROS time (``/clock`` under ``use_sim_time``)."""
        return self.get_clock().now().nanoseconds * 1e-9

    def _watch(self) -> None:
        """The watchdog thread: checks staleness every ``_STALE_CHECK_PERIOD`` until streaming stops."""
        period = min(self.params.diagnostics_period, _STALE_CHECK_PERIOD)
        while not self._watchdog_stop.wait(period):
            try:
                self._watch_staleness()
            except Exception as exc:  # noqa: BLE001 - the watchdog must outlive a failed publish
                self.get_logger().error(
                    f"staleness watchdog: {type(exc).__name__}: {exc}", throttle_duration_sec=5.0
                )

    def _watch_staleness(self) -> None:
        """Publish diagnostics at once when a camera becomes overdue or stalled (not a period later)."""
        now = self._now()
        for cam in self.cameras.values():
            if cam.stats.staleness(now, self.params.stale_error_after)[0] > cam.diag_level:
                self._publish_diagnostics()
                return

    def _publish_diagnostics(self) -> None:
        with self._diag_lock:
            self._publish_diagnostics_locked()

    def _publish_diagnostics_locked(self) -> None:
        array = DiagnosticArray()
        now = self._now()
        array.header.stamp = self.get_clock().now().to_msg()
        snaps, rates = {}, {}
        for name, cam in self.cameras.items():
            rate = rates[name] = cam.pipeline.session.frame_rate if cam.pipeline is not None else None
            snaps[name] = cam.stats.snapshot(
                self.params.latency_warn_ms,
                now,
                self.params.stale_error_after,
                rate.warning() if rate else "",
                self.params.ood_warn_fraction,
            )
        cpu_ms = self._cpu.sample(sum(s.totals.get("processed", 0) for s in snaps.values()))
        for cam in self.cameras.values():
            s, rate = snaps[cam.name], rates[cam.name]
            cam.diag_level = s.level
            values = {
                "camera_topic": cam.topic,
                "backend": self.backend.name if self.backend else "",
                "model": self.backend.info.model_name if self.backend else "",
                "input_fps": f"{s.input_fps:.2f}",
                "processed_fps": f"{s.processed_fps:.2f}",
                "stream_fps": f"{rate.stream_fps:.2f}" if rate else "nan",
                "model_fps": f"{self.backend.info.fps:g}" if self.backend else "",
                "align_to_model_fps": str(self.params.align_to_model_fps).lower(),
                "frames_received": str(s.totals.get("received", 0)),
                "frames_processed": str(s.totals.get("processed", 0)),
                "frames_dropped": str(s.totals.get("dropped", 0)),
                "frames_decimated": str(s.totals.get(DROP_DECIMATED, 0)),
                "frames_lost_in_transport": str(s.totals.get("lost_in_transport", 0)),
                "frames_missing_by_stamp": str(s.totals.get("missing_by_stamp", 0)),
                "bad_frames": str(s.totals.get("bad_frames", 0)),
                "non_finite_outputs": str(s.totals.get("non_finite", 0)),
                "inference_errors": str(s.totals.get("inference_errors", 0)),
                "latency_p50_ms": f"{s.latency_p50_ms:.2f}",
                "latency_p95_ms": f"{s.latency_p95_ms:.2f}",
                "step_p50_ms": f"{s.step_p50_ms:.2f}",
                "expected_period_s": f"{s.expected_period_s:.4f}",
                "since_last_frame_s": f"{s.since_last_frame_s:.4f}",
                "out_of_domain_fraction": f"{s.out_of_domain_fraction:.3f}",
                "frames_out_of_domain": str(s.totals.get("out_of_domain", 0)),
                # the whole node process (all cameras, all threads) per processed frame, this period
                "process_cpu_ms_per_frame": f"{cpu_ms:.2f}",
                "frames_batched": str(cam.pipeline.session.stats.batched if cam.pipeline is not None else 0),
                # node-wide: how the worker steps the cameras, and its batched model calls so far
                "batching": self._batch_note(len(self.cameras)),
                "batched_rounds": str(self._batch_rounds),
                "batched_rows": str(self._batch_rows),
                "resets": ", ".join(f"{k}={v}" for k, v in sorted(s.resets.items())) or "none",
            }
            array.status.append(
                DiagnosticStatus(
                    level=_DIAG_LEVELS[s.level],
                    name=f"{self.get_name()}: {cam.name}",
                    message=s.message,
                    hardware_id=cam.name,
                    values=[KeyValue(key=k, value=v) for k, v in values.items()],
                )
            )
        self._diag_pub.publish(array)

    # ------------------------------------------------------------------ teardown

    def close(self) -> None:
        """Stop the worker and free the model whatever the lifecycle state (process exit)."""
        self._stop_streaming()
        self._release()

    def _stop_streaming(self) -> None:
        self._running.clear()
        self._watchdog_stop.set()
        if self._watchdog is not None:
            self._watchdog.join(timeout=10.0)
            self._watchdog = None
        if self._slots is not None:
            self._slots.close()
        if self._worker is not None:
            self._worker.join(timeout=10.0)
            self._worker = None
        if self._slots is not None:
            for name, discarded in self._slots.clear().items():
                self.cameras[name].stats.count("dropped", discarded)
            self._slots = None
        for cam in self.cameras.values():
            if cam.subscription is not None:
                self.destroy_subscription(cam.subscription)
                cam.subscription = None
        if self._diag_timer is not None:
            self.destroy_timer(self._diag_timer)
            self._diag_timer = None

    def _release(self) -> None:
        for cam in self.cameras.values():
            for pub in (cam.risk_pub, cam.overlay_pub, cam.markers_pub):
                if pub is not None:
                    self.destroy_publisher(pub)
        self.cameras = {}
        for pub in (self._info_pub, self._diag_pub):
            if pub is not None:
                self.destroy_publisher(pub)
        self._info_pub = self._diag_pub = None
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def _warm_up(self, frames: int = 3, batch: int = 1) -> None:
        """Run a few frames (and a batch of ``batch`` streams) so the first real frame doesn't pay for
        lazy initialisation."""
        info = self.backend.info
        image = np.zeros((1, 3, info.input_height, info.input_width), dtype=np.float32)
        state = self.backend.init_state()
        for _ in range(frames):
            _, state = self.backend.step(image, state)
        if batch > 1:
            states = [self.backend.init_state() for _ in range(batch)]
            self.backend.step_batch([image] * batch, states)


def _policy_name(event) -> str:
    try:
        return event.last_policy_kind.name
    except AttributeError:
        return str(getattr(event, "last_policy_kind", "unknown"))
