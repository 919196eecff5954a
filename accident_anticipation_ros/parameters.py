"""The node's parameters in one typed place (ROS-free).

``PARAMETERS`` is the schema (name, default, description, validation); the node declares every entry
and builds one frozen ``NodeParams`` from the values, so no code reads parameters one by one. The same
schema documents ``config/anticipation.yaml`` and the README's parameter table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

BACKENDS = ("auto", "tensorrt", "onnxruntime", "torch")
RELIABILITIES = ("best_effort", "reliable")
PREPROCESS_MODES = ("model", "letterbox", "center_crop", "stretch")  # "model": the model's aar.preprocess


class ParameterError(ValueError):
    """A parameter value is out of range or inconsistent; the message names the parameter."""


@dataclass(frozen=True)
class NodeParams:
    """Every parameter of ``anticipation_node``; field metadata carries the description."""

    model_path: str = ""
    model_sha256: str = ""
    backend: str = "auto"
    camera_topics: tuple[str, ...] = ("/camera/image_raw",)
    camera_names: tuple[str, ...] = ()
    reliability: str = "best_effort"
    depth: int = 1
    preprocess: str = "model"
    reduced_jpeg_decode: bool = True
    num_threads: int = 0
    allow_spinning: bool = False
    opencv_threads: int = 1
    batch_cameras: bool = True
    threshold_medium: float = 0.3
    threshold_high: float = 0.6
    alert_on: float = 0.5
    alert_off: float = 0.35
    alert_on_frames: int = 3
    rise_rate: float = 0.5
    fall_rate: float = 0.15
    max_gap: float = 0.5
    align_to_model_fps: bool = True
    overlay_rate: float = 10.0
    overlay_max_width: int = 640
    diagnostics_period: float = 1.0
    latency_warn_ms: float = 200.0
    stale_error_after: float = 5.0
    ood_warn_fraction: float = 0.5
    autostart: bool = True
    debug_step_delay_ms: float = 0.0

    def __post_init__(self) -> None:
        _check(self.backend in BACKENDS, "backend", f"must be one of {BACKENDS}, got {self.backend!r}")
        _check(
            self.reliability in RELIABILITIES,
            "reliability",
            f"must be one of {RELIABILITIES}, got {self.reliability!r}",
        )
        _check(
            self.preprocess in PREPROCESS_MODES,
            "preprocess",
            f"must be one of {PREPROCESS_MODES}, got {self.preprocess!r}",
        )
        _check(len(self.camera_topics) > 0, "camera_topics", "needs at least one topic")
        _check(
            len(set(self.camera_topics)) == len(self.camera_topics), "camera_topics", "has duplicate topics"
        )
        _check(
            not self.camera_names or len(self.camera_names) == len(self.camera_topics),
            "camera_names",
            f"has {len(self.camera_names)} names for {len(self.camera_topics)} camera_topics "
            "(give one per topic, or none to derive them from the topics)",
        )
        _check(self.depth >= 1, "depth", f"must be >= 1, got {self.depth}")
        _check(
            self.num_threads >= 0,
            "num_threads",
            f"must be >= 0 (0 = backend default), got {self.num_threads}",
        )
        _check(
            self.opencv_threads >= 0,
            "opencv_threads",
            f"must be >= 0 (0 = OpenCV's default, one per core), got {self.opencv_threads}",
        )
        for name in (
            "threshold_medium",
            "threshold_high",
            "alert_on",
            "alert_off",
            "rise_rate",
            "fall_rate",
            "ood_warn_fraction",
        ):
            value = getattr(self, name)
            _check(0.0 <= value <= 1.0 and math.isfinite(value), name, f"must be in [0, 1], got {value}")
        _check(
            self.threshold_medium <= self.threshold_high,
            "threshold_medium",
            f"({self.threshold_medium}) must not exceed threshold_high ({self.threshold_high})",
        )
        _check(
            self.alert_off <= self.alert_on,
            "alert_off",
            f"({self.alert_off}) must not exceed alert_on ({self.alert_on}) (hysteresis)",
        )
        _check(self.alert_on_frames >= 1, "alert_on_frames", f"must be >= 1, got {self.alert_on_frames}")
        _check(self.max_gap > 0, "max_gap", f"must be > 0 seconds, got {self.max_gap}")
        _check(
            self.overlay_rate >= 0, "overlay_rate", f"must be >= 0 Hz (0 disables), got {self.overlay_rate}"
        )
        _check(
            self.overlay_max_width >= 64, "overlay_max_width", f"must be >= 64, got {self.overlay_max_width}"
        )
        _check(
            math.isfinite(self.debug_step_delay_ms) and self.debug_step_delay_ms >= 0,
            "debug_step_delay_ms",
            f"must be >= 0 milliseconds (0 = off), got {self.debug_step_delay_ms}",
        )
        _check(
            self.diagnostics_period > 0, "diagnostics_period", f"must be > 0, got {self.diagnostics_period}"
        )
        _check(
            self.stale_error_after > 0,
            "stale_error_after",
            f"must be > 0 seconds, got {self.stale_error_after}",
        )

    def backend_options(self) -> dict[str, object]:
        """Options for ``runtime.factory.create_backend``: the threads (when set) and, for a backend that
        may be ONNX Runtime, its idle-thread spinning (an option only ONNX Runtime knows; "auto" drops it
        for the others)."""
        options: dict[str, object] = {"threads": self.num_threads} if self.num_threads else {}
        if self.backend in ("auto", "onnxruntime"):
            options["allow_spinning"] = self.allow_spinning
        return options

    @property
    def preprocess_mode(self) -> str | None:
        """The ``Preprocessor`` mode: None (the model's own) for ``"model"``, else the mode set."""
        return None if self.preprocess == "model" else self.preprocess

    def session_config(self):
        """The ``runtime.session.SessionConfig`` these parameters describe (the node and offline replay)."""
        from accident_anticipation_ros.runtime.session import SessionConfig

        return SessionConfig(
            max_gap=self.max_gap,
            rise=self.rise_rate,
            fall=self.fall_rate,
            threshold_medium=self.threshold_medium,
            threshold_high=self.threshold_high,
            alert_on=self.alert_on,
            alert_off=self.alert_off,
            alert_on_frames=self.alert_on_frames,
            align_to_model_fps=self.align_to_model_fps,
        )

    @property
    def cameras(self) -> list[tuple[str, str]]:
        """``(name, topic)`` per camera; names default to the topic without image_transport suffixes."""
        names = self.camera_names or tuple(camera_name_from_topic(t) for t in self.camera_topics)
        if len(set(names)) != len(names):
            raise ParameterError(
                f"camera_names: derived names {list(names)} collide; set camera_names explicitly"
            )
        return list(zip(names, self.camera_topics, strict=True))


DESCRIPTIONS: dict[str, str] = {
    "model_path": "ONNX model (.onnx) or TensorRT engine (.engine/.plan); torch backend: checkpoint (.safetensors)",
    "model_sha256": "expected sha256 of the model file; configure refuses another file (empty: the "
    "'<model_path>.sha256' sidecar if there is one, else unchecked)",
    "backend": "inference backend: auto (TensorRT, then ONNX Runtime, then torch), tensorrt, onnxruntime, torch",
    "camera_topics": "image topics; a topic ending in /compressed is subscribed as sensor_msgs/CompressedImage",
    "camera_names": "one name per topic for the output namespaces ~/<name>/...; empty: derived from the topics",
    "reliability": "camera subscription reliability: best_effort (sensor data) or reliable",
    "depth": "camera subscription queue depth (keep-last)",
    "preprocess": "how frames are fitted to the model input: model (as its training did, from the model's "
    "metadata; letterbox if it does not say), letterbox, center_crop or stretch",
    "num_threads": "backend CPU threads (ONNX Runtime intra-op); 0 = the backend's default",
    "allow_spinning": "ONNX Runtime: let idle worker threads spin-wait (lower latency, ~4x the CPU per frame); "
    "false frees the cores between frames",
    "opencv_threads": "threads OpenCV may use to decode, convert and resize frames (process-wide); 1 keeps "
    "that work on the worker thread: OpenCV's pool threads busy-wait after each call, which cost ~2 ms of "
    "CPU per 720p JPEG frame on a 2-core machine for no gain at these sizes; 0 = OpenCV's default (one per core)",
    "batch_cameras": "step the cameras that have a frame ready in one model call when the model has a batch "
    "axis (each camera keeps its own state); false, or a batch-1 export: one camera at a time",
    "threshold_medium": "probability_smoothed at or above this is LEVEL_MEDIUM",
    "threshold_high": "probability_smoothed at or above this is LEVEL_HIGH",
    "alert_on": "the alert turns on after alert_on_frames consecutive frames at or above this",
    "alert_off": "the alert turns off when probability_smoothed falls below this",
    "alert_on_frames": "consecutive frames at or above alert_on needed to raise the alert",
    "rise_rate": "smoothing factor (EMA alpha) when the probability rises; 1 = no smoothing",
    "fall_rate": "smoothing factor (EMA alpha) when the probability falls",
    "max_gap": "a gap between frame stamps longer than this (seconds) resets the recurrent state",
    "align_to_model_fps": "step the model at its own fps by header stamps (a 30 fps camera into a 10 fps model: "
    "every third frame; only stepped frames get an AccidentRisk); false: step every frame",
    "reduced_jpeg_decode": "decode JPEG frames at the smallest 1/2, 1/4 or 1/8 scale that keeps twice the "
    "model input (a 720p JPEG into a 96 px model: 1/2, about half the decode and preprocessing CPU; the "
    "overlay is drawn on that frame); false: full size",
    "overlay_rate": "maximum overlay images per second per camera; 0 disables the overlay",
    "overlay_max_width": "overlay images wider than this are downscaled (pixels)",
    "diagnostics_period": "seconds between /diagnostics messages",
    "latency_warn_ms": "diagnostics go WARN when the p95 latency exceeds this (milliseconds)",
    "stale_error_after": "diagnostics go ERROR for a camera silent this long (seconds, node clock); "
    "WARN already after two expected frame periods (from the header stamps)",
    "ood_warn_fraction": "diagnostics go WARN when more than this share of a period's frames are out of "
    "the model's training domain (AccidentRisk.out_of_domain)",
    "autostart": "configure and activate on start (false: wait for lifecycle transitions)",
    "debug_step_delay_ms": "testing/benchmarking only: sleep this long before every model step, to act as "
    "a slower model (drops, latency); 0 = off, never set it in production",
}


def defaults() -> dict[str, object]:
    """Parameter name -> default value, in declaration order (lists for tuple fields)."""
    base = NodeParams()
    return {f.name: _to_ros(getattr(base, f.name)) for f in fields(NodeParams)}


def from_values(values: dict[str, object]) -> NodeParams:
    """Build ``NodeParams`` from declared parameter values, with errors that name the parameter."""
    unknown = set(values) - {f.name for f in fields(NodeParams)}
    if unknown:
        raise ParameterError(f"unknown parameter(s): {sorted(unknown)}")
    kwargs = {}
    for f in fields(NodeParams):
        if f.name not in values:
            continue
        value = values[f.name]
        default = getattr(NodeParams, f.name)
        if isinstance(default, tuple):
            value = tuple(str(v) for v in (value or ()) if str(v))
        kwargs[f.name] = value
    return NodeParams(**kwargs)


def camera_name_from_topic(topic: str) -> str:
    """``/cam_front/image_raw/compressed`` -> ``cam_front``; ``/image`` -> ``image``."""
    parts = [p for p in topic.split("/") if p]
    if parts and parts[-1] == "compressed":
        parts = parts[:-1]
    if len(parts) > 1 and parts[-1] in (
        "image_raw",
        "image",
        "image_rect",
        "image_rect_color",
        "image_color",
    ):
        parts = parts[:-1]
    if not parts:
        raise ParameterError(f"camera_topics: cannot derive a camera name from topic {topic!r}")
    return "_".join(parts).replace("-", "_")


def is_compressed_topic(topic: str) -> bool:
    """image_transport convention: a topic ending in ``/compressed`` carries CompressedImage."""
    return topic.rstrip("/").endswith("/compressed")


def _to_ros(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value


def _check(ok: bool, name: str, text: str) -> None:
    if not ok:
        raise ParameterError(f"parameter '{name}' {text}")
