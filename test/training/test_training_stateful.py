"""Carried-state training on tiny configs: the state crosses chunk boundaries, burn-in has no gradient,
the loss goes down, resume is exact with a carried state."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import load_file

from accident_anticipation_ros.model.state import StudentState
from accident_anticipation_ros.training.cache import to_input
from accident_anticipation_ros.training.config import train_config_from_dict
from accident_anticipation_ros.training.errors import TrainConfigError
from accident_anticipation_ros.training.train import run
from accident_anticipation_ros.training.trainer import Trainer

STATEFUL = {"stateful": {"enabled": True, "chunk_len": 6, "burn_in_max": 5, "stream_clips": [2, 3]}}
MAPS = {"risk_map": {"enabled": True}, "risk_map_mil": {"enabled": True}}


def _trainer(make_config, out=None, loss=None, **train) -> Trainer:
    cfg = make_config(out=out, train={**STATEFUL, **train}, loss={**MAPS, **(loss or {})})
    return Trainer(train_config_from_dict(cfg))


def _freeze_norm(model) -> None:
    """Batch statistics differ between a batch and one row by design: use the running ones."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eval()


def _replay(model, trainer, spans) -> StudentState:
    """The state after playing ``spans`` of the training split from a fresh start."""
    if not spans:
        return model.init_state(1)
    store = trainer.train_store
    frames = torch.cat([store.frames(s.seq, s.start, s.stop) for s in spans])
    with torch.no_grad():
        _, state = model.forward_clip(to_input(frames[None], trainer.mean, trainer.std))
    return state


def _stack(states: list[StudentState]) -> StudentState:
    flat = [s.flatten() for s in states]
    return StudentState.from_flat(
        {k: torch.cat([f[k] for f in flat]) for k in flat[0]}, len(states[0].layers)
    )


def test_the_state_is_carried_across_chunk_boundaries(make_config):
    trainer = _trainer(make_config, loss={"mask": {"ratio": 0.0}}, batch_size=2)
    trainer.optimizer.param_groups[0]["lr"] = trainer.optimizer.param_groups[1]["lr"] = 0.0
    trainer.scheduler.base_lrs = [0.0, 0.0]  # the weights stay those of `reference`
    _freeze_norm(trainer.model)
    reference = copy.deepcopy(trainer.model)
    plan = trainer.streams.plan(0)
    assert not any(row.reset for row in plan[1]) and all(row.frames for row in plan[1])
    trainer.run_batch(0)
    got = trainer.run_batch(1)
    assert all(
        torch.equal(a, b) for a, b in zip(trainer.model.parameters(), reference.parameters(), strict=True)
    )

    # chunk 2 as one uninterrupted stream gives it: its state is that after burn-in + chunk 1
    states = [_replay(reference, trainer, row.burn_in + row.frames) for row in plan[0]]
    chunk = trainer.streams.chunk(0, 1)
    frames = to_input(chunk.batch.frames, trainer.mean, trainer.std)
    with torch.no_grad():
        carried, _ = reference.forward_clip(frames, _stack(states))
        fresh, _ = reference.forward_clip(frames)
    _, want = trainer.loss(carried, chunk.batch.targets)
    _, reset = trainer.loss(fresh, chunk.batch.targets)
    for name in ("accident", "tta", "temporal", "risk_map", "risk_map_mil"):
        assert got[name] == pytest.approx(float(want[name]), rel=1e-4, abs=1e-6), name
    assert max(abs(float(want[n]) - float(reset[n])) for n in want) > 1e-3  # a reset would show


