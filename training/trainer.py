"""The TSD trainer: one :class:`TrainConfig` -> a run directory.

``run_dir/``: ``config.yaml`` (resolved), ``tb/`` (TensorBoard), ``checkpoints/last.{safetensors,json}``
(resumable: model, loss weights, optimizer, scheduler, scaler, RNG states, counters),
``best/<student>.{safetensors,json}`` (chosen on the validation split) and ``best/<student>.onnx``,
``metrics.jsonl`` (validation per epoch) and ``summary.json``. The test split is never read here.

Resume is exact: the data order and windows are pure functions of (seed, epoch, batch), masks come
from the saved torch RNG, and the LR schedule depends on the config's epochs only (not ``max_steps``).
With ``train.stateful`` the batches are consecutive chunks of streams of chained clips and the
recurrent state is carried from step to step (``stateful.py``); the carried states are saved with
the training state (``carry.rank<r>.*``), so resume stays exact.
DDP: launched by ``torchrun``; gloo on the CPU, NCCL on CUDA; AMP (bf16/fp16) on CUDA only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import random
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn as nn
import yaml

from accident_anticipation_ros.model.config import StudentConfig, get_config
from accident_anticipation_ros.model.errors import ConfigError
from accident_anticipation_ros.training import distributed as D
from accident_anticipation_ros.training.cache import ClipStore, prepare_split, to_input
from accident_anticipation_ros.training.checkpoint import save_student
from accident_anticipation_ros.training.config import TrainConfig
from accident_anticipation_ros.training.data import Batch, epoch_batches, load_batch
from accident_anticipation_ros.training.errors import ResumeError, TrainConfigError, TrainingError
from accident_anticipation_ros.training.gru_student import build_student
from accident_anticipation_ros.training.losses import Targets, TSDLoss
from accident_anticipation_ros.training.predict import clip_metrics, clip_scores
from accident_anticipation_ros.training.prompts import expand_prompts
from accident_anticipation_ros.training.state_io import load_state, load_tensors, save_state
from accident_anticipation_ros.training.stateful import StreamTraining
from accident_anticipation_ros.training.teacher import (
    TeacherInfo,
    build_teacher,
    normalize,
    resize,
    teacher_norm,
)
from accident_anticipation_ros.training.yaml_config import to_dict

LAST = "checkpoints/last"


def in_holdout(clip_id: str, fraction: float, salt: int = 0) -> bool:
    """Whether a clip belongs to a validation hold-out of ``fraction`` (stable: a hash of its id)."""
    digest = hashlib.sha256(f"{salt}/{clip_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


def resolve_device(kind: str) -> torch.device:
    if kind == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if kind == "cuda" and not torch.cuda.is_available():
        raise TrainConfigError("train.device is 'cuda' but CUDA is not available")
    return torch.device(kind)


def amp_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast dtype: None on the CPU or with ``off``; ``auto`` picks bf16 where supported, else fp16."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return {"bf16": torch.bfloat16, "fp16": torch.float16}[amp]


def student_config(cfg: TrainConfig, teacher: TeacherInfo | None) -> StudentConfig:
    """The named student config with the YAML overrides and the teacher's dims filled in."""
    overrides = dict(cfg.student.overrides)
    if teacher is not None:
        forced = {"teacher_dims": tuple(teacher.stage_dims), "teacher_embed_dim": teacher.embed_dim}
        if cfg.loss.contrastive.enabled:
            forced["embed_dim"] = teacher.embed_dim
        for key, value in forced.items():
            given = overrides.get(key)
            if given is not None and (tuple(given) if isinstance(given, list) else given) != value:
                raise TrainConfigError(
                    f"student.overrides.{key} = {given} does not match the teacher ({teacher.name}: {value}); remove it"
                )
            overrides[key] = value
    try:
        return get_config(cfg.student.config, **overrides)
    except ConfigError as err:
        raise TrainConfigError(f"student: {err}") from None


