"""One camera stream from image message to AccidentRisk fields, ROS-free: the node and offline replay.

    pipeline = StreamPipeline(StreamSession(backend, config), camera="cam_front")
    out = pipeline.handle_msg(msg, received=time.monotonic(), dropped=0)
    if out.published:
        publisher.publish(AccidentRisk(header=msg.header, **out.risk.as_dict()))

``msg`` is any object with the fields of a ``sensor_msgs/Image`` (``header, height, width, encoding,
is_bigendian, step, data``) or of a ``sensor_msgs/CompressedImage`` (``header, format, data``): an
rclpy message, one deserialized by rosbags, or a plain namespace. The pipeline converts it to RGB
(:mod:`conversions`), takes the stamp from ``header.stamp`` (:mod:`stamps`), steps the camera's
``StreamSession`` with the encoding (or compressed format) and returns every AccidentRisk field but
``header``, which is the source image's header, unchanged. Like camera_calibration's ``handle_msg``:
the callers convert messages at the edge and publish or record; the sequence is written once.

A frame that is not published says why in :attr:`FrameOutput.drop` (the names of the node's
``StreamStats`` counters):

- ``"bad_frames"`` (:data:`DROP_BAD_FRAME`): the message cannot be converted (a ``ConversionError``,
  its text in :attr:`FrameOutput.error`); the session is not stepped.
- ``"non_finite"`` (:data:`DROP_NON_FINITE`): the model output was NaN/Inf; the session resets its
  state on the next frame.
- ``"decimated"`` (:data:`DROP_DECIMATED`): the session aligns the stream to the model's fps
  (``align_to_model_fps``) and this frame is not due (:meth:`StreamSession.due`, decided from the
  header stamp before the image is converted); :attr:`FrameOutput.result` holds the last step's
  values with ``stepped=False``. Only frames that stepped the model are published: every message's
  header is the frame its risk was computed from.

``frames_dropped`` of a published message counts the frames the caller dropped (``dropped``) since
the previous published message, including those handed in with frames that were not published.

Several cameras with a frame ready: :func:`handle_batch` runs the same sequence for each of them,
with the due frames of all cameras in one model call (``runtime.session.step_sessions``); each
camera's output is what its own ``handle_msg`` would give.

:func:`info_fields` gives the fields of the latched ``AnticipationInfo`` the same way (node and
offline replay), so a recording tells which model and which fps rule produced it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from accident_anticipation_ros.conversions import ConversionError, msg_to_rgb
from accident_anticipation_ros.stamps import ns_to_seconds, to_ns

if TYPE_CHECKING:  # the runtime is imported by whoever builds the session
    from accident_anticipation_ros.parameters import NodeParams
    from accident_anticipation_ros.runtime.backend import BackendInfo
    from accident_anticipation_ros.runtime.session import RiskResult, StreamSession

DROP_BAD_FRAME = "bad_frames"
DROP_NON_FINITE = "non_finite"
DROP_DECIMATED = "decimated"


@dataclass(frozen=True)
class RiskFields:
    """The fields of one outgoing ``AccidentRisk`` message but ``header`` (see msg/AccidentRisk.msg)."""

    camera: str
    probability: float
    probability_smoothed: float
    level: int
    alert: bool
    time_to_accident: float
    frames_since_reset: int
    state_reset: bool
    reset_reason: str
    latency_ms: float
    frames_dropped: int
    cause: str = ""
    cause_confidence: float = float("nan")
    out_of_domain: bool = False
    domain_score: float = float("nan")

    def as_dict(self) -> dict[str, Any]:
        """Keyword arguments of an AccidentRisk constructor (rclpy or rosbags), ``header`` apart."""
        return dict(vars(self))  # all scalars: no deep copy (dataclasses.asdict costs ~30 us)


@dataclass(frozen=True)
class FrameOutput:
    """What the pipeline made of one image message.

    Attributes:
        stamp_ns: The message's header stamp (ns).
        rgb: ``(H, W, 3)`` uint8 frame; None when the message could not be converted.
        result: The session's answer; None when the session was not stepped.
        risk: The AccidentRisk fields to publish; None when the frame is not published.
        drop: ``""`` when published, else :data:`DROP_BAD_FRAME`, :data:`DROP_NON_FINITE` or
            :data:`DROP_DECIMATED`.
        error: Why the frame was dropped (the conversion error; ``""`` otherwise).
    """

    stamp_ns: int
    rgb: np.ndarray | None = None
    result: RiskResult | None = None
    risk: RiskFields | None = None
    drop: str = ""
    error: str = ""

    @property
    def published(self) -> bool:
        return self.risk is not None


DECODE_MARGIN = 2  # a JPEG decoded smaller keeps twice the model input: an area step still follows


def decode_min_size(preprocessor: Any, reduced_jpeg: bool = True) -> tuple[int, int] | None:
    """The ``min_size`` a JPEG may be decoded down to (``conversions.msg_to_rgb``): twice the model
    input ``(height, width)``, so the preprocessor's area resize still averages over the decoder's
    DCT-domain scaling; None (full size) without ``reduced_jpeg``. It depends on the model alone, so
    the answers do not change with the overlay's settings."""
    if not reduced_jpeg:
        return None
    return (DECODE_MARGIN * preprocessor.height, DECODE_MARGIN * preprocessor.width)


