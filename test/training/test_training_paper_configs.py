"""The paper-scale configs (tsd-s0 at 256x256, MobileCLIP2-S0 teacher) run a few steps here: weights-free
teacher, tiny fixtures in the DAD and CCD layouts, the user-specific paths overridden."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from accident_anticipation_ros.training.config import load_train_config
from accident_anticipation_ros.training.teacher import teacher_crop
from accident_anticipation_ros.training.trainer import Trainer, in_holdout

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _video(path: Path, frames: int, positive: bool, toa: int, rng: np.random.Generator) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, (48, 32))  # wide, like dashcams
    for t in range(frames):
        img = rng.integers(40, 90, (32, 48, 3), dtype=np.uint8)
        r = 2 + (max(0, t - toa + 10) if positive else 0)
        img[16 - r // 2 : 16 + r, 24 - r : 24 + r] = (30, 30, 220)
        writer.write(img)
    writer.release()


def write_dad(root: Path, per_label: int = 3) -> Path:
    rng = np.random.default_rng(0)
    for split in ("training", "testing"):
        for label in ("positive", "negative"):
            for i in range(per_label):
                _video(
                    root / "videos" / split / label / f"{i + 1:06d}.mp4", 100, label == "positive", 90, rng
                )
    return root


def write_ccd(root: Path, per_label: int = 3) -> Path:
    rng = np.random.default_rng(1)
    lines, train, test = [], [], []
    for i in range(2 * per_label):
        vid = f"{i + 1:06d}"
        toa = 30 + i
        _video(root / "videos" / "Crash-1500" / f"{vid}.mp4", 50, True, toa, rng)
        _video(root / "videos" / "Normal" / f"{vid}.mp4", 50, False, toa, rng)
        labels = ",".join("1" if t >= toa else "0" for t in range(50))
        lines.append(f"{i + 1},[{labels}],{i},yt{i},Day,Normal,Yes")
        split = train if i < per_label else test
        split += [f"positive/{vid}.npz 1", f"negative/{vid}.npz 0"]
    (root / "videos" / "Crash-1500.txt").write_text("\n".join(lines) + "\n")
    (root / "vgg16_features").mkdir(parents=True)
    (root / "vgg16_features" / "train.txt").write_text("\n".join(train) + "\n")
    (root / "vgg16_features" / "test.txt").write_text("\n".join(test) + "\n")
    return root


def _holdout_salt(root: Path, fmt: str, split: str, fraction: float) -> int:
    """A hold-out salt giving the tiny fixture a validation accident clip and training clips."""
    from accident_anticipation_ros.training.datasets import list_clips

    refs = list_clips(root, fmt, split)
    for salt in range(100):
        val = [r for r in refs if in_holdout(r.clip_id, fraction, salt)]
        if val and val[0].positive and len(val) < len(refs):
            return salt
    raise AssertionError("no usable hold-out")


@pytest.mark.parametrize("name, writer, fmt, split", [("tsd_s0_dad.yaml", write_dad, "dad", "training"),
                                                      ("tsd_s0_ccd.yaml", write_ccd, "ccd", "train")])  # fmt: skip
def test_paper_config_runs_a_few_steps(tmp_path, name, writer, fmt, split):
    root = writer(tmp_path / "data")
    salt = _holdout_salt(root, fmt, split, 0.4)
    overrides = [
        f"data.root={root}", "teacher.checkpoint=null",  # weights-free MobileCLIP2-S0
        f"out_dir={tmp_path / 'run'}", f"cache.dir={tmp_path / 'cache'}",
        "data.window=3", "data.val_fraction=0.4", f"data.seed_split={salt}", "data.max_clips=1",
        "cache.teacher=false",  # the teacher runs on each 3-frame batch (the cache path is tested at small scale)
        "train.batch_size=1", "train.max_steps=2", "train.progress=false", "train.export_onnx=false",
        "train.threads=2", "train.val_every=2",  # one validation, after step 2 (each is a 100-frame clip)
    ]  # fmt: skip
    cfg = load_train_config(CONFIGS / name, overrides)
    assert cfg.student.init_from_teacher and cfg.loss.contrastive.teacher_temperature is None
    assert cfg.data.resize == teacher_crop(cfg.teacher) == "center_crop"  # MobileCLIP's own crop
    trainer = Trainer(cfg)
    assert trainer.student_cfg.name == "tsd-s0" and trainer.student_cfg.image_size == (256, 256)
    assert trainer.student_cfg.teacher_dims == (64, 128, 256) and trainer.student_cfg.embed_dim == 512
    key = "stages.2.blocks.5.mlp.fc1.weight"  # stem + stages 1-3 initialised from MCi0
    assert torch.equal(trainer.model.trunk.state_dict()[key], trainer.teacher.trunk.state_dict()[key])
    assert trainer.loss.text.shape == (112, 512)  # the paper's 112 prompts through the text tower
    assert trainer.loss.teacher_temperature == pytest.approx(1 / trainer.teacher.info.logit_scale)
    assert trainer.online_teacher and not trainer.train_store.has_teacher
    summary = trainer.fit()
    assert summary["steps"] == 2 and summary["best"] is not None
    assert trainer.model.num_params() == pytest.approx(26.8e6, rel=0.01)  # the paper's 26.7M
    assert json.loads((tmp_path / "run/checkpoints/last.json").read_text())["meta"]["step"] == 2
    best = json.loads(trainer.best_stem.with_suffix(".json").read_text())
    assert best["train"]["resize"] == "center_crop"  # what the export writes as aar.preprocess


def test_s2_paper_config_runs_a_few_steps(tmp_path):
    """tsd-s2 from a weights-free MobileCLIP-S2 at 64x64 (tiny, to stay fast): teacher dims from MCi2, stem +
    stages 1-3 initialised from the teacher (``init_from_teacher``), the 112 prompts, two steps."""
    root = write_ccd(tmp_path / "data")
    salt = _holdout_salt(root, "ccd", "train", 0.4)
    overrides = [
        f"data.root={root}", "teacher.checkpoint=null", "teacher.image_size=[64,64]",
        "student.overrides.image_size=[64,64]", "student.overrides.window_size=2",
        f"out_dir={tmp_path / 'run'}", f"cache.dir={tmp_path / 'cache'}",
        "data.window=3", "data.val_fraction=0.4", f"data.seed_split={salt}", "data.max_clips=1",
        "cache.teacher=false", "train.batch_size=1", "train.max_steps=2", "train.progress=false",
        "train.export_onnx=false", "train.threads=2", "train.val_every=2",
    ]  # fmt: skip
    cfg = load_train_config(CONFIGS / "tsd_s2_ccd.yaml", overrides)
    assert cfg.teacher.model == "MobileCLIP-S2" and cfg.student.init_from_teacher
    assert cfg.data.resize == teacher_crop(cfg.teacher) == "center_crop"
    trainer = Trainer(cfg)
    s = trainer.student_cfg
    assert s.name == "tsd-s2" and s.widths == s.teacher_dims == (80, 160, 320) and s.embed_dim == 512
    teacher_trunk = trainer.teacher.trunk.state_dict()
    key = "stages.2.blocks.23.mlp.fc1.weight"
    assert torch.equal(trainer.model.trunk.state_dict()[key], teacher_trunk[key])  # initialised from MCi2
    assert trainer.loss.text.shape == (112, 512)
    summary = trainer.fit()
    assert summary["steps"] == 2 and summary["best"] is not None