class WarmupCosine:
    """LR factor: linear warm-up over ``warmup`` steps, then cosine from 1 to ``floor`` at ``total``."""

    def __init__(self, warmup: int, total: int, floor: float) -> None:
        self.warmup, self.total, self.floor = warmup, max(total, 1), floor

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return (step + 1) / self.warmup
        progress = min(1.0, (step - self.warmup) / max(1, self.total - self.warmup))
        return self.floor + (1 - self.floor) * 0.5 * (1 + math.cos(math.pi * progress))


class TrainModule(nn.Module):
    """Student + loss in one module, so DDP also averages the learned loss weights' gradients."""

    def __init__(self, model: nn.Module, loss: TSDLoss) -> None:
        super().__init__()
        self.model, self.loss = model, loss

    def forward(self, frames: torch.Tensor, targets: Targets, mask: torch.Tensor | None, state=None):
        """``(total, parts, final state)``; ``state`` is the state before the first frame (None: fresh)."""
        out, state = self.model.forward_clip(frames, state, mask=mask)
        total, parts = self.loss(out, targets)
        return total, parts, state


def _param_groups(modules: list[nn.Module], weight_decay: float) -> list[dict[str, Any]]:
    decay, plain = [], []
    for module in modules:
        for p in module.parameters():
            if p.requires_grad:
                (decay if p.ndim >= 2 else plain).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


