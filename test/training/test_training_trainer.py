"""The trainer on tiny configs: the loss goes down, resume is exact, masks, evaluation, GRU student, cache."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

from accident_anticipation_ros.metrics import METRIC_LABELS
from accident_anticipation_ros.training.config import train_config_from_dict
from accident_anticipation_ros.training.errors import ResumeError, TrainingError
from accident_anticipation_ros.training.train import run
from accident_anticipation_ros.training.trainer import Trainer


def _trainer(make_config, **sections) -> Trainer:
    return Trainer(train_config_from_dict(make_config(**sections)))


def test_a_few_steps_lower_the_loss(make_config):
    torch.manual_seed(0)
    trainer = _trainer(make_config, loss={"weighting": "uncertainty", "frequency": {"enabled": True}})
    batch = trainer._load([0, 1, 2, 3], 0)

    def loss_now() -> float:
        b = batch.to(trainer.device)
        with torch.no_grad():
            frames = torch.as_tensor(b.frames)
            from accident_anticipation_ros.training.cache import to_input

            out, _ = trainer.model.forward_clip(to_input(frames, trainer.mean, trainer.std))
            _, parts = trainer.loss(out, b.targets)
        return sum(trainer.loss.weights[k] * v for k, v in parts.items()).item()

    before = loss_now()
    steps = [trainer.train_step(batch) for _ in range(12)]
    assert set(steps[0]) == {"total", "spatial", "temporal", "contrastive", "accident", "tta", "frequency"}
    assert loss_now() < 0.8 * before
    assert trainer.loss.uncertainty.log_vars.abs().sum() > 0  # the learned weights moved


def test_masked_memory_mask_is_seeded_by_step_and_stops_after_its_epochs(make_config):
    trainer = _trainer(make_config, loss={"mask": {"ratio": 0.3, "epochs": 1}})
    m1, m2 = trainer._mask(8, 16), trainer._mask(8, 16)
    assert torch.equal(m1, m2) and m1.shape == (8, 16, 2, 2)  # (B, T, h, w), True = kept
    assert abs((~m1).float().mean().item() - 0.3) < 0.06
    trainer.step += 1
    assert not torch.equal(trainer._mask(8, 16), m1)
    trainer.epoch = 1  # pre-training phase over
    assert trainer._mask(8, 16) is None


def test_resume_gives_the_same_next_steps(make_config, tmp_path):
    common = {"train": {"ckpt_every": 2}, "data": {"max_clips": 6}}
    base = make_config(**common)
    a = Trainer(
        train_config_from_dict(
            {**base, "out_dir": str(tmp_path / "a"), "train": {**base["train"], "max_steps": 5}}
        )
    )
    a.fit()
    b = Trainer(
        train_config_from_dict(
            {**base, "out_dir": str(tmp_path / "b"), "train": {**base["train"], "max_steps": 3}}
        )
    )
    b.fit()
    run(None, tmp_path / "b", ["train.max_steps=5"], progress=False)  # --resume, crossing an epoch boundary
    sa = load_file(tmp_path / "a/checkpoints/last.safetensors")
    sb = load_file(tmp_path / "b/checkpoints/last.safetensors")
    assert set(sa) == set(sb)
    for key in sa:
        if not key.startswith("rng."):
            assert torch.equal(sa[key], sb[key]), key  # bitwise: model, loss weights, AdamW moments
    meta_a = json.loads((tmp_path / "a/checkpoints/last.json").read_text())
    meta_b = json.loads((tmp_path / "b/checkpoints/last.json").read_text())
    assert meta_a["meta"]["step"] == meta_b["meta"]["step"] == 5
    assert meta_a["scheduler"] == meta_b["scheduler"]


def test_run_dir_is_not_overwritten_and_resume_needs_a_checkpoint(make_config, tmp_path):
    cfg = make_config(train={"max_steps": 1})
    Trainer(train_config_from_dict(cfg)).fit()
    with pytest.raises(TrainingError, match="already holds a run"):
        Trainer(train_config_from_dict(cfg))
    with pytest.raises(ResumeError, match="not a run directory"):
        run(None, tmp_path / "nothing", [], progress=False)
    (tmp_path / "run/checkpoints/last.json").unlink()
    with pytest.raises(ResumeError, match="no checkpoint to resume"):
        run(None, tmp_path / "run", [], progress=False)
    with pytest.raises(TrainingError, match="--resume only accepts"):
        run(None, tmp_path / "run", ["loss.temporal.shift=2"], progress=False)


def test_train_cli_writes_run_dir_best_onnx_and_evaluate_json(make_config, tmp_path, capsys, synth_root):
    import yaml

    from accident_anticipation_ros.model.checkpoint import read_meta
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info
    from accident_anticipation_ros.tools.cli import main as cli

    path = tmp_path / "c.yaml"
    path.write_text(
        yaml.safe_dump(
            make_config(train={"epochs": 1, "export_onnx": True}, loss={"risk_map": {"enabled": True}})
        )
    )
    assert cli(["train", "--config", str(path), "--no-progress"]) == 0
    run_dir = tmp_path / "run"
    for name in ("config.yaml", "metrics.jsonl", "summary.json", "prompts.json", "best/tsd-test.onnx"):
        assert (run_dir / name).is_file(), name
    assert list((run_dir / "tb").iterdir())
    meta = read_meta(run_dir / "best/tsd-test")
    assert meta["fps"] == 10.0 and meta["mean"] == [0.0, 0.0, 0.0] and meta["train"]["arch"] == "tsd"
    assert meta["risk_map_trained"] is True  # a map loss ran: the export says so, the node draws the map
    assert read_model_info(run_dir / "best/tsd-test.onnx").risk_map_trained is True
    capsys.readouterr()
    ckpt = str(run_dir / "best/tsd-test")
    assert (
        cli(["evaluate", "--checkpoint", ckpt, "--data", str(synth_root), "--split", "test", "--json"]) == 0
    )
    metrics = json.loads(capsys.readouterr().out)
    assert list(metrics) == list(METRIC_LABELS)
    assert 0.0 <= metrics["ap"] <= 1.0
    assert cli(["evaluate", "--checkpoint", str(tmp_path / "none"), "--data", str(synth_root)]) == 1


def test_gru_student_trains_and_its_clip_forward_equals_steps(make_config):
    from accident_anticipation_ros.training.cache import to_input
    from accident_anticipation_ros.training.gru_student import GRUStudent

    trainer = _trainer(make_config, student={"arch": "gru"}, train={"max_steps": 2})
    assert isinstance(trainer.model, GRUStudent)
    summary = trainer.fit()
    assert summary["steps"] == 2 and summary["onnx"] is None
    model = trainer.model.eval()
    frames = to_input(trainer.val_store.frames(0, 0, 5)[None], trainer.mean, trainer.std)
    with torch.no_grad():
        clip, _ = model.forward_clip(frames)
        state = model.init_state(1)
        for t in range(5):
            step, state = model.step(frames[:, t], state)
            assert torch.allclose(step.risk_logit, clip.risk_logit[:, t], atol=1e-5)
            assert torch.allclose(step.risk_map, clip.risk_map[:, t], atol=1e-5)
    assert clip.stage_proj[0].shape[:3] == (1, 5, 8) and clip.next_embedding.shape == (1, 5, 24)


def test_cache_is_reused_and_serves_runs_without_teacher(make_config, tmp_path):
    cfg = make_config(train={"max_steps": 1})
    first = Trainer(train_config_from_dict(cfg))
    index = tmp_path / "cache/train/index.json"
    stamp = index.stat().st_mtime_ns
    assert first.train_store.has_teacher
    plain = make_config(out=tmp_path / "plain", train={"max_steps": 1},
                        loss={"spatial": {"enabled": False}, "temporal": {"enabled": False},
                              "contrastive": {"enabled": False}})  # fmt: skip
    second = Trainer(train_config_from_dict(plain))
    assert second.teacher is None and index.stat().st_mtime_ns == stamp  # reused, not rebuilt
    other = make_config(
        out=tmp_path / "other", student={"overrides": {"image_size": [64, 128], "window_size": 2}}
    )
    third = Trainer(train_config_from_dict(other))
    assert third.train_store.image_size == (64, 128) and index.stat().st_mtime_ns != stamp


def test_train_teacher_writes_a_loadable_teacher(synth_root, tmp_path):
    import yaml

    from accident_anticipation_ros.tools.cli import main as cli
    from accident_anticipation_ros.training.config import TeacherConfig
    from accident_anticipation_ros.training.teacher import build_teacher

    cfg = {
        "name": "t",
        "out_dir": str(tmp_path / "teacher"),
        "data": {"root": str(synth_root), "frames_per_clip": 4},
        "spec": {
            "embed_dim": 16,
            "image": {"widths": [8, 16, 32, 32], "depths": [1, 1, 1, 1], "image_size": [64, 64]},
            "text": {"context_length": 16, "width": 32, "heads": 2, "layers": 1},
        },  # fmt: skip
        "train": {"epochs": 2, "batch_size": 8, "threads": 2, "progress": False},
    }
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(cfg))
    assert cli(["train-teacher", "--config", str(path), "--no-progress"]) == 0
    summary = json.loads((tmp_path / "teacher/summary.json").read_text())
    assert summary["pairs"] == {"train": 32, "val": 16} and len(summary["history"]) == 2
    teacher = build_teacher(TeacherConfig(source="aar", checkpoint=str(tmp_path / "teacher/teacher")))
    assert teacher.info.embed_dim == 16 and teacher.info.stage_dims == (8, 16, 32)


def test_clip_scores_in_chunks_equal_one_pass(make_config):
    from accident_anticipation_ros.training.cache import to_input
    from accident_anticipation_ros.training.predict import clip_scores

    trainer = _trainer(make_config, train={"max_steps": 1})
    model = trainer.model.eval()
    frames = trainer.val_store.frames(0)
    with torch.no_grad():
        out, _ = model.forward_clip(to_input(frames[None], trainer.mean, trainer.std))
    whole = torch.sigmoid(out.risk_logit[0]).numpy()
    chunked = clip_scores(model, frames, trainer.mean, trainer.std, trainer.device, chunk=5)
    assert chunked.shape == (16,) and abs(chunked - whole).max() < 1e-5


def test_evaluate_reports_risk_map_top_cell_accuracy_where_boxes_are_known(synth_root, tmp_path):
    import numpy as np

    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.training.checkpoint import save_student
    from accident_anticipation_ros.training.datasets import list_clips
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test", image_size=(64, 64), window_size=2)).eval()
    save_student(model, tmp_path / "m", {"fps": 10.0, "mean": [0.0] * 3, "std": [1.0] * 3})
    _, details = evaluate_checkpoint(tmp_path / "m", synth_root, "test")
    result = details["risk_map_top_cell"]
    # every frame of the last second before toa shows the square: all are scored
    toas = [r.toa for r in list_clips(synth_root, split="test") if r.positive]
    assert result["frames"] == sum(
        len(np.arange(16)[(np.arange(16) >= t - 10) & (np.arange(16) < t)]) for t in toas
    )
    assert 0.0 <= result["top_cell_accuracy"] <= 1.0 and result["uniform"] == 0.25
    assert 0.25 <= result["chance"] <= 1.0
