"""Out-of-domain statistics of a model's training frames: mean, Ledoit-Wolf shrunk covariance, and
the Mahalanobis threshold at a high percentile of the training frames' own scores.

    stats = fit_domain_stats(train_embeddings, percentile=99.0)   # (N, D) float -> contract.DomainStats

Why a Mahalanobis distance of the ``embedding`` output: it is the pooled, normalised stride-32 tokens
after the last RWKV layer through one linear map, and a Mahalanobis distance does not change under
an invertible linear map, so it scores the pooled features the heads see without a new graph output
(every backend already returns the embedding). Shrinkage (Ledoit & Wolf 2004, towards the scaled
identity) keeps the inverse stable when the frames of a few hundred clips span the 256 dimensions
unevenly.
"""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.contract import EMBEDDING, DomainStats, FloatArray


def float_array(x: np.ndarray) -> FloatArray:
    """A numpy array as the contract's little-endian float32 :class:`FloatArray`."""
    a = np.ascontiguousarray(x, dtype="<f4")
    return FloatArray(tuple(int(d) for d in a.shape), a.tobytes())


def ledoit_wolf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Mean, Ledoit-Wolf shrunk covariance and shrinkage of ``(N, D)`` samples (sklearn's estimator).

    ``cov = (1 - a) S + a (tr(S) / D) I`` with ``S`` the maximum-likelihood covariance and ``a`` the
    Ledoit-Wolf optimal weight in [0, 1].
    """
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"need (N >= 2, D) samples, got {x.shape}")
    n, d = x.shape
    mean = x.mean(axis=0)
    xc = x - mean
    s = xc.T @ xc / n
    mu = np.trace(s) / d
    delta = (np.sum(s * s) - 2 * mu * np.trace(s) + d * mu * mu) / d  # ||S - mu I||_F^2 / D
    x2 = xc * xc
    beta = (np.sum(x2.T @ x2) / n - np.sum(s * s)) / (d * n)
    beta = min(beta, delta)
    shrinkage = 0.0 if beta <= 0 else float(beta / delta)
    cov = (1 - shrinkage) * s + shrinkage * mu * np.eye(d)
    return mean, cov, shrinkage


def whitening_matrix(cov: np.ndarray) -> np.ndarray:
    """``W`` with ``W.T @ W = cov^-1`` (the inverse Cholesky factor), so ``||W (x - m)||`` is Mahalanobis."""
    chol = np.linalg.cholesky(np.asarray(cov, np.float64))
    return np.linalg.solve(chol, np.eye(chol.shape[0]))


def mahalanobis(x: np.ndarray, mean: np.ndarray, whitening: np.ndarray) -> np.ndarray:
    """``(N,)`` Mahalanobis distances of ``(N, D)`` features (float64)."""
    z = (np.asarray(x, np.float64) - mean) @ np.asarray(whitening, np.float64).T
    return np.sqrt(np.sum(z * z, axis=1))


def fit_domain_stats(features: np.ndarray, percentile: float = 99.0, feature: str = EMBEDDING) -> DomainStats:
    """:class:`DomainStats` of the training frames' ``(N, D)`` features.

    The threshold is the ``percentile``-th percentile of the same frames' Mahalanobis distances
    (stored as float32, then scored as the runtime scores them, so the stored threshold flags
    ``100 - percentile`` % of these frames under the runtime's arithmetic).
    """
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    features = np.asarray(features, np.float32)
    if not np.isfinite(features).all():
        raise ValueError("domain statistics: the features hold NaN/Inf")
    mean, cov, shrinkage = ledoit_wolf(features)
    mean32 = mean.astype(np.float32)
    w32 = whitening_matrix(cov).astype(np.float32)
    z = (features - mean32) @ w32.T  # float32, as the runtime computes it
    scores = np.sqrt(np.sum(z.astype(np.float64) ** 2, axis=1))
    return DomainStats(
        feature=feature,
        mean=float_array(mean32),
        whitening=float_array(w32),
        threshold=float(np.percentile(scores, percentile)),
        percentile=float(percentile),
        shrinkage=shrinkage,
        frames=int(features.shape[0]),
    )
