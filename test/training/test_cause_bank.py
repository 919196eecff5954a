"""Cause vectors as class means of a student's embeddings, and their accuracy before the accident."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accident_anticipation_ros.contract import EMBEDDING, ModelSemantics
from accident_anticipation_ros.runtime.semantics import SemanticsHead, to_numpy
from accident_anticipation_ros.training.cause_bank import ClipEmbeddings, cause_accuracy, class_mean_bank

DIRECTIONS = {"cut_in": np.eye(6)[0], "junction": np.eye(6)[1], "crossing": np.eye(6)[2]}


def clip(cause: str, toa: float, seed: int, noise: float = 0.3, t: int = 30) -> ClipEmbeddings:
    """Frames point along the cause's direction only in the 2 s before the accident, elsewhere at random."""
    rng = np.random.default_rng(seed)
    e = rng.standard_normal((t, 6))
    if toa >= 0 and cause:
        near = (np.arange(t) >= toa - 20) & (np.arange(t) < toa)
        e[near] = 3 * DIRECTIONS[cause] + noise * rng.standard_normal((near.sum(), 6))
    return ClipEmbeddings(f"c{seed}", cause, toa, 10.0, e.astype(np.float32), np.zeros(t, np.float32))


def test_class_means_point_along_each_cause_and_ignore_safe_clips_and_later_frames():
    items = [clip(c, 25.0, k * 3 + i) for k, c in enumerate(DIRECTIONS) for i in range(3)]
    items.append(clip("cut_in", -1.0, 99))  # a safe clip: not used
    bank = class_mean_bank(items, window_s=1.0, logit_scale=12.5)
    assert bank.names == ("crossing", "cut_in", "junction") and bank.space == EMBEDDING
    vectors = to_numpy(bank.vectors)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)
    for name, v in zip(bank.names, vectors, strict=True):
        assert float(v @ DIRECTIONS[name]) > 0.95
    assert bank.logit_scale == 12.5 and "last 1 s before toa" in bank.source
    with pytest.raises(ValueError, match="no accident clip with a cause"):
        class_mean_bank([clip("", 25.0, 1), clip("cut_in", -1.0, 2)])


def test_cause_accuracy_scores_the_last_second_before_the_accident():
    train = [clip(c, 25.0, k * 3 + i) for k, c in enumerate(DIRECTIONS) for i in range(3)]
    bank = class_mean_bank(train, window_s=2.0)
    head = SemanticsHead(ModelSemantics("toy", bank))
    test = [clip(c, 20.0, 100 + k) for k, c in enumerate(DIRECTIONS)]
    result = cause_accuracy(head.classify, bank.names, test, window_s=1.0)
    assert result["accuracy"] == 1.0 and result["frames"] == result["window_frames"] == 30
    assert result["chance"] == pytest.approx(1 / 3) and result["per_cause"] == dict.fromkeys(
        sorted(DIRECTIONS), 1.0
    )
    # Frames long before the accident are random: scoring a 2.5 s window pulls the accuracy down.
    wide = cause_accuracy(
        head.classify, bank.names, [clip(c, 29.0, 200 + k) for k, c in enumerate(DIRECTIONS)], 2.5
    )
    assert wide["window_frames"] == 75 and wide["accuracy"] < 0.95
    gated = cause_accuracy(head.classify, bank.names, test, 1.0, gates=[np.arange(30) >= 15] * 3)
    assert gated["frames"] == 15 and gated["window_frames"] == 30
    none = cause_accuracy(head.classify, bank.names, [clip("cut_in", -1.0, 7)], 1.0)
    assert none["frames"] == 0 and math.isnan(none["accuracy"])
