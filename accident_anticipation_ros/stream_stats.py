"""Per-camera counters, rates and staleness behind the node's /diagnostics (ROS-free).

Staleness: the expected frame period is the median gap between the last frames' header stamps; a
camera whose last frame arrived more than :data:`STALE_PERIODS` periods ago is WARN, one silent for
longer than ``stale_error_after`` seconds is ERROR. Arrival times are given by the caller in the
node's clock (ROS time: ``/clock`` under ``use_sim_time``), never read from the wall clock here.

Frames missing by stamp: once :data:`MIN_GAPS` stamp gaps are known, a gap of about ``k`` expected
periods (``k >= 2``: at least 1.5 periods, rounded) says ``k - 1`` frames never arrived, whoever lost
them: the camera driver, the network, DDS (reported by the middleware or not: a depth-1 reader history
overwrites frames silently) or a bag with holes. Gaps longer than ``max_gap`` (the session resets
there) and frames before the period is known or after the last one are not counted. Stamps cannot tell
a camera that halves its rate from one that loses every other frame: the first counts about
``period_window / 2`` frames while the median follows it, the second stops being counted as soon.
"""

from __future__ import annotations

import math
import statistics
import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

OK, WARN, ERROR = 0, 1, 2
STALE_PERIODS = 2.0  # a frame is overdue after this many expected periods
MIN_GAPS = 8  # stamp gaps measured before frames missing by stamp are counted
MISSING_PERIODS = 1.5  # a stamp gap of at least this many periods has frames missing


@dataclass(frozen=True)
class StatsSnapshot:
    """What one diagnostics period says about one camera."""

    input_fps: float
    processed_fps: float
    received: int
    processed: int
    dropped: int
    bad_frames: int
    non_finite: int
    inference_errors: int
    decimated: int
    latency_p50_ms: float
    latency_p95_ms: float
    step_p50_ms: float
    resets: dict[str, int]
    level: int
    message: str
    last_error: str = ""
    totals: dict[str, int] = field(default_factory=dict)
    expected_period_s: float = math.nan  # median header-stamp gap; nan before two frames
    since_last_frame_s: float = math.nan  # node clock now - last arrival; nan before the first frame
    out_of_domain: int = 0  # processed frames of the period flagged out of the model's domain

    @property
    def out_of_domain_fraction(self) -> float:
        """Share of the period's processed frames flagged out of domain (0 when none was processed)."""
        return self.out_of_domain / self.processed if self.processed else 0.0


class StreamStats:
    """Thread-safe counters for one camera; ``snapshot()`` summarises the period since the last call."""

    def __init__(self, window: int = 512, period_window: int = 32, max_gap: float = math.inf) -> None:
        self._lock = threading.Lock()
        self._max_gap = max_gap
        self._stamp_gaps: deque[float] = deque(maxlen=period_window)
        self._last_stamp = math.nan
        self._last_arrival = math.nan
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._step_ms: deque[float] = deque(maxlen=window)
        self._period = Counter()
        self._totals = Counter()
        self._resets = Counter()
        self._last_error = ""
        self._since = time.monotonic()

    def count(self, key: str, n: int = 1) -> None:
        """Count an event: received, processed, dropped, lost_in_transport, bad_frames, non_finite,
        inference_errors, decimated (``missing_by_stamp`` is counted by :meth:`arrived`)."""
        if n:
            with self._lock:
                self._period[key] += n
                self._totals[key] += n

    def arrived(self, stamp_s: float, now_s: float) -> int:
        """A frame with header stamp ``stamp_s`` arrived at ``now_s`` (node clock, seconds); returns the
        frames its stamp gap says are missing before it (counted as ``missing_by_stamp``)."""
        with self._lock:
            gap = stamp_s - self._last_stamp
            missing = 0
            if gap > 0:  # nan for the first frame; a jump back or a repeated stamp says nothing
                if len(self._stamp_gaps) >= MIN_GAPS and gap <= self._max_gap:
                    period = statistics.median(self._stamp_gaps)
                    if gap >= MISSING_PERIODS * period:
                        missing = round(gap / period) - 1
                self._stamp_gaps.append(gap)  # raw: the median follows a camera that changes its rate
            self._last_stamp, self._last_arrival = stamp_s, now_s
            if missing:
                self._period["missing_by_stamp"] += missing
                self._totals["missing_by_stamp"] += missing
            return missing

    def expected_period(self) -> float:
        """The median gap between recent header stamps (seconds); nan before two frames."""
        with self._lock:
            return statistics.median(self._stamp_gaps) if self._stamp_gaps else math.nan

    def staleness(self, now_s: float, stale_error_after: float) -> tuple[int, str]:
        """OK, WARN (overdue: more than STALE_PERIODS periods since the last frame) or ERROR
        (silent for more than ``stale_error_after`` s), with the reason; OK before the first frame."""
        period = self.expected_period()
        with self._lock:
            since = now_s - self._last_arrival
        if not since > 0:  # no frame yet (nan) or a clock behind the arrival
            return OK, ""
        if since > stale_error_after:
            return (
                ERROR,
                f"camera stalled: no frame for {since:.2f} s (stale_error_after {stale_error_after:g} s)",
            )
        if since > STALE_PERIODS * period:
            return WARN, f"no frame for {since:.2f} s (expected every {period:.3f} s)"
        return OK, ""

    def processed(
        self, latency_ms: float, step_ms: float, reset_reason: str = "", out_of_domain: bool = False
    ) -> None:
        with self._lock:
            self._period["processed"] += 1
            self._totals["processed"] += 1
            if out_of_domain:
                self._period["out_of_domain"] += 1
                self._totals["out_of_domain"] += 1
            self._latency_ms.append(latency_ms)
            self._step_ms.append(step_ms)
            if reset_reason:
                self._resets[reset_reason] += 1

    def total(self, key: str) -> int:
        """The count of ``key`` since this object was made (not reset by ``snapshot``)."""
        with self._lock:
            return self._totals[key]

    def error(self, key: str, text: str) -> None:
        with self._lock:
            self._period[key] += 1
            self._totals[key] += 1
            self._last_error = text

    def snapshot(
        self,
        latency_warn_ms: float,
        now_s: float = math.nan,
        stale_error_after: float = math.inf,
        frame_rate_warning: str = "",
        ood_warn_fraction: float = 1.0,
    ) -> StatsSnapshot:
        """Summarise and restart the period; the level is OK, WARN or ERROR with the reason.

        Args:
            latency_warn_ms: WARN when the p95 latency exceeds this.
            now_s: The node clock (s); enables the staleness check (see the module docstring).
            stale_error_after: ERROR when no frame arrived for this long (s).
            frame_rate_warning: The stream's frame-rate problem (``FrameRateReport.warning()``), a WARN.
            ood_warn_fraction: WARN when more than this share of the period's frames are out of domain.
        """
        stale = self.staleness(now_s, stale_error_after)
        expected = self.expected_period()
        with self._lock:
            since = now_s - self._last_arrival
            ever_received = not math.isnan(self._last_arrival) or self._totals["received"] > 0
            now = time.monotonic()
            span = max(now - self._since, 1e-6)
            period, self._period = self._period, Counter()
            self._since = now
            lat = np.asarray(self._latency_ms, dtype=np.float64)
            step = np.asarray(self._step_ms, dtype=np.float64)
            p50, p95 = (
                (float(np.percentile(lat, 50)), float(np.percentile(lat, 95))) if lat.size else (0.0, 0.0)
            )
            snap = StatsSnapshot(
                input_fps=period["received"] / span,
                processed_fps=period["processed"] / span,
                received=period["received"],
                processed=period["processed"],
                dropped=period["dropped"],
                bad_frames=period["bad_frames"],
                non_finite=period["non_finite"],
                inference_errors=period["inference_errors"],
                decimated=period["decimated"],
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                step_p50_ms=float(np.percentile(step, 50)) if step.size else 0.0,
                resets=dict(self._resets),
                level=OK,
                message="",
                last_error=self._last_error,
                totals=dict(self._totals),
                expected_period_s=expected,
                since_last_frame_s=since,
                out_of_domain=period["out_of_domain"],
            )
        level, message = _status(
            snap, latency_warn_ms, stale, ever_received, frame_rate_warning, ood_warn_fraction
        )
        return StatsSnapshot(**{**snap.__dict__, "level": level, "message": message})