class StreamPipeline:
    """Image message fields -> RGB -> ``StreamSession.step`` -> AccidentRisk fields, for one camera.

    Args:
        session: The camera's session (its own recurrent state; the backend may be shared).
        camera: The camera name written into every message.
        reduced_jpeg: Decode JPEG frames at the smallest libjpeg scale (1/2, 1/4, 1/8) that keeps
            twice the model input (:func:`decode_min_size`); False: at full size. The overlay is
            drawn on the decoded frame.
    """

    def __init__(self, session: StreamSession, camera: str, reduced_jpeg: bool = True) -> None:
        self.session = session
        self.camera = camera
        self._dropped = 0  # dropped by the caller since the last published message
        self.decode_min_size = decode_min_size(session.preprocessor, reduced_jpeg)

    def handle_msg(self, msg: Any, received: float | None = None, dropped: int = 0) -> FrameOutput:
        """Process one image message (see the module docstring). Like :func:`handle_batch` of one
        message, but a ``ValueError`` is raised, not returned.

        Args:
            msg: An Image or CompressedImage, told apart by their ``encoding`` / ``format`` field.
            received: ``time.monotonic()`` when the frame arrived (the start of ``latency_ms``);
                None: now.
            dropped: Frames of this camera the caller dropped since the previous call (summed into
                the next published message's ``frames_dropped``).

        Raises:
            ValueError: from ``StreamSession.step`` (the session is left unchanged).
        """
        begun = self._begin(msg, received, dropped)
        if isinstance(begun, FrameOutput):
            return begun
        return self._end(begun, self.session.step(begun.rgb, begun.stamp, begun.encoding, dropped))

    def _begin(self, msg: Any, received: float | None, dropped: int) -> FrameOutput | _Converted:
        """Stamp, decimation and conversion: a finished (dropped) output, or the frame to step."""
        if received is None:
            received = time.monotonic()
        stamp_ns = to_ns(msg.header.stamp)
        stamp = ns_to_seconds(stamp_ns)
        self._dropped += int(dropped)
        if not self.session.due(stamp):  # decimated: not even converted
            return FrameOutput(stamp_ns, result=self.session.skip(stamp, dropped), drop=DROP_DECIMATED)
        try:
            rgb = msg_to_rgb(msg, self.decode_min_size)
        except ConversionError as exc:
            return FrameOutput(stamp_ns, drop=DROP_BAD_FRAME, error=str(exc))
        encoding = msg.format if hasattr(msg, "format") else msg.encoding
        return _Converted(stamp_ns, stamp, rgb, encoding, received)

    def _end(self, frame: _Converted, result: RiskResult) -> FrameOutput:
        """The output of a stepped frame."""
        stamp_ns, rgb, received = frame.stamp_ns, frame.rgb, frame.received
        if not result.valid:
            return FrameOutput(stamp_ns, rgb, result, drop=DROP_NON_FINITE)
        risk = RiskFields(
            camera=self.camera,
            latency_ms=(time.monotonic() - received) * 1e3,
            frames_dropped=self._dropped,
            **result.message_fields(),
        )
        self._dropped = 0
        return FrameOutput(stamp_ns, rgb, result, risk)


