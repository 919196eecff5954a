"""TSD's losses, each a plain function of tensors, and :class:`TSDLoss` which combines the enabled ones.

``L = l1 L_spatial + l2 L_temporal + l3 L_contrastive + l4 L_accident (+ l5 L_tta + l6 L_frequency
+ l7 L_risk_map + l8 L_risk_map_mil)`` with fixed weights or uncertainty weighting (learned log-variances ``s_i``:
``sum_i l_i (exp(-s_i) L_i + s_i)``, Kendall et al. 2018, as in offline-to-online streaming distillation).

Shapes: ``B`` clips, ``T`` frames; ``valid`` ``(B, T)`` marks real (not padded) frames. Frame
indices and ``toa`` are relative to the first frame of the window; ``toa < 0`` means no accident.
``positive``, ``toa`` and ``fps`` are per clip ``(B,)`` (a window of one clip) or per frame ``(B, T)``
(a chunk of a stream that chains clips: each frame carries the accident of its own clip).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from accident_anticipation_ros.training.config import ContrastiveConfig, LossConfig

TERMS = ("spatial", "temporal", "contrastive", "accident", "tta", "frequency", "risk_map", "risk_map_mil")


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of ``x`` over the entries where ``mask`` is true (0 with a gradient when none is)."""
    mask = mask.to(x.dtype)
    return (x * mask).sum() / mask.sum().clamp(min=1.0)