class Trainer:
    """Builds everything from the config (teacher, cache, student, losses, optimiser) and trains.

    Args:
        cfg: The run's config.
        resume: Continue from ``run_dir/checkpoints/last`` (exact).
    """

    def __init__(self, cfg: TrainConfig, resume: bool = False) -> None:
        self.cfg = cfg
        self.t0 = time.time()
        device = resolve_device(cfg.train.device)
        self.dist = D.init_distributed(device.type)
        self.device = (
            torch.device(f"cuda:{self.dist.local_rank}")
            if device.type == "cuda" and self.dist.enabled
            else device
        )
        if cfg.train.threads:
            torch.set_num_threads(cfg.train.threads)
        self.run_dir = cfg.run_dir
        self.main = self.dist.main
        self.amp = amp_dtype(cfg.train.amp, self.device)
        seed = cfg.train.seed
        torch.manual_seed(seed + self.dist.rank)
        np.random.seed(seed + self.dist.rank)
        random.seed(seed + self.dist.rank)
        self._prepare_run_dir(resume)

        self.mean, self.std = teacher_norm(cfg.teacher)
        self.teacher = build_teacher(cfg.teacher, self.device) if cfg.loss.distills else None
        info = self.teacher.info if self.teacher is not None else None
        self.online_teacher = self.teacher is not None and not cfg.cache.teacher
        self.student_cfg = student_config(cfg, info)
        torch.manual_seed(seed)  # identical initial weights on every rank
        self.model = build_student(cfg.student.arch, self.student_cfg).to(self.device)
        if cfg.student.init_from_teacher:
            self._init_from_teacher()

        self.train_store, self.val_store = self._stores()
        self.fps = self.train_store.entries[0].fps
        text = self._prompt_embeddings() if cfg.loss.contrastive.enabled else None
        self.loss = TSDLoss(cfg.loss, text, info.logit_scale if info is not None else None).to(self.device)
        self.module = TrainModule(self.model, self.loss)
        self.optimizer = torch.optim.AdamW(
            _param_groups([self.model, self.loss], cfg.optim.weight_decay),
            lr=cfg.optim.lr,
            betas=cfg.optim.betas,
        )
        self.map_grid = self.student_cfg.grid if cfg.loss.risk_map.enabled else None
        self.streams = None
        if cfg.train.stateful.enabled:
            self.streams = StreamTraining(
                cfg.train.stateful, self.train_store, cfg.train.batch_size, seed, self.dist.rank,
                self.dist.world, teacher=self.teacher is not None and not self.online_teacher, grid=self.map_grid,
            )  # fmt: skip
        self.total_steps = sum(self.epoch_len(e) for e in range(cfg.train.epochs))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, WarmupCosine(cfg.optim.warmup_steps, self.total_steps, cfg.optim.min_lr_ratio)
        )
        self.scaler = torch.amp.GradScaler("cuda") if self.amp == torch.float16 else None
        self.ddp = None
        if self.dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            ids = [self.device.index] if self.device.type == "cuda" else None
            self.ddp = DistributedDataParallel(self.module, device_ids=ids, find_unused_parameters=True)

        self.step = self.epoch = self.batch_in_epoch = 0
        self.best: dict[str, Any] | None = None
        if resume:
            self._resume()
        self.writer = None
        if self.main:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(self.run_dir / "tb"), purge_step=self.step if resume else None)

    # ----------------------------------------------------------------------------------- set-up
    def _prepare_run_dir(self, resume: bool) -> None:
        last = self.run_dir / f"{LAST}.json"
        if resume and not last.is_file():
            raise ResumeError(f"{last}: no checkpoint to resume from in {self.run_dir}")
        if not resume and last.is_file():
            raise TrainingError(
                f"{self.run_dir} already holds a run ({last}); resume it with --resume {self.run_dir} or set out_dir"
            )
        if self.main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            if not resume:
                (self.run_dir / "config.yaml").write_text(yaml.safe_dump(to_dict(self.cfg), sort_keys=False))
        D.barrier(self.dist)

    def _init_from_teacher(self) -> None:
        from accident_anticipation_ros.model.backbone import load_mci_trunk

        if self.teacher is None:
            raise TrainConfigError("student.init_from_teacher needs a teacher (enable a distillation loss)")
        try:
            load_mci_trunk(self.model, self.teacher.trunk.state_dict())
        except Exception as err:  # noqa: BLE001 - CheckpointError lists the mismatches
            raise TrainConfigError(f"student.init_from_teacher: {err}") from None

    def _clips(self, split: str):
        """Decoded clips of ``split`` (val carved out of train when ``data.val_fraction`` is set; the
        training split followed by ``data.extra_train``)."""
        from accident_anticipation_ros.training.datasets import list_clips, load_clip

        d = self.cfg.data
        source = d.train_split if (d.val_fraction and split == d.val_split) else split
        refs = list_clips(d.root, d.format, source)
        if d.val_fraction:
            want_val = split == d.val_split
            refs = [r for r in refs if in_holdout(r.clip_id, d.val_fraction, d.seed_split) == want_val]
        yield from (load_clip(r) for r in refs[: d.max_clips])
        if split != d.train_split:
            return
        for i, extra in enumerate(d.extra_train):
            for ref in list_clips(extra.root, extra.format, extra.split):
                clip = load_clip(ref)
                yield replace(clip, clip_id=f"x{i}:{clip.clip_id}")

    def _stores(self) -> tuple[ClipStore, ClipStore]:
        cfg, c = self.cfg, self.cfg.cache
        stored_teacher = self.teacher if (self.teacher is not None and c.teacher) else None
        stores = {}
        for split, teacher in ((cfg.data.train_split, stored_teacher), (cfg.data.val_split, None)):
            parts = {"root": str(Path(cfg.data.root).resolve()), "format": cfg.data.format, "split": split,
                     "max_clips": cfg.data.max_clips, "val_fraction": cfg.data.val_fraction,
                     "seed_split": cfg.data.seed_split}  # fmt: skip
            if split == cfg.data.train_split and cfg.data.extra_train:
                parts["extra_train"] = [
                    [str(Path(x.root).resolve()), x.split, x.format] for x in cfg.data.extra_train
                ]
            folder = self.run_dir / "cache" / split if c.dir is None else Path(c.dir) / split
            kwargs = dict(
                image_size=self.student_cfg.image_size, resize=cfg.data.resize, mean=self.mean,
                fingerprint_parts=parts, teacher=teacher, stage_pool=c.stage_pool, dtype=c.dtype,
                shard_mb=c.shard_mb, teacher_batch=cfg.teacher.batch_size,
            )  # fmt: skip
            if self.main:
                stores[split] = prepare_split(
                    self._clips(split), folder, progress=cfg.train.progress, **kwargs
                )
            D.barrier(self.dist)
            if not self.main:
                stores[split] = ClipStore(folder)  # rank 0 prepared it
        train, val = stores[cfg.data.train_split], stores[cfg.data.val_split]
        if not any(e.positive for e in val.entries):
            raise TrainingError(
                f"validation split {cfg.data.val_split!r} has no accident clip; AP is undefined"
            )
        return train, val

    def _prompt_embeddings(self) -> torch.Tensor:
        if self.teacher is None or not self.teacher.info.has_text:
            raise TrainConfigError(
                "loss.contrastive needs a teacher with a text tower (teacher.source open_clip or aar)"
            )
        prompts = expand_prompts(self.cfg.loss.contrastive)
        text = self.teacher.encode_text(prompts)
        if self.main:
            (self.run_dir / "prompts.json").write_text(json.dumps(prompts, indent=1) + "\n")
        return text

    def _resume(self) -> None:
        meta = load_state(
            self.run_dir / LAST,
            model=self.model,
            loss=self.loss,
            optimizer=self.optimizer,
            scheduler=self.scheduler,
            scaler=self.scaler,
            restore_rng=True,
        )
        if meta.get("world", 1) != self.dist.world:
            raise ResumeError(
                f"{self.run_dir / LAST}.json: saved with {meta.get('world')} processes, resumed with {self.dist.world}"
            )
        self.step, self.epoch, self.batch_in_epoch = meta["step"], meta["epoch"], meta["batch_in_epoch"]
        self.best = meta.get("best")
        if self.streams is not None:
            try:
                self.streams.load_carry(
                    load_tensors(self.run_dir / LAST, f"carry.rank{self.dist.rank}."), self.model
                )
            except ValueError as err:
                raise ResumeError(f"{self.run_dir / LAST}: {err}") from None

    # ------------------------------------------------------------------------------- training
    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast("cuda", dtype=self.amp)

    @torch.no_grad()
    def _online_targets(self, batch: Batch) -> Targets:
        """Teacher outputs computed now (``cache.teacher: false``)."""
        info = self.teacher.info
        B, T = batch.frames.shape[:2]
        x = batch.frames.flatten(0, 1).movedim(-1, 1).contiguous().float().div_(255.0)  # (BT, 3, H, W)
        out = self.teacher.encode_frames(normalize(resize(x, info.image_size), info.mean, info.std))
        stages = tuple(s.unflatten(0, (B, T)) for s in out.stages)
        return replace(
            batch.targets, teacher_stages=stages, teacher_embedding=out.embedding.unflatten(0, (B, T))
        )

    def mask_ratio(self) -> float:
        m = self.cfg.loss.mask
        return m.ratio if (m.epochs is None or self.epoch < m.epochs) else 0.0

    def _mask(self, B: int, T: int) -> torch.Tensor | None:
        """Masked-memory mask of this step, drawn from a generator seeded by (seed, step, rank)."""
        ratio = self.mask_ratio()
        if ratio <= 0:
            return None
        seed = (self.cfg.train.seed * 1_000_003 + self.step * 1009 + self.dist.rank) % (1 << 62)
        g = torch.Generator(device=self.device).manual_seed(seed)
        return self.model.sample_mask(B, T, ratio, generator=g)

    def train_step(self, batch: Batch) -> dict[str, float]:
        """One optimiser step on clip windows from a fresh state; returns the loss parts (this rank's)."""
        return self._optimize(batch, None)[0]

    def _prepare(self, frames: torch.Tensor) -> torch.Tensor:
        """uint8 ``(..., H, W, 3)`` -> normalised model input on the device."""
        return to_input(frames.to(self.device), self.mean, self.std)

    def stream_step(self, chunk) -> dict[str, float]:
        """One optimiser step of carried-state training: the chunk from the carried state (reset and
        burnt in where a stream starts); the final state is carried to the next step."""
        state = self.streams.state_in(self.model, chunk, self._prepare, self._autocast)
        parts, state = self._optimize(chunk.batch, state)
        self.streams.carry_out(state)
        return parts

    def _optimize(self, batch: Batch, state) -> tuple[dict[str, float], Any]:
        batch = batch.to(self.device)
        targets = self._online_targets(batch) if self.online_teacher else batch.targets
        frames = to_input(batch.frames, self.mean, self.std)  # (B, T, 3, H, W)
        module = self.ddp or self.module
        with self._autocast():
            total, parts, state = module(frames, targets, self._mask(frames.shape[0], frames.shape[1]), state)
        if self.scaler is not None:
            self.scaler.scale(total).backward()
            self.scaler.unscale_(self.optimizer)
        else:
            total.backward()
        if self.cfg.optim.grad_clip:
            nn.utils.clip_grad_norm_(self.module.parameters(), self.cfg.optim.grad_clip)
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return {"total": float(total.detach()), **{k: float(v) for k, v in parts.items()}}, state

    def _load(self, clips: list[int], batch_no: int) -> Batch:
        c = self.cfg
        return load_batch(
            self.train_store, clips, window=c.data.window, seed=c.train.seed, epoch=self.epoch,
            batch_no=batch_no, rank=self.dist.rank, teacher=self.teacher is not None and not self.online_teacher,
            grid=self.map_grid, augment=c.data.augment,
        )  # fmt: skip

    def _epoch_batches(self, epoch: int) -> list[list[int]]:
        c = self.cfg.train
        return epoch_batches(
            len(self.train_store), c.batch_size, c.seed, epoch, self.dist.rank, self.dist.world
        )

    def epoch_len(self, epoch: int) -> int:
        """Optimiser steps of ``epoch`` (the same on every rank)."""
        if self.streams is not None:
            return self.streams.steps(epoch)
        return len(self._epoch_batches(epoch))

    def run_batch(self, bi: int) -> dict[str, float]:
        """Train on batch ``bi`` of the current epoch; returns the loss parts."""
        if self.streams is not None:
            return self.stream_step(self.streams.chunk(self.epoch, bi))
        return self.train_step(self._load(self._epoch_batches(self.epoch)[bi], bi))

    def fit(self) -> dict[str, Any]:
        """Train until ``train.epochs`` (or ``train.max_steps``); validate, keep the best, export it."""
        c = self.cfg.train
        max_steps = c.max_steps or self.total_steps
        self.model.train()
        bar = None
        if self.main and c.progress:
            from tqdm import tqdm

            bar = tqdm(
                total=min(max_steps, self.total_steps), initial=self.step, desc=self.cfg.name, unit="step"
            )
        try:
            while self.epoch < c.epochs and self.step < max_steps:
                n = self.epoch_len(self.epoch)
                for bi in range(self.batch_in_epoch, n):
                    parts = self.run_batch(bi)
                    self.step, self.batch_in_epoch = self.step + 1, bi + 1
                    if self.step % c.log_every == 0 or self.step == 1:
                        self._log_train(D.all_reduce_mean(self.dist, parts))
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(epoch=self.epoch, loss=f"{parts['total']:.4f}")
                    if c.ckpt_every and self.step % c.ckpt_every == 0:
                        self.save_last()
                    if self.step >= max_steps:
                        break
                if self.batch_in_epoch >= n:
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                    if self.epoch % c.val_every == 0 or self.epoch == c.epochs:
                        self.validate()
                    self.save_last()
            if self.best is None:  # stopped before any validation (smoke runs): validate once
                self.validate()
            self.save_last()
        finally:
            if bar is not None:
                bar.close()
        summary = self._finish()
        return summary

    # ----------------------------------------------------------------------------- validation
    def validate(self) -> dict[str, float] | None:
        """Metrics on the validation split (rank 0); saves ``best/`` when the selected metric improves."""
        result = None
        if self.main:
            self.model.eval()
            scores = [clip_scores(self.model, self.val_store.frames(i), self.mean, self.std, self.device)
                      for i in range(len(self.val_store))]  # fmt: skip
            self.model.train()
            e = self.val_store.entries
            result = clip_metrics(scores, [x.toa for x in e], [x.fps for x in e])
            value = result[self.cfg.train.select]
            record = {
                "epoch": self.epoch,
                "step": self.step,
                "time_s": round(time.time() - self.t0, 1),
                **result,
            }
            with open(self.run_dir / "metrics.jsonl", "a") as f:
                f.write(json.dumps(record) + "\n")
            for k, v in result.items():
                self.writer.add_scalar(f"val/{k}", v, self.step)
            if self.best is None or value > self.best["value"]:
                self.best = {"value": value, "metric": self.cfg.train.select, **record}
                self._save_best()
        self.best = D.broadcast_object(self.dist, self.best)
        D.barrier(self.dist)
        return result

    @property
    def best_stem(self) -> Path:
        return self.run_dir / "best" / self.student_cfg.name

    def _meta(self) -> dict[str, Any]:
        loss = self.cfg.loss
        return {
            "fps": float(self.fps),
            # a map loss ran (the export's aar.risk_map_trained: the node draws the heat map only then)
            "risk_map_trained": bool(loss.risk_map.enabled or loss.risk_map_mil.enabled),
            "mean": [float(m) for m in self.mean],
            "std": [float(s) for s in self.std],
            "train": {
                "run": self.cfg.name,
                "arch": self.cfg.student.arch,
                "resize": self.cfg.data.resize,
                "teacher": self.teacher.info.name if self.teacher is not None else None,
                "teacher_temperature": self.loss.teacher_temperature,  # of the contrastive targets
                "stateful": self.streams is not None,
                "epoch": self.epoch,
                "step": self.step,
                "val": {k: v for k, v in (self.best or {}).items() if k not in ("epoch", "step")},
            },
        }

    def _save_best(self) -> None:
        save_student(self.model, self.best_stem, self._meta())

    def save_last(self) -> None:
        carries = D.all_gather_object(self.dist, self.streams.carry_tensors()) if self.streams else []
        if not self.main:
            D.barrier(self.dist)
            return
        extra = {f"carry.rank{r}.{k}": v for r, c in enumerate(carries) for k, v in c.items()}
        meta = {"step": self.step, "epoch": self.epoch, "batch_in_epoch": self.batch_in_epoch, "best": self.best,
                "world": self.dist.world, "name": self.cfg.name}  # fmt: skip
        save_state(self.run_dir / LAST, model=self.model, loss=self.loss, optimizer=self.optimizer,
                   scheduler=self.scheduler, scaler=self.scaler, meta=meta, extra=extra)  # fmt: skip
        D.barrier(self.dist)

    def _log_train(self, parts: dict[str, float]) -> None:
        if self.writer is None:
            return
        for k, v in parts.items():
            self.writer.add_scalar(f"loss/{k}", v, self.step)
        self.writer.add_scalar("lr", self.scheduler.get_last_lr()[0], self.step)
        if self.loss.uncertainty is not None:
            for name, s in zip(
                self.loss.uncertainty.names, self.loss.uncertainty.log_vars.tolist(), strict=True
            ):
                self.writer.add_scalar(f"log_var/{name}", s, self.step)

    def _finish(self) -> dict[str, Any]:
        summary: dict[str, Any] = {}
        if self.main:
            onnx_path = None
            if self.cfg.train.export_onnx and self.cfg.student.arch == "tsd":
                from accident_anticipation_ros.model.export import export_onnx

                report = export_onnx(self.best_stem, self.best_stem.with_suffix(".onnx"))
                onnx_path = str(report.path)
            summary = {
                "name": self.cfg.name,
                "best": self.best,
                "checkpoint": str(self.best_stem),
                "onnx": onnx_path,
                "steps": self.step,
                "epochs": self.epoch,
                "params": self.model.num_params(deploy=True),
                "params_train": self.model.num_params(),
                "wall_s": round(time.time() - self.t0, 1),
                "world": self.dist.world,
            }
            (self.run_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
            if self.writer is not None:
                self.writer.close()
        D.barrier(self.dist)
        D.cleanup(self.dist)
        return summary
