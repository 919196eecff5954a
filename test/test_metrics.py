"""The UString/DSTA evaluation protocol: hand-computed cases, edge cases, and the original loop as reference."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.metrics import (
    average_precision,
    evaluate,
    per_threshold_curve,
    recall_levels,
)


def average_precision_score(labels, scores) -> float:
    """scikit-learn's average precision, the reference (the test skips where scikit-learn is missing)."""
    return pytest.importorskip("sklearn.metrics").average_precision_score(labels, scores)


def reference_evaluation(all_pred, all_labels, time_of_accidents, fps=20.0, last_level="max"):
    """Transcription of ``evaluation()`` in Cogito2012/UString ``src/eval_tools.py`` (prints removed).

    The one change (marked CHANGED): with ``last_level="max"`` the highest recall level takes the max
    of its group like every other level; ``"first"`` keeps the original line, which takes the group's
    first element in ``np.argsort``'s (unstable) order.
    """
    preds_eval = []
    min_pred = np.inf
    n_frames = 0
    for idx, toa in enumerate(time_of_accidents):
        if all_labels[idx] > 0:  # noqa: SIM108
            pred = all_pred[idx, : int(toa)]  # positive video
        else:
            pred = all_pred[idx, :]  # negative video
        # find the minimum prediction
        min_pred = np.min(pred) if min_pred > np.min(pred) else min_pred
        preds_eval.append(pred)
        n_frames += len(pred)
    total_seconds = all_pred.shape[1] / fps

    # iterate a set of thresholds from the minimum predictions
    Precision = np.zeros(n_frames)
    Recall = np.zeros(n_frames)
    Time = np.zeros(n_frames)
    cnt = 0
    for Th in np.arange(max(min_pred, 0), 1.0, 0.001):
        Tp = 0.0
        Tp_Fp = 0.0
        time = 0.0
        counter = 0.0  # number of TP videos
        # iterate each video sample
        for i in range(len(preds_eval)):
            # true positive frames: (pred->1) * (gt->1)
            tp = np.where(preds_eval[i] * all_labels[i] >= Th)
            Tp += float(len(tp[0]) > 0)
            if float(len(tp[0]) > 0) > 0:
                # if at least one TP, compute the relative (1 - rTTA)
                time += tp[0][0] / float(time_of_accidents[i])
                counter = counter + 1
            # all positive frames
            Tp_Fp += float(len(np.where(preds_eval[i] >= Th)[0]) > 0)
        if Tp_Fp == 0:  # predictions of all videos are negative
            continue
        else:
            Precision[cnt] = Tp / Tp_Fp
        if np.sum(all_labels) == 0:  # gt of all videos are negative
            continue
        else:
            Recall[cnt] = Tp / np.sum(all_labels)
        if counter == 0:
            continue
        else:
            Time[cnt] = 1 - time / counter
        cnt += 1
    # sort the metrics with recall (ascending)
    new_index = np.argsort(Recall)
    Precision = Precision[new_index]
    Recall = Recall[new_index]
    Time = Time[new_index]
    # unique the recall, and fetch corresponding precisions and TTAs
    _, rep_index = np.unique(Recall, return_index=1)
    rep_index = rep_index[1:]
    new_Time = np.zeros(len(rep_index))
    new_Precision = np.zeros(len(rep_index))
    for i in range(len(rep_index) - 1):
        new_Time[i] = np.max(Time[rep_index[i] : rep_index[i + 1]])
        new_Precision[i] = np.max(Precision[rep_index[i] : rep_index[i + 1]])
    # sort by descending order
    if last_level == "max":  # CHANGED
        new_Time[-1] = np.max(Time[rep_index[-1] :])
        new_Precision[-1] = np.max(Precision[rep_index[-1] :])
    else:
        new_Time[-1] = Time[rep_index[-1]]
        new_Precision[-1] = Precision[rep_index[-1]]
    new_Recall = Recall[rep_index]
    # compute AP (area under P-R curve)
    AP = 0.0
    if new_Recall[0] != 0:
        AP += new_Precision[0] * (new_Recall[0] - 0)
    for i in range(1, len(new_Precision)):
        AP += (new_Precision[i - 1] + new_Precision[i]) * (new_Recall[i] - new_Recall[i - 1]) / 2

    # transform the relative mTTA to seconds
    mTTA = np.mean(new_Time) * total_seconds
    sort_time = new_Time[np.argsort(new_Recall)]
    sort_recall = np.sort(new_Recall)
    TTA_R80 = sort_time[np.argmin(np.abs(sort_recall - 0.8))] * total_seconds
    return AP, mTTA, TTA_R80


