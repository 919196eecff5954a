"""Accident anticipation metrics: the community protocol of UString/DSTA ``eval_tools.evaluation``, in numpy.

The protocol, as the original loop computes it (reproduced here, quirks included):

* Scored frames: a positive video is scored on its frames before the accident, ``[0, int(toa))``;
  a negative video on all its frames.
* Thresholds: ``np.arange(max(min score, 0), 1.0, 0.001)``, min over all scored frames.
* At a threshold, a video is flagged when any scored frame reaches it (``>=``); a true positive (TP) is
  a flagged positive video; its first hit frame is the first scored frame ``>= threshold``.
  precision = TP / flagged, recall = TP / positives, time = 1 - mean over TPs of ``first_hit / toa``
  (relative time to accident in [0, 1]).
* Only thresholds with at least one TP are kept (recall 0 is dropped). Points are grouped by recall;
  each recall level takes the max precision and the max time of its group.
* AP = ``P_0 * R_0`` (the first rectangle from recall 0) + trapezoids between consecutive levels.
* mTTA = mean time over the levels x ``T / fps`` with ``T`` the clip length (a quirk: it scales by the
  clip's duration, not by each video's own time before the accident). TTA@R80 = the time of the level
  whose recall is nearest 0.8 (the lower one on a tie), scaled by ``T / fps`` alike.

Where the original fails or is ill-defined, this module defines (and documents) the behaviour:

* The original takes, for the highest recall level only, the precision and time of whichever point
  ``np.argsort`` (unstable) happens to put first in that group; here every level takes its max, as the
  protocol states. This can raise AP and mTTA slightly (by ~4e-4 AP on random 60-video sets); all
  other numbers agree with the original to rounding (tested against a transcription of its loop).
* A TP is a flagged *positive* video. The original multiplies scores by the label and compares with
  ``>= threshold``, so at threshold 0 (reached only when some scored frame is exactly 0) it counts
  negative videos as TPs (recall > 1).
* Scores must be finite probabilities in [0, 1] (ValueError otherwise: logits are the usual mistake).
  When every scored frame is 1.0 the original's grid is empty (it crashes); the grid is then [1.0].
* No positive video: ValueError (AP and TTA are undefined; the original crashes). No negative video:
  fine, precision is 1. Constant scores c: one point (all flagged at threshold c, first hit at frame 0),
  so AP = positives / videos and mTTA = T / fps.
* The original sizes its arrays by the number of scored frames and raises IndexError on small inputs
  where more thresholds than that have a TP; there is no such limit here.
* Videos of different lengths: pass a sequence of 1-D arrays; ``T`` (for the mTTA quirk) is then the
  longest video's length, the width the original would see after padding.

Extra numbers:

* ``mtta_toa``: the corrected mTTA in seconds. Per threshold, the mean over TP videos of
  ``(toa - first_hit) / fps`` (each video's own time between the first alarm and the accident);
  per recall level its max; then the mean over the levels (same grouping as mTTA).
* ``video_ap``: average precision (scikit-learn's ``average_precision_score`` definition) of each video's
  max scored frame, i.e. the max before toa for positives and over all frames for negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD_STEP = 0.001
RECALL_TARGET = 0.8


@dataclass(frozen=True)
class _Videos:
    """Validated input: the frames the protocol scores, per video."""

    scored: list[np.ndarray]  # N x (L_i,) float64; positives cut at int(toa)
    positive: np.ndarray  # (N,) bool
    toa: np.ndarray  # (N,) float64, NaN for negatives
    clip_frames: int  # T: the width of the [N, T] input, or the longest video
    fps: float


@dataclass(frozen=True)
class ThresholdCurve:
    """Per-threshold counts and rates of the protocol, before any grouping (one entry per threshold).

    ``precision`` is NaN where no video is flagged; ``time`` and ``tta_seconds`` are NaN where there is no TP.
    """

    thresholds: np.ndarray  # (K,)
    n_flagged: np.ndarray  # (K,) videos with a scored frame >= threshold
    n_true_positive: np.ndarray  # (K,) flagged positive videos
    precision: np.ndarray  # (K,) n_true_positive / n_flagged
    recall: np.ndarray  # (K,) n_true_positive / n_positive
    time: np.ndarray  # (K,) 1 - mean over TPs of first_hit / toa  (relative, in [0, 1])
    tta_seconds: np.ndarray  # (K,) mean over TPs of (toa - first_hit) / fps
    n_positive: int
    clip_seconds: float  # T / fps, the mTTA scale of the original


@dataclass(frozen=True)
class RecallLevels:
    """The curve grouped by unique recall (ascending, zero dropped): the P-R curve AP integrates."""

    recall: np.ndarray  # (M,)
    precision: np.ndarray  # (M,) max precision at this recall
    time: np.ndarray  # (M,) max relative time at this recall
    tta_seconds: np.ndarray  # (M,) max tta_seconds at this recall


def _as_rows(scores: np.ndarray | Sequence[Sequence[float]]) -> tuple[list[np.ndarray], int]:
    if isinstance(scores, np.ndarray) and scores.dtype != object:
        if scores.ndim != 2:
            raise ValueError(
                f"scores has shape {scores.shape}; expected [N, T] (videos x frames) or a list of 1-D arrays"
            )
        if scores.size == 0:
            raise ValueError(f"scores is empty (shape {scores.shape}): no videos or no frames to evaluate")
        rows = scores.astype(np.float64, copy=False)
        _check_scores(rows)
        return list(rows), rows.shape[1]
    rows = [np.asarray(row, dtype=np.float64) for row in scores]
    if not rows:
        raise ValueError("scores is empty: no videos to evaluate")
    for i, row in enumerate(rows):
        if row.ndim != 1 or row.size == 0:
            raise ValueError(f"scores[{i}] has shape {row.shape}; each video needs a non-empty 1-D array")
        _check_scores(row[None], offset=i)
    return rows, max(row.size for row in rows)


def _check_scores(rows: np.ndarray, offset: int = 0) -> None:
    for bad, what in (
        (~np.isfinite(rows), "is not finite"),
        ((rows < 0) | (rows > 1), "is outside [0, 1]; pass probabilities (e.g. a sigmoid of the logit)"),
    ):
        if bad.any():
            i, t = np.argwhere(bad)[0]
            raise ValueError(f"scores of video {i + offset}, frame {t} = {rows[i, t]} {what}")


def _prepare(scores, labels, toa, fps: float) -> _Videos:
    rows, clip_frames = _as_rows(scores)
    n = len(rows)
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"labels has shape {labels.shape}, expected ({n},): one 0/1 label per video")
    not_binary = ~np.isin(labels, (0, 1))
    if not_binary.any():
        i = int(np.flatnonzero(not_binary)[0])
        raise ValueError(f"labels[{i}] = {labels[i]}; labels must be 0 (no accident) or 1 (accident)")
    positive = labels.astype(bool)
    if not positive.any():
        raise ValueError("no positive video (all labels are 0): AP and time-to-accident are undefined")
    try:
        toa = np.asarray(toa, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"toa must be numeric frame indices: {err}") from None
    if toa.shape != (n,):
        raise ValueError(f"toa has shape {toa.shape}, expected ({n},): one accident frame per video")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be a positive number, got {fps}")
    toa = np.where(positive, toa, np.nan)
    scored = []
    for i, row in enumerate(rows):
        if positive[i]:
            if not (np.isfinite(toa[i]) and 1 <= int(toa[i]) <= row.size):
                raise ValueError(
                    f"toa[{i}] = {toa[i]} for a positive video of {row.size} frames; "
                    f"expected 1 <= toa <= {row.size} (the frame index of the accident)"
                )
            row = row[: int(toa[i])]
        scored.append(row)
    return _Videos(scored, positive, toa, clip_frames, float(fps))


def _curve(videos: _Videos) -> ThresholdCurve:
    start = max(min(float(s.min()) for s in videos.scored), 0.0)
    thresholds = np.arange(start, 1.0, THRESHOLD_STEP)  # (K,) float64, as the original
    if thresholds.size == 0:  # every scored frame is 1.0
        thresholds = np.array([1.0])
    maxima = np.array([s.max() for s in videos.scored])  # (N,)
    n_flagged = len(maxima) - np.searchsorted(np.sort(maxima), thresholds, side="left")  # (K,)

    pos = np.flatnonzero(videos.positive)
    # first frame whose running max reaches the threshold; == length when never reached
    first_hit = np.stack(
        [np.searchsorted(np.maximum.accumulate(videos.scored[i]), thresholds, side="left") for i in pos]
    )  # (P, K)
    lengths = np.array([videos.scored[i].size for i in pos])[:, None]  # (P, 1)
    toa = videos.toa[pos][:, None]  # (P, 1)
    hit = first_hit < lengths  # (P, K)
    n_tp = hit.sum(axis=0)  # (K,)
    # summed over videos in order, like the original's loop (adding 0 for misses changes nothing)
    relative = np.where(hit, first_hit / toa, 0.0).sum(axis=0)  # (K,)
    seconds = np.where(hit, (toa - first_hit) / videos.fps, 0.0).sum(axis=0)  # (K,)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_flagged > 0, n_tp / n_flagged, np.nan)
        time = np.where(n_tp > 0, 1 - relative / n_tp, np.nan)
        tta_seconds = np.where(n_tp > 0, seconds / n_tp, np.nan)
    return ThresholdCurve(
        thresholds=thresholds,
        n_flagged=n_flagged,
        n_true_positive=n_tp,
        precision=precision,
        recall=n_tp / len(pos),
        time=time,
        tta_seconds=tta_seconds,
        n_positive=len(pos),
        clip_seconds=videos.clip_frames / videos.fps,
    )


def per_threshold_curve(scores, labels, toa, fps: float) -> ThresholdCurve:
    """Precision, recall and time to accident at every threshold of the protocol's grid.

    Args:
        scores: [N, T] per-frame accident probabilities, or a sequence of N 1-D arrays (variable lengths).
        labels: (N,) 1 for an accident video, 0 otherwise.
        toa: (N,) frame index of the accident for positives (frames ``[0, int(toa))`` are scored);
            ignored for negatives (any value, NaN included).
        fps: Frame rate of the scores.

    Raises:
        ValueError: empty input, shape mismatch, non-finite or out-of-[0, 1] scores, labels not 0/1,
            no positive video, toa outside ``[1, length]`` for a positive, fps <= 0.
    """
    return _curve(_prepare(scores, labels, toa, fps))


def recall_levels(curve: ThresholdCurve) -> RecallLevels:
    """Groups the curve by unique recall (zero dropped) taking the max precision and time per level."""
    keep = curve.n_true_positive > 0
    counts, level = np.unique(curve.n_true_positive[keep], return_inverse=True)  # ascending recall
    grouped = []
    for values in (curve.precision, curve.time, curve.tta_seconds):
        best = np.full(counts.size, -np.inf)
        np.maximum.at(best, level, values[keep])
        grouped.append(best)
    return RecallLevels(counts / curve.n_positive, *grouped)


def average_precision(y_score: np.ndarray, y_true: np.ndarray) -> float:
    """scikit-learn's ``average_precision_score`` (binary): sum over score thresholds of ``dR * P``."""
    order = np.argsort(-np.asarray(y_score, dtype=np.float64), kind="stable")
    score = np.asarray(y_score, dtype=np.float64)[order]
    truth = np.asarray(y_true, dtype=bool)[order]
    last = np.r_[np.flatnonzero(np.diff(score)), score.size - 1]  # last index of each distinct score
    tp = np.cumsum(truth)[last]
    precision = tp / (last + 1)
    recall = tp / tp[-1]
    return float(np.sum(np.diff(recall, prepend=0.0) * precision))


def evaluate(scores, labels, toa, fps: float) -> dict[str, float]:
    """The protocol's numbers (see the module docstring for every definition and deviation).

    Args: as :func:`per_threshold_curve`.

    Returns:
        dict with ``ap`` (frame-threshold AP in [0, 1]), ``mtta`` (seconds, x T/fps quirk), ``tta_r80``
        (seconds, same quirk), ``mtta_toa`` (corrected, seconds) and ``video_ap`` (in [0, 1]).
    """
    videos = _prepare(scores, labels, toa, fps)
    curve = _curve(videos)
    levels = recall_levels(curve)
    r, p = levels.recall, levels.precision
    ap = p[0] * r[0] + np.sum((p[:-1] + p[1:]) * np.diff(r) / 2)
    r80 = int(np.argmin(np.abs(r - RECALL_TARGET)))
    video_scores = np.array([s.max() for s in videos.scored])
    return {
        "ap": float(ap),
        "mtta": float(np.mean(levels.time) * curve.clip_seconds),
        "tta_r80": float(levels.time[r80] * curve.clip_seconds),
        "mtta_toa": float(np.mean(levels.tta_seconds)),
        "video_ap": average_precision(video_scores, videos.positive),
    }
