"""Aligning a camera stream to the model's frame rate by stamps (ROS-free, numpy-free).

A model trained at 10 fps must see 10 frames per second of the world, whatever the camera gives: a
30 fps camera is decimated (the model steps on one frame in three), never fed three steps per model
period. The rule is a grid of due times, one model period ``P = 1 / model_fps`` apart:

- After a stepped frame at ``t`` the next due time is the next grid point ``anchor + n * P``.
- A frame steps the model when its stamp is at least the due time minus a tolerance
  ``tol = 0.4 * min(dt, P)``, ``dt`` the stream's frame interval (the median of its last
  :data:`WINDOW` intervals): the first frame of each window ``[due - tol, due + P - tol)`` steps and
  the others are skipped. A frame up to 0.4 intervals early still counts, so jitter of that size
  changes nothing; less than half an interval, so that of two frames equally far from a due time the
  later one steps (no float tie). Stamps that are exactly 1/30 s apart step frames 0, 3, 6, ...
- The grid advances by ``P`` (computed as ``anchor + n * P``, no accumulated rounding), not from the
  stepped frame's stamp, so the average step rate is the model's fps exactly, with no drift: 15 fps
  into 10 fps steps two frames in three, 10 per second; 25 or 29.97 fps work the same way.
- When a stepped frame is already inside the next window (a window had no frame: a gap, a lost
  frame, or a stream slower than the model), the grid re-anchors at that frame. A stream slower than
  the model is therefore stepped on every frame; it is reported as slow (:attr:`FrameRateReport.slow`)
  when its measured rate is more than :data:`SLOW_TOLERANCE` below the model's.

The session (:class:`~accident_anticipation_ros.runtime.session.StreamSession`) owns the resets: the
frame after a reset is always stepped and re-anchors the grid.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

WINDOW = 16  # frame intervals in the stream's rate estimate
MIN_INTERVALS = 8  # intervals measured before a rate mismatch is reported
SLOW_TOLERANCE = 0.1  # a stream more than 10 % below (or, unaligned, above) the model's fps is reported
EARLY_FRACTION = 0.4  # a frame this fraction of an interval before its due time still steps


@dataclass(frozen=True)
class FrameRateReport:
    """The stream's measured frame rate against the model's.

    Attributes:
        stream_fps: 1 / the median of the last :data:`WINDOW` frame intervals by stamps (of the
            frames the session received, stepped or not, an interval over dropped frames divided
            among them); NaN before the first interval.
        model_fps: The frame rate the model was trained for (its metadata).
        aligned: Whether the stream is aligned to ``model_fps`` (``align_to_model_fps``).
        intervals: Intervals behind ``stream_fps`` (at most :data:`WINDOW`).
    """

    stream_fps: float
    model_fps: float
    aligned: bool
    intervals: int = 0

    @property
    def measured(self) -> bool:
        return self.intervals >= MIN_INTERVALS and math.isfinite(self.stream_fps)

    @property
    def slow(self) -> bool:
        """The stream is more than :data:`SLOW_TOLERANCE` slower than the model (stepped every frame)."""
        return self.measured and self.stream_fps < (1.0 - SLOW_TOLERANCE) * self.model_fps

    @property
    def fast_unaligned(self) -> bool:
        """Alignment is off and the stream is more than :data:`SLOW_TOLERANCE` faster than the model."""
        return (
            not self.aligned and self.measured and self.stream_fps > (1.0 + SLOW_TOLERANCE) * self.model_fps
        )

    def warning(self) -> str:
        """Why the stream's rate is a problem, or ``""``."""
        if self.slow:
            return (
                f"stream at {self.stream_fps:.1f} fps is slower than the model's {self.model_fps:g} fps: "
                "every frame is stepped, the model's dynamics and time_to_accident run slow"
            )
        if self.fast_unaligned:
            return (
                f"stream at {self.stream_fps:.1f} fps steps the {self.model_fps:g} fps model on every frame "
                "(align_to_model_fps is off): the model's dynamics and time_to_accident run fast"
            )
        return ""