def random_dataset(seed: int, n: int = 60, t: int = 40, dtype=np.float64, toa_offset: float = 0.0):
    """Smooth random score curves in (0, 1); positives drift upwards before a random toa."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.5).astype(np.int64)
    labels[:2] = [1, 0]
    toa = np.where(labels > 0, rng.integers(8, t + 1, n), t + 1)  # UString's loaders give negatives T + 1
    toa = toa + toa_offset  # a fractional toa: frames [0, int(toa)) are scored, times divide by toa
    walk = np.cumsum(rng.normal(0, 0.4, (n, t)), axis=1)
    trend = labels[:, None] * np.linspace(0, 1, t)[None, :] * rng.uniform(0, 4, (n, 1))
    scores = 1 / (1 + np.exp(-(walk + trend - 1.0)))
    return scores.astype(dtype), labels, toa


# --- the original loop as reference ---------------------------------------------------------------


@pytest.mark.parametrize(
    "seed,dtype,toa_offset", [(0, np.float64, 0), (1, np.float64, 0.5), (2, np.float32, 0)]
)
def test_matches_the_original_loop_on_random_data(seed, dtype, toa_offset):
    scores, labels, toa = random_dataset(seed, dtype=dtype, toa_offset=toa_offset)
    ap, mtta, tta_r80 = reference_evaluation(scores, labels, toa, fps=20.0)
    out = evaluate(scores, labels, toa, fps=20.0)
    assert out["ap"] == pytest.approx(ap, rel=1e-12, abs=1e-12)
    assert out["mtta"] == pytest.approx(mtta, rel=1e-12)
    assert out["tta_r80"] == pytest.approx(tta_r80, rel=1e-12)
    assert 0 < out["ap"] < 1  # a non-trivial case


@pytest.mark.parametrize("seed", [0, 1])
def test_video_ap_matches_sklearn_on_random_data(seed):
    scores, labels, toa = random_dataset(seed)
    out = evaluate(scores, labels, toa, fps=20.0)
    video_scores = [max(pred[: int(t)]) for t, pred in zip(toa, scores, strict=True)]  # as UString's main.py
    assert out["video_ap"] == pytest.approx(average_precision_score(labels, video_scores), rel=1e-12)


def test_the_top_level_max_only_raises_ap_and_mtta_over_the_original_sort_order_pick():
    # The original takes an arbitrary member of the highest recall group; the max can only be larger.
    for seed in range(3, 6):
        scores, labels, toa = random_dataset(seed, n=40, t=50)
        first = reference_evaluation(scores, labels, toa, fps=10.0, last_level="first")
        out = evaluate(scores, labels, toa, fps=10.0)
        assert out["ap"] >= first[0] - 1e-12
        assert out["mtta"] >= first[1] - 1e-12


def test_variable_lengths_equal_the_padded_array():
    scores, labels, toa = random_dataset(7, n=30, t=40)
    rng = np.random.default_rng(7)
    lengths = np.where(
        labels > 0, rng.integers(np.minimum(toa, 40), 41), rng.integers(5, 41)
    )  # positives keep [0, toa)
    ragged = [row[:length] for row, length in zip(scores, lengths, strict=True)]
    padded = scores.copy()
    for i, length in enumerate(lengths):
        # a positive's frames from toa on are never scored; a negative only counts through its max,
        # so padding it with its own minimum changes nothing either
        padded[i, length:] = 0.99 if labels[i] else ragged[i].min()
    out = evaluate(ragged, labels, toa, fps=20.0)
    ap, mtta, tta_r80 = reference_evaluation(padded, labels, toa, fps=20.0)
    assert out["ap"] == pytest.approx(ap, rel=1e-12)
    assert out["mtta"] == pytest.approx(mtta, rel=1e-12)  # T = the longest video
    assert out["tta_r80"] == pytest.approx(tta_r80, rel=1e-12)
    assert max(lengths) == 40


# --- hand-computed cases --------------------------------------------------------------------------


def test_hand_computed_perfect_ranking():
    # T = 4 frames, fps = 2: the mTTA quirk scales by T / fps = 2 s.
    # v0 positive, toa 4: scored [.1 .2 .6 .9]  max .9
    # v1 positive, toa 2: scored [.3 .7] (.95 .95 after the accident are ignored)  max .7
    # v2 negative: [.2 .5 .4 .1]  max .5
    # Grid from min .1. Thresholds (.1, .5]: all flagged -> P 2/3, R 1; (.5, .7]: P 1, R 1;
    # (.7, .9]: only v0 -> P 1, R .5, v0 first hit at frame 3 -> time 1 - 3/4 = .25.
    # R=1 level: max P 1; max time at threshold .1 (both hit at frame 0) = 1.
    # AP = 1 * .5 + (1 + 1) * (1 - .5) / 2 = 1.   mTTA = mean(.25, 1) * 2 = 1.25 s.
    # TTA@R80: |.5 - .8| = .3 > |1 - .8| = .2 -> time 1 * 2 = 2 s.
    # Corrected: R=.5: v0 (4 - 3) / 2 = .5 s; R=1 at threshold .1: mean((4 - 0) / 2, (2 - 0) / 2) = 1.5 s
    # -> mtta_toa = mean(.5, 1.5) = 1 s. Video scores .9, .7 (positives) > .5 -> video AP 1.
    scores = np.array([[0.1, 0.2, 0.6, 0.9], [0.3, 0.7, 0.95, 0.95], [0.2, 0.5, 0.4, 0.1]])
    out = evaluate(scores, [1, 1, 0], [4, 2, 0], fps=2.0)
    assert out == pytest.approx({"ap": 1.0, "mtta": 1.25, "tta_r80": 2.0, "mtta_toa": 1.0, "video_ap": 1.0})


def test_hand_computed_with_false_alarms():
    # T = 4, fps = 2 (T / fps = 2 s).
    # v0 positive, toa 3: scored [.2 .8 .3]  max .8
    # v1 positive, toa 2: scored [.1 .4] (.99 .99 ignored)  max .4
    # v2 negative: [.1 .6 .1 .1]  max .6;   v3 negative: [.05]*4  max .05
    # Grid from .05. Threshold .05: all 4 flagged, TP 2 -> P .5, R 1, both first hits at 0 -> time 1,
    #   tta = mean((3 - 0) / 2, (2 - 0) / 2) = 1.25 s.
    # (.05, .4]: v3 out -> P 2/3, R 1.  (.4, .6]: v0, v2 -> P .5, R .5.  (.6, .8]: v0 -> P 1, R .5.
    # R=.5: max P 1; v0's first hit for thresholds in (.2, .8] is frame 1 -> time 1 - 1/3 = 2/3,
    #   tta (3 - 1) / 2 = 1 s.
    # R=1: max P 2/3 (the original would take P .5 or 2/3, whichever np.argsort puts first); time 1.
    # AP = 1 * .5 + (1 + 2/3) * .5 / 2 = 11/12.   mTTA = mean(2/3, 1) * 2 = 5/3 s.   TTA@R80 = 1 * 2 = 2 s.
    # mtta_toa = mean(1, 1.25) = 1.125 s.
    # Video scores: .8 (P), .6 (N), .4 (P), .05 (N) -> AP = .5 * 1 + .5 * 2/3 = 5/6
    # (v1's .99 after the accident would have made it 1).
    scores = np.array(
        [[0.2, 0.8, 0.3, 0.99], [0.1, 0.4, 0.99, 0.99], [0.1, 0.6, 0.1, 0.1], [0.05, 0.05, 0.05, 0.05]]
    )
    labels, toa = [1, 1, 0, 0], [3, 2, -1, np.nan]  # negatives' toa is ignored
    out = evaluate(scores, labels, toa, fps=2.0)
    expected = {"ap": 11 / 12, "mtta": 5 / 3, "tta_r80": 2.0, "mtta_toa": 1.125, "video_ap": 5 / 6}
    assert out == pytest.approx(expected)

    levels = recall_levels(per_threshold_curve(scores, labels, toa, fps=2.0))
    np.testing.assert_allclose(levels.recall, [0.5, 1.0])
    np.testing.assert_allclose(levels.precision, [1.0, 2 / 3])
    np.testing.assert_allclose(levels.time, [2 / 3, 1.0])
    np.testing.assert_allclose(levels.tta_seconds, [1.0, 1.25])


def test_curve_arrays_for_plotting():
    scores = np.array(
        [[0.2, 0.8, 0.3, 0.99], [0.1, 0.4, 0.99, 0.99], [0.1, 0.6, 0.1, 0.1], [0.05, 0.05, 0.05, 0.05]]
    )
    curve = per_threshold_curve(scores, [1, 1, 0, 0], [3, 2, 0, 0], fps=2.0)
    k = curve.thresholds.size
    assert curve.thresholds[0] == 0.05 and k == len(np.arange(0.05, 1.0, 0.001))
    for name in ("n_flagged", "n_true_positive", "precision", "recall", "time", "tta_seconds"):
        assert getattr(curve, name).shape == (k,)
    at = np.searchsorted(curve.thresholds, 0.7)  # ~0.7: only v0 flagged
    assert curve.n_flagged[at] == 1 and curve.n_true_positive[at] == 1 and curve.recall[at] == 0.5
    assert curve.n_flagged[0] == 4 and curve.precision[0] == 0.5
    above = curve.thresholds > 0.8 + 1e-9  # nothing flagged: precision and time undefined
    assert np.isnan(curve.precision[above]).all() and np.isnan(curve.time[above]).all()
    assert (curve.recall[above] == 0).all()
    assert curve.clip_seconds == 2.0 and curve.n_positive == 2


# --- edge cases -----------------------------------------------------------------------------------


def test_no_positive_video_is_an_error():
    with pytest.raises(ValueError, match="no positive video"):
        evaluate(np.full((3, 5), 0.5), [0, 0, 0], [0, 0, 0], fps=10.0)


def test_no_negative_video_has_precision_one():
    # v0 toa 2: [.3 .6]; v1 toa 2: [.2 .4]. Grid from .2: (.2, .4] both TP -> R 1; (.4, .6] v0 -> R .5.
    # R=.5: v0 first hit at frame 1 -> time 1 - 1/2 = .5. R=1: at .2 both hit at 0 -> time 1.
    # AP = 1 * .5 + (1 + 1) * .5 / 2 = 1; mTTA = mean(.5, 1) * (3 frames / 1 fps) = 2.25 s.
    scores = np.array([[0.3, 0.6, 0.9], [0.2, 0.4, 0.9]])
    out = evaluate(scores, [1, 1], [2, 2], fps=1.0)
    assert out["ap"] == pytest.approx(1.0) and out["video_ap"] == pytest.approx(1.0)
    assert out["mtta"] == pytest.approx(2.25)
    curve = per_threshold_curve(scores, [1, 1], [2, 2], fps=1.0)
    flagged = curve.n_flagged > 0
    assert (curve.precision[flagged] == 1).all()


@pytest.mark.parametrize("value", [0.0, 0.37, 1.0])
def test_constant_scores_flag_everything_at_one_threshold(value):
    # Everything is flagged at the grid's first threshold (the constant) with first hits at frame 0,
    # nothing above it: one point P = 2/3, R = 1, time 1, tta = toa / fps.
    # For 1.0 the original's grid is empty; ours is [1.0], so the result does not depend on the constant.
    scores = np.full((3, 10), value)
    out = evaluate(scores, [1, 0, 1], [4, 0, 8], fps=5.0)
    two_thirds = 2 / 3
    expected = {
        "ap": two_thirds,
        "mtta": 2.0,
        "tta_r80": 2.0,
        "mtta_toa": (4 + 8) / 2 / 5,
        "video_ap": two_thirds,
    }
    assert out == pytest.approx(expected)
    assert out["video_ap"] == pytest.approx(average_precision_score([1, 0, 1], [value] * 3))


def test_zero_scores_never_make_a_negative_video_a_true_positive():
    # The original multiplies scores by the label: at threshold 0 a negative video scores 0 >= 0 and
    # counts as a TP (recall 2 here). Ours: a TP is a flagged positive video.
    # (400 frames: the original sizes its arrays by the scored frames and fails with fewer than
    # thresholds.) Positive: a ramp 0 -> .5; negative: a ramp 0 -> .3.
    t = 400
    scores = np.stack([np.linspace(0, 0.5, t), np.linspace(0, 0.3, t)])
    curve = per_threshold_curve(scores, [1, 0], [t, 0], fps=10.0)
    assert curve.thresholds[0] == 0.0
    assert curve.recall.max() == 1.0 and curve.precision[0] == 0.5
    # threshold 0: P .5, R 1; (0, .3]: P .5, R 1; (.3, .5]: P 1, R 1 -> one level, P 1, AP 1
    assert evaluate(scores, [1, 0], [t, 0], fps=10.0)["ap"] == pytest.approx(1.0)
    original_ap = reference_evaluation(scores, np.array([1, 0]), np.array([t, t + 1]), fps=10.0)[0]
    assert original_ap > 1.0  # recall 2 at threshold 0


@pytest.mark.parametrize(("bad", "where"), [(1.5, "video 1, frame 2"), (-0.1, "video 1, frame 2")])
def test_scores_outside_unit_interval_are_rejected(bad, where):
    scores = np.full((2, 4), 0.5)
    scores[1, 2] = bad
    with pytest.raises(ValueError, match=rf"{where} = {bad} is outside \[0, 1\]"):
        evaluate(scores, [1, 0], [3, 0], fps=10.0)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_scores_name_the_video_and_frame(bad):
    scores = np.full((3, 4), 0.5)
    scores[2, 1] = bad
    with pytest.raises(ValueError, match=r"video 2, frame 1 = (nan|inf) is not finite"):
        evaluate(scores, [1, 0, 0], [3, 0, 0], fps=10.0)
    ragged = [np.full(4, 0.5), np.array([0.5, bad])]
    with pytest.raises(ValueError, match=r"video 1, frame 1"):
        evaluate(ragged, [1, 0], [3, 0], fps=10.0)


@pytest.mark.parametrize(
    ("scores", "labels", "toa", "fps", "message"),
    [
        (np.zeros((0, 5)), [], [], 10.0, "empty"),
        ([], [], [], 10.0, "empty"),
        (np.full(5, 0.5), [1], [3], 10.0, r"expected \[N, T\]"),
        ([np.full(3, 0.5), np.array([])], [1, 0], [2, 0], 10.0, "non-empty 1-D"),
        (np.full((2, 5), 0.5), [1, 0, 1], [3, 0, 3], 10.0, r"labels has shape \(3,\), expected \(2,\)"),
        (np.full((2, 5), 0.5), [1, 0], [3], 10.0, r"toa has shape \(1,\), expected \(2,\)"),
        (np.full((2, 5), 0.5), [1, 2], [3, 0], 10.0, r"labels\[1\] = 2"),
        (np.full((2, 5), 0.5), [1, 0], [0, 0], 10.0, r"toa\[0\] = 0.0 for a positive video of 5 frames"),
        (np.full((2, 5), 0.5), [1, 0], [6, 0], 10.0, r"toa\[0\] = 6.0 .*expected 1 <= toa <= 5"),
        (np.full((2, 5), 0.5), [0, 1], [0, np.nan], 10.0, r"toa\[1\] = nan"),
        (np.full((2, 5), 0.5), [1, 0], [3, 0], 0.0, "fps must be a positive number"),
        (np.full((2, 5), 0.5), [1, 0], ["x", 0], 10.0, "toa must be numeric"),
    ],
)
def test_bad_input_is_a_clear_value_error(scores, labels, toa, fps, message):
    with pytest.raises(ValueError, match=message):
        evaluate(scores, labels, toa, fps)


def test_average_precision_matches_sklearn_with_ties():
    rng = np.random.default_rng(3)
    for _ in range(20):
        truth = rng.integers(0, 2, 50)
        truth[0] = 1
        score = np.round(rng.random(50), 1)  # many ties
        assert average_precision(score, truth) == pytest.approx(
            average_precision_score(truth, score), rel=1e-12
        )