def test_burn_in_builds_the_state_without_gradient(make_config):
    trainer = _trainer(make_config, batch_size=2)
    _freeze_norm(trainer.model)
    chunk = trainer.streams.chunk(0, 0)
    burnt = [b for b, frames in enumerate(chunk.burn_in) if frames is not None]
    assert burnt and chunk.reset.all()  # the seed gives a row a burn-in at the first step
    state = trainer.streams.state_in(trainer.model, chunk, trainer._prepare)
    for name, t in state.flatten().items():
        assert not t.requires_grad and t.grad_fn is None, name
    want = _replay(trainer.model, trainer, trainer.streams.plan(0)[0][burnt[0]].burn_in)
    assert torch.allclose(
        state.flatten()["layer0.att_aa"][burnt[0]], want.flatten()["layer0.att_aa"][0], atol=1e-5
    )
    # the burn-in frames are no part of the chunk the loss sees
    row = trainer.streams.plan(0)[0][burnt[0]]
    assert int(chunk.batch.targets.valid[burnt[0]].sum()) == row.num_frames
    assert chunk.batch.frames.shape[1] == trainer.cfg.train.stateful.chunk_len


def _stream_loss(trainer, steps: int) -> float:
    """Mean total loss of the first ``steps`` chunks of epoch 0, played with the carried state."""
    saved, total = trainer.streams.carry, 0.0
    trainer.streams.carry = None
    for k in range(steps):
        chunk = trainer.streams.chunk(0, k)
        state = trainer.streams.state_in(trainer.model, chunk, trainer._prepare)
        with torch.no_grad():
            out, state = trainer.model.forward_clip(trainer._prepare(chunk.batch.frames), state)
            value, _ = trainer.loss(out, chunk.batch.targets.to(trainer.device))
        trainer.streams.carry_out(state)
        total += float(value)
    trainer.streams.carry = saved
    return total / steps


def test_a_few_stateful_steps_lower_the_loss(make_config):
    torch.manual_seed(0)
    trainer = _trainer(make_config, loss={"mask": {"ratio": 0.0}}, batch_size=2)
    before = _stream_loss(trainer, 4)
    for k in range(12):
        trainer.run_batch(k % 4)
    assert _stream_loss(trainer, 4) < 0.8 * before


def test_resume_with_a_carried_state_gives_the_same_run(make_config, tmp_path):
    common = {"ckpt_every": 2, "max_steps": 5}
    a = _trainer(make_config, out=tmp_path / "a", **common)
    a.fit()
    b = _trainer(make_config, out=tmp_path / "b", **{**common, "max_steps": 3})
    b.fit()
    carry = load_file(tmp_path / "b/checkpoints/last.safetensors")
    keys = [k for k in carry if k.startswith("carry.rank0.")]
    assert "carry.rank0.layer0.att_aa" in keys and any(carry[k].abs().sum() > 0 for k in keys)
    run(None, tmp_path / "b", ["train.max_steps=5"], progress=False)  # --resume mid-stream
    sa = load_file(tmp_path / "a/checkpoints/last.safetensors")
    sb = load_file(tmp_path / "b/checkpoints/last.safetensors")
    assert set(sa) == set(sb)
    for key in sa:
        if not key.startswith("rng."):
            assert torch.equal(sa[key], sb[key]), key  # bitwise: model, optimiser, carried states
    meta = json.loads((tmp_path / "b/checkpoints/last.json").read_text())["meta"]
    assert meta["step"] == 5 and meta["epoch"] == 0 and meta["batch_in_epoch"] == 5


def test_gru_student_carries_its_hidden_state(make_config):
    gru = Trainer(train_config_from_dict(make_config(student={"arch": "gru"}, train=STATEFUL)))
    gru.run_batch(0)
    assert tuple(gru.streams.carry.shape) == (1, 2, gru.student_cfg.rwkv_dim)
    assert gru.streams.carry.abs().sum() > 0 and not gru.streams.carry.requires_grad
    tensors = gru.streams.carry_tensors()
    gru.streams.load_carry(tensors, gru.model)
    assert torch.equal(gru.streams.carry, tensors["gru.h"])
    with pytest.raises(ValueError, match="expected"):
        gru.streams.load_carry({"layer0.att_x": torch.zeros(1)}, gru.model)


