"""A student's semantics from its training split: cause vectors and out-of-domain statistics.

    spec = SemanticsSpec(data="runs/data/synth-ccd-128")
    semantics, report = build_semantics("models/tsd-nano.onnx", spec)
    write_semantics("models/tsd-nano", semantics)   # model.checkpoint: into the JSON; export copies it
    items, _ = split_embeddings("models/tsd-nano.onnx", spec.data, "test")
    evaluate_items(semantics, items)                # cause accuracy, out-of-domain share

The model runs over every clip of the split from a reset state, frame by frame on a runtime backend
(the exported ONNX graph on ONNX Runtime: what the node runs), frames preprocessed as the node does. Cause vectors are class
means of its embeddings (:mod:`.cause_bank`), domain statistics a shrunk-covariance Mahalanobis
model of the same embeddings (:mod:`.domain_stats`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.contract import CAUSE_SPACES, WHITENED, ModelSemantics
from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.semantics import DomainCheck, SemanticsHead
from accident_anticipation_ros.training.cause_bank import (
    ClipEmbeddings,
    cause_accuracy,
    class_mean_bank,
    transformed,
)
from accident_anticipation_ros.training.domain_stats import fit_domain_stats

DEFAULT_LOGIT_SCALE = 1 / 0.07  # the student's contrastive temperature (loss.contrastive.temperature)


@dataclass(frozen=True)
class SemanticsSpec:
    """How to build a student's semantics.

    Attributes:
        data: Dataset root of the training data.
        format: Dataset format (``auto`` detects it).
        split: The split the statistics are computed on (the training split).
        resize: How frames are fitted to the input; None: the model's own (``aar.preprocess``, as in
            training and the node).
        percentile: Out-of-domain threshold: this percentile of the training frames' scores.
        cause_window_s: Cause vectors average the last this many seconds before each accident.
        cause_space: ``whitened`` (cosine in the domain statistics' whitened coordinates) or
            ``embedding`` (cosine of the raw embeddings).
        logit_scale: Softmax scale of the cause similarities.
        max_clips: Use only the first N clips of the split (a subsample; None: all).
        training_domain: The training domain in words; None: described from the dataset.
    """

    data: str
    format: str = "auto"
    split: str = "train"
    resize: str | None = None
    percentile: float = 99.0
    cause_window_s: float = 1.0
    cause_space: str = WHITENED
    logit_scale: float = DEFAULT_LOGIT_SCALE
    max_clips: int | None = None
    training_domain: str | None = None

    def __post_init__(self) -> None:
        if self.cause_space not in CAUSE_SPACES:
            raise ValueError(f"cause_space must be one of {CAUSE_SPACES}, got {self.cause_space!r}")


def clip_embeddings(backend, clips: Iterable[Clip], resize: str | None = None) -> list[ClipEmbeddings]:
    """Run a runtime backend frame by frame over each clip from a reset state, frames preprocessed as
    the node preprocesses them (ONNX Runtime on the exported graph: the deployed network, ~1 ms a frame;
    ``resize`` None: the model's own mode)."""
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor
    from accident_anticipation_ros.runtime.session import sigmoid

    pre = Preprocessor(backend.info, mode=resize)
    out = []
    for clip in clips:
        state = backend.init_state()
        embeddings, logits = [], []
        for rgb in clip.frames:
            step, state = backend.step(pre(rgb), state)
            embeddings.append(np.array(step.embedding, np.float32))
            logits.append(step.risk_logit)
        out.append(
            ClipEmbeddings(
                clip_id=clip.clip_id,
                cause=clip.cause,
                toa=float(clip.toa),
                fps=float(clip.fps),
                embedding=np.stack(embeddings),
                probability=sigmoid(np.asarray(logits)).astype(np.float32),
            )
        )
    return out


def split_embeddings(
    model_path: str | Path, data: str | Path, split: str, fmt: str = "auto", resize: str | None = None,
    max_clips: int | None = None, threads: int | None = None,
) -> tuple[list[ClipEmbeddings], ModelInfo]:  # fmt: skip
    """A model's per-frame outputs over a dataset split (an ``.onnx`` runs on ONNX Runtime, a
    checkpoint on torch), and its model info."""
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.training.datasets import list_clips, load_clip

    opts = {"threads": threads} if threads else {}
    with create_backend(model_path, **opts) as backend:
        refs = list_clips(data, fmt, split)[:max_clips]
        return clip_embeddings(backend, (load_clip(ref) for ref in refs), resize), backend.info


def describe_domain(
    data: str | Path, fmt: str, split: str, clips: int, fps: float, info: ModelInfo, resize: str
) -> str:
    """The training domain in words, e.g. ``synthetic (accident-anticipation synth synth-1.0, ...)``."""
    H, W = info.input_height, info.input_width
    source = Path(data).name
    if fmt == "synthetic":
        from accident_anticipation_ros.training.datasets.synthetic import read_manifest

        m = read_manifest(Path(data))
        size = f"{m.get('width', '?')}x{m.get('height', '?')}"
        source = f"accident-anticipation synth {m.get('generator', '')} {m.get('preset', '')} preset, {size} frames"
    return f"{fmt} ({source}, {fps:g} fps; {split} split, {clips} clips; fitted to {W}x{H} by {resize})"


def build_semantics(
    model_path: str | Path, spec: SemanticsSpec, threads: int | None = None
) -> tuple[ModelSemantics, dict]:
    """Cause vectors and domain statistics of a model (its ``.onnx`` or checkpoint) over ``spec.split``,
    and a report (clips, frames, shrinkage, threshold, causes, training domain)."""
    from accident_anticipation_ros.training.datasets import detect_format

    fmt = detect_format(spec.data) if spec.format == "auto" else spec.format
    items, info = split_embeddings(
        model_path, spec.data, spec.split, fmt, spec.resize, spec.max_clips, threads
    )
    return semantics_from_items(items, spec, info, fmt)


def semantics_from_items(
    items: list[ClipEmbeddings], spec: SemanticsSpec, info: ModelInfo, fmt: str
) -> tuple[ModelSemantics, dict]:
    """:func:`build_semantics` from per-frame outputs already computed with :func:`split_embeddings`."""
    if not items:
        raise ValueError(f"{spec.data}: split {spec.split!r} has no clips")
    domain = fit_domain_stats(np.concatenate([i.embedding for i in items]), spec.percentile)
    if spec.cause_space == WHITENED:
        check = DomainCheck.from_stats(domain)
        cause_items = transformed(items, lambda e: (e - check.mean) @ check.whitening.T)
    else:
        cause_items = items
    try:
        causes = class_mean_bank(cause_items, spec.cause_window_s, spec.logit_scale, space=spec.cause_space)
    except ValueError:  # a dataset without cause labels: no causes, the domain check still works
        causes = None
    fps = sorted({i.fps for i in items})
    text = spec.training_domain or describe_domain(
        spec.data,
        fmt,
        spec.split,
        len(items),
        fps[0] if len(fps) == 1 else math.nan,
        info,
        spec.resize or info.preprocess,
    )
    semantics = ModelSemantics(text, causes, domain)
    report = {
        "clips": len(items),
        "frames": domain.frames,
        "shrinkage": domain.shrinkage,
        "threshold": domain.threshold,
        "percentile": domain.percentile,
        "causes": list(causes.names) if causes else [],
        "training_domain": text,
    }
    return semantics, report


def evaluate_items(semantics: ModelSemantics, items: list[ClipEmbeddings], window_s: float = 1.0) -> dict:
    """Cause accuracy in the last ``window_s`` before the accident (all frames, and only the frames
    at a level above LOW under the node's default filter) and the out-of-domain fraction."""
    from accident_anticipation_ros.runtime.session import LEVEL_LOW, RiskFilter, SessionConfig

    head = SemanticsHead(semantics)
    result: dict = {"clips": len(items), "frames": int(sum(len(i.embedding) for i in items))}
    if head.causes is not None:
        result["cause"] = cause_accuracy(head.classify, head.cause_names, items, window_s)
        gates = []
        for item in items:
            f = RiskFilter(SessionConfig())
            gates.append(np.array([f.update(float(p)).level > LEVEL_LOW for p in item.probability]))
        result["cause_above_low"] = cause_accuracy(head.classify, head.cause_names, items, window_s, gates)
    if head.domain is not None:
        scores = np.array([head.domain.score(e) for i in items for e in i.embedding])
        result["out_of_domain_fraction"] = float(np.mean(scores > head.domain.threshold))
        result["domain_score_median"] = float(np.median(scores))
    return result
