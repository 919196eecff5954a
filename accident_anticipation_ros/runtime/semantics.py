"""What a frame's embedding says beyond the risk: the likely accident cause and whether the frame is
in the model's training domain (numpy only; the statistics come with the model, see
:class:`~accident_anticipation_ros.contract.ModelSemantics`).

    head = SemanticsHead(backend.info.semantics)
    frame = head(out.embedding, with_cause=level > LEVEL_LOW)   # -> FrameSemantics

Cause: ``softmax(logit_scale * cos(x, cause_i))`` over the model's cause bank, ``x`` the embedding or
(cause space ``whitened``) its whitened coordinates ``W (embedding - mean)``; the argmax and its
probability, reported only while the risk level is above LOW (a cause of nothing is noise).
Domain: the Mahalanobis distance ``|W (embedding - mean)|`` of the embedding from the training
frames' mean under their shrunk covariance; out of domain above the stored threshold (a high
percentile of the training frames'). One matrix-vector product per frame serves both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accident_anticipation_ros.contract import (
    EMBEDDING,
    WHITENED,
    CauseBank,
    DomainStats,
    FloatArray,
    ModelSemantics,
)
from accident_anticipation_ros.runtime.errors import BackendError


def to_numpy(array: FloatArray) -> np.ndarray:
    """A contract :class:`FloatArray` as a read-only float32 numpy array of its shape."""
    return np.frombuffer(array.data, dtype="<f4").reshape(array.shape).astype(np.float32)


def check_semantics_dims(semantics: ModelSemantics | None, embedding_dim: int, source: str) -> None:
    """Raise BackendError unless the semantics fit a model whose ``embedding`` is ``embedding_dim`` wide."""
    if semantics is None:
        return
    causes = semantics.causes
    if causes is not None and causes.space == EMBEDDING and causes.vectors.shape[1] != embedding_dim:
        raise BackendError(
            f"{source}: the model's cause vectors are {semantics.causes.vectors.shape[1]}-d, "
            f"its {EMBEDDING!r} output {embedding_dim}-d"
        )
    domain = semantics.domain
    if domain is not None:
        if domain.feature != EMBEDDING:
            raise BackendError(
                f"{source}: domain statistics of output {domain.feature!r}; this runtime scores {EMBEDDING!r}"
            )
        if domain.mean.shape[0] != embedding_dim:
            raise BackendError(
                f"{source}: domain statistics are {domain.mean.shape[0]}-d, {EMBEDDING!r} is {embedding_dim}-d"
            )


@dataclass(frozen=True)
class FrameSemantics:
    """Cause and domain of one frame (the AccidentRisk fields of the same names).

    Attributes:
        cause: Most likely cause while the level is above LOW; ``""`` otherwise or without a cause bank.
        cause_confidence: Its softmax probability; NaN when ``cause`` is empty.
        out_of_domain: ``domain_score`` above the model's threshold; False without domain statistics.
        domain_score: Mahalanobis distance of the embedding from the training frames; NaN without statistics.
    """

    cause: str = ""
    cause_confidence: float = math.nan
    out_of_domain: bool = False
    domain_score: float = math.nan


class CauseClassifier:
    """Nearest cause by cosine similarity, with softmax confidences at the bank's logit scale."""

    def __init__(self, names: tuple[str, ...], vectors: np.ndarray, logit_scale: float) -> None:
        vectors = np.asarray(vectors, np.float32)
        if vectors.ndim != 2 or vectors.shape[0] != len(names):
            raise ValueError(f"need ({len(names)}, D) cause vectors, got {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        if not np.all(norms > 0):
            raise ValueError("cause vectors must be non-zero")
        self.names = tuple(names)
        self.vectors = vectors / norms
        self.logit_scale = float(logit_scale)

    @classmethod
    def from_bank(cls, bank: CauseBank) -> CauseClassifier:
        return cls(bank.names, to_numpy(bank.vectors), bank.logit_scale)

    def probabilities(self, embedding: np.ndarray) -> np.ndarray:
        """``(K,)`` softmax over the causes of one ``(D,)`` embedding (uniform for a zero embedding)."""
        x = np.asarray(embedding, np.float64).reshape(-1)
        norm = float(np.linalg.norm(x))
        cos = self.vectors @ (x / norm) if norm > 0 else np.zeros(len(self.names))
        z = self.logit_scale * cos
        e = np.exp(z - z.max())
        return e / e.sum()

    def classify(self, embedding: np.ndarray) -> tuple[str, float]:
        """The most likely cause and its probability."""
        p = self.probabilities(embedding)
        i = int(np.argmax(p))
        return self.names[i], float(p[i])


class DomainCheck:
    """Mahalanobis distance ``|| W (x - mean) ||`` of a feature and the out-of-domain decision."""

    def __init__(self, mean: np.ndarray, whitening: np.ndarray, threshold: float) -> None:
        self.mean = np.asarray(mean, np.float32).reshape(-1)
        self.whitening = np.asarray(whitening, np.float32)
        if self.whitening.shape != (self.mean.size, self.mean.size):
            raise ValueError(f"whitening must be {(self.mean.size,) * 2}, got {self.whitening.shape}")
        self.threshold = float(threshold)

    @classmethod
    def from_stats(cls, stats: DomainStats) -> DomainCheck:
        return cls(to_numpy(stats.mean), to_numpy(stats.whitening), stats.threshold)

    def whiten(self, feature: np.ndarray) -> np.ndarray:
        """``W (x - mean)`` of one ``(D,)`` feature: its whitened coordinates."""
        return self.whitening @ (np.asarray(feature, np.float32).reshape(-1) - self.mean)

    def score(self, feature: np.ndarray) -> float:
        """Mahalanobis distance of one ``(D,)`` feature."""
        z = self.whiten(feature)
        return float(np.sqrt(np.dot(z, z)))

    def __call__(self, feature: np.ndarray) -> tuple[float, bool]:
        """``(score, out_of_domain)``."""
        score = self.score(feature)
        return score, score > self.threshold


class SemanticsHead:
    """Cause and domain of each frame from its embedding, for a model's :class:`ModelSemantics`.

    Args:
        semantics: The model's semantics (``ModelInfo.semantics``); None gives empty results.
    """

    def __init__(self, semantics: ModelSemantics | None) -> None:
        self.semantics = semantics
        causes = semantics.causes if semantics is not None else None
        domain = semantics.domain if semantics is not None else None
        self.causes = CauseClassifier.from_bank(causes) if causes is not None else None
        self.domain = DomainCheck.from_stats(domain) if domain is not None else None
        self.whitened_causes = causes is not None and causes.space == WHITENED
        if self.whitened_causes and self.domain is None:
            raise ValueError("causes in the whitened space need domain statistics")

    @property
    def cause_names(self) -> tuple[str, ...]:
        return self.causes.names if self.causes is not None else ()

    @property
    def domain_threshold(self) -> float:
        return self.domain.threshold if self.domain is not None else math.nan

    def classify(self, embedding: np.ndarray, z: np.ndarray | None = None) -> tuple[str, float]:
        """The most likely cause of one ``(D,)`` embedding and its probability (``("", nan)``
        without causes); ``z``: its whitened coordinates when already computed."""
        if self.causes is None:
            return "", math.nan
        if self.whitened_causes:
            return self.causes.classify(self.domain.whiten(embedding) if z is None else z)
        return self.causes.classify(embedding)

    def __call__(self, embedding: np.ndarray, with_cause: bool) -> FrameSemantics:
        """The frame's domain score and, ``with_cause`` (the session: while the level is above LOW), its cause."""
        z = self.domain.whiten(embedding) if self.domain is not None else None
        score = float(np.sqrt(np.dot(z, z))) if z is not None else math.nan
        cause, confidence = self.classify(embedding, z) if with_cause else ("", math.nan)
        return FrameSemantics(cause, confidence, bool(score > self.domain_threshold), score)
