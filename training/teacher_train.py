"""``accident-anticipation train-teacher``: train a small MobileCLIP-architecture teacher CLIP-style.

    accident-anticipation train-teacher --config configs/teacher_synth.yaml

Pairs are (frame, that frame's caption) from the training clips (the clip caption when a dataset has
no per-frame captions). Loss: CLIP's symmetric InfoNCE with a learned temperature; frames whose
captions are identical count as positives of each other. Writes ``<out_dir>/teacher.safetensors`` +
``teacher.json`` (the best epoch on the validation split's loss), TensorBoard logs and ``summary.json``.
With a real MobileCLIP checkpoint this step is skipped (``teacher.source: open_clip``).
"""

from __future__ import annotations

import json
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from accident_anticipation_ros.training.config import RESIZE_MODES, OptimConfig, check_paths
from accident_anticipation_ros.training.errors import TrainingError
from accident_anticipation_ros.training.teacher_clip import TeacherSpec
from accident_anticipation_ros.training.yaml_config import apply_overrides, build, load_yaml, require, to_dict


@dataclass(frozen=True)
class PairData:
    """Which frames become (image, caption) pairs.

    Attributes:
        frames_per_clip: Frames taken from each clip (evenly spread, jittered by the seed).
    """

    root: str
    format: str = "auto"
    train_split: str = "train"
    val_split: str = "val"
    max_clips: int | None = None
    frames_per_clip: int = 8
    resize: str = "letterbox"

    def __post_init__(self) -> None:
        require(self.frames_per_clip >= 1, f"frames_per_clip must be >= 1, got {self.frames_per_clip}")
        require(self.resize in RESIZE_MODES, f"resize must be one of {RESIZE_MODES}, got {self.resize!r}")


@dataclass(frozen=True)
class TeacherLoop:
    epochs: int = 10
    batch_size: int = 64
    seed: int = 0
    threads: int | None = None
    log_every: int = 10
    progress: bool = True

    def __post_init__(self) -> None:
        require(self.epochs >= 1 and self.batch_size >= 2, "epochs must be >= 1 and batch_size >= 2")


@dataclass(frozen=True)
class TeacherTrainConfig:
    data: PairData
    name: str = "teacher"
    out_dir: str | None = None
    spec: TeacherSpec = field(default_factory=TeacherSpec)
    optim: OptimConfig = field(default_factory=lambda: OptimConfig(lr=2e-3, warmup_steps=50))
    train: TeacherLoop = field(default_factory=TeacherLoop)

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) if self.out_dir else Path("runs") / self.name


def load_teacher_config(path: str | Path, overrides: list[str] = ()) -> TeacherTrainConfig:
    source = str(path)
    cfg = build(TeacherTrainConfig, apply_overrides(load_yaml(path), list(overrides), source), source)
    check_paths([("data.root", cfg.data.root, "dir")], source)
    return cfg


@dataclass
class Pairs:
    images: torch.Tensor  # (N, H, W, 3) uint8 at the teacher's input size
    tokens: torch.Tensor  # (N, L) int64
    caption_ids: torch.Tensor  # (N,) equal ids = identical captions


def collect_pairs(cfg: TeacherTrainConfig, split: str, tokenizer, progress: bool = False) -> Pairs:
    """Frames and their captions of ``split`` (``frames_per_clip`` per clip)."""
    from accident_anticipation_ros.training.cache import fit_frames
    from accident_anticipation_ros.training.datasets import list_clips, load_clip

    d = cfg.data
    rng = np.random.default_rng([cfg.train.seed, len(split)])
    refs = list_clips(d.root, d.format, split)[: d.max_clips]
    if progress:
        from tqdm import tqdm

        refs = tqdm(refs, desc=f"pairs {split}", unit="clip")
    images, captions = [], []
    for ref in refs:
        clip = load_clip(ref)
        T = clip.num_frames
        k = min(d.frames_per_clip, T)
        edges = np.linspace(0, T, k + 1)
        idx = np.minimum((edges[:-1] + rng.random(k) * np.diff(edges)).astype(int), T - 1)
        texts = clip.frame_captions if len(clip.frame_captions) == T else [clip.caption] * T
        if not any(texts):
            raise TrainingError(
                f"{ref.source}: clip {clip.clip_id!r} has no caption; CLIP training needs captions"
            )
        images.append(fit_frames(clip.frames[idx], cfg.spec.image.image_size, d.resize, cfg.spec.mean))
        captions += [texts[i] for i in idx]
    if not images:
        raise TrainingError(f"{d.root}: split {split!r} has no clips")
    unique = {c: i for i, c in enumerate(dict.fromkeys(captions))}
    return Pairs(
        torch.from_numpy(np.concatenate(images)),
        tokenizer(captions),
        torch.tensor([unique[c] for c in captions]),
    )