def _fit(student: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize ``(M, C, h, w)`` student features to the teacher's ``size`` (avg-pool down, bilinear up)."""
    if tuple(student.shape[-2:]) == tuple(size):
        return student
    if student.shape[-2] >= size[0] and student.shape[-1] >= size[1]:
        return F.adaptive_avg_pool2d(student, size)
    return F.interpolate(student, size=size, mode="bilinear", align_corners=False)


def _standardize(x: torch.Tensor) -> torch.Tensor:
    """Per-position standardisation over channels of ``(M, C, h, w)`` (a LayerNorm without affine)."""
    return F.layer_norm(x.movedim(1, -1), x.shape[1:2]).movedim(-1, 1)


def _stage_pairs(student_stages, teacher_stages, normalize: bool):
    """Yield ``(student, teacher)`` as ``(B*T, C, h, w)`` float32 at the teacher's size."""
    for s, t in zip(student_stages, teacher_stages, strict=True):
        if s.shape[:3] != t.shape[:3]:
            raise ValueError(
                f"spatial distillation: student projection {tuple(s.shape)} and teacher feature "
                f"{tuple(t.shape)} differ in (B, T, C); set the student's teacher_dims to the teacher's"
            )
        t = t.flatten(0, 1).float()
        s = _fit(s.flatten(0, 1).float(), tuple(t.shape[-2:]))
        yield s, (_standardize(t) if normalize else t)


def spatial_loss(student_stages, teacher_stages, valid: torch.Tensor, normalize: bool = True) -> torch.Tensor:
    """``sum_l mean ||P_l f^S_l - f^T_l||^2`` over valid frames.

    Args:
        student_stages: 3 projections ``(B, T, C_l, h_l, w_l)`` (``ClipOutput.stage_proj``).
        teacher_stages: 3 teacher features ``(B, T, C_l, h'_l, w'_l)``; student maps are resized to them.
        valid: ``(B, T)`` bool.
        normalize: Standardise teacher features over channels at each position first.
    """
    total = 0.0
    for s, t in _stage_pairs(student_stages, teacher_stages, normalize):
        per_frame = (s - t).pow(2).mean(dim=(1, 2, 3))  # (B*T,)
        total = total + masked_mean(per_frame, valid.flatten())
    return total


def low_pass(x: torch.Tensor, kernel: int) -> torch.Tensor:
    """Box blur of ``(M, C, h, w)`` (stride 1, same size, padding excluded from the average)."""
    pad = kernel // 2
    y = F.avg_pool2d(x, kernel, stride=1, padding=pad, count_include_pad=False)
    return y[..., : x.shape[-2], : x.shape[-1]]


def frequency_loss(
    student_stages,
    teacher_stages,
    valid: torch.Tensor,
    kernel: int = 3,
    high_weight: float = 1.0,
    normalize: bool = True,
) -> torch.Tensor:
    """SDKD-style frequency-aligned distillation: low-pass parts and high-pass residuals matched apart.

    ``low(x) = avgpool_k(x)``, ``high(x) = x - low(x)``; per stage ``mse(low_s, low_t) + high_weight *
    mse(high_s, high_t)``, each normalised by the teacher part's mean energy so the small high band
    is not drowned by the low band.
    """
    total = 0.0
    flat_valid = valid.flatten()
    for s, t in _stage_pairs(student_stages, teacher_stages, normalize):
        ls, lt = low_pass(s, kernel), low_pass(t, kernel)
        hs, ht = s - ls, t - lt
        for part_s, part_t, w in ((ls, lt, 1.0), (hs, ht, high_weight)):
            energy = masked_mean(part_t.pow(2).mean(dim=(1, 2, 3)), flat_valid).detach().clamp(min=1e-6)
            per_frame = (part_s - part_t).pow(2).mean(dim=(1, 2, 3))
            total = total + w * masked_mean(per_frame, flat_valid) / energy
    return total


def temporal_shift_loss(
    pred: torch.Tensor,
    target: torch.Tensor,
    valid: torch.Tensor,
    shift: int = 1,
    normalize: bool = True,
    segment: torch.Tensor | None = None,
) -> torch.Tensor:
    """Student at frame t predicts the teacher's final embedding at frame ``t + shift``.

    Args:
        pred: ``(B, T, D)`` the temporal head's output at every frame (``ClipOutput.next_embedding``).
        target: ``(B, T, D)`` the teacher's embedding of the same frames (unshifted).
        valid: ``(B, T)`` bool. A pair counts only when frames t and t + shift are both valid; frames
            without a t + shift in the window are excluded.
        shift: k >= 1.
        normalize: Compare L2-normalised vectors (``||a - b||^2 = 2 - 2 cos``), else raw mean squared error.
        segment: ``(B, T)`` id of each frame's source clip; a pair across a scene cut (two ids)
            counts not. None: one clip per row.
    """
    if shift < 1:
        raise ValueError(f"temporal shift must be >= 1, got {shift}")
    T = pred.shape[1]
    if target.shape[:2] != pred.shape[:2] or valid.shape != pred.shape[:2]:
        raise ValueError(
            f"temporal loss: pred {tuple(pred.shape)}, target {tuple(target.shape)}, valid {tuple(valid.shape)}"
        )
    if shift >= T:
        return pred.sum() * 0.0
    p, y = pred[:, : T - shift].float(), target[:, shift:].float()  # (B, T-k, D)
    pair = valid[:, : T - shift] & valid[:, shift:]  # (B, T-k)
    if segment is not None:
        pair = pair & (segment[:, : T - shift] == segment[:, shift:])
    if normalize:
        p, y = F.normalize(p, dim=-1), F.normalize(y, dim=-1)
        per_pair = (p - y).pow(2).sum(dim=-1)
    else:
        per_pair = (p - y).pow(2).mean(dim=-1)
    return masked_mean(per_pair, pair)


def contrastive_loss(
    student: torch.Tensor,
    teacher: torch.Tensor,
    text: torch.Tensor,
    valid: torch.Tensor,
    level: str = "frame",
    temperature: float = 0.07,
    teacher_temperature: float = 0.07,
) -> torch.Tensor:
    """Vision-language contrastive loss against a prompt bank, with the teacher's soft assignment as target.

    The target distribution over the ``P`` prompts is ``softmax(cos(teacher image, prompt) / teacher_temperature)``;
    the loss is its cross-entropy with ``softmax(cos(student embedding, prompt) / temperature)``.

    Args:
        student: ``(B, T, D)`` student embeddings (``ClipOutput.embedding``).
        teacher: ``(B, T, D)`` teacher image embeddings of the same frames.
        text: ``(P, D)`` prompt embeddings.
        valid: ``(B, T)`` bool.
        level: ``frame`` (per frame) or ``video`` (mean of the valid frames' normalised embeddings).
    """
    if student.shape[-1] != text.shape[-1] or teacher.shape[-1] != text.shape[-1]:
        raise ValueError(
            f"contrastive loss: student {student.shape[-1]}, teacher {teacher.shape[-1]} and text "
            f"{text.shape[-1]} embedding widths differ; set the student's embed_dim to the teacher's"
        )
    s = F.normalize(student.float(), dim=-1)
    t = F.normalize(teacher.float(), dim=-1)
    txt = F.normalize(text.float(), dim=-1)
    if level == "video":
        w = valid.float().unsqueeze(-1)  # (B, T, 1)
        s = F.normalize((s * w).sum(1) / w.sum(1).clamp(min=1.0), dim=-1)  # (B, D)
        t = F.normalize((t * w).sum(1) / w.sum(1).clamp(min=1.0), dim=-1)
        keep = valid.any(dim=1)  # (B,)
    elif level == "frame":
        keep = valid
    else:
        raise ValueError(f"contrastive level must be frame or video, got {level!r}")
    target = F.softmax(t @ txt.T / teacher_temperature, dim=-1)  # (..., P)
    logp = F.log_softmax(s @ txt.T / temperature, dim=-1)
    return masked_mean(-(target * logp).sum(dim=-1), keep)


def target_temperature(cfg: ContrastiveConfig, teacher_logit_scale: float | None) -> float | None:
    """Temperature of the contrastive targets: ``cfg.teacher_temperature`` when set, else the teacher's
    own ``1 / exp(logit_scale)`` (its zero-shot distribution); None when the term is off.

    Raises:
        ValueError: the term is on, no temperature is set and the teacher has no logit scale.
    """
    if not cfg.enabled:
        return None
    if cfg.teacher_temperature is not None:
        return float(cfg.teacher_temperature)
    if teacher_logit_scale is None or not teacher_logit_scale > 0:
        raise ValueError(
            "loss.contrastive.teacher_temperature is null (the teacher's own 1 / logit_scale) but the "
            f"teacher has no logit scale ({teacher_logit_scale!r}); set a temperature"
        )
    return 1.0 / float(teacher_logit_scale)


def frame_index(valid: torch.Tensor) -> torch.Tensor:
    """``(B, T)`` float frame indices 0..T-1 (relative to the window)."""
    return torch.arange(valid.shape[1], device=valid.device, dtype=torch.float32).expand(valid.shape)


def per_frame(x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
    """A per-clip ``(B,)`` value broadcast to ``(B, T)``; a per-frame ``(B, T)`` one as it is."""
    return x[:, None].expand(valid.shape) if x.ndim == 1 else x


def accident_weight(
    positive: torch.Tensor,
    toa: torch.Tensor,
    fps: torch.Tensor,
    valid: torch.Tensor,
    full_weight_s: float = 0.0,
    near_miss: torch.Tensor | None = None,
    near_miss_weight: float = 1.0,
    before_onset: torch.Tensor | None = None,
):
    """``(target, weight)`` ``(B, T)`` of DSA / UString: a positive frame t has target 1 and weight
    ``exp(-max(0, (toa - t - 1) / fps - full_weight_s))`` (``full_weight_s`` 0: DSA exactly), a negative
    frame target 0 and weight 1, or ``near_miss_weight`` where ``near_miss`` ``(B, T)`` marks it (a hard
    negative between its manoeuvre's onset and its reference frame; 1: DSA exactly). Positive frames
    that ``before_onset`` ``(B, T)`` marks (before the accident's manoeuvre starts) are negatives,
    target 0 and weight 1 (None: DSA exactly)."""
    t = frame_index(valid)
    pos = per_frame(positive.bool(), valid)
    penalty = ((per_frame(toa, valid) - t - 1) / per_frame(fps, valid) - full_weight_s).clamp(min=0.0)
    negative = torch.ones_like(penalty)
    if near_miss is not None and near_miss_weight != 1.0:
        negative = torch.where(near_miss.bool() & ~pos, torch.full_like(penalty, near_miss_weight), negative)
    if before_onset is not None:
        pos = pos & ~before_onset.bool()
    return pos.float(), torch.where(pos, torch.exp(-penalty), negative)


def anticipation_loss(
    logits: torch.Tensor,
    positive: torch.Tensor,
    toa: torch.Tensor,
    fps: torch.Tensor,
    valid: torch.Tensor,
    full_weight_s: float = 0.0,
    near_miss: torch.Tensor | None = None,
    near_miss_weight: float = 1.0,
    before_onset: torch.Tensor | None = None,
) -> torch.Tensor:
    """Exponentially weighted cross-entropy of DSA / UString.

    A positive clip's frame t has target 1 and weight ``exp(-max(0, (toa - t - 1) / fps))``; a negative
    clip's frames have target 0 and weight 1. Mean over valid frames.

    Args:
        logits: ``(B, T)`` accident logits. positive: ``(B,)`` or ``(B, T)`` bool. toa: ``(B,)`` or
        ``(B, T)`` frame index of the accident (window-relative; ignored for negatives). fps: ``(B,)``
        or ``(B, T)``. valid: ``(B, T)`` bool. full_weight_s: positive frames this close to toa (s)
        keep the weight 1 (:func:`accident_weight`; 0: DSA exactly). near_miss, near_miss_weight: the
        weight of marked negative frames (:func:`accident_weight`; 1: DSA exactly). before_onset:
        marked positive frames are negatives (:func:`accident_weight`; None: DSA exactly).
    """
    target, weight = accident_weight(
        positive, toa, fps, valid, full_weight_s, near_miss, near_miss_weight, before_onset
    )
    ce = F.binary_cross_entropy_with_logits(logits.float(), target, reduction="none")
    return masked_mean(weight * ce, valid)


def tta_loss(
    tta: torch.Tensor,
    positive: torch.Tensor,
    toa: torch.Tensor,
    fps: torch.Tensor,
    valid: torch.Tensor,
    beta: float = 1.0,
) -> torch.Tensor:
    """Smooth L1 between the predicted time to accident and ``(toa - t) / fps`` on positive frames ``t < toa``."""
    t = frame_index(valid)
    toa = per_frame(toa, valid)
    target = (toa - t) / per_frame(fps, valid)
    keep = valid & per_frame(positive.bool(), valid) & (t < toa)
    error = F.smooth_l1_loss(tta.float(), target, reduction="none", beta=beta)
    return masked_mean(error, keep)


def risk_map_loss(
    risk_map: torch.Tensor,
    cells: torch.Tensor,
    has_box: torch.Tensor,
    positive: torch.Tensor,
    toa: torch.Tensor,
    fps: torch.Tensor,
    valid: torch.Tensor,
    full_weight_s: float = 0.0,
) -> torch.Tensor:
    """Per-token cross-entropy of the risk map against the cells the colliding object's box covers.

    Only positive frames before ``toa`` whose box is known count; each is weighted like the
    anticipation loss (``exp(-max(0, (toa - t - 1) / fps))``: the object matters more as the accident
    nears). Every other frame contributes nothing (no gradient).

    Args:
        risk_map: ``(B, T, h, w)`` token logits. cells: ``(B, T, h, w)`` bool, True where the box covers
        the token (:func:`accident_anticipation_ros.metrics_map.box_cells`). has_box: ``(B, T)`` bool.
        positive, toa, fps, full_weight_s: as in :func:`anticipation_loss`. valid: ``(B, T)``.
    """
    t = frame_index(valid)
    _, weight = accident_weight(positive, toa, fps, valid, full_weight_s)
    keep = valid & has_box & per_frame(positive.bool(), valid) & (t < per_frame(toa, valid))
    ce = F.binary_cross_entropy_with_logits(risk_map.float(), cells.float(), reduction="none")
    return masked_mean(weight * ce.mean(dim=(-2, -1)), keep)


def pool_map(risk_map: torch.Tensor, pool: str = "lse", temperature: float = 1.0) -> torch.Tensor:
    """``(..., h, w)`` token logits -> ``(...)`` one frame logit: ``max`` or the log-mean-exp
    ``tau * log(mean(exp(x / tau)))`` (between the mean and the max; the max as ``tau -> 0``)."""
    x = risk_map.float().flatten(-2)
    if pool == "max":
        return x.amax(dim=-1)
    if pool == "lse":
        return temperature * (torch.logsumexp(x / temperature, dim=-1) - math.log(x.shape[-1]))
    raise ValueError(f"risk map pool must be max or lse, got {pool!r}")


def risk_map_mil_loss(
    risk_map: torch.Tensor,
    positive: torch.Tensor,
    toa: torch.Tensor,
    fps: torch.Tensor,
    valid: torch.Tensor,
    pool: str = "lse",
    temperature: float = 1.0,
    full_weight_s: float = 0.0,
    near_miss: torch.Tensor | None = None,
    near_miss_weight: float = 1.0,
    before_onset: torch.Tensor | None = None,
) -> torch.Tensor:
    """Weak (multiple-instance) risk-map loss for data without boxes: the map's pooled logit
    (:func:`pool_map`) takes the frame's risk target, with the anticipation loss's weights."""
    return anticipation_loss(
        pool_map(risk_map, pool, temperature),
        positive,
        toa,
        fps,
        valid,
        full_weight_s,
        near_miss,
        near_miss_weight,
        before_onset,
    )


@dataclass(frozen=True)
class Targets:
    """What the losses need besides the student's outputs (one batch)."""

    valid: torch.Tensor  # (B, T) bool
    positive: torch.Tensor  # (B,) or (B, T) bool
    toa: torch.Tensor  # (B,) or (B, T) float, window-relative frame index; < 0 for negatives
    fps: torch.Tensor  # (B,) or (B, T) float
    teacher_stages: tuple[torch.Tensor, ...] | None = None  # 3 x (B, T, C_l, h_l, w_l)
    teacher_embedding: torch.Tensor | None = None  # (B, T, D)
    segment: torch.Tensor | None = None  # (B, T) int64 source-clip id per frame (chained streams)
    box_cells: torch.Tensor | None = None  # (B, T, h, w) bool, tokens the colliding object covers
    has_box: torch.Tensor | None = None  # (B, T) bool, frames whose box is known
    near_miss: torch.Tensor | None = None  # (B, T) bool, hard negatives from manoeuvre onset to reference
    before_onset: torch.Tensor | None = None  # (B, T) bool, accident frames before the manoeuvre's onset

    def to(self, device: torch.device) -> Targets:
        def move(x):
            if x is None:
                return None
            if isinstance(x, tuple):
                return tuple(move(y) for y in x)
            return x.to(device, non_blocking=True)

        return Targets(**{f.name: move(getattr(self, f.name)) for f in dataclasses.fields(self)})


class UncertaintyWeighting(nn.Module):
    """``sum_i w_i (exp(-s_i) L_i + s_i)`` with learned log-variances ``s_i`` (0 at start: the fixed weights)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.log_vars = nn.Parameter(torch.zeros(len(self.names)))

    def forward(self, parts: dict[str, torch.Tensor], weights: dict[str, float]) -> torch.Tensor:
        total = 0.0
        for i, name in enumerate(self.names):
            s = self.log_vars[i]
            total = total + weights[name] * (torch.exp(-s) * parts[name] + s)
        return total


class TSDLoss(nn.Module):
    """The configured combination of the losses above.

    Args:
        cfg: Which terms, their weights and options.
        text: ``(P, D)`` prompt embeddings (needed when the contrastive term is on).
        teacher_logit_scale: The teacher's ``exp(logit_scale)``: the contrastive targets' temperature
            is ``1 / teacher_logit_scale`` unless ``cfg.contrastive.teacher_temperature`` sets one.
    """

    def __init__(
        self, cfg: LossConfig, text: torch.Tensor | None = None, teacher_logit_scale: float | None = None
    ) -> None:
        super().__init__()
        self.cfg = cfg
        self.terms = [name for name in TERMS if getattr(cfg, name).enabled]
        if not self.terms:
            raise ValueError("every loss term is disabled; enable at least 'accident'")
        self.weights = {name: float(getattr(cfg, name).weight) for name in self.terms}
        if "contrastive" in self.terms and text is None:
            raise ValueError("the contrastive loss needs prompt text embeddings")
        self.register_buffer("text", text.float() if text is not None else None, persistent=False)
        self.teacher_temperature = target_temperature(cfg.contrastive, teacher_logit_scale)
        self.uncertainty = UncertaintyWeighting(self.terms) if cfg.weighting == "uncertainty" else None

    @property
    def needs_teacher(self) -> bool:
        return any(n in self.terms for n in ("spatial", "temporal", "contrastive", "frequency"))

    def parts(self, out, tg: Targets) -> dict[str, torch.Tensor]:
        """Each enabled term's value (unweighted)."""
        c = self.cfg
        if self.needs_teacher and (tg.teacher_embedding is None or tg.teacher_stages is None):
            raise ValueError(f"loss terms {self.terms} need teacher targets, the batch has none")
        parts: dict[str, torch.Tensor] = {}
        if "spatial" in self.terms:
            parts["spatial"] = spatial_loss(out.stage_proj, tg.teacher_stages, tg.valid, c.spatial.normalize)
        if "frequency" in self.terms:
            parts["frequency"] = frequency_loss(
                out.stage_proj,
                tg.teacher_stages,
                tg.valid,
                c.frequency.kernel,
                c.frequency.high_weight,
                c.spatial.normalize,
            )
        if "temporal" in self.terms:
            parts["temporal"] = temporal_shift_loss(
                out.next_embedding,
                tg.teacher_embedding,
                tg.valid,
                c.temporal.shift,
                c.temporal.normalize,
                tg.segment,
            )
        if "contrastive" in self.terms:
            cc = c.contrastive
            parts["contrastive"] = contrastive_loss(
                out.embedding,
                tg.teacher_embedding,
                self.text,
                tg.valid,
                cc.level,
                cc.temperature,
                self.teacher_temperature,
            )
        near_miss, before_onset = self._near_miss(tg), self._before_onset(tg)
        if "accident" in self.terms:
            parts["accident"] = anticipation_loss(
                out.risk_logit,
                tg.positive,
                tg.toa,
                tg.fps,
                tg.valid,
                c.accident.full_weight_s,
                near_miss,
                c.accident.near_miss_weight,
                before_onset,
            )
        if "tta" in self.terms:
            parts["tta"] = tta_loss(out.tta, tg.positive, tg.toa, tg.fps, tg.valid, c.tta.beta)
        if "risk_map" in self.terms:
            if tg.box_cells is None or tg.has_box is None:
                raise ValueError(
                    "loss.risk_map needs per-frame boxes of the colliding object (synthetic data); "
                    "use loss.risk_map_mil for data without boxes"
                )
            parts["risk_map"] = risk_map_loss(
                out.risk_map,
                tg.box_cells,
                tg.has_box,
                tg.positive,
                tg.toa,
                tg.fps,
                tg.valid,
                c.accident.full_weight_s,
            )
        if "risk_map_mil" in self.terms:
            m = c.risk_map_mil
            parts["risk_map_mil"] = risk_map_mil_loss(
                out.risk_map,
                tg.positive,
                tg.toa,
                tg.fps,
                tg.valid,
                m.pool,
                m.temperature,
                c.accident.full_weight_s,
                near_miss,
                c.accident.near_miss_weight,
                before_onset,
            )
        return parts

    def _near_miss(self, tg: Targets) -> torch.Tensor | None:
        """The batch's near-miss frames when ``loss.accident.near_miss_weight`` uses them."""
        if self.cfg.accident.near_miss_weight == 1.0:
            return None
        if tg.near_miss is None:
            raise ValueError(
                "loss.accident.near_miss_weight needs the manoeuvre onset of each hard negative "
                "(event_frame / critical_frame of the synthetic metadata); this data has none: set it to 1"
            )
        return tg.near_miss

    def _before_onset(self, tg: Targets) -> torch.Tensor | None:
        """The batch's accident frames before their onset when ``loss.accident.positive_from_onset`` is on."""
        if not self.cfg.accident.positive_from_onset:
            return None
        if tg.before_onset is None:
            raise ValueError(
                "loss.accident.positive_from_onset needs the manoeuvre onset of each accident "
                "(event_frame of the synthetic metadata); this data has none: set it to false"
            )
        return tg.before_onset

    def forward(self, out, tg: Targets) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """``(total, parts)``; ``parts`` are detached, for logging."""
        parts = self.parts(out, tg)
        if self.uncertainty is not None:
            total = self.uncertainty(parts, self.weights)
        else:
            total = sum(self.weights[n] * parts[n] for n in self.terms)
        if not math.isfinite(float(total.detach())):
            bad = {n: float(v.detach()) for n, v in parts.items()}
            raise FloatingPointError(f"loss is not finite: {bad}")
        return total, {n: v.detach() for n, v in parts.items()}
