"""Accident anticipation metrics: the community protocol of UString/DSTA ``eval_tools.evaluation``, in numpy.

``ap``, ``mtta`` and ``tta_r80`` are the original's numbers (Cogito2012/UString and monjurulkarim/DSTA
``src/eval_tools.py``, identical there), quirks included; the test holds them to 1e-9 against an
independent step-by-step restatement. The original, step by step:

* Scored frames: a positive video is scored on its frames before the accident, ``[0, int(toa))``;
  a negative video on all its frames. ``n_frames`` = the number of scored frames (it sizes the arrays).
* Thresholds: ``np.arange(max(min score, 0), 1.0, 0.001)``, min over all scored frames.
* At a threshold, a video is flagged when any scored frame reaches it (``>=``); a true positive (TP) is
  a video whose ``score x label`` reaches it, i.e. a flagged positive video, and at a threshold of 0 (only
  when some scored frame is exactly 0) every negative video too (``0 >= 0``; recall exceeds 1 there).
  precision = TP / flagged, recall = TP / positives, time = 1 - mean over TPs of ``first_hit / toa``.
* Thresholds with a TP are recorded in order into arrays of ``n_frames`` zeros; ``np.argsort`` (the default,
  unstable kind) sorts them by recall; the lowest recall group (the zeros left over) is dropped; every other
  group takes its max precision and max time, except the highest recall group, which takes the precision
  and time of its first point in that sort order (a member that the sort, not the data, picks; never more
  than the group's max, so without exact zeros AP and mTTA are at most the ``_maxprec`` ones).
* AP = ``P_0 * R_0`` (the first rectangle from recall 0) + trapezoids between consecutive levels.
* mTTA = mean time over the levels x ``T / fps`` with ``T`` the clip length (a quirk: the clip's duration,
  not each video's own time before the accident). TTA@R80 = the time of the level whose recall is nearest
  0.8 (the lower one on a tie), scaled by ``T / fps`` alike.
* When exactly ``n_frames`` thresholds are recorded (tiny inputs), there are no zeros left and the lowest
  real recall level is the one dropped; this is reproduced.

Where the original crashes or cannot be called, this module defines (and documents) the behaviour:

* More recorded thresholds than scored frames (or exactly as many and a later threshold flags a video):
  the original raises IndexError writing past its arrays; here the arrays hold ``K + 1`` entries (``K``
  thresholds), so the zero group is the one dropped. Also when only one recall level would remain after
  the drop (the original's ``new_Time[-1]`` on an empty array).
* Scores must be finite probabilities in [0, 1] (ValueError otherwise: logits are the usual mistake).
  When every scored frame is 1.0 the original's grid is empty (it crashes); the grid is then [1.0].
* No positive video: ValueError (AP and TTA are undefined; the original crashes). No negative video:
  fine, precision is 1. A positive's toa must satisfy ``1 <= int(toa) <= length`` (the original crashes
  below; above, it would score the whole clip against an accident after its end: rejected as bad labels).
* A negative's toa is ignored. The original adds ``0 / toa`` of each negative at a threshold of 0 (0 for
  its loaders' ``T + 1``; NaN for a toa of 0 or NaN): 0 here.
* Videos of different lengths (the original takes an ``[N, T]`` array): pass a sequence of 1-D arrays;
  the result is the original's on the array padded to the longest length ``T`` when the padding changes
  no negative's min or max (``n_frames`` counts ``T`` frames per negative, as padded).
* float32 scores: the grid and the comparisons are the original's for float32 input (under NumPy 2 its
  grid's step is then not exactly 0.001, see ``_curve``); tested under NumPy 2.

Corrected variants, each under its own key:

* ``ap_maxprec``, ``mtta_maxprec``, ``tta_r80_maxprec``: every recall level takes its max precision and
  max time (the highest one too), a TP is a flagged positive video at every threshold (no negatives at
  a threshold of 0), only recall 0 is dropped, no limit on the number of thresholds.
* ``mtta_toa``: mTTA in seconds from each video's own toa. Per threshold, the mean over TP videos of
  ``(toa - first_hit) / fps``; per recall level its max; then the mean over the levels (``_maxprec`` levels).
* ``video_ap``: average precision (scikit-learn's ``average_precision_score`` definition) of each video's
  max scored frame, i.e. the max before toa for positives and over all frames for negatives.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

THRESHOLD_STEP = 0.001
RECALL_TARGET = 0.8

# Every key of :func:`evaluate` with the name tables print for it (units in seconds for the times).
METRIC_LABELS: dict[str, str] = {
    "ap": "AP (UString protocol)",
    "mtta": "mTTA (UString protocol, x T/fps, s)",
    "tta_r80": "TTA@R80 (UString protocol, s)",
    "ap_maxprec": "AP max-precision (corrected)",
    "mtta_maxprec": "mTTA max-precision (corrected, x T/fps, s)",
    "tta_r80_maxprec": "TTA@R80 max-precision (corrected, s)",
    "mtta_toa": "mTTA toa-based (corrected, s)",
    "video_ap": "video-level AP (corrected)",
}


@dataclass(frozen=True)
class _Videos:
    """Validated input: the frames the protocol scores, per video."""

    scored: list[np.ndarray]  # N x (L_i,) float64; positives cut at int(toa)
    positive: np.ndarray  # (N,) bool
    toa: np.ndarray  # (N,) float64, NaN for negatives
    clip_frames: int  # T: the width of the [N, T] input, or the longest video
    fps: float
    dtype: np.dtype  # of the scores as given (float64 for non-float input): the grid's start has it


@dataclass(frozen=True)
class ThresholdCurve:
    """Per-threshold counts and rates of the protocol, before any grouping (one entry per threshold).

    A TP here is a flagged positive video at every threshold (the corrected count; the original's adds
    the negatives at a threshold of 0, see :func:`protocol_levels`). ``precision`` is NaN where no video
    is flagged; ``time`` and ``tta_seconds`` are NaN where there is no TP.
    """

    thresholds: np.ndarray  # (K,)
    n_flagged: np.ndarray  # (K,) videos with a scored frame >= threshold
    n_true_positive: np.ndarray  # (K,) flagged positive videos
    precision: np.ndarray  # (K,) n_true_positive / n_flagged
    recall: np.ndarray  # (K,) n_true_positive / n_positive
    time: np.ndarray  # (K,) 1 - mean over TPs of first_hit / toa  (relative, in [0, 1])
    tta_seconds: np.ndarray  # (K,) mean over TPs of (toa - first_hit) / fps
    n_positive: int
    n_negative: int
    n_scored_frames: int  # the original's n_frames: int(toa) per positive, T per negative
    clip_seconds: float  # T / fps, the mTTA scale of the original


@dataclass(frozen=True)
class RecallLevels:
    """The curve grouped by unique recall (ascending): the P-R curve AP integrates."""

    recall: np.ndarray  # (M,)
    precision: np.ndarray  # (M,) precision of the level
    time: np.ndarray  # (M,) relative time of the level
    tta_seconds: np.ndarray | None  # (M,) max tta_seconds of the level; None for the original's levels


def _as_rows(scores: np.ndarray | Sequence[Sequence[float]]) -> tuple[list[np.ndarray], int, np.dtype]:
    if isinstance(scores, np.ndarray) and scores.dtype != object:
        if scores.ndim != 2:
            raise ValueError(
                f"scores has shape {scores.shape}; expected [N, T] (videos x frames) or a list of 1-D arrays"
            )
        if scores.size == 0:
            raise ValueError(f"scores is empty (shape {scores.shape}): no videos or no frames to evaluate")
        rows = scores.astype(np.float64, copy=False)
        _check_scores(rows)
        return list(rows), rows.shape[1], scores.dtype
    given = [np.asarray(row) for row in scores]
    if not given:
        raise ValueError("scores is empty: no videos to evaluate")
    rows = [row.astype(np.float64, copy=False) for row in given]
    for i, row in enumerate(rows):
        if row.ndim != 1 or row.size == 0:
            raise ValueError(f"scores[{i}] has shape {row.shape}; each video needs a non-empty 1-D array")
        _check_scores(row[None], offset=i)
    return rows, max(row.size for row in rows), np.result_type(*given)


def _check_scores(rows: np.ndarray, offset: int = 0) -> None:
    for bad, what in (
        (~np.isfinite(rows), "is not finite"),
        ((rows < 0) | (rows > 1), "is outside [0, 1]; pass probabilities (e.g. a sigmoid of the logit)"),
    ):
        if bad.any():
            i, t = np.argwhere(bad)[0]
            raise ValueError(f"scores of video {i + offset}, frame {t} = {rows[i, t]} {what}")


def _prepare(scores, labels, toa, fps: float) -> _Videos:
    rows, clip_frames, dtype = _as_rows(scores)
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
    dtype = dtype if np.issubdtype(dtype, np.floating) else np.dtype(np.float64)
    return _Videos(scored, positive, toa, clip_frames, float(fps), dtype)


def _curve(videos: _Videos) -> ThresholdCurve:
    # the original's expression with min_pred a scalar of the scores' dtype: for float32 scores NumPy 2
    # computes the grid's step as float32(start + 0.001) - start, so the grid is not the float64 one
    min_pred = videos.dtype.type(min(float(s.min()) for s in videos.scored))
    thresholds = np.arange(max(min_pred, 0), 1.0, THRESHOLD_STEP).astype(np.float64)  # (K,)
    if thresholds.size == 0:  # every scored frame is 1.0
        thresholds = np.array([1.0])
    # `score >= Th` compares in result_type(scores, float64 Th): float64 in NumPy 2; NumPy 1's value-based
    # casting compares float32 scores in float32
    compare = np.result_type(videos.dtype, np.float64(THRESHOLD_STEP))
    compared = thresholds.astype(compare).astype(np.float64)  # (K,) the thresholds as compared
    maxima = np.array([s.max() for s in videos.scored])  # (N,)
    n_flagged = len(maxima) - np.searchsorted(np.sort(maxima), compared, side="left")  # (K,)

    pos = np.flatnonzero(videos.positive)
    # first frame whose running max reaches the threshold; == length when never reached
    first_hit = np.stack(
        [np.searchsorted(np.maximum.accumulate(videos.scored[i]), compared, side="left") for i in pos]
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
    n_negative = len(videos.scored) - len(pos)
    return ThresholdCurve(
        thresholds=thresholds,
        n_flagged=n_flagged,
        n_true_positive=n_tp,
        precision=precision,
        recall=n_tp / len(pos),
        time=time,
        tta_seconds=tta_seconds,
        n_positive=len(pos),
        n_negative=n_negative,
        n_scored_frames=int(lengths.sum()) + n_negative * videos.clip_frames,
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
    """The corrected levels: grouped by unique recall (zero dropped), max precision and time per level."""
    keep = curve.n_true_positive > 0
    counts, level = np.unique(curve.n_true_positive[keep], return_inverse=True)  # ascending recall
    grouped = []
    for values in (curve.precision, curve.time, curve.tta_seconds):
        best = np.full(counts.size, -np.inf)
        np.maximum.at(best, level, values[keep])
        grouped.append(best)
    return RecallLevels(counts / curve.n_positive, *grouped)


def protocol_levels(curve: ThresholdCurve) -> RecallLevels:
    """The original's levels (``new_Recall``, ``new_Precision``, ``new_Time``), quirks included.

    See the module docstring; ``tta_seconds`` is None (the original has no such number).
    """
    # score x label >= Th: at a threshold of 0 every negative video counts as a TP too
    n_tp = curve.n_true_positive + np.where(curve.thresholds <= 0, curve.n_negative, 0)  # (K,)
    kept = np.flatnonzero(n_tp > 0)  # the thresholds the original records (`cnt += 1`), in order
    recall = n_tp[kept] / curve.n_positive
    precision = n_tp[kept] / curve.n_flagged[kept]
    time = curve.time[kept]  # at a threshold of 0 every first hit is frame 0: time 1 either way
    size = curve.n_scored_frames
    flagged_later = bool((curve.n_flagged[kept[-1] + 1 :] > 0).any())
    fits = kept.size < size or (kept.size == size and not flagged_later)  # else the original IndexErrors
    levels = _first_of_top_group(recall, precision, time, size) if fits else None
    if levels is None:  # the original crashes; arrays with room for a zero left over
        levels = _first_of_top_group(recall, precision, time, curve.thresholds.size + 1)
    return levels


def _first_of_top_group(recall, precision, time, size: int) -> RecallLevels | None:
    """The original's grouping of its recorded points, in zero-padded arrays of ``size`` entries."""
    arrays = []
    for values in (recall, precision, time):
        padded = np.zeros(size)
        padded[: values.size] = values
        arrays.append(padded)
    order = np.argsort(arrays[0], kind="quicksort")  # the original's call (the default kind, unstable)
    r, p, t = (a[order] for a in arrays)
    first = np.unique(r, return_index=True)[1][1:]  # start of each recall group; the lowest dropped
    if first.size == 0:
        return None
    level_p, level_t = np.maximum.reduceat(p, first), np.maximum.reduceat(t, first)
    level_p[-1], level_t[-1] = p[first[-1]], t[first[-1]]  # the top group: its first point in `order`
    return RecallLevels(r[first], level_p, level_t, None)


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