class FrameRateAligner:
    """The due-time grid and the rate estimate of one stream (see the module docstring).

    Args:
        model_fps: The model's frame rate (> 0).
        enabled: False: every frame is due (the rate is still measured and reported).
        max_interval: Intervals longer than this (s; the session's ``max_gap``) are not rate samples.
    """

    def __init__(self, model_fps: float, enabled: bool = True, max_interval: float = math.inf) -> None:
        if not (model_fps > 0 and math.isfinite(model_fps)):
            raise ValueError(f"model fps must be finite and > 0, got {model_fps}")
        self.model_fps = float(model_fps)
        self.period = 1.0 / self.model_fps
        self.enabled = bool(enabled)
        self.max_interval = float(max_interval)
        self._intervals: deque[float] = deque(maxlen=WINDOW)
        self._interval = math.nan  # median of _intervals
        self._last: float | None = None  # last received stamp
        self._anchor: float | None = None  # None: the next frame is due and re-anchors the grid
        self._n = 0
        self.report = FrameRateReport(math.nan, self.model_fps, self.enabled)

    def restart(self) -> None:
        """Make the next frame due and re-anchor the grid there (on a state reset); keeps the rate."""
        self._anchor = None

    def _tolerance(self, stamp: float) -> float:
        dt = self._interval
        if math.isnan(dt) and self._last is not None and stamp > self._last:
            dt = stamp - self._last  # the first interval of the stream
        return EARLY_FRACTION * (self.period if math.isnan(dt) else min(dt, self.period))

    def _due_time(self) -> float:
        return self._anchor + self._n * self.period

    def due(self, stamp: float) -> bool:
        """Whether the frame at ``stamp`` (s) steps the model. Pure: changes nothing."""
        if not self.enabled or self._anchor is None:
            return True
        return stamp >= self._due_time() - self._tolerance(stamp)

    def stepped(self, stamp: float, dropped: int = 0) -> None:
        """Record a frame that stepped the model (``dropped``: see :meth:`skipped`)."""
        tol = self._tolerance(stamp)
        if self._anchor is None:
            self._anchor, self._n = stamp, 1
        else:
            self._n += 1
            if stamp >= self._due_time() - tol:  # already inside the next window: re-anchor here
                self._anchor, self._n = stamp, 1
        self._observe(stamp, dropped)

    def skipped(self, stamp: float, dropped: int = 0) -> None:
        """Record a frame that did not step the model (:meth:`due` was False).

        Args:
            stamp: The frame's stamp (s).
            dropped: Frames of the stream lost between the previous frame and this one (the node's
                newest-frame slot replaced them): the interval since the previous frame spans
                ``dropped + 1`` frame intervals, so the rate stays the camera's.
        """
        self._observe(stamp, dropped)

    def _observe(self, stamp: float, dropped: int) -> None:
        if self._last is not None and 0.0 < stamp - self._last <= self.max_interval:
            self._intervals.append((stamp - self._last) / (1 + max(0, int(dropped))))
            ordered = sorted(self._intervals)
            mid = len(ordered) // 2
            self._interval = ordered[mid] if len(ordered) % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])
            self.report = FrameRateReport(1.0 / self._interval, self.model_fps, self.enabled, len(ordered))
        self._last = stamp


class StepSchedule:
    """Which frames of one stream a ``StreamSession`` steps, told from their stamps alone (no model).

    The session's rule without the session, for tools that watch a node from outside: the first frame,
    a stamp going back and a gap over ``max_gap`` reset the state and step; any other frame steps when
    the model's fps grid picks it. The replay uses it to know which frames get no ``AccidentRisk`` by
    design, ``evaluate-bag`` not to count them missing. It cannot see what only the pixels or the
    caller tell (a frame that fails to convert, a manual reset, the reset after a non-finite output): a frame it calls decimated may still
    be answered, which the tools take as the truth.

    Args:
        model_fps: The model's frame rate (``AnticipationInfo.assumed_fps``).
        enabled: ``align_to_model_fps`` (False: every frame steps).
        max_gap: The session's ``max_gap`` (s).
    """

    def __init__(self, model_fps: float, enabled: bool = True, max_gap: float = math.inf) -> None:
        self.max_gap = float(max_gap)
        self.aligner = FrameRateAligner(model_fps, enabled=enabled, max_interval=self.max_gap)
        self._last: float | None = None

    def take(self, stamp: float) -> bool:
        """Whether the frame at ``stamp`` (s; frames in stream order) steps the model; records it."""
        stamp = float(stamp)
        reset = self._last is None or stamp < self._last or stamp - self._last > self.max_gap
        steps = reset or self.aligner.due(stamp)
        if reset:
            self.aligner.restart()
        if steps:
            self.aligner.stepped(stamp)
        else:
            self.aligner.skipped(stamp)
        self._last = stamp
        return steps


def stepped_mask(stamps_s, model_fps: float, enabled: bool = True, max_gap: float = math.inf) -> list[bool]:
    """:meth:`StepSchedule.take` over ``stamps_s`` (s, stream order): True for the frames that step."""
    schedule = StepSchedule(model_fps, enabled, max_gap)
    return [schedule.take(s) for s in stamps_s]
