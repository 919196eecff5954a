"""One camera stream's recurrent state, its reset rules and the risk post-processing (ROS-free).

    session = StreamSession(create_backend("tsd-nano.onnx"), SessionConfig(max_gap=0.5))
    result = session.step(rgb, stamp=msg_time_s, encoding="rgb8")   # -> RiskResult

State rules: the recurrent state is reset on the first frame, on a gap between stamps longer than
``max_gap``, on a stamp going backwards (a looping bag), on a change of resolution or encoding, on
the frame after a non-finite model output and after :meth:`StreamSession.reset`. A reset also resets
the smoothing and the alert, and is reported in the result. Cost per frame is constant: nothing
grows with the stream's length.

Frame rate: with ``align_to_model_fps`` (default) the stream is aligned to the model's fps by stamps
(:mod:`~accident_anticipation_ros.runtime.frame_rate`): a 30 fps camera into a 10 fps model steps the
model on every third frame. :meth:`StreamSession.due` tells from the stamp alone whether a frame
steps (so a caller can skip converting the others); ``step`` on a frame that is not due returns the
last step's values with ``stepped=False`` and touches neither the frame nor the state. Gaps are
measured between received frames, stepped or not; the frame after a reset is always stepped.
Resolution and encoding are compared between stepped frames (a skipped frame is not looked at), so
a change is seen, and resets, on the next stepped frame.

Several cameras: :func:`step_sessions` steps one frame of each of several sessions that share a
backend, the due ones in one ``Backend.step_batch`` call (each session keeps its own state rows and
its own reset rules); every session's result equals what its own ``step`` would have given.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from accident_anticipation_ros.runtime.backend import Backend, State, StepOutput
from accident_anticipation_ros.runtime.frame_rate import FrameRateAligner, FrameRateReport
from accident_anticipation_ros.runtime.preprocessing import Preprocessor
from accident_anticipation_ros.runtime.semantics import FrameSemantics, SemanticsHead

RESET_REASONS = (
    "first_frame",
    "gap",
    "time_jump_back",
    "resolution_change",
    "encoding_change",
    "non_finite_output",
    "manual",
)
LEVEL_LOW, LEVEL_MEDIUM, LEVEL_HIGH = 0, 1, 2


@dataclass(frozen=True)
class SessionConfig:
    """Reset rules and post-processing of one stream.

    Attributes:
        max_gap: Longest gap between consecutive stamps (s) before the state is reset.
        rise: Smoothing rate while the probability rises (EMA alpha in (0, 1]).
        fall: Smoothing rate while it falls (smaller: the risk decays slowly).
        threshold_medium: ``probability_smoothed`` at or above it is LEVEL_MEDIUM.
        threshold_high: ... at or above it is LEVEL_HIGH.
        alert_on: The alert turns on after ``alert_on_frames`` consecutive frames at or above it.
        alert_off: The alert turns off when ``probability_smoothed`` falls below it.
        alert_on_frames: Consecutive frames needed to turn the alert on (k).
        align_to_model_fps: Step the model at its own fps by stamps (decimate a faster stream);
            False: step every frame.
    """

    max_gap: float = 0.5
    rise: float = 0.5
    fall: float = 0.15
    threshold_medium: float = 0.3
    threshold_high: float = 0.6
    alert_on: float = 0.5
    alert_off: float = 0.35
    alert_on_frames: int = 3
    align_to_model_fps: bool = True

    def __post_init__(self) -> None:
        checks = (
            (self.max_gap > 0, "max_gap must be > 0"),
            (0 < self.rise <= 1, "rise must be in (0, 1]"),
            (0 < self.fall <= 1, "fall must be in (0, 1]"),
            (
                0 <= self.threshold_medium <= self.threshold_high <= 1,
                "need 0 <= threshold_medium <= threshold_high <= 1",
            ),
            (0 <= self.alert_off <= self.alert_on <= 1, "need 0 <= alert_off <= alert_on <= 1"),
            (
                int(self.alert_on_frames) == self.alert_on_frames >= 1,
                "alert_on_frames must be an integer >= 1",
            ),
        )
        for ok, text in checks:
            if not ok:
                raise ValueError(f"SessionConfig: {text} (got {self})")


@dataclass(frozen=True)
class FilterOutput:
    """The post-processed risk of one frame."""

    probability_smoothed: float
    level: int
    alert: bool
    time_to_accident: float  # seconds while alerting, else NaN


class RiskFilter:
    """Asymmetric EMA smoothing, level thresholds and alert hysteresis over per-frame probabilities.

    The first value after a reset is taken as is; later values move the smoothed probability by
    ``rise * (p - s)`` when ``p > s`` and ``fall * (p - s)`` otherwise.
    """

    def __init__(self, config: SessionConfig) -> None:
        self.config = config
        self.reset()

    def reset(self) -> None:
        self.smoothed: float | None = None
        self.alert = False
        self.above = 0  # consecutive frames at or above alert_on
        self.last = FilterOutput(0.0, LEVEL_LOW, False, math.nan)

    def level(self, p: float) -> int:
        if p >= self.config.threshold_high:
            return LEVEL_HIGH
        return LEVEL_MEDIUM if p >= self.config.threshold_medium else LEVEL_LOW

    def update(self, probability: float, tta: float = math.nan) -> FilterOutput:
        """Feed one finite probability in [0, 1] (and the predicted time to accident, s)."""
        cfg = self.config
        s = self.smoothed
        if s is None:
            s = probability
        else:
            s += (cfg.rise if probability > s else cfg.fall) * (probability - s)
        self.smoothed = s
        self.above = self.above + 1 if s >= cfg.alert_on else 0
        if self.alert:
            self.alert = s >= cfg.alert_off
        else:
            self.alert = self.above >= cfg.alert_on_frames
        tta_out = max(0.0, float(tta)) if self.alert and math.isfinite(tta) else math.nan
        self.last = FilterOutput(s, self.level(s), self.alert, tta_out)
        return self.last


@dataclass(frozen=True)
class RiskResult:
    """The session's answer for one frame (what the node publishes).

    Attributes:
        stamp: The frame's stamp (s).
        probability: Sigmoid of the model's accident logit for this frame.
        probability_smoothed: After the asymmetric smoothing.
        level: 0 low, 1 medium, 2 high (from ``probability_smoothed``).
        alert: Alert state after hysteresis.
        time_to_accident: Predicted seconds to the accident while alerting, else NaN.
        frames_since_reset: Frames since the last state reset (1 on the reset frame).
        state_reset: Whether the state was reset on this frame.
        reset_reason: One of :data:`RESET_REASONS`, or ``""``.
        risk_map: ``(h, w)`` per-token probabilities (zeros when not valid).
        valid: False when the model output was NaN/Inf: then the probabilities, level and alert
            are those of the last valid frame (never NaN), and the next frame resets the state.
        step_ms: Wall time of this step (preprocessing, inference, post-processing).
        stepped: False when the frame-rate alignment skipped this frame: then every value but
            ``stamp`` and ``step_ms`` is the last stepped frame's, and ``state_reset`` is False.
        source_stamp: Stamp of the frame the values were computed from (``stamp`` when stepped).
        cause: Most likely accident cause while ``level`` is above LOW, else ``""`` (see
            :mod:`~accident_anticipation_ros.runtime.semantics`).
        cause_confidence: Its softmax probability; NaN when ``cause`` is empty.
        out_of_domain: The frame is unlike the model's training frames (``domain_score`` above
            the model's threshold).
        domain_score: Mahalanobis distance of the frame's embedding from the training frames; NaN
            when the model has no domain statistics or the output was not valid.
    """

    stamp: float
    probability: float
    probability_smoothed: float
    level: int
    alert: bool
    time_to_accident: float
    frames_since_reset: int
    state_reset: bool
    reset_reason: str
    risk_map: np.ndarray
    valid: bool
    step_ms: float
    stepped: bool = True
    source_stamp: float = math.nan
    cause: str = ""
    cause_confidence: float = math.nan
    out_of_domain: bool = False
    domain_score: float = math.nan

    def message_fields(self) -> dict:
        """The AccidentRisk fields this result sets (the node and offline replay build the message from it)."""
        return {
            "probability": float(self.probability),
            "probability_smoothed": float(self.probability_smoothed),
            "level": int(self.level),
            "alert": bool(self.alert),
            "time_to_accident": float(self.time_to_accident),
            "frames_since_reset": int(self.frames_since_reset),
            "state_reset": bool(self.state_reset),
            "reset_reason": self.reset_reason,
            "cause": self.cause,
            "cause_confidence": float(self.cause_confidence),
            "out_of_domain": bool(self.out_of_domain),
            "domain_score": float(self.domain_score),
        }


@dataclass
class SessionStats:
    """Counters of one session."""

    frames: int = 0  # frames stepped
    batched: int = 0  # of those, frames stepped in a model call with other sessions' frames
    decimated: int = 0  # frames the frame-rate alignment skipped
    resets: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RESET_REASONS, 0))
    non_finite: int = 0

    @property
    def total_resets(self) -> int:
        return sum(self.resets.values())


def sigmoid(x):
    """Numerically stable logistic function (scalars or arrays)."""
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(x, dtype=np.float64)))


class StreamSession:
    """The recurrent state of one camera stream, with reset rules and risk post-processing.

    Args:
        backend: A loaded :class:`Backend` (may be shared by sessions: each keeps its own state).
        config: Reset rules and post-processing parameters.
        preprocessor: Frame preprocessing (default: letterbox to the model's input).
    """

    def __init__(
        self, backend: Backend, config: SessionConfig | None = None, preprocessor: Preprocessor | None = None
    ) -> None:
        self.backend = backend
        self.config = config or SessionConfig()
        self.preprocessor = preprocessor or Preprocessor(backend.info)
        self.filter = RiskFilter(self.config)
        self.semantics = SemanticsHead(backend.info.semantics)
        self.stats = SessionStats()
        self._state: State | None = None
        self._last_stamp: float | None = None
        self._last_size: tuple[int, int] | None = None
        self._last_encoding: str | None = None
        self._pending_reset = ""
        self._frames_since_reset = 0
        self._last_probability = 0.0
        self._last_result: RiskResult | None = None
        h, w = backend.info.risk_map_shape
        self._empty_map = np.zeros((h, w), np.float32)
        self.aligner = FrameRateAligner(
            backend.info.fps, enabled=self.config.align_to_model_fps, max_interval=self.config.max_gap
        )

    @property
    def frame_rate(self) -> FrameRateReport:
        """The stream's measured fps against the model's (replaced, never mutated: safe to read from
        another thread)."""
        return self.aligner.report

    @property
    def state(self) -> State | None:
        """The backend state carried to the next frame (None before the first frame)."""
        return self._state

    def reset(self, reason: str = "manual") -> None:
        """Reset the state on the next frame (reported with ``reason``)."""
        if reason not in RESET_REASONS:
            raise ValueError(f"unknown reset reason {reason!r}; expected one of {RESET_REASONS}")
        self._pending_reset = reason

    def _stamp_reset_reason(self, stamp: float) -> str:
        """The reset a frame at ``stamp`` causes whatever its pixels ("" for none)."""
        if self._last_stamp is None:
            return "first_frame"
        if stamp < self._last_stamp:
            return "time_jump_back"
        if stamp - self._last_stamp > self.config.max_gap:
            return "gap"
        return ""

    def _reset_reason(self, size: tuple[int, int], stamp: float, encoding: str) -> str:
        reason = self._stamp_reset_reason(stamp)
        if reason:
            return reason
        if size != self._last_size:
            return "resolution_change"
        if encoding != self._last_encoding:
            return "encoding_change"
        return self._pending_reset

    def due(self, stamp: float) -> bool:
        """Whether a frame at ``stamp`` (s) steps the model; changes nothing.

        True on every frame without ``align_to_model_fps``, on the frame of a stamp-driven or pending
        reset, and on the frames the model's fps grid picks (:mod:`.frame_rate`).

        Raises:
            ValueError: a non-finite stamp.
        """
        stamp = _finite_stamp(stamp)
        if self._last_result is None or self._stamp_reset_reason(stamp) or self._pending_reset:
            return True
        return self.aligner.due(stamp)

    def skip(self, stamp: float, dropped: int = 0) -> RiskResult:
        """Record a frame that is not :meth:`due` (decimated) and return the last step's values for it.

        Args:
            stamp: The frame's stamp (s).
            dropped: Frames of the stream the caller dropped just before this one (they keep the
                measured frame rate the camera's; see ``FrameRateAligner.skipped``).

        Raises:
            ValueError: the frame is due (it must be stepped), or a non-finite stamp.
        """
        t0 = time.perf_counter()
        if self.due(stamp):
            raise ValueError(f"the frame at {stamp} is due: step it, do not skip it")
        stamp = float(stamp)
        self._last_stamp = stamp
        self.aligner.skipped(stamp, dropped)
        self.stats.decimated += 1
        return dataclasses.replace(
            self._last_result,
            stamp=stamp,
            state_reset=False,
            reset_reason="",
            stepped=False,
            step_ms=(time.perf_counter() - t0) * 1e3,
        )

    def step(self, rgb: np.ndarray, stamp: float, encoding: str = "", dropped: int = 0) -> RiskResult:
        """Process one frame: step the model, or, when the frame is not :meth:`due`, :meth:`skip` it.

        Args:
            rgb: ``(H, W, 3) uint8`` RGB frame (not looked at when the frame is skipped).
            stamp: The frame's time in seconds (header stamp; monotonic within a stream).
            encoding: The source encoding (a change resets the state); may be empty.
            dropped: Frames of the stream the caller dropped just before this one (see :meth:`skip`).

        Raises:
            ValueError: a malformed frame or a non-finite stamp (the session is left unchanged).
        """
        t0 = time.perf_counter()
        if not self.due(stamp):
            return self.skip(stamp, dropped)
        pending = self._prepare(rgb, stamp, encoding, dropped, t0)
        out, state = self.backend.step(pending.image, self._state)
        return self._complete(pending, out, state)

    def _prepare(self, rgb: np.ndarray, stamp: float, encoding: str, dropped: int, t0: float) -> _Pending:
        """Preprocess a due frame and apply its reset (the first half of :meth:`step`)."""
        stamp = float(stamp)
        image = self.preprocessor(rgb)  # validates the frame before the session changes
        size = (int(rgb.shape[0]), int(rgb.shape[1]))

        reason = self._reset_reason(size, stamp, encoding)
        if reason:
            self._state = (
                self.backend.init_state() if self._state is None else self.backend.reset_state(self._state)
            )
            self.filter.reset()
            self._frames_since_reset = 0
            self._last_probability = 0.0
            self._pending_reset = ""
            self.stats.resets[reason] += 1
            self.aligner.restart()
        self._last_stamp, self._last_size, self._last_encoding = stamp, size, encoding
        self.aligner.stepped(stamp, dropped)
        return _Pending(image, stamp, reason, t0)

    def _complete(self, pending: _Pending, out: StepOutput, state: State) -> RiskResult:
        """Take the model's output and next state for a prepared frame (the second half of :meth:`step`)."""
        stamp, reason, t0 = pending.stamp, pending.reason, pending.t0
        self._state = state
        self._frames_since_reset += 1
        self.stats.frames += 1
        if out.is_finite():
            probability = float(sigmoid(out.risk_logit))
            filtered = self.filter.update(probability, out.tta)
            self._last_probability = probability
            risk_map = sigmoid(out.risk_map).astype(np.float32)
            valid = True
            semantics = self.semantics(out.embedding, with_cause=filtered.level > LEVEL_LOW)
        else:  # never publish NaN: hold the last valid values, reset on the next frame
            self.stats.non_finite += 1
            self._pending_reset = "non_finite_output"
            probability, filtered = self._last_probability, self.filter.last
            risk_map, valid = self._empty_map.copy(), False
            semantics = FrameSemantics()
        self._last_result = RiskResult(
            stamp=stamp,
            probability=probability,
            probability_smoothed=filtered.probability_smoothed,
            level=filtered.level,
            alert=filtered.alert,
            time_to_accident=filtered.time_to_accident,
            frames_since_reset=self._frames_since_reset,
            state_reset=bool(reason),
            reset_reason=reason,
            risk_map=risk_map,
            valid=valid,
            step_ms=(time.perf_counter() - t0) * 1e3,
            source_stamp=stamp,
            cause=semantics.cause,
            cause_confidence=semantics.cause_confidence,
            out_of_domain=semantics.out_of_domain,
            domain_score=semantics.domain_score,
        )
        return self._last_result


@dataclass(frozen=True)
class _Pending:
    """A due frame between :meth:`StreamSession._prepare` and :meth:`StreamSession._complete`."""

    image: np.ndarray  # (1, 3, H, W) float32
    stamp: float
    reason: str  # the reset this frame caused, or ""
    t0: float  # perf_counter at the start of its step


@dataclass(frozen=True)
class FrameRequest:
    """One frame for :func:`step_sessions`: the arguments of ``session.step``."""

    session: StreamSession
    rgb: np.ndarray
    stamp: float
    encoding: str = ""
    dropped: int = 0


@dataclass(frozen=True)
class BatchResult:
    """What :func:`step_sessions` made of its frames.

    Attributes:
        results: Per request, in order: its :class:`RiskResult`, or the ``ValueError`` its
            ``session.step`` would have raised (that session is left unchanged, the others step).
        rows: Frames run in the one ``step_batch`` call (the due, valid ones).
        batched: Whether that call ran them as one batch (``rows`` >= 2 and ``Backend.batched``).
    """

    results: list[RiskResult | ValueError]
    rows: int
    batched: bool


def step_sessions(requests: Sequence[FrameRequest]) -> BatchResult:
    """Step one frame of each of several sessions, the due frames in one ``step_batch`` call.

    Each request is treated as ``request.session.step(...)`` would treat it (decimation, resets,
    post-processing); the due frames of all sessions then run in one ``Backend.step_batch``, so
    each session's result equals a run of its own. ``step_ms`` of a stepped frame spans its
    preprocessing, the whole batch call and its post-processing.

    Raises:
        ValueError: a session appears twice, or the sessions do not share one backend.
    """
    sessions = [r.session for r in requests]
    if len({id(s) for s in sessions}) != len(sessions):
        raise ValueError("step_sessions: each session may appear once per call")
    if len({id(s.backend) for s in sessions}) > 1:
        raise ValueError("step_sessions: the sessions must share one backend")
    results: list[RiskResult | ValueError | None] = [None] * len(requests)
    pending: list[tuple[int, _Pending]] = []
    for i, r in enumerate(requests):
        t0 = time.perf_counter()
        try:
            if not r.session.due(r.stamp):
                results[i] = r.session.skip(r.stamp, r.dropped)
            else:
                pending.append((i, r.session._prepare(r.rgb, r.stamp, r.encoding, r.dropped, t0)))
        except ValueError as exc:
            results[i] = exc
    if not pending:
        return BatchResult(results, 0, False)  # type: ignore[arg-type]
    backend = sessions[0].backend
    images = [p.image for _, p in pending]
    outputs, states = backend.step_batch(images, [requests[i].session.state for i, _ in pending])
    batched = backend.batched and len(pending) > 1
    for (i, p), out, state in zip(pending, outputs, states, strict=True):
        session = requests[i].session
        if batched:
            session.stats.batched += 1
        results[i] = session._complete(p, out, state)
    return BatchResult(results, len(pending), batched)  # type: ignore[arg-type]


def _finite_stamp(stamp: float) -> float:
    stamp = float(stamp)
    if not math.isfinite(stamp):
        raise ValueError(f"frame stamp must be finite, got {stamp}")
    return stamp
