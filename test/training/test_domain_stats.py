"""Out-of-domain statistics: the Ledoit-Wolf estimate, the whitening, the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.runtime.semantics import DomainCheck, to_numpy
from accident_anticipation_ros.training.domain_stats import (
    fit_domain_stats,
    ledoit_wolf,
    mahalanobis,
    whitening_matrix,
)


def samples(n=400, d=12, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.standard_normal((d, d)) * np.linspace(0.2, 3.0, d)
    return rng.standard_normal((n, d)) @ mix.T + 5.0


def test_ledoit_wolf_is_sklearns_estimator():
    covariance = pytest.importorskip("sklearn.covariance", reason="scikit-learn not installed")
    x = samples()
    mean, cov, shrinkage = ledoit_wolf(x)
    ref = covariance.LedoitWolf().fit(x)
    np.testing.assert_allclose(mean, ref.location_, rtol=1e-12)
    np.testing.assert_allclose(cov, ref.covariance_, rtol=1e-9, atol=1e-12)
    assert shrinkage == pytest.approx(ref.shrinkage_, rel=1e-9)


def test_shrinkage_is_large_for_few_samples_of_isotropic_data_and_small_for_many_correlated_ones():
    rng = np.random.default_rng(1)
    assert ledoit_wolf(rng.standard_normal((20, 50)))[2] > 0.5
    assert ledoit_wolf(samples(n=5000))[2] < 0.05


def test_whitening_makes_the_distance_mahalanobis():
    x = samples()
    mean, cov, _ = ledoit_wolf(x)
    w = whitening_matrix(cov)
    np.testing.assert_allclose(w.T @ w, np.linalg.inv(cov), rtol=1e-8, atol=1e-10)
    d = x[:5] - mean
    want = np.sqrt(np.einsum("nd,de,ne->n", d, np.linalg.inv(cov), d))
    np.testing.assert_allclose(mahalanobis(x[:5], mean, w), want, rtol=1e-9)


def test_threshold_flags_the_percentile_of_the_training_frames_under_runtime_arithmetic():
    x = samples(n=2000)
    stats = fit_domain_stats(x, percentile=99.0)
    check = DomainCheck.from_stats(stats)
    scores = np.array([check.score(v) for v in x])  # float32, as the node scores
    assert np.mean(scores > stats.threshold) == pytest.approx(0.01, abs=0.001)
    assert stats.frames == 2000 and stats.feature == "embedding" and stats.percentile == 99.0
    assert to_numpy(stats.whitening).shape == (12, 12) and to_numpy(stats.mean) == pytest.approx(
        x.mean(0), rel=1e-5
    )
    shifted = x[:200] + 10 * x.std(axis=0)  # another domain: far along every axis
    assert all(check(v)[1] for v in shifted)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="percentile"):
        fit_domain_stats(samples(), percentile=0)
    bad = samples()
    bad[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fit_domain_stats(bad)
    with pytest.raises(ValueError, match="N >= 2"):
        ledoit_wolf(np.zeros((1, 3)))