def _ap_mtta_r80(levels: RecallLevels, clip_seconds: float) -> tuple[float, float, float]:
    r, p = levels.recall, levels.precision
    ap = p[0] * r[0] + np.sum((p[:-1] + p[1:]) * np.diff(r) / 2)
    r80 = int(np.argmin(np.abs(r - RECALL_TARGET)))
    return float(ap), float(np.mean(levels.time) * clip_seconds), float(levels.time[r80] * clip_seconds)


def evaluate(scores, labels, toa, fps: float) -> dict[str, float]:
    """The protocol's numbers and the corrected variants (see the module docstring for each).

    Args: as :func:`per_threshold_curve`.

    Returns:
        dict with the keys of :data:`METRIC_LABELS`: ``ap`` (in [0, 1]; above 1 only by the original's
        threshold-0 quirk), ``mtta`` and ``tta_r80`` (seconds, x T/fps quirk) as the original;
        ``ap_maxprec``, ``mtta_maxprec``, ``tta_r80_maxprec`` (per-level max), ``mtta_toa`` (seconds) and
        ``video_ap`` (in [0, 1]), corrected.
    """
    videos = _prepare(scores, labels, toa, fps)
    curve = _curve(videos)
    ap, mtta, tta_r80 = _ap_mtta_r80(protocol_levels(curve), curve.clip_seconds)
    levels = recall_levels(curve)
    ap_max, mtta_max, tta_r80_max = _ap_mtta_r80(levels, curve.clip_seconds)
    video_scores = np.array([s.max() for s in videos.scored])
    return {
        "ap": ap,
        "mtta": mtta,
        "tta_r80": tta_r80,
        "ap_maxprec": ap_max,
        "mtta_maxprec": mtta_max,
        "tta_r80_maxprec": tta_r80_max,
        "mtta_toa": float(np.mean(levels.tta_seconds)),
        "video_ap": average_precision(video_scores, videos.positive),
    }
