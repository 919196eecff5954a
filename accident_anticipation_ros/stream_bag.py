"""Streaming numbers of a replayed continuous bag (``evaluate-bag --stream``), from recorded risk + labels.

The recorded clips of one camera (a continuous bag's clips: ``bag-from-clips --continuous`` or a drive)
are joined in stamp order into one stream: the probability as a consumer saw it (a dropped frame holds
the last published value, as ``evaluate_bag.filled_scores``) and the published alert flag. The truth
comes from the drive folder when one is given (``stream_metrics.truth_from_drive``: accidents and near
misses), else from the labels alone: each accident clip's toa is an accident, its window of
``before`` seconds before toa to the clip's end is its event, frames from toa on are its aftermath,
and everything else counts as safe driving (a bag's labels do not mark near misses, so their frames
count as safe driving too). Windows, alerts per hour and lead shares are those of
:mod:`accident_anticipation_ros.stream_metrics`; the per-clip numbers from a fresh state need the
model, so they come from ``evaluate --stream``.
"""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.evaluate_bag import filled_scores
from accident_anticipation_ros.stream_metrics import (
    ACCIDENT,
    StreamEvent,
    StreamTruth,
    WindowSpec,
    alerts_per_hour,
    event_windows,
    lead_shares,
    stream_window_metrics,
)


def _check_one_stream(clips) -> float:
    fps = {c.fps for c in clips}
    if len(fps) != 1:
        raise ValueError(f"clips have different frame rates {sorted(fps)}: not one stream")
    stamps = np.concatenate([c.stamps for c in clips])
    steps = np.diff(stamps)
    period = 1e9 / next(iter(fps))
    if steps.size and (steps.min() <= 0 or steps.max() > 1.5 * period):
        raise ValueError(
            f"the clips are not one continuous stream (stamp steps {steps.min() / 1e9:.3f} to "
            f"{steps.max() / 1e9:.3f} s at {next(iter(fps)):g} fps); write the bag with bag-from-clips --continuous"
        )
    return next(iter(fps))


def truth_from_labels(clips, fps: float, before: float) -> StreamTruth:
    """Truth of the joined stream from the clips' labels alone (see the module docstring)."""
    n = sum(c.num_frames for c in clips)
    event, label, events = np.full(n, -1), np.zeros(n, np.uint8), []
    start = 0
    for i, c in enumerate(clips):
        if c.positive:
            toa = start + int(c.toa)
            event[max(0, toa - round(before * fps)) : start + c.num_frames] = i
            label[toa : start + c.num_frames] = 1
            events.append(StreamEvent(i, ACCIDENT, toa))
        start += c.num_frames
    return StreamTruth(fps, event, label, tuple(events))


def stream_report_from_clips(clips, spec: WindowSpec | None = None, truth: StreamTruth | None = None) -> dict:
    """The streaming report of recorded clips (one camera, in stamp order); ``truth``: e.g. a drive's."""
    spec = spec or WindowSpec()
    clips = sorted(clips, key=lambda c: int(c.stamps[0]))
    fps = _check_one_stream(clips)
    probability = np.concatenate([filled_scores(c) for c in clips])
    alert = np.concatenate([c.alert for c in clips]).astype(bool)
    given = truth is not None
    if truth is None:
        truth = truth_from_labels(clips, fps, spec.before)
    elif truth.num_frames != probability.size:
        raise ValueError(f"the truth has {truth.num_frames} frames, the recording {probability.size}")
    windows = event_windows(truth, spec)
    return {
        "frames": truth.num_frames,
        "seconds": truth.num_frames / fps,
        "steps": truth.num_frames,
        "resets": int(sum(c.state_reset.sum() for c in clips)),
        "dropped": int(sum(c.dropped for c in clips)),
        "accidents": len(truth.accidents),
        "windows": {k: windows.count(k) for k in (ACCIDENT, "near_miss", "safe")},
        "windows_skipped": windows.skipped,
        "truth": "given" if given else "labels",
        "stream": stream_window_metrics(probability, windows.windows, fps),
        "alerts": alerts_per_hour(alert, truth, windows.windows),
        "lead_share": {str(k): v for k, v in lead_shares(alert, truth).items()},
        "horizon_s": 5.0,
    }