@dataclass(frozen=True)
class _Converted:
    """A due frame converted to RGB, waiting for its step."""

    stamp_ns: int
    stamp: float
    rgb: np.ndarray
    encoding: str
    received: float


@dataclass(frozen=True)
class BatchOutput:
    """What :func:`handle_batch` made of its messages.

    Attributes:
        outputs: Per message, in order: its :class:`FrameOutput`, or the ``ValueError`` that
            ``handle_msg`` would have raised for it (that camera's session is left unchanged).
        rows: Frames stepped in the one model call.
        batched: Whether that call ran them as one batch (2 or more rows, a backend with a batch axis).
    """

    outputs: list[FrameOutput | ValueError]
    rows: int
    batched: bool


def handle_batch(items: Sequence[tuple[StreamPipeline, Any, float | None, int]]) -> BatchOutput:
    """``handle_msg`` for one message of each of several cameras, the due frames in one model call.

    Args:
        items: ``(pipeline, msg, received, dropped)`` per camera, as ``handle_msg`` takes them; the
            pipelines' sessions share one backend and each pipeline appears once.
    """
    from accident_anticipation_ros.runtime.session import FrameRequest, step_sessions

    outputs: list[FrameOutput | ValueError | None] = [None] * len(items)
    todo: list[tuple[int, _Converted]] = []
    for i, (pipeline, msg, received, dropped) in enumerate(items):
        try:
            begun = pipeline._begin(msg, received, dropped)
        except ValueError as exc:
            outputs[i] = exc
            continue
        if isinstance(begun, FrameOutput):
            outputs[i] = begun
        else:
            todo.append((i, begun))
    requests = [
        FrameRequest(items[i][0].session, frame.rgb, frame.stamp, frame.encoding, items[i][3])
        for i, frame in todo
    ]
    batch = step_sessions(requests)
    for (i, frame), result in zip(todo, batch.results, strict=True):
        outputs[i] = result if isinstance(result, ValueError) else items[i][0]._end(frame, result)
    return BatchOutput(outputs, batch.rows, batch.batched)  # type: ignore[arg-type]


def info_fields(info: BackendInfo, backend: str, params: NodeParams, cameras: list[str]) -> dict[str, Any]:
    """Keyword arguments of an AnticipationInfo constructor (rclpy or rosbags), ``header`` apart."""
    semantics = info.semantics
    return {
        "model_name": info.model_name,
        "model_hash": info.model_hash,
        "backend": backend,
        "input_width": int(info.input_width),
        "input_height": int(info.input_height),
        "assumed_fps": float(info.fps),
        "align_to_model_fps": bool(params.align_to_model_fps),
        "threshold_medium": float(params.threshold_medium),
        "threshold_high": float(params.threshold_high),
        "alert_on": float(params.alert_on),
        "alert_off": float(params.alert_off),
        "alert_on_frames": int(params.alert_on_frames),
        "max_gap": float(params.max_gap),
        "cameras": list(cameras),
        "training_domain": semantics.training_domain if semantics is not None else "",
        "causes": list(semantics.causes.names) if semantics is not None and semantics.causes else [],
        "domain_threshold": (
            float(semantics.domain.threshold) if semantics is not None and semantics.domain else math.nan
        ),
    }
