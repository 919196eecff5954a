"""Each loss on small hand-made tensors."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from accident_anticipation_ros.training.config import LossConfig
from accident_anticipation_ros.training.losses import (
    Targets,
    TSDLoss,
    UncertaintyWeighting,
    anticipation_loss,
    contrastive_loss,
    frequency_loss,
    low_pass,
    spatial_loss,
    temporal_shift_loss,
    tta_loss,
)


def test_spatial_loss_zero_on_match_and_mean_squared_error_otherwise():
    t = [torch.randn(2, 3, c, s, s) for c, s in ((4, 8), (6, 4), (8, 2))]
    valid = torch.ones(2, 3, dtype=torch.bool)
    assert spatial_loss(t, t, valid, normalize=False).item() == pytest.approx(0.0)
    s = [x + 0.5 for x in t]
    assert spatial_loss(s, t, valid, normalize=False).item() == pytest.approx(3 * 0.25)  # sum over 3 stages


def test_spatial_loss_resizes_student_to_pooled_teacher_and_skips_invalid_frames():
    student = torch.arange(16.0).reshape(1, 1, 1, 4, 4).expand(1, 2, 1, 4, 4).clone()
    teacher = F.avg_pool2d(student.flatten(0, 1), 2).unflatten(
        0, (1, 2)
    )  # (1, 2, 1, 2, 2): cache stage_pool=2
    valid = torch.tensor([[True, False]])
    stages_s, stages_t = [student] * 3, [teacher] * 3
    assert spatial_loss(stages_s, stages_t, valid, normalize=False).item() == pytest.approx(0.0, abs=1e-6)
    bad = teacher.clone()
    bad[:, 1] += 100.0  # an invalid (padded) frame must not count
    assert spatial_loss(stages_s, [bad] * 3, valid, normalize=False).item() == pytest.approx(0.0, abs=1e-6)
    bad[:, 0] += 1.0
    assert spatial_loss(stages_s, [bad] * 3, valid, normalize=False).item() == pytest.approx(3.0)


def test_spatial_loss_normalize_standardises_teacher_per_position():
    teacher = [torch.randn(1, 2, 5, 3, 3) * 7 + 3 for _ in range(3)]
    standard = [F.layer_norm(t.movedim(2, -1), (5,)).movedim(-1, 2) for t in teacher]
    valid = torch.ones(1, 2, dtype=torch.bool)
    assert spatial_loss(standard, teacher, valid, normalize=True).item() == pytest.approx(0.0, abs=1e-5)


def test_spatial_loss_names_a_channel_mismatch():
    with pytest.raises(ValueError, match="teacher_dims"):
        spatial_loss(
            [torch.zeros(1, 2, 3, 4, 4)] * 3,
            [torch.zeros(1, 2, 5, 4, 4)] * 3,
            torch.ones(1, 2, dtype=torch.bool),
        )


def test_temporal_shift_aligns_frame_t_with_teacher_t_plus_k():
    target = torch.randn(2, 6, 8)
    valid = torch.ones(2, 6, dtype=torch.bool)
    for k in (1, 2, 3):
        pred = torch.randn(2, 6, 8)
        pred[:, : 6 - k] = target[
            :, k:
        ]  # frame t predicts the teacher at t + k; the last k frames have no target
        assert temporal_shift_loss(pred, target, valid, shift=k, normalize=False).item() == pytest.approx(0.0)
        assert temporal_shift_loss(pred, target, valid, shift=k % 3 + 1, normalize=False).item() > 0.1
    unshifted = target.clone()
    assert (
        temporal_shift_loss(unshifted, target, valid, shift=1).item() > 0.1
    )  # predicting frame t itself is wrong


def test_temporal_shift_excludes_pairs_touching_padding():
    target = torch.randn(1, 5, 4)
    pred = torch.zeros(1, 5, 4)
    pred[0, :2] = target[0, 1:3]  # pairs (0,1), (1,2) right
    valid = torch.tensor([[True, True, True, False, False]])  # frame 2 is the last real frame
    pred[0, 2:] = 50.0  # frame 2 has no real t+1; frames 3-4 are padding
    assert temporal_shift_loss(pred, target, valid, shift=1, normalize=False).item() == pytest.approx(0.0)
    # normalised form: 2 - 2 cos, on the same pairs
    assert temporal_shift_loss(pred, target, valid, shift=1, normalize=True).item() == pytest.approx(
        0.0, abs=1e-6
    )


def test_temporal_shift_longer_than_window_gives_zero_with_gradient():
    pred = torch.randn(1, 2, 4, requires_grad=True)
    loss = temporal_shift_loss(pred, torch.randn(1, 2, 4), torch.ones(1, 2, dtype=torch.bool), shift=2)
    loss.backward()
    assert loss.item() == 0.0 and pred.grad is not None


def test_anticipation_loss_exponential_weights_of_dsa():
    logits = torch.zeros(2, 5)  # p = 0.5: CE = log 2 on every frame
    positive = torch.tensor([True, False])
    toa = torch.tensor([3.0, -1.0])
    fps = torch.tensor([1.0, 1.0])
    valid = torch.ones(2, 5, dtype=torch.bool)
    # positive frame t: exp(-max(0, (toa - t - 1) / fps)) = e^-2, e^-1, 1, 1, 1 ; negative frames: 1
    expected = math.log(2) * (math.exp(-2) + math.exp(-1) + 3 + 5) / 10
    assert anticipation_loss(logits, positive, toa, fps, valid).item() == pytest.approx(expected, rel=1e-6)
    fast = anticipation_loss(logits, positive, toa, torch.tensor([10.0, 10.0]), valid).item()
    assert fast > expected  # higher fps -> the same frames are closer in seconds -> larger weights


def test_anticipation_loss_targets_and_padding():
    valid = torch.tensor([[True, True, False]])
    confident = torch.tensor([[10.0, 10.0, -10.0]])
    loss = anticipation_loss(confident, torch.tensor([True]), torch.tensor([1.0]), torch.tensor([1.0]), valid)
    assert loss.item() < 1e-3  # the padded frame's wrong logit is ignored
    neg = anticipation_loss(
        confident, torch.tensor([False]), torch.tensor([-1.0]), torch.tensor([1.0]), valid
    )
    assert neg.item() == pytest.approx(10.0, abs=1e-3)


def test_tta_loss_uses_positive_frames_before_toa_only():
    tta = torch.tensor([[2.0, 1.0, 9.0, 9.0], [5.0, 5.0, 5.0, 5.0]])
    toa = torch.tensor([2.0, -1.0])
    fps = torch.tensor([1.0, 1.0])
    valid = torch.ones(2, 4, dtype=torch.bool)
    positive = torch.tensor([True, False])
    assert tta_loss(tta, positive, toa, fps, valid).item() == pytest.approx(0.0)  # targets 2 s, 1 s
    off = tta.clone()
    off[0, 0] = 4.0  # 2 s off, beta 1: smooth L1 = 2 - 0.5 = 1.5, mean over 2 frames
    assert tta_loss(off, positive, toa, fps, valid).item() == pytest.approx(0.75)
    assert tta_loss(tta, torch.tensor([False, False]), toa, fps, valid).item() == 0.0


def test_contrastive_loss_is_minimal_when_student_matches_teacher():
    text = torch.randn(5, 8)
    teacher = torch.randn(2, 3, 8)
    valid = torch.ones(2, 3, dtype=torch.bool)
    for level in ("frame", "video"):
        same = contrastive_loss(teacher.clone(), teacher, text, valid, level, 0.1, 0.1).item()
        other = contrastive_loss(torch.randn(2, 3, 8), teacher, text, valid, level, 0.1, 0.1).item()
        assert same < other
    # with equal temperatures the minimum is the entropy of the teacher's prompt distribution
    q = F.softmax(F.normalize(teacher, dim=-1) @ F.normalize(text, dim=-1).T / 0.1, -1)
    entropy = -(q * q.log()).sum(-1).mean().item()
    assert contrastive_loss(teacher, teacher, text, valid, "frame", 0.1, 0.1).item() == pytest.approx(
        entropy, rel=1e-5
    )


def test_contrastive_loss_checks_embedding_widths():
    with pytest.raises(ValueError, match="embed_dim"):
        contrastive_loss(
            torch.zeros(1, 2, 4), torch.zeros(1, 2, 8), torch.zeros(3, 8), torch.ones(1, 2, dtype=torch.bool)
        )


def test_frequency_loss_separates_low_and_high_bands():
    x = torch.randn(1, 2, 4, 6, 6)
    valid = torch.ones(1, 2, dtype=torch.bool)
    assert frequency_loss([x] * 3, [x] * 3, valid, normalize=False).item() == pytest.approx(0.0, abs=1e-6)
    flat = torch.full((2, 4, 6, 6), 3.0)
    assert torch.allclose(low_pass(flat, 3), flat)  # a constant has no high-frequency part
    # an error only in the low band: shifting by a constant changes low, not high
    shifted = frequency_loss([x + 1.0] * 3, [x] * 3, valid, high_weight=1.0, normalize=False)
    only_low = frequency_loss([x + 1.0] * 3, [x] * 3, valid, high_weight=0.0, normalize=False)
    assert shifted.item() == pytest.approx(only_low.item(), rel=1e-5)


def test_uncertainty_weighting_starts_at_fixed_weights_and_learns():
    parts = {"a": torch.tensor(2.0), "b": torch.tensor(0.5)}
    uw = UncertaintyWeighting(["a", "b"])
    total = uw(parts, {"a": 1.0, "b": 3.0})
    assert total.item() == pytest.approx(2.0 + 1.5)  # s = 0: exp(0) L + 0
    total.backward()
    # d/ds_i w_i (exp(-s_i) L_i + s_i) = w_i (1 - L_i) at s = 0
    assert uw.log_vars.grad.tolist() == pytest.approx([1.0 * (1 - 2.0), 3.0 * (1 - 0.5)])


class _Out:
    def __init__(self, B=2, T=4, D=6):
        self.risk_logit = torch.zeros(B, T, requires_grad=True)
        self.tta = torch.ones(B, T)
        self.embedding = torch.randn(B, T, D)
        self.next_embedding = torch.randn(B, T, D)
        self.stage_proj = tuple(torch.randn(B, T, 3, 4, 4) for _ in range(3))


def _targets(with_teacher=True, B=2, T=4, D=6):
    valid = torch.ones(B, T, dtype=torch.bool)
    stages = tuple(torch.randn(B, T, 3, 4, 4) for _ in range(3)) if with_teacher else None
    emb = torch.randn(B, T, D) if with_teacher else None
    return Targets(
        valid, torch.tensor([True, False]), torch.tensor([3.0, -1.0]), torch.full((B,), 10.0), stages, emb
    )


def test_tsd_loss_combines_only_enabled_terms():
    cfg = LossConfig()
    loss = TSDLoss(cfg, text=torch.randn(4, 6))
    total, parts = loss(_Out(), _targets())
    assert set(parts) == {"spatial", "temporal", "contrastive", "accident", "tta"}
    expected = sum(getattr(cfg, n).weight * parts[n] for n in parts)
    assert total.item() == pytest.approx(float(expected), rel=1e-6)

    from dataclasses import replace

    plain = replace(cfg, spatial=replace(cfg.spatial, enabled=False), temporal=replace(cfg.temporal, enabled=False),
                    contrastive=replace(cfg.contrastive, enabled=False))  # fmt: skip
    total, parts = TSDLoss(plain)(_Out(), _targets(with_teacher=False))
    assert set(parts) == {"accident", "tta"} and not TSDLoss(plain).needs_teacher
    with pytest.raises(ValueError, match="teacher targets"):
        TSDLoss(cfg, text=torch.randn(4, 6))(_Out(), _targets(with_teacher=False))
    with pytest.raises(ValueError, match="prompt"):
        TSDLoss(cfg)
