"""Cause and domain of a frame from hand-made cause vectors and statistics; and in the session."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from accident_anticipation_ros.contract import (
    EMBEDDING,
    WHITENED,
    CauseBank,
    DomainStats,
    FloatArray,
    ModelSemantics,
)
from accident_anticipation_ros.runtime.backend import Backend, StepOutput
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.semantics import (
    CauseClassifier,
    DomainCheck,
    SemanticsHead,
    check_semantics_dims,
)
from accident_anticipation_ros.runtime.session import LEVEL_LOW, SessionConfig, StreamSession

NAMES = ("lead_brake", "cut_in", "crossing")


def arr(x) -> FloatArray:
    a = np.ascontiguousarray(x, dtype="<f4")
    return FloatArray(a.shape, a.tobytes())


def bank(vectors, space=EMBEDDING, scale=10.0) -> CauseBank:
    return CauseBank(NAMES, arr(vectors), scale, "hand-made", space)


def stats(mean, scales, threshold) -> DomainStats:
    """Diagonal statistics: whitening = diag(1 / scales), so the score is a scaled Euclidean distance."""
    return DomainStats(
        EMBEDDING, arr(mean), arr(np.diag(1.0 / np.asarray(scales))), threshold, 99.0, 0.0, 100
    )


def test_cause_is_the_argmax_of_the_cosine_softmax():
    clf = CauseClassifier(NAMES, np.eye(3, 4), logit_scale=10.0)
    e = np.array([0.2, 3.0, 1.0, 0.5])  # nearest to the second axis, whatever its length
    cos = np.array([0.2, 3.0, 1.0]) / np.linalg.norm(e)
    want = np.exp(10 * cos) / np.exp(10 * cos).sum()
    np.testing.assert_allclose(clf.probabilities(e), want, rtol=1e-12)
    assert clf.classify(e) == ("cut_in", pytest.approx(want[1]))
    assert clf.classify(-e)[0] != "cut_in"  # cosine, not distance: the opposite direction is least likely
    np.testing.assert_allclose(
        clf.probabilities(np.zeros(4)), np.full(3, 1 / 3)
    )  # no direction, no preference


def test_cause_vectors_are_normalised_and_must_be_non_zero():
    clf = CauseClassifier(NAMES, 5.0 * np.eye(3), 1.0)
    np.testing.assert_allclose(np.linalg.norm(clf.vectors, axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="non-zero"):
        CauseClassifier(NAMES, np.zeros((3, 3)), 1.0)


def test_domain_score_is_the_mahalanobis_distance_of_hand_made_statistics():
    check = DomainCheck.from_stats(stats([1.0, 0.0, 0.0], [2.0, 1.0, 0.5], threshold=3.0))
    x = np.array([3.0, 1.0, 0.5])  # (x - mean) / scales = (1, 1, 1)
    assert check.score(x) == pytest.approx(math.sqrt(3.0), rel=1e-6)
    assert check(x) == (pytest.approx(math.sqrt(3.0), rel=1e-6), False)
    far = np.array([1.0, 0.0, 2.0])  # 2 / 0.5 = 4 standard deviations along the tight axis
    assert check(far) == (pytest.approx(4.0), True)


def test_head_names_a_cause_only_when_asked_and_scores_every_frame():
    head = SemanticsHead(ModelSemantics("toy", bank(np.eye(3)), stats([0, 0, 0], [1, 1, 1], 2.0)))
    e = np.array([0.1, 0.2, 1.5])
    low = head(e, with_cause=False)
    assert low.cause == "" and math.isnan(low.cause_confidence)
    assert low.domain_score == pytest.approx(np.linalg.norm(e), rel=1e-6) and not low.out_of_domain
    high = head(e, with_cause=True)
    assert high.cause == "crossing" and 1 / 3 < high.cause_confidence <= 1
    assert head(3 * e, with_cause=True).out_of_domain
    assert head.cause_names == NAMES and head.domain_threshold == 2.0


def test_whitened_causes_compare_the_whitened_coordinates():
    # Raw, e is nearest to axis 0; whitened (axis 0 has a large spread), it is nearest to axis 1.
    sem = ModelSemantics("toy", bank(np.eye(3), space=WHITENED), stats([0, 0, 0], [10.0, 1.0, 1.0], 5.0))
    e = np.array([4.0, 1.0, 0.0])
    assert SemanticsHead(sem).classify(e)[0] == "cut_in"
    assert SemanticsHead(dataclasses.replace(sem, causes=bank(np.eye(3)))).classify(e)[0] == "lead_brake"


def test_a_model_without_semantics_gives_empty_fields():
    for sem in (None, ModelSemantics("nothing known")):
        out = SemanticsHead(sem)(np.ones(3), with_cause=True)
        assert out.cause == "" and math.isnan(out.cause_confidence)
        assert not out.out_of_domain and math.isnan(out.domain_score)


def test_dimension_checks_name_the_mismatch():
    sem = ModelSemantics("toy", bank(np.eye(3)), stats([0, 0, 0], [1, 1, 1], 2.0))
    check_semantics_dims(sem, 3, "m.onnx")
    with pytest.raises(
        BackendError, match="m.onnx: the model's cause vectors are 3-d, its 'embedding' output 4-d"
    ):
        check_semantics_dims(sem, 4, "m.onnx")
    with pytest.raises(BackendError, match="domain statistics are 3-d"):
        check_semantics_dims(dataclasses.replace(sem, causes=None), 4, "m.onnx")


class Scripted(Backend):
    """A backend whose outputs are given per frame (risk logit, embedding): what the session makes of them."""

    name = "scripted"

    def __init__(self, info, script):
        super().__init__(info)
        self.script, self.calls = script, 0

    def init_state(self):
        return 0

    def step(self, image, state):
        logit, embedding = self.script[self.calls]
        self.calls += 1
        h, w = self.info.risk_map_shape
        return StepOutput(
            logit, 1.0, np.zeros((h, w), np.float32), np.asarray(embedding, np.float32)
        ), state + 1


def test_session_reports_cause_while_the_level_is_above_low(tsd_test, frames):
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info

    info = read_model_info(tsd_test.onnx)
    d = info.embedding_dim
    vectors = np.eye(3, d)
    sem = ModelSemantics("toy domain", bank(vectors), stats(np.zeros(d), np.ones(d), 2.0))
    info = dataclasses.replace(info, semantics=sem)
    near_cut_in = np.r_[0.1, 1.0, 0.2, np.zeros(d - 3)]
    script = [(-6.0, near_cut_in)] * 3 + [(6.0, near_cut_in)] * 2 + [(6.0, 5 * near_cut_in)]
    session = StreamSession(Scripted(info, script), SessionConfig(rise=1.0))
    results = [session.step(f, stamp=0.1 * i) for i, f in enumerate(frames(len(script)))]
    for r in results[:3]:
        assert r.level == LEVEL_LOW and r.cause == "" and math.isnan(r.cause_confidence)
        assert r.domain_score == pytest.approx(np.linalg.norm(near_cut_in), rel=1e-5) and not r.out_of_domain
    for r in results[3:]:
        assert r.level > LEVEL_LOW and r.cause == "cut_in"
        assert r.cause_confidence == pytest.approx(
            CauseClassifier(NAMES, vectors, 10.0).classify(near_cut_in)[1]
        )
    assert results[-1].out_of_domain and not results[-2].out_of_domain
    fields = results[-1].message_fields()
    assert fields["cause"] == "cut_in" and fields["out_of_domain"] is True
    assert fields["domain_score"] == pytest.approx(5 * np.linalg.norm(near_cut_in), rel=1e-5)
