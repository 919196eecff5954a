"""Per-camera counters and rates behind the node's /diagnostics (ROS-free)."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from dataclasses import dataclass, field

import numpy as np

OK, WARN, ERROR = 0, 1, 2


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
    latency_p50_ms: float
    latency_p95_ms: float
    step_p50_ms: float
    resets: dict[str, int]
    level: int
    message: str
    last_error: str = ""
    totals: dict[str, int] = field(default_factory=dict)
    out_of_domain: int = 0  # processed frames of the period flagged out of the model's domain

    @property
    def out_of_domain_fraction(self) -> float:
        """Share of the period's processed frames flagged out of domain (0 when none was processed)."""
        return self.out_of_domain / self.processed if self.processed else 0.0


class StreamStats:
    """Thread-safe counters for one camera; ``snapshot()`` summarises the period since the last call."""

    def __init__(self, window: int = 512) -> None:
        self._lock = threading.Lock()
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._step_ms: deque[float] = deque(maxlen=window)
        self._period = Counter()
        self._totals = Counter()
        self._resets = Counter()
        self._last_error = ""
        self._since = time.monotonic()

    def count(self, key: str, n: int = 1) -> None:
        """Count an event: received, processed, dropped, lost_in_transport, bad_frames, non_finite,
        inference_errors."""
        if n:
            with self._lock:
                self._period[key] += n
                self._totals[key] += n

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

    def error(self, key: str, text: str) -> None:
        with self._lock:
            self._period[key] += 1
            self._totals[key] += 1
            self._last_error = text

    def snapshot(self, latency_warn_ms: float, ood_warn_fraction: float = 1.0) -> StatsSnapshot:
        """Summarise and restart the period; the level is OK, WARN or ERROR with the reason (WARN also
        when more than ``ood_warn_fraction`` of the period's frames were out of the model's domain)."""
        with self._lock:
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
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                step_p50_ms=float(np.percentile(step, 50)) if step.size else 0.0,
                resets=dict(self._resets),
                level=OK,
                message="",
                last_error=self._last_error,
                totals=dict(self._totals),
                out_of_domain=period["out_of_domain"],
            )
        level, message = _status(snap, latency_warn_ms, ood_warn_fraction)
        return StatsSnapshot(**{**snap.__dict__, "level": level, "message": message})


def _status(s: StatsSnapshot, latency_warn_ms: float, ood_warn_fraction: float = 1.0) -> tuple[int, str]:
    if s.inference_errors:
        return ERROR, f"{s.inference_errors} inference error(s): {s.last_error}"
    if s.received == 0 and s.processed == 0:
        return WARN, "no images received"
    problems = []
    if s.non_finite:
        problems.append(f"{s.non_finite} non-finite model output(s), state reset")
    if s.bad_frames:
        problems.append(f"{s.bad_frames} bad frame(s) skipped: {s.last_error}")
    if s.latency_p95_ms > latency_warn_ms:
        problems.append(f"latency p95 {s.latency_p95_ms:.0f} ms > {latency_warn_ms:.0f} ms")
    if s.received and s.dropped > s.received / 2:
        problems.append(f"dropping {s.dropped}/{s.received} frames: inference slower than the camera")
    if s.processed and s.out_of_domain_fraction > ood_warn_fraction:
        problems.append(
            f"{s.out_of_domain}/{s.processed} frames out of the model's training domain "
            f"({s.out_of_domain_fraction:.0%} > {ood_warn_fraction:.0%}): its risk is not to be trusted here"
        )
    if problems:
        return WARN, "; ".join(problems)
    return OK, f"processing {s.processed_fps:.1f} fps"