def test_demo_config_trains_for_the_stream_and_video_contrastive_is_refused(make_config):
    from pathlib import Path

    from accident_anticipation_ros.training.config import load_train_config

    demo = load_train_config(Path(__file__).parents[2] / "configs/tsd_nano_synth.yaml", check=False)
    assert demo.train.stateful.enabled and demo.loss.risk_map.enabled and demo.loss.risk_map_mil.enabled
    bad = make_config(train=STATEFUL, loss={"contrastive": {"level": "video", "prompts": ["a"]}})
    with pytest.raises(TrainConfigError, match="use 'frame'"):
        train_config_from_dict(bad)


@pytest.mark.parametrize(
    "accident, field, changed",
    [
        ({"near_miss_weight": 0.25}, "near_miss", "lower"),  # hard negatives after their onset weigh less
        ({"positive_from_onset": True}, "before_onset", "differs"),  # accidents before their onset
    ],
)
def test_event_frame_switches_train_on_marked_chunks(make_config, accident, field, changed):
    torch.manual_seed(0)
    trainer = _trainer(make_config, loss={"accident": accident}, batch_size=2)
    chunks = [trainer.streams.chunk(0, k) for k in range(4)]
    assert any(getattr(c.batch.targets, field).any() for c in chunks)
    marked = next(c for c in chunks if getattr(c.batch.targets, field).any())
    dsa = _trainer(make_config, batch_size=2)
    with torch.no_grad():
        out, _ = trainer.model.forward_clip(trainer._prepare(marked.batch.frames))
        _, on = trainer.loss(out, marked.batch.targets)
        _, full = dsa.loss(out, marked.batch.targets)
    for name in ("accident", "risk_map_mil"):
        assert (on[name] < full[name]) if changed == "lower" else (on[name] != full[name]), name
    assert trainer.run_batch(0) is not None


@pytest.fixture(scope="module")
def tiny_drive(tmp_path_factory):
    from accident_anticipation_ros.training.synth.drive import generate_drive
    from accident_anticipation_ros.training.synth.drive_config import make_drive_config

    cfg = make_drive_config("ccd", size=32, duration=15.0, lead_in=(2.0, 3.0), safe_gap=(2.0, 3.0),
                            piece_seconds=6.0, lead_traffic=3.0)  # fmt: skip
    root = tmp_path_factory.mktemp("drive") / "drive"
    generate_drive(cfg, 2, root)
    return root


def test_a_continuous_drive_adds_training_sequences(make_config, tiny_drive):
    from accident_anticipation_ros.training.synth.drive_storage import read_drive

    pieces = read_drive(tiny_drive)["pieces"]
    extra = {"extra_train": [{"root": str(tiny_drive), "split": "drive"}]}
    plain = _trainer(make_config, batch_size=2)
    clips = len(plain.train_store.entries)
    cfg = make_config(data=extra, train={**STATEFUL, "batch_size": 2,
                                         "stateful": {**STATEFUL["stateful"], "label_horizon_s": 2.0}})  # fmt: skip
    trainer = Trainer(train_config_from_dict(cfg))
    ids = [e.clip_id for e in trainer.train_store.entries]
    assert len(ids) == clips + len(pieces)  # the cache was rebuilt: the sources are in its fingerprint
    assert ids[clips:] == [f"x0:{p['clip_id']}" for p in pieces]  # in stream order, after the split
    assert not any(e.clip_id.startswith("x0:") for e in trainer.val_store.entries)
    drive_seqs = set(range(clips, len(ids)))
    played = {s.seq for step in trainer.streams.plan(0) for row in step for s in row.frames}
    assert drive_seqs <= played  # every piece is trained on in an epoch
    assert trainer.run_batch(0) is not None
    assert len(_trainer(make_config, batch_size=2).train_store.entries) == clips  # and back again
