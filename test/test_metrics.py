"""The UString/DSTA evaluation protocol: parity with the original function, hand-computed cases, edge cases."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.metrics import (
    METRIC_LABELS,
    average_precision,
    evaluate,
    per_threshold_curve,
    protocol_levels,
    recall_levels,
)


def average_precision_score(labels, scores) -> float:
    """scikit-learn's average precision, the reference (the test skips where scikit-learn is missing)."""
    return pytest.importorskip("sklearn.metrics").average_precision_score(labels, scores)


EXACT = 1e-9  # |ours - original| allowed for ap, mtta, tta_r80


# --- REFERENCE ORACLE ----------------------------------------------------------------------------
# An independent restatement, written for this test, of what ``evaluation()`` in UString's
# ``src/eval_tools.py`` (and DSTA's copy) computes, step by step and with its quirks: arrays of one slot
# per scored frame, a threshold skipped without taking a slot when nothing fires, no positive or no TP;
# np.argsort's default (unstable) kind; np.unique's first index per recall level; the lowest level
# dropped; per level the max over the level's slots except the last level, which takes its first slot;
# the AP's first rectangle from recall 0; mTTA and TTA@R80 scaled by the clip length T / fps.
# ``slots`` (test-only) gives the arrays more room where the original would raise IndexError.
def reference_evaluation(all_pred, all_labels, time_of_accidents, fps=20.0, slots=None):
    scored = [
        all_pred[i, : int(toa)] if all_labels[i] > 0 else all_pred[i, :]
        for i, toa in enumerate(time_of_accidents)
    ]
    lowest = min(np.min(p) for p in scored)  # keeps the scores' dtype: float32 shifts the grid
    size = sum(len(p) for p in scored) if slots is None else slots
    prec, rec, rel = np.zeros(size), np.zeros(size), np.zeros(size)
    positives = np.sum(all_labels)
    filled = 0
    for th in np.arange(max(lowest, 0), 1.0, 0.001):
        hits = flagged = 0.0
        lead = 0.0
        for p, label, toa in zip(scored, all_labels, time_of_accidents, strict=True):
            first = np.flatnonzero(p * label >= th)
            if first.size:
                hits += 1.0
                lead += first[0] / float(toa)
            flagged += float((p >= th).any())
        if flagged == 0:
            continue
        prec[filled] = hits / flagged  # written before the next checks, as the original does
        if positives == 0:
            continue
        rec[filled] = hits / positives
        if hits == 0:
            continue
        rel[filled] = 1 - lead / hits
        filled += 1
    order = np.argsort(rec)
    prec, rec, rel = prec[order], rec[order], rel[order]
    starts = np.unique(rec, return_index=True)[1][1:]
    level_prec, level_rel = np.zeros(len(starts)), np.zeros(len(starts))
    for j in range(len(starts) - 1):
        level_prec[j] = prec[starts[j] : starts[j + 1]].max()
        level_rel[j] = rel[starts[j] : starts[j + 1]].max()
    level_prec[-1], level_rel[-1] = prec[starts[-1]], rel[starts[-1]]
    level_rec = rec[starts]
    ap = level_prec[0] * level_rec[0] if level_rec[0] != 0 else 0.0
    for j in range(1, len(level_prec)):
        ap += (level_prec[j - 1] + level_prec[j]) * (level_rec[j] - level_rec[j - 1]) / 2
    seconds = all_pred.shape[1] / fps
    mtta = np.mean(level_rel) * seconds
    by_recall = level_rel[np.argsort(level_rec)]
    tta_r80 = by_recall[np.argmin(np.abs(np.sort(level_rec) - 0.8))] * seconds
    return ap, mtta, tta_r80


# --- END OF THE REFERENCE ORACLE ------------------------------------------------------------------