def clip_loss(img: torch.Tensor, txt: torch.Tensor, scale: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
    """Symmetric InfoNCE of normalised ``(B, D)`` embeddings; pairs with equal caption ids are all positives."""
    logits = scale * img @ txt.T  # (B, B)
    same = (ids[:, None] == ids[None, :]).float()
    target = same / same.sum(dim=1, keepdim=True)
    return 0.5 * (
        -(target * F.log_softmax(logits, 1)).sum(1).mean()
        - (target * F.log_softmax(logits.T, 1)).sum(1).mean()
    )


def _batches(n: int, batch_size: int, rng: np.random.Generator) -> list[np.ndarray]:
    order = rng.permutation(n)
    return [
        order[i : i + batch_size] for i in range(0, n - 1, batch_size) if len(order[i : i + batch_size]) > 1
    ]


def train_teacher(cfg: TeacherTrainConfig, progress: bool = True) -> dict:
    """Train and save the teacher; returns the summary."""
    from accident_anticipation_ros.training.cache import to_input
    from accident_anticipation_ros.training.teacher_clip import TeacherCLIP, save_teacher_clip
    from accident_anticipation_ros.training.trainer import WarmupCosine, _param_groups

    t0 = time.time()
    c = cfg.train
    if c.threads:
        torch.set_num_threads(c.threads)
    torch.manual_seed(c.seed)
    random.seed(c.seed)
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False))
    model = TeacherCLIP(cfg.spec)
    tokenizer = model.tokenizer()
    train = collect_pairs(cfg, cfg.data.train_split, tokenizer, progress)
    val = collect_pairs(cfg, cfg.data.val_split, tokenizer, progress)
    opt = torch.optim.AdamW(
        _param_groups([model], cfg.optim.weight_decay), lr=cfg.optim.lr, betas=cfg.optim.betas
    )
    rng = np.random.default_rng(c.seed)
    steps_per_epoch = len(_batches(len(train.images), c.batch_size, rng))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, WarmupCosine(cfg.optim.warmup_steps, c.epochs * steps_per_epoch, cfg.optim.min_lr_ratio)
    )
    from torch.utils.tensorboard import SummaryWriter

    writer = SummaryWriter(str(run_dir / "tb"))
    mean, std = cfg.spec.mean, cfg.spec.std
    bar = None
    if progress and c.progress:
        from tqdm import tqdm

        bar = tqdm(total=c.epochs * steps_per_epoch, desc=cfg.name, unit="step")
    step, best, history = 0, None, []
    for epoch in range(c.epochs):
        model.train()
        for idx in _batches(len(train.images), c.batch_size, rng):
            idx = torch.from_numpy(idx)
            img, txt, scale = model(to_input(train.images[idx], mean, std), train.tokens[idx])
            loss = clip_loss(img, txt, scale, train.caption_ids[idx])
            loss.backward()
            if cfg.optim.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.optim.grad_clip)
            opt.step()
            opt.zero_grad(set_to_none=True)
            sched.step()
            step += 1
            if step % c.log_every == 0 or step == 1:
                writer.add_scalar("loss/train", float(loss.detach()), step)
                writer.add_scalar("logit_scale", float(scale.detach()), step)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(epoch=epoch, loss=f"{float(loss.detach()):.3f}")
        result = evaluate_pairs(model, val, c.batch_size, mean, std)
        result.update(epoch=epoch + 1, step=step, time_s=round(time.time() - t0, 1))
        history.append(result)
        for k in ("loss", "top1_i2t", "top1_t2i"):
            writer.add_scalar(f"val/{k}", result[k], step)
        if best is None or result["loss"] < best["loss"]:
            best = result
            save_teacher_clip(
                model, run_dir / "teacher", extra={"train": {"config": to_dict(cfg), "val": result}}
            )
    if bar is not None:
        bar.close()
    writer.close()
    summary = {"name": cfg.name, "teacher": str(run_dir / "teacher"), "best": best, "history": history,
               "pairs": {"train": len(train.images), "val": len(val.images)}, "steps": step,
               "params": sum(p.numel() for p in model.parameters()),
               "params_image": sum(p.numel() for p in model.visual.parameters()),
               "wall_s": round(time.time() - t0, 1)}  # fmt: skip
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


@torch.no_grad()
def evaluate_pairs(model, pairs: Pairs, batch_size: int, mean, std) -> dict[str, float]:
    """Mean CLIP loss and in-batch top-1 retrieval (image->text, text->image) over fixed batches."""
    from accident_anticipation_ros.training.cache import to_input

    model.eval()
    losses, i2t, t2i, n = [], 0.0, 0.0, 0
    for s in range(0, len(pairs.images) - 1, batch_size):
        sl = slice(s, s + batch_size)
        ids = pairs.caption_ids[sl]
        if len(ids) < 2:
            continue
        img, txt, scale = model(to_input(pairs.images[sl], mean, std), pairs.tokens[sl])
        losses.append(float(clip_loss(img, txt, scale, ids)) * len(ids))
        sim = img @ txt.T
        i2t += float((ids[sim.argmax(1)] == ids).sum())
        t2i += float((ids[sim.argmax(0)] == ids).sum())
        n += len(ids)
    return {"loss": sum(losses) / max(n, 1), "top1_i2t": i2t / max(n, 1), "top1_t2i": t2i / max(n, 1)}