def _status(
    s: StatsSnapshot,
    latency_warn_ms: float,
    stale: tuple[int, str],
    ever_received: bool,
    frame_rate_warning: str = "",
    ood_warn_fraction: float = 1.0,
) -> tuple[int, str]:
    if s.inference_errors:
        return ERROR, f"{s.inference_errors} inference error(s): {s.last_error}"
    if stale[0] != OK:
        return stale
    if s.received == 0 and s.processed == 0 and not (ever_received and s.since_last_frame_s >= 0):
        return WARN, "no images received"  # (a period without a frame of a stream that is not overdue is OK)
    problems = []
    if s.non_finite:
        problems.append(f"{s.non_finite} non-finite model output(s), state reset")
    if s.bad_frames:
        problems.append(f"{s.bad_frames} bad frame(s) skipped: {s.last_error}")
    if s.latency_p95_ms > latency_warn_ms:
        problems.append(f"latency p95 {s.latency_p95_ms:.0f} ms > {latency_warn_ms:.0f} ms")
    if s.received and s.dropped > s.received / 2:
        problems.append(f"dropping {s.dropped}/{s.received} frames: inference slower than the camera")
    if frame_rate_warning:
        problems.append(frame_rate_warning)
    if s.processed and s.out_of_domain_fraction > ood_warn_fraction:
        problems.append(
            f"{s.out_of_domain}/{s.processed} frames out of the model's training domain "
            f"({s.out_of_domain_fraction:.0%} > {ood_warn_fraction:.0%}): its risk is not to be trusted here"
        )
    if problems:
        return WARN, "; ".join(problems)
    decimated = f" ({s.decimated} frames decimated to the model's fps)" if s.decimated else ""
    return OK, f"processing {s.processed_fps:.1f} fps{decimated}"


class CpuPerFrame:
    """This process's CPU time (user + system, all threads) per processed frame, period by period.

    ``time.process_time()`` counts every thread of the process: the executor, the inference worker
    and the backend's own threads, so the figure is what the node costs the machine, not only the step.
    """

    def __init__(self, clock=time.process_time) -> None:
        self._clock = clock
        self._cpu = clock()
        self._frames = 0

    def sample(self, frames_total: int) -> float:
        """CPU milliseconds per frame since the previous call (NaN when no frame was processed)."""
        cpu = self._clock()
        spent, frames = cpu - self._cpu, frames_total - self._frames
        self._cpu, self._frames = cpu, frames_total
        return spent * 1e3 / frames if frames > 0 else float("nan")
