"""Each loss on small hand-made tensors."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from accident_anticipation_ros.training.config import AccidentConfig, LossConfig
from accident_anticipation_ros.training.losses import (
    Targets,
    TSDLoss,
    UncertaintyWeighting,
    accident_weight,
    anticipation_loss,
    contrastive_loss,
    frequency_loss,
    low_pass,
    pool_map,
    risk_map_loss,
    risk_map_mil_loss,
    spatial_loss,
    target_temperature,
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


def _one_accident_one_safe():
    """Zero logits (p = 0.5) on two 5-frame clips at 1 fps: an accident at frame 3, a safe clip."""
    valid = torch.ones(2, 5, dtype=torch.bool)
    return torch.zeros(2, 5), torch.tensor([True, False]), torch.tensor([3.0, -1.0]), torch.ones(2), valid


def test_anticipation_loss_exponential_weights_of_dsa():
    logits, positive, toa, fps, valid = _one_accident_one_safe()  # p = 0.5: CE = log 2 everywhere
    # positive frame t: exp(-max(0, (toa - t - 1) / fps)) = e^-2, e^-1, 1, 1, 1 ; negative frames: 1
    expected = math.log(2) * (math.exp(-2) + math.exp(-1) + 3 + 5) / 10
    assert anticipation_loss(logits, positive, toa, fps, valid).item() == pytest.approx(expected, rel=1e-6)
    fast = anticipation_loss(logits, positive, toa, torch.tensor([10.0, 10.0]), valid).item()
    assert fast > expected  # higher fps -> the same frames are closer in seconds -> larger weights


def test_anticipation_loss_full_weight_window_before_toa():
    logits, positive, toa, fps, valid = _one_accident_one_safe()
    # full_weight_s 1: exp(-max(0, (toa - t - 1) / fps - 1)) = e^-1, 1, 1, 1, 1 ; negative frames: 1
    expected = math.log(2) * (math.exp(-1) + 4 + 5) / 10
    got = anticipation_loss(logits, positive, toa, fps, valid, full_weight_s=1.0).item()
    assert got == pytest.approx(expected, rel=1e-6)
    assert anticipation_loss(logits, positive, toa, fps, valid, full_weight_s=0.0).item() < got
    negatives_only = anticipation_loss(logits, ~positive, torch.tensor([-1.0, -1.0]), fps, valid)
    assert anticipation_loss(logits, ~positive, toa, fps, valid, 5.0).item() == pytest.approx(
        negatives_only.item()
    )


def test_near_miss_frames_take_their_own_weight_and_only_negatives():
    logits, positive, toa, fps, valid = _one_accident_one_safe()
    near_miss = torch.tensor([[True] * 5, [False, True, True, True, False]])  # marks on a positive: ignored
    _, weight = accident_weight(positive, toa, fps, valid, near_miss=near_miss, near_miss_weight=0.25)
    assert weight[1].tolist() == [1.0, 0.25, 0.25, 0.25, 1.0]
    assert torch.allclose(weight[0], accident_weight(positive, toa, fps, valid)[1][0])
    expected = math.log(2) * (math.exp(-2) + math.exp(-1) + 3 + 2 + 3 * 0.25) / 10
    got = anticipation_loss(logits, positive, toa, fps, valid, 0.0, near_miss, 0.25).item()
    assert got == pytest.approx(expected, rel=1e-6)
    dsa = anticipation_loss(logits, positive, toa, fps, valid).item()
    assert anticipation_loss(logits, positive, toa, fps, valid, 0.0, near_miss, 1.0).item() == dsa


def test_accident_frames_before_the_onset_are_negatives_and_only_positives_change():
    logits, positive, toa, fps, valid = _one_accident_one_safe()
    before = torch.tensor([[True, True, False, False, False], [True] * 5])  # marks on a negative: ignored
    target, weight = accident_weight(positive, toa, fps, valid, before_onset=before)
    assert target.tolist() == [[0.0, 0.0, 1.0, 1.0, 1.0], [0.0] * 5]
    assert weight.tolist() == [[1.0] * 5, [1.0] * 5]
    got = anticipation_loss(logits, positive, toa, fps, valid, before_onset=before).item()
    assert got == pytest.approx(math.log(2), rel=1e-6)  # p = 0.5 on ten frames of weight 1
    wrong = torch.tensor([[-5.0, -5.0, 5.0, 5.0, 5.0], [-5.0] * 5])  # right where the onset says so
    assert anticipation_loss(wrong, positive, toa, fps, valid, before_onset=before).item() < 0.01
    assert anticipation_loss(wrong, positive, toa, fps, valid).item() > 0.01  # DSA wants frames 0-1 positive


@pytest.mark.parametrize(
    "switch, field, marks, changed",
    [
        # near-miss frames weigh 0.25 instead of 1: the loss falls
        ({"near_miss_weight": 0.25}, "near_miss", [[False] * 4, [False, True, True, False]], "lower"),
        # the accident's frames 0-1 become negatives of weight 1 (DSA: e^-0.2, e^-0.1): the loss rises
        ({"positive_from_onset": True}, "before_onset", [[True, True, False, False], [False] * 4], "higher"),
    ],
)
def test_event_frame_switches_need_event_frames_and_reach_the_frame_risk_terms(switch, field, marks, changed):
    from dataclasses import replace

    cfg = LossConfig()
    cfg = replace(cfg, spatial=replace(cfg.spatial, enabled=False), temporal=replace(cfg.temporal, enabled=False),
                  contrastive=replace(cfg.contrastive, enabled=False),
                  risk_map_mil=replace(cfg.risk_map_mil, enabled=True))  # fmt: skip
    out = _Out()
    out.risk_map = torch.zeros(2, 4, 2, 2)
    tg = _targets(with_teacher=False)
    _, dsa = TSDLoss(cfg)(out, tg)
    on = replace(cfg, accident=replace(cfg.accident, **switch))
    with pytest.raises(ValueError, match=f"{next(iter(switch))} needs"):
        TSDLoss(on)(out, tg)
    marked = replace(tg, **{field: torch.tensor(marks)})
    _, parts = TSDLoss(on)(out, marked)
    for name in ("accident", "risk_map_mil"):
        assert (parts[name] < dsa[name]) if changed == "lower" else (parts[name] > dsa[name]), name
    assert parts["tta"] == dsa["tta"]
    assert TSDLoss(cfg)(out, marked)[1]["accident"] == dsa["accident"]  # switch off: the marks change nothing


def test_accident_config_full_weight_is_dsa_by_default_and_checked():
    assert AccidentConfig().full_weight_s == 0.0
    with pytest.raises(ValueError, match="full_weight_s"):
        AccidentConfig(full_weight_s=-0.5)
    assert AccidentConfig().near_miss_weight == 1.0
    assert not AccidentConfig().positive_from_onset
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="near_miss_weight"):
            AccidentConfig(near_miss_weight=bad)


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
    loss = TSDLoss(cfg, text=torch.randn(4, 6), teacher_logit_scale=1 / 0.07)
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
        TSDLoss(cfg, text=torch.randn(4, 6), teacher_logit_scale=1 / 0.07)(
            _Out(), _targets(with_teacher=False)
        )
    with pytest.raises(ValueError, match="prompt"):
        TSDLoss(cfg)


def test_contrastive_targets_at_the_teacher_logit_scale_unless_a_temperature_is_set():
    """``teacher_temperature: null`` (the default): the teacher's own zero-shot distribution,
    ``softmax(logit_scale * cos)``; an explicit temperature (a config's 0.07) is kept as it is."""
    from dataclasses import replace

    cfg = LossConfig()
    assert cfg.contrastive.teacher_temperature is None
    assert target_temperature(cfg.contrastive, 50.0) == pytest.approx(0.02)
    explicit = replace(cfg.contrastive, teacher_temperature=0.07)
    assert target_temperature(explicit, 50.0) == 0.07 and target_temperature(explicit, None) == 0.07
    assert target_temperature(replace(cfg.contrastive, enabled=False), None) is None
    with pytest.raises(ValueError, match="teacher has no logit scale"):
        target_temperature(cfg.contrastive, None)
    with pytest.raises(ValueError, match="teacher has no logit scale"):
        TSDLoss(cfg, text=torch.randn(4, 6))

    torch.manual_seed(0)
    text, out, tg = torch.randn(4, 6), _Out(), _targets()
    loss = TSDLoss(cfg, text, teacher_logit_scale=50.0)
    assert loss.teacher_temperature == pytest.approx(0.02)
    c = cfg.contrastive
    expected = contrastive_loss(
        out.embedding, tg.teacher_embedding, text, tg.valid, c.level, c.temperature, 0.02
    )
    assert loss.parts(out, tg)["contrastive"].item() == pytest.approx(expected.item(), rel=1e-6)
    flat = contrastive_loss(out.embedding, tg.teacher_embedding, text, tg.valid, c.level, c.temperature, 0.07)
    assert flat.item() != pytest.approx(expected.item(), rel=1e-3)  # the temperature matters


def test_per_frame_targets_equal_per_clip_ones_and_chain_two_clips_in_a_row():
    logits, tta = torch.randn(2, 6), torch.rand(2, 6) * 3
    positive, toa, fps = torch.tensor([True, False]), torch.tensor([4.0, -1.0]), torch.tensor([2.0, 2.0])
    valid = torch.ones(2, 6, dtype=torch.bool)
    per_clip = (
        anticipation_loss(logits, positive, toa, fps, valid),
        tta_loss(tta, positive, toa, fps, valid),
    )
    frames = (positive[:, None].expand(2, 6), toa[:, None].expand(2, 6), fps[:, None].expand(2, 6))
    per_frame = (anticipation_loss(logits, *frames, valid), tta_loss(tta, *frames, valid))
    assert [a.item() for a in per_frame] == [b.item() for b in per_clip]
    # one row chaining the positive clip's frames 0-2 (toa 4: chunk-relative 4) and the safe clip's
    chained_logits = torch.cat([logits[0, :3], logits[1, :3]])[None]
    pos = torch.tensor([[True] * 3 + [False] * 3])
    chained = anticipation_loss(chained_logits, pos, torch.tensor([[4.0] * 3 + [-1.0] * 3]),
                                torch.full((1, 6), 2.0), torch.ones(1, 6, dtype=torch.bool))  # fmt: skip
    half = torch.tensor([[True] * 3 + [False] * 3])
    first = anticipation_loss(logits[:1], positive[:1], toa[:1], fps[:1], half)
    second = anticipation_loss(logits[1:], positive[1:], toa[1:], fps[1:], half)
    assert chained.item() == pytest.approx((first.item() + second.item()) / 2, rel=1e-6)


def test_temporal_shift_skips_pairs_across_a_scene_cut():
    target = torch.randn(1, 4, 5)
    pred = torch.cat([target[:, 1:], torch.randn(1, 1, 5)], dim=1)  # frame t predicts t + 1 exactly
    pred[:, 1] = torch.randn(5)  # ... except across the cut between frames 1 and 2
    valid = torch.ones(1, 4, dtype=torch.bool)
    segment = torch.tensor([[7, 7, 3, 3]])
    assert temporal_shift_loss(pred, target, valid, segment=segment).item() == pytest.approx(0.0, abs=1e-6)
    assert temporal_shift_loss(pred, target, valid).item() > 0.1


def _map_case():
    """Two rows of 4 frames, 2x2 maps: row 0 positive with toa 2.5 (frames 0-2 before it), row 1 safe."""
    from accident_anticipation_ros.metrics_map import box_cells

    boxes = np.full((2, 4, 4), np.nan, np.float32)
    boxes[0, :3] = [0.0, 0.0, 10.0, 10.0]  # top-left cell of a 32x32 input
    boxes[0, 1] = [10.0, 2.0, 30.0, 12.0]  # frame 1: spans the two top cells
    boxes[1] = [20.0, 20.0, 30.0, 30.0]  # the safe clip's key object: never supervised
    cells = torch.from_numpy(box_cells(boxes, (2, 2), (32, 32)))
    has_box = torch.from_numpy(~np.isnan(boxes[..., 0]))
    return cells, has_box, torch.tensor([True, False]), torch.tensor([2.5, -1.0]), torch.tensor([1.0, 1.0])


def test_risk_map_loss_covers_the_boxed_tokens_on_frames_before_toa_only():
    cells, has_box, positive, toa, fps = _map_case()
    assert cells[0, 1].tolist() == [[True, True], [False, False]]  # frame 1's box spans the top row
    assert cells[0, 0].tolist() == [[True, False], [False, False]] and not cells[0, 3].any()
    valid = torch.ones(2, 4, dtype=torch.bool)
    risk_map = torch.zeros(2, 4, 2, 2, requires_grad=True)
    loss = risk_map_loss(risk_map, cells, has_box, positive, toa, fps, valid)
    # zero logits: BCE = log 2 per token; frames 0, 1, 2 weighted exp(-max(0, 2.5 - t - 1))
    w = [math.exp(-1.5), math.exp(-0.5), 1.0]
    assert loss.item() == pytest.approx(math.log(2) * sum(w) / 3, rel=1e-6)
    loss.backward()
    grad = risk_map.grad
    assert grad[0, 3].abs().sum() == 0 and grad[1].abs().sum() == 0  # after toa, safe clip: nothing
    assert (grad[0, :3][cells[0, :3]] < 0).all() and (grad[0, :3][~cells[0, :3]] > 0).all()
    perfect = torch.where(cells, 20.0, -20.0).float()
    perfect[0, 3], perfect[1] = 5.0, 5.0  # whatever the map says outside the supervised frames
    assert risk_map_loss(perfect, cells, has_box, positive, toa, fps, valid).item() < 1e-6
    no_box = torch.zeros_like(has_box)
    assert risk_map_loss(risk_map, cells, no_box, positive, toa, fps, valid).item() == 0.0


def test_risk_map_mil_ties_the_pooled_map_to_the_frame_risk():
    x = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
    assert pool_map(x, "max").item() == 3.0
    lse = pool_map(x, "lse", 1.0).item()
    assert lse == pytest.approx(math.log(sum(math.exp(v) for v in range(4)) / 4))
    assert 1.5 < lse < 3.0 and pool_map(x, "lse", 0.01).item() == pytest.approx(3.0, abs=0.02)
    assert pool_map(torch.full((1, 2, 2), 0.7), "lse").item() == pytest.approx(0.7)  # flat map: its value
    _, _, positive, toa, fps = _map_case()
    valid = torch.ones(2, 4, dtype=torch.bool)
    hot = torch.full((2, 4, 2, 2), -8.0)
    hot[0, :, 0, 1] = 8.0  # one hot token in the accident clip, a cold map in the safe one
    cold = -hot
    good = risk_map_mil_loss(hot, positive, toa, fps, valid, "max")
    assert good.item() == pytest.approx(
        anticipation_loss(pool_map(hot, "max"), positive, toa, fps, valid).item()
    )
    assert good.item() < 0.01 < risk_map_mil_loss(cold, positive, toa, fps, valid, "max").item()
    m = torch.zeros(2, 4, 2, 2)
    m[..., 1, 1] = 1.0
    m.requires_grad_(True)
    risk_map_mil_loss(m, positive, toa, fps, valid, "max").backward()
    assert m.grad[..., 1, 1].abs().min() > 0 and m.grad[..., 0, 0].abs().max() == 0  # max: only the top token


def test_tsd_loss_risk_map_terms_and_their_missing_boxes():
    from dataclasses import replace

    cfg = LossConfig()
    cfg = replace(cfg, spatial=replace(cfg.spatial, enabled=False), temporal=replace(cfg.temporal, enabled=False),
                  contrastive=replace(cfg.contrastive, enabled=False), risk_map=replace(cfg.risk_map, enabled=True),
                  risk_map_mil=replace(cfg.risk_map_mil, enabled=True))  # fmt: skip
    out = _Out()
    out.risk_map = torch.zeros(2, 4, 2, 2)
    cells, has_box, *_ = _map_case()
    tg = replace(_targets(with_teacher=False), box_cells=cells, has_box=has_box)
    total, parts = TSDLoss(cfg)(out, tg)
    assert set(parts) == {"accident", "tta", "risk_map", "risk_map_mil"} and parts["risk_map"] > 0
    with pytest.raises(ValueError, match="risk_map_mil for data without boxes"):
        TSDLoss(cfg)(out, _targets(with_teacher=False))
    # loss.accident.full_weight_s reaches the three terms that share the anticipation weights
    early = replace(cfg, accident=replace(cfg.accident, full_weight_s=1.0))
    _, heavier = TSDLoss(early)(out, tg)
    for name in ("accident", "risk_map", "risk_map_mil"):
        assert heavier[name] > parts[name], name
    assert heavier["tta"] == parts["tta"]