def random_dataset(seed: int, n: int = 60, t: int = 40, dtype=np.float64, toa_offset: float = 0.0):
    """Smooth random score curves in (0, 1); positives drift upwards before a random toa."""
    rng = np.random.default_rng(seed)
    labels = (rng.random(n) < 0.5).astype(np.int64)
    labels[:2] = [1, 0]
    toa = np.where(labels > 0, rng.integers(min(8, t), t + 1, n), t + 1)  # UString's loaders: negatives T + 1
    toa = toa + toa_offset  # a fractional toa: frames [0, int(toa)) are scored, times divide by toa
    walk = np.cumsum(rng.normal(0, 0.4, (n, t)), axis=1)
    trend = labels[:, None] * np.linspace(0, 1, t)[None, :] * rng.uniform(0, 4, (n, 1))
    scores = 1 / (1 + np.exp(-(walk + trend - 1.0)))
    return scores.astype(dtype), labels, toa


def varied_dataset(seed: int):
    """Random sets of every kind the protocol meets: sizes, toa, ties, exact 0 and 1, few/no negatives."""
    rng = np.random.default_rng(1000 + seed)
    n, t = int(rng.integers(30, 60)), int(rng.integers(40, 60))
    scores, labels, toa = random_dataset(seed, n=n, t=t, toa_offset=float(rng.choice([0.0, 0.0, 0.5])))
    kind = seed % 6
    if kind == 1:  # ties: scores on a coarse grid, many equal maxima and first hits
        decimals = int(rng.integers(1, 4))
        scores = np.maximum(np.round(scores, decimals), 10.0**-decimals)
    elif kind == 2:  # exact zeros on negatives (the threshold-0 quirk) and ones on positives
        scores[labels == 0] *= rng.random((int((labels == 0).sum()), 1)) < 0.5
        scores[(labels == 1)[:, None] & (rng.random(scores.shape) < 0.05)] = 1.0
    elif kind == 3:  # no negative video at all
        labels[:] = 1
        toa = rng.integers(t // 2, t + 1, n).astype(np.float64)
    elif kind == 4:  # negatives that score above the positives
        scores[labels == 0] = np.minimum(1.0, scores[labels == 0] + 0.3)
        toa = np.where(labels > 0, rng.integers(1, t + 1, n), t + 1).astype(np.float64)
    elif kind == 5:
        scores = scores.astype(np.float32)
    return scores, labels, toa, float(rng.choice([10.0, 20.0, 30.0]))


# --- parity with the original ---------------------------------------------------------------------


def assert_parity(scores, labels, toa, fps):
    """evaluate()'s ap, mtta, tta_r80 against the reference oracle; where the original raises IndexError
    (more points than its arrays hold), against the original given room (the documented guard)."""
    out = evaluate(scores, labels, toa, fps)
    try:
        expected = reference_evaluation(scores, labels, toa, fps)
    except IndexError:
        room = per_threshold_curve(scores, labels, toa, fps).thresholds.size + 1
        expected = reference_evaluation(scores, labels, toa, fps, slots=room)
    for key, value in zip(("ap", "mtta", "tta_r80"), expected, strict=True):
        assert abs(out[key] - value) <= EXACT, (key, out[key], value)
    return out


SEEDS = range(18)  # three sets of each kind of varied_dataset


@pytest.mark.parametrize("seed", SEEDS)
def test_ap_mtta_tta_r80_equal_the_original_on_random_sets(seed):
    scores, labels, toa, fps = varied_dataset(seed)
    out = assert_parity(scores, labels, toa, fps)
    assert out["ap_maxprec"] >= out["ap"] - EXACT or (scores == 0).any()  # the top group's max >= any member


def test_the_random_sets_exercise_the_quirks():
    """The parity test above can fail: on these sets the original differs from the corrected variant,
    and it is mostly the original itself (not the guard for its IndexError) that is compared."""
    differ, zero, crash = 0, 0, 0
    for seed in SEEDS:
        scores, labels, toa, fps = varied_dataset(seed)
        out = evaluate(scores, labels, toa, fps)
        differ += abs(out["ap"] - out["ap_maxprec"]) > 1e-6
        zero += out["ap"] > 1.0  # negatives counted as TPs at a threshold of 0
        curve = per_threshold_curve(scores, labels, toa, fps)
        crash += int((curve.n_true_positive > 0).sum()) >= curve.n_scored_frames
    assert differ >= 6 and zero >= 1 and crash <= 4, (differ, zero, crash)


def test_the_top_group_takes_the_point_np_argsort_puts_first():
    # Many thresholds reach recall 1 with different precisions; the original keeps the one its unstable
    # np.argsort puts first in the group, which is not the max (and not the first threshold either).
    scores, labels, toa = random_dataset(11, n=60, t=50)
    scores[labels == 1, :3] = 0.9  # every positive flagged early: a wide recall-1 group
    out = assert_parity(scores, labels, toa, 20.0)
    levels = protocol_levels(per_threshold_curve(scores, labels, toa, 20.0))
    corrected = recall_levels(per_threshold_curve(scores, labels, toa, 20.0))
    assert levels.recall[-1] == corrected.recall[-1] == 1.0
    assert levels.precision[-1] < corrected.precision[-1]
    assert out["ap"] < out["ap_maxprec"]
    np.testing.assert_array_equal(levels.precision[:-1], corrected.precision[:-1])  # the other levels agree


def tiny_dataset(seed: int):
    """2-4 videos of 1-3 frames in [0.985, 1]: about as many thresholds as scored frames."""
    rng = np.random.default_rng(seed)
    n, t = int(rng.integers(2, 5)), int(rng.integers(1, 4))
    labels = np.r_[1, rng.integers(0, 2, n - 1)]
    return rng.uniform(0.985, 1.0, (n, t)), labels, np.where(labels > 0, t, t + 1).astype(np.float64)


@pytest.mark.parametrize("seed", range(24))
def test_tiny_sets_where_the_original_runs_out_of_room(seed):
    # The original's arrays hold n_frames points. With exactly n_frames recorded points it drops the
    # lowest real recall level (no zero is left to drop): reproduced. With more it raises IndexError;
    # the guard equals the original given one slot more than thresholds.
    assert_parity(*tiny_dataset(seed), 10.0)


def test_the_tiny_sets_hit_every_case_of_the_guard():
    cases = set()
    for seed in range(24):
        scores, labels, toa = tiny_dataset(seed)
        curve = per_threshold_curve(scores, labels, toa, 10.0)
        recorded = int((curve.n_true_positive > 0).sum())
        try:
            reference_evaluation(scores, labels, toa, 10.0)
            cases.add("full" if recorded == curve.n_scored_frames else "room")
        except IndexError:
            cases.add("crash")
    assert cases == {"full", "room", "crash"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_scores_on_the_threshold_grid_compare_as_the_original(dtype):
    # Scores that are (nearly) grid values: every `>=` at a boundary must come out as the original's.
    rng = np.random.default_rng(5)
    start = 0.25
    grid = np.arange(start, 1.0, 0.001)
    scores = rng.choice(grid, (40, 30)).astype(dtype)
    scores[0, 0] = start  # the grid starts at this exact value
    labels = np.r_[1, 0, rng.integers(0, 2, 38)]
    toa = np.where(labels > 0, rng.integers(1, 31, 40), 31).astype(np.float64)
    assert_parity(scores, labels, toa, 10.0)


def test_variable_lengths_equal_the_padded_array():
    scores, labels, toa = random_dataset(7, n=30, t=40)
    rng = np.random.default_rng(7)
    lengths = np.where(
        labels > 0, rng.integers(np.minimum(toa, 40), 41), rng.integers(5, 41)
    )  # positives keep [0, toa)
    ragged = [row[:length] for row, length in zip(scores, lengths, strict=True)]
    padded = scores.copy()
    for i, length in enumerate(lengths):
        # a positive's frames from toa on are never scored; a negative only counts through its min and
        # max, so padding it with its own minimum changes nothing either
        padded[i, length:] = 0.99 if labels[i] else ragged[i].min()
    out = evaluate(ragged, labels, toa, fps=20.0)
    expected = reference_evaluation(padded, labels, toa, fps=20.0)
    for key, value in zip(("ap", "mtta", "tta_r80"), expected, strict=True):
        assert abs(out[key] - value) <= EXACT, key  # mTTA: T = the longest video
    assert max(lengths) == 40


def test_every_key_has_a_table_label():
    scores, labels, toa = random_dataset(3, n=20, t=20)
    assert list(evaluate(scores, labels, toa, 10.0)) == list(METRIC_LABELS)
    assert METRIC_LABELS["ap"] == "AP (UString protocol)"
    assert METRIC_LABELS["ap_maxprec"] == "AP max-precision (corrected)"


# --- hand-computed cases (the corrected variant; the original's value where it is not the sort's pick) ---


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
    # The original's R=1 level is one of its points (P 2/3 or 1): AP 11/12 or 1.
    scores = np.array([[0.1, 0.2, 0.6, 0.9], [0.3, 0.7, 0.95, 0.95], [0.2, 0.5, 0.4, 0.1]])
    out = assert_parity(scores, [1, 1, 0], [4, 2, 0], fps=2.0)
    corrected = {
        "ap_maxprec": 1.0,
        "mtta_maxprec": 1.25,
        "tta_r80_maxprec": 2.0,
        "mtta_toa": 1.0,
        "video_ap": 1.0,
    }
    assert {k: out[k] for k in corrected} == pytest.approx(corrected)
    assert out["ap"] == pytest.approx(11 / 12) or out["ap"] == pytest.approx(1.0)


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
    # R=1: max P 2/3 (the original takes P .5 or 2/3, whichever np.argsort puts first); time 1.
    # AP = 1 * .5 + (1 + 2/3) * .5 / 2 = 11/12.   mTTA = mean(2/3, 1) * 2 = 5/3 s.   TTA@R80 = 1 * 2 = 2 s.
    # mtta_toa = mean(1, 1.25) = 1.125 s.
    # Video scores: .8 (P), .6 (N), .4 (P), .05 (N) -> AP = .5 * 1 + .5 * 2/3 = 5/6
    # (v1's .99 after the accident would have made it 1).
    scores = np.array(
        [[0.2, 0.8, 0.3, 0.99], [0.1, 0.4, 0.99, 0.99], [0.1, 0.6, 0.1, 0.1], [0.05, 0.05, 0.05, 0.05]]
    )
    labels, toa = [1, 1, 0, 0], [3, 2, -1, np.nan]  # negatives' toa is ignored
    out = evaluate(scores, labels, toa, fps=2.0)
    expected = {"ap_maxprec": 11 / 12, "mtta_maxprec": 5 / 3, "tta_r80_maxprec": 2.0, "mtta_toa": 1.125,
                "video_ap": 5 / 6}  # fmt: skip
    assert {k: out[k] for k in expected} == pytest.approx(expected)
    assert_parity(scores, labels, [3, 2, 5, 5], fps=2.0)  # toa T + 1 for negatives, as UString's loaders
    assert out["ap"] in (pytest.approx(11 / 12), pytest.approx(1 * 0.5 + (1 + 0.5) * 0.5 / 2))

    levels = recall_levels(per_threshold_curve(scores, labels, toa, fps=2.0))
    np.testing.assert_allclose(levels.recall, [0.5, 1.0])
    np.testing.assert_allclose(levels.precision, [1.0, 2 / 3])
    np.testing.assert_allclose(levels.time, [2 / 3, 1.0])
    np.testing.assert_allclose(levels.tta_seconds, [1.0, 1.25])
    original = protocol_levels(per_threshold_curve(scores, labels, toa, fps=2.0))
    np.testing.assert_allclose(original.recall, [0.5, 1.0])
    assert original.precision[0] == 1.0 and original.precision[1] in (0.5, 2 / 3)
    assert original.tta_seconds is None


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
    assert curve.clip_seconds == 2.0 and curve.n_positive == 2 and curve.n_negative == 2
    assert curve.n_scored_frames == 3 + 2 + 4 + 4  # int(toa) per positive, T per negative


# --- edge cases -----------------------------------------------------------------------------------


def test_no_positive_video_is_an_error():
    with pytest.raises(ValueError, match="no positive video"):
        evaluate(np.full((3, 5), 0.5), [0, 0, 0], [0, 0, 0], fps=10.0)


def test_no_negative_video_has_precision_one():
    # v0 toa 2: [.3 .6]; v1 toa 2: [.2 .4]. Grid from .2: (.2, .4] both TP -> R 1; (.4, .6] v0 -> R .5.
    # R=.5: v0 first hit at frame 1 -> time 1 - 1/2 = .5. R=1: at .2 both hit at 0 -> time 1.
    # AP = 1 * .5 + (1 + 1) * .5 / 2 = 1; mTTA = mean(.5, 1) * (3 frames / 1 fps) = 2.25 s.
    # The original's R=1 time is one of its points' (1, .75 or .5).
    scores = np.array([[0.3, 0.6, 0.9], [0.2, 0.4, 0.9]])
    out = assert_parity(scores, [1, 1], [2, 2], fps=1.0)
    assert out["ap"] == pytest.approx(1.0) and out["ap_maxprec"] == pytest.approx(1.0)
    assert out["video_ap"] == pytest.approx(1.0)
    assert out["mtta_maxprec"] == pytest.approx(2.25)
    curve = per_threshold_curve(scores, [1, 1], [2, 2], fps=1.0)
    flagged = curve.n_flagged > 0
    assert (curve.precision[flagged] == 1).all()


@pytest.mark.parametrize("value", [0.37, 1.0])
def test_constant_scores_flag_everything_at_one_threshold(value):
    # Everything is flagged at the grid's first threshold (the constant) with first hits at frame 0,
    # nothing above it: one point P = 2/3, R = 1, time 1, tta = toa / fps; the original agrees.
    # For 1.0 the original's grid is empty (it crashes); ours is [1.0], so the result does not depend on
    # the constant.
    scores = np.full((3, 10), value)
    out = evaluate(scores, [1, 0, 1], [4, 0, 8], fps=5.0)
    two_thirds = 2 / 3
    expected = {"ap": two_thirds, "mtta": 2.0, "tta_r80": 2.0, "ap_maxprec": two_thirds, "mtta_maxprec": 2.0,
                "tta_r80_maxprec": 2.0, "mtta_toa": (4 + 8) / 2 / 5, "video_ap": two_thirds}  # fmt: skip
    assert out == pytest.approx(expected)
    assert out["video_ap"] == pytest.approx(average_precision_score([1, 0, 1], [value] * 3))
    if value < 1:
        assert_parity(scores, [1, 0, 1], [4, 11, 8], fps=5.0)


def test_zero_scores_make_negatives_true_positives_in_the_original_only():
    # The original multiplies scores by the label: at threshold 0 a negative video scores 0 >= 0 and
    # counts as a TP (recall 2 here), reproduced in `ap`; the corrected variant counts flagged positives.
    # (400 frames: with fewer scored frames than recorded thresholds the original fails.)
    # Positive: a ramp 0 -> .5; negative: a ramp 0 -> .3.
    t = 400
    scores = np.stack([np.linspace(0, 0.5, t), np.linspace(0, 0.3, t)])
    curve = per_threshold_curve(scores, [1, 0], [t, 0], fps=10.0)
    assert curve.thresholds[0] == 0.0
    assert curve.recall.max() == 1.0 and curve.precision[0] == 0.5
    # corrected: threshold 0: P .5, R 1; (0, .3]: P .5, R 1; (.3, .5]: P 1, R 1 -> one level, P 1, AP 1
    out = assert_parity(scores, np.array([1, 0]), np.array([t, t + 1]), fps=10.0)
    assert out["ap_maxprec"] == pytest.approx(1.0)
    # original: threshold 0 alone at R 2 with P 1 -> AP = P(R=1) * 1 + (P(R=1) + 1) * (2 - 1) / 2 > 1
    assert protocol_levels(curve).recall[-1] == 2.0 and out["ap"] > 1.0


def test_all_zero_scores_are_one_point_at_recall_n_over_positives():
    # Threshold 0 only: every video (negatives too) is a TP with P 1 -> R 3/2, AP 1 x 3/2.
    scores = np.zeros((3, 10))
    out = assert_parity(scores, np.array([1, 0, 1]), np.array([4, 11, 8]), fps=5.0)
    assert out["ap"] == pytest.approx(1.5) and out["mtta"] == pytest.approx(2.0)
    assert out["ap_maxprec"] == pytest.approx(2 / 3)


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
