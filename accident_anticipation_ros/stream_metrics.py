"""Streaming metrics of one continuous stream (ROS-free, numpy): what the node's promise is measured by.

Input: the stream's per-frame probabilities and alert flags as the node publishes them (one state for
the whole stream, resets only by the session's rules), and its per-frame truth (:class:`StreamTruth`).

* **Event windows** (:func:`event_windows`): the clip protocol (``metrics.evaluate``, exact) on windows
  cut from the stream, the state carried in. Every window is ``before + after`` seconds long (``L``
  frames; by default 4 s + 1 s = 50 frames at 10 fps, the clip benchmark's clip). Accident ``a`` with
  toa ``k``: frames ``[k - B, k + A)``, local toa ``B`` (scored before toa only, as the protocol
  does). Near miss with critical frame ``c``: ``[c - B, c + A)``, a negative (the benchmark's hard
  negatives). Safe negatives: ``L`` frames of plain safe driving, every frame at least ``margin``
  seconds away from any event window or accident aftermath; the candidates tile each safe stretch
  from its start with stride ``L`` (non-overlapping), and ``n`` of them are taken evenly spaced over
  the candidate list (``np.linspace`` indices, rounded): deterministic, no seed. ``n`` makes the
  negatives (near misses + safe) as many as the accidents times ``(1 - share) / share``, by default
  share 0.5 like the clip benchmark; fewer when not enough candidates exist. Windows that would start
  before the stream's first frame are left out (counted).
* **Alerts per hour** (:func:`alerts_per_hour`): rising edges of the alert flag on frames of safe
  driving (no event, no aftermath, outside every accident/near-miss window), per hour of those frames;
  beside it ``alerting_share``, the share of those frames under alert (an alert left on from an
  earlier event has no onset there, so the rate alone would call a stuck alarm silent).
* **Lead shares** (:func:`lead_shares`): the share of accidents alerted at least ``lead`` seconds
  before toa: the alert is on at frame ``toa - round(lead * fps)`` and the alert run holding that frame
  began no more than ``horizon`` seconds (default 5 s) before toa (an alarm left on from long before
  does not count).
* **Risk-map truth** (:func:`top_cell_hits`): how often the risk map's top cell holds the colliding
  road user (its box centre) in the last second before toa; chance is ``1 / cells``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from accident_anticipation_ros.metrics import evaluate

ACCIDENT, NEAR_MISS, SAFE = "accident", "near_miss", "safe"
DEFAULT_LEADS = (0.5, 1.0, 2.0)


@dataclass(frozen=True)
class StreamEvent:
    """One event of a stream: ``critical`` is the accident's toa frame, or a near miss's reference frame."""

    id: int
    kind: str  # ACCIDENT or NEAR_MISS
    critical: int


@dataclass(frozen=True)
class StreamTruth:
    """Per-frame truth of one stream.

    Attributes:
        fps: Frame rate of the stream.
        event: ``(N,)`` int id of the event whose window holds the frame, -1 in plain safe driving.
        label: ``(N,)`` 0/1, 1 from an accident's toa to the end of its world (the aftermath).
        events: The events, in stream order.
    """

    fps: float
    event: np.ndarray
    label: np.ndarray
    events: tuple[StreamEvent, ...]

    @property
    def num_frames(self) -> int:
        return int(self.event.size)

    @property
    def accidents(self) -> list[StreamEvent]:
        return [e for e in self.events if e.kind == ACCIDENT]


@dataclass(frozen=True)
class WindowSpec:
    """How event windows are cut (seconds) and balanced."""

    before: float = 4.0
    after: float = 1.0
    margin: float = 2.0
    positive_share: float = 0.5

    def __post_init__(self) -> None:
        if self.before <= 0 or self.after < 0 or self.margin < 0 or not 0 < self.positive_share <= 1:
            raise ValueError(f"WindowSpec: need before > 0, after >= 0, margin >= 0, 0 < share <= 1 ({self})")


@dataclass(frozen=True)
class Window:
    """A window ``[start, end)`` of the stream; ``toa`` local (frames from ``start``), -1 for negatives."""

    start: int
    end: int
    kind: str
    toa: int
    event: int  # -1 for a safe window

    @property
    def positive(self) -> bool:
        return self.kind == ACCIDENT


@dataclass(frozen=True)
class Windows:
    """The windows of one stream and what could not be cut."""

    windows: tuple[Window, ...]
    skipped: int  # events whose window would start before the first frame or end after the last
    safe_candidates: int

    def count(self, kind: str) -> int:
        return sum(w.kind == kind for w in self.windows)


def truth_from_drive(record: dict, frames: dict[str, np.ndarray]) -> StreamTruth:
    """A :class:`StreamTruth` from a drive's ``drive.json`` record and ``frames.npz`` columns."""
    events = tuple(
        StreamEvent(
            int(e["id"]), ACCIDENT if e["kind"] == "accident" else NEAR_MISS, int(e["critical_frame"])
        )
        for e in record["events"]
    )
    return StreamTruth(float(record["fps"]), np.asarray(frames["event"]), np.asarray(frames["label"]), events)


