"""The two forms of the student agree; state, mask and reparameterisation behave as documented."""

from __future__ import annotations

import copy

import pytest
import torch

from accident_anticipation_ros.model.export import rel_error
from accident_anticipation_ros.model.state import StudentState, random_state
from accident_anticipation_ros.model.student import ClipOutput, StepOutput
from accident_anticipation_ros.model.verify import parallel_vs_step

from .conftest import make_student

OUTPUTS = ("risk_logit", "tta", "risk_map", "embedding")
TOL = 1e-5


def clip_frames(model, gen, batch=2, frames=6):
    return torch.randn(batch, frames, 3, *model.cfg.image_size, generator=gen)


def run_steps(model, frames, state, masks=None):
    outs = []
    for t in range(frames.shape[1]):
        out, state = model.step(frames[:, t], state, None if masks is None else masks[:, t])
        outs.append(out)
    stacked = {k: torch.stack([getattr(o, k) for o in outs], dim=1) for k in OUTPUTS}
    return stacked, state


def assert_state_close(a: StudentState, b: StudentState, tol=TOL):
    fb = b.flatten()
    for name, t in a.flatten().items():
        assert rel_error(t, fb[name]) < tol, name


def test_output_shapes(student, gen):
    cfg = student.cfg
    frames = clip_frames(student, gen, batch=2, frames=3)
    with torch.no_grad():
        out, state = student.forward_clip(frames)
        step, _ = student.step(frames[:, 0], student.init_state(2))
    h, w = cfg.grid
    assert isinstance(out, ClipOutput) and isinstance(step, StepOutput)
    assert out.risk_logit.shape == out.tta.shape == (2, 3)
    assert out.risk_map.shape == (2, 3, h, w) and out.embedding.shape == (2, 3, cfg.embed_dim)
    for level, (proj, teacher) in enumerate(zip(out.stage_proj, cfg.teacher_dims, strict=True)):
        stride = 4 * 2**level
        assert proj.shape == (2, 3, teacher, cfg.image_size[0] // stride, cfg.image_size[1] // stride)
    assert out.next_embedding.shape == (2, 3, cfg.teacher_embed_dim)
    assert step.risk_logit.shape == (2,) and step.risk_map.shape == (2, h, w)
    assert set(vars(step)) == set(OUTPUTS)  # no training-only projections at deployment
    assert torch.all(out.tta >= 0)
    assert len(state.layers) == cfg.rwkv_layers
    assert state.layers[0].att_aa.shape == (2, h * w, cfg.rwkv_dim)


@pytest.mark.parametrize("fresh", [True, False])
def test_clip_equals_steps(student, gen, fresh):
    frames = clip_frames(student, gen)
    state = student.init_state(2) if fresh else random_state(student.cfg, 2, gen)
    with torch.no_grad():
        clip, clip_state = student.forward_clip(frames, state)
        steps, step_state = run_steps(student, frames, state)
    for k in OUTPUTS:
        assert rel_error(steps[k], getattr(clip, k)) < TOL, k
    assert_state_close(step_state, clip_state)


def test_clip_equals_steps_nano_carried_over_32_frames(gen):
    model = make_student("tsd-nano")
    frames = torch.randn(1, 32, 3, *model.cfg.image_size, generator=gen)
    assert parallel_vs_step(model, frames, random_state(model.cfg, 1, gen)) < TOL


def test_clip_equals_steps_in_chunks(student, gen):
    frames = clip_frames(student, gen, frames=8)
    with torch.no_grad():
        whole, whole_state = student.forward_clip(frames)
        first, state = student.forward_clip(frames[:, :3])
        second, state = student.forward_clip(frames[:, 3:], state)
    assert rel_error(torch.cat([first.risk_map, second.risk_map], 1), whole.risk_map) < TOL
    assert_state_close(state, whole_state)


def test_masked_chunks_with_a_carried_state_equal_one_masked_clip_and_the_steps(student, gen):
    """Carried-state training: chunk 2 starts from chunk 1's final state, with the WKV mask on."""
    frames = clip_frames(student, gen, frames=9)
    mask = student.sample_mask(2, 9, 0.4, generator=gen)
    state = random_state(student.cfg, 2, gen)
    with torch.no_grad():
        whole, whole_state = student.forward_clip(frames, state, mask=mask)
        first, carried = student.forward_clip(frames[:, :4], state, mask=mask[:, :4])
        second, end = student.forward_clip(frames[:, 4:], carried, mask=mask[:, 4:])
        steps, step_state = run_steps(student, frames, state, masks=mask)
        reset, _ = student.forward_clip(frames[:, 4:], student.init_state(2), mask=mask[:, 4:])
    for k in OUTPUTS:
        chunked = torch.cat([getattr(first, k), getattr(second, k)], dim=1)
        assert rel_error(chunked, getattr(whole, k)) < TOL, k
        assert rel_error(steps[k], chunked) < TOL, k
    assert_state_close(end, whole_state)
    assert_state_close(step_state, end)
    assert rel_error(reset.risk_map, second.risk_map) > 1e-3  # the carried state matters


def test_masked_clip_equals_masked_steps(student, gen):
    frames = clip_frames(student, gen)
    mask = student.sample_mask(2, frames.shape[1], 0.4, generator=gen)
    mask[:, 0] = False  # tokens masked before anything was seen
    state = student.init_state(2)
    with torch.no_grad():
        clip, clip_state = student.forward_clip(frames, state, mask=mask)
        steps, step_state = run_steps(student, frames, state, masks=mask)
        unmasked, _ = student.forward_clip(frames, state)
    for k in OUTPUTS:
        assert torch.isfinite(getattr(clip, k)).all()
        assert rel_error(steps[k], getattr(clip, k)) < TOL, k
    assert_state_close(step_state, clip_state)
    assert rel_error(clip.risk_map, unmasked.risk_map) > 1e-3  # the mask does something


def test_training_mask_is_replayed_by_masked_steps(gen):
    model = make_student(seed=4).train()
    for m in model.modules():  # batch statistics differ between B*T and B frames by design
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    frames = clip_frames(model, gen, batch=2, frames=5)
    state = random_state(model.cfg, 2, gen)
    with torch.no_grad():
        torch.manual_seed(11)
        clip, clip_state = model.forward_clip(frames, state, mask_ratio=0.4)
        torch.manual_seed(11)
        mask = model.sample_mask(2, 5, 0.4)
        steps, step_state = run_steps(model, frames, state, masks=mask)
    assert 0 < int(mask.sum()) < mask.numel()
    for k in OUTPUTS:
        assert rel_error(steps[k], getattr(clip, k)) < TOL, k
    assert_state_close(step_state, clip_state)


def test_mask_ratio_only_in_training(gen):
    model = make_student(seed=3)
    frames = clip_frames(model, gen, batch=1, frames=4)
    with torch.no_grad():
        ref, _ = model.forward_clip(frames)
        same, _ = model.forward_clip(frames, mask_ratio=0.5)  # eval: ignored
    assert torch.equal(ref.risk_map, same.risk_map)
    model.train()
    for m in model.modules():  # freeze batch statistics so only the mask differs
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()
    with torch.no_grad():
        train_ref, _ = model.forward_clip(frames)
        torch.manual_seed(0)
        masked, _ = model.forward_clip(frames, mask_ratio=0.5)
    assert torch.allclose(train_ref.risk_map, ref.risk_map, atol=1e-6)
    assert rel_error(masked.risk_map, ref.risk_map) > 1e-3


def test_zero_state_is_a_fresh_start_and_no_hidden_state(student, gen):
    frames = clip_frames(student, gen, frames=5)
    other = clip_frames(student, gen, frames=3)
    fresh_model = copy.deepcopy(student)
    with torch.no_grad():
        _, state = student.forward_clip(frames)  # history that a reset must forget
        reset, _ = student.forward_clip(other, student.init_state(2))
        fresh, _ = fresh_model.forward_clip(other)
        carried, _ = student.forward_clip(other, state)
    for k in OUTPUTS:
        assert torch.equal(getattr(reset, k), getattr(fresh, k)), k
    assert rel_error(carried.risk_map, fresh.risk_map) > 1e-4  # the state carries information
    assert all(torch.count_nonzero(t) == 0 for t in student.init_state(2).flatten().values())


def test_reparameterize_keeps_outputs(student, gen):
    frames = clip_frames(student, gen)
    state = random_state(student.cfg, 2, gen)
    deployed = copy.deepcopy(student).reparameterize()
    assert deployed.reparameterized
    assert not any(hasattr(m, "conv_kxk") for m in deployed.trunk.modules())
    assert sum(p.numel() for p in deployed.parameters()) < sum(p.numel() for p in student.parameters())
    with torch.no_grad():
        ref, ref_state = student.forward_clip(frames, state)
        out, out_state = deployed.forward_clip(frames, state)
    for k in OUTPUTS:
        assert rel_error(getattr(out, k), getattr(ref, k)) < 1e-5, k
    assert_state_close(out_state, ref_state)


def test_backward_through_masked_clip_is_finite(gen):
    model = make_student(seed=5).train()
    frames = clip_frames(model, gen, batch=2, frames=4)
    out, state = model.forward_clip(frames, mask_ratio=0.3)
    loss = out.risk_logit.sum() + out.tta.sum() + out.risk_map.mean() + out.embedding.square().mean()
    loss = loss + out.next_embedding.square().mean()
    loss = loss + sum(p.square().mean() for p in out.stage_proj)
    loss.backward()
    grads = [p.grad for p in model.parameters() if p.requires_grad]
    assert all(g is not None and torch.isfinite(g).all() for g in grads)
    assert state.detach().layers[0].att_aa.grad_fn is None


def test_bad_inputs_are_named(student):
    H, W = student.cfg.image_size
    with pytest.raises(ValueError, match=r"expected \(B, T, 3, H, W\).*tsd-test"):
        student.forward_clip(torch.zeros(1, 2, 3, H + 32, W))
    with pytest.raises(ValueError, match=r"expected \(B, 3, H, W\)"):
        student.step(torch.zeros(1, 2, 3, H, W), student.init_state(1))
    with pytest.raises(ValueError, match=r"state tensor 'layer0.att_x' has shape"):
        student.step(torch.zeros(1, 3, H, W), student.init_state(2))
    with pytest.raises(ValueError, match="mask must be"):
        student.forward_clip(torch.zeros(1, 2, 3, H, W), mask=torch.ones(1, 2, 3, 3, dtype=torch.bool))