def _safe_mask(truth: StreamTruth, event_windows: Sequence[Window]) -> np.ndarray:
    safe = (truth.event < 0) & (truth.label == 0)
    for w in event_windows:
        safe[max(w.start, 0) : w.end] = False
    return safe


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[start, end)`` of every run of True."""
    edges = np.diff(np.r_[0, mask.astype(np.int8), 0])
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist(), strict=True))


def event_windows(truth: StreamTruth, spec: WindowSpec | None = None) -> Windows:
    """Cut the accident, near-miss and safe windows of a stream (rules in the module docstring)."""
    spec = spec or WindowSpec()
    before, after = round(spec.before * truth.fps), round(spec.after * truth.fps)
    n = truth.num_frames
    cut, skipped = [], 0
    for e in truth.events:
        start, end = e.critical - before, e.critical + after
        if start < 0 or end > n:
            skipped += 1
            continue
        cut.append(Window(start, end, e.kind, before if e.kind == ACCIDENT else -1, e.id))
    safe = _safe_mask(truth, cut)
    margin = round(spec.margin * truth.fps)
    far = safe.copy()
    for start, end in _runs(~safe):  # shrink every safe stretch by the margin on both sides
        far[max(0, start - margin) : min(n, end + margin)] = False
    length = before + after
    candidates = [s for lo, hi in _runs(far) for s in range(lo, hi - length + 1, length)]
    positives = sum(w.positive for w in cut)
    wanted = round(positives * (1 - spec.positive_share) / spec.positive_share) - (len(cut) - positives)
    take = min(max(wanted, 0), len(candidates))
    picks = np.round(np.linspace(0, len(candidates) - 1, take)).astype(int) if take else []
    safe_windows = [Window(candidates[i], candidates[i] + length, SAFE, -1, -1) for i in picks]
    windows = sorted(cut + safe_windows, key=lambda w: w.start)
    return Windows(tuple(windows), skipped, len(candidates))


def window_metrics(scores: Sequence[np.ndarray], windows: Sequence[Window], fps: float) -> dict[str, float]:
    """``metrics.evaluate`` of per-window scores (``scores[i]`` covers ``windows[i]``)."""
    labels = np.array([int(w.positive) for w in windows])
    toa = np.array([w.toa if w.positive else -1 for w in windows], np.float64)
    return evaluate([np.asarray(s, np.float64) for s in scores], labels, toa, fps)


def stream_window_metrics(probability: np.ndarray, windows: Sequence[Window], fps: float) -> dict[str, float]:
    """The clip protocol on windows cut from one stream's probabilities (the state carried in)."""
    p = np.asarray(probability, np.float64)
    return window_metrics([p[w.start : w.end] for w in windows], windows, fps)


def rising_edges(alert: np.ndarray) -> np.ndarray:
    """Frames on which the alert turns on (frame 0 counts when it is on there)."""
    a = np.asarray(alert, bool)
    return np.flatnonzero(a & ~np.r_[False, a[:-1]])


def alerts_per_hour(alert: np.ndarray, truth: StreamTruth, windows: Sequence[Window]) -> dict[str, float]:
    """Alert onsets in safe driving (outside events, aftermath and ``windows``) per hour of it."""
    safe = _safe_mask(truth, windows)
    onsets = rising_edges(alert)
    count = int(safe[onsets].sum())
    hours = float(safe.sum()) / truth.fps / 3600.0
    return {
        "alerts": count,
        "safe_hours": hours,
        "alerts_per_hour": count / hours if hours > 0 else float("nan"),
        "alerting_share": float(np.asarray(alert, bool)[safe].mean()) if safe.any() else float("nan"),
    }


def lead_shares(alert: np.ndarray, truth: StreamTruth, leads: Sequence[float] = DEFAULT_LEADS,
                horizon: float = 5.0) -> dict[float, float]:  # fmt: skip
    """Share of accidents alerted at least ``lead`` s before toa (definition in the module docstring)."""
    a = np.asarray(alert, bool)
    onsets = rising_edges(a)
    accidents = truth.accidents
    if not accidents:
        raise ValueError("the stream has no accident: lead shares are undefined")
    out = {}
    for lead in leads:
        hits = 0
        for e in accidents:
            j = e.critical - round(lead * truth.fps)
            if j < 0 or not a[j]:
                continue
            onset = onsets[np.searchsorted(onsets, j, side="right") - 1]  # the run holding frame j began here
            hits += onset >= e.critical - round(horizon * truth.fps)
        out[float(lead)] = hits / len(accidents)
    return out


def top_cell_hits(risk_maps: np.ndarray, boxes: np.ndarray, cell_of_point) -> tuple[int, int]:
    """How many maps have their argmax cell at the box centre's cell.

    Args:
        risk_maps: ``(K, h, w)`` risk maps.
        boxes: ``(K, 4)`` ``x0, y0, x1, y1`` source-image boxes of the colliding road user.
        cell_of_point: ``f(y, x) -> (row, col)`` map cell of a source-image point (or None outside).

    Returns:
        ``(hits, frames)``.
    """
    hits = 0
    for m, (x0, y0, x1, y1) in zip(risk_maps, boxes, strict=True):
        cell = cell_of_point((y0 + y1) / 2.0, (x0 + x1) / 2.0)
        top = np.unravel_index(int(np.argmax(m)), m.shape)
        hits += cell is not None and tuple(int(v) for v in top) == tuple(cell)
    return hits, len(boxes)


def last_second_frames(truth: StreamTruth, seconds: float = 1.0) -> np.ndarray:
    """Frames in the last ``seconds`` before each accident's toa (toa itself excluded)."""
    k = round(seconds * truth.fps)
    frames = [np.arange(max(0, e.critical - k), e.critical) for e in truth.accidents]
    return np.concatenate(frames) if frames else np.zeros(0, int)
