"""Batches of clip windows from a prepared split, in an order that is a pure function of (seed, epoch).

Nothing here keeps state between batches: a resumed run rebuilds the same epoch plan and skips the
batches it already did, so resuming is exact. Under DDP each rank takes every ``world``-th clip of
the epoch's permutation (the tail is dropped so that all ranks run the same number of steps).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from accident_anticipation_ros.metrics_map import box_cells
from accident_anticipation_ros.training.augment import augment_boxes, augment_frames, sample_clip_augment
from accident_anticipation_ros.training.cache import ClipStore, event_masks
from accident_anticipation_ros.training.config import AugmentConfig
from accident_anticipation_ros.training.losses import Targets


@dataclass(frozen=True)
class Batch:
    """A training batch on the CPU; frames stay uint8 until the device normalises them."""

    frames: torch.Tensor  # (B, T, H, W, 3) uint8
    targets: Targets
    clips: tuple[int, ...]  # indices into the store
    starts: tuple[int, ...]  # first frame of each window

    def to(self, device: torch.device) -> Batch:
        frames = self.frames.to(device, non_blocking=True)
        return Batch(frames, self.targets.to(device), self.clips, self.starts)


def epoch_batches(
    n: int, batch_size: int, seed: int, epoch: int, rank: int = 0, world: int = 1
) -> list[list[int]]:
    """This rank's batches of clip indices for ``epoch`` (a permutation seeded by ``(seed, epoch)``)."""
    if n < world:
        raise ValueError(f"{n} training clips cannot be shared by {world} processes")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    mine = order[rank::world][: n // world]
    return [mine[i : i + batch_size].tolist() for i in range(0, len(mine), batch_size)]


def window_starts(
    store: ClipStore, clips: list[int], window: int | None, rng: np.random.Generator
) -> list[tuple[int, int]]:
    """``(start, stop)`` of a random ``window``-frame window of each clip (whole clips for None)."""
    spans = []
    for i in clips:
        T = store.entries[i].num_frames
        if window is None or window >= T:
            spans.append((0, T))
        else:
            start = int(rng.integers(0, T - window + 1))
            spans.append((start, start + window))
    return spans


def load_batch(
    store: ClipStore,
    clips: list[int],
    *,
    window: int | None,
    seed: int,
    epoch: int,
    batch_no: int,
    rank: int = 0,
    teacher: bool = False,
    grid: tuple[int, int] | None = None,
    augment: AugmentConfig | None = None,
) -> Batch:
    """Read clip windows (padded to the longest, ``valid`` marks real frames) and their targets.

    With ``grid`` (the risk map's ``(h, w)``) the targets hold the cells the key object's box covers.
    With an enabled ``augment`` each window is augmented alike over its frames (boxes too), from a
    generator of its own, so the windows drawn do not depend on it.
    """
    rng = np.random.default_rng([seed, epoch, batch_no, rank, 1])
    spans = window_starts(store, clips, window, rng)
    aug_rng = np.random.default_rng([seed, epoch, batch_no, rank, 2]) if augment and augment.enabled else None
    T = max(stop - start for start, stop in spans)
    B = len(clips)
    H, W = store.image_size
    frames = torch.zeros(B, T, H, W, 3, dtype=torch.uint8)
    valid = torch.zeros(B, T, dtype=torch.bool)
    toa = torch.full((B,), -1.0)
    positive = torch.zeros(B, dtype=torch.bool)
    fps = torch.zeros(B)
    stages: list[list[torch.Tensor]] | None = [[], [], []] if teacher else None
    embeds: list[torch.Tensor] = []
    cells = torch.zeros(B, T, *grid, dtype=torch.bool) if grid else None
    has_box = torch.zeros(B, T, dtype=torch.bool) if grid else None
    near_miss = torch.zeros(B, T, dtype=torch.bool) if store.has_events else None
    before_onset = torch.zeros(B, T, dtype=torch.bool) if store.has_events else None
    for b, (i, (start, stop)) in enumerate(zip(clips, spans, strict=True)):
        e = store.entries[i]
        t = stop - start
        aug = sample_clip_augment(augment, (H, W), aug_rng) if aug_rng is not None else None
        clip = store.frames(i, start, stop)
        frames[b, :t] = augment_frames(clip, aug) if aug else clip
        valid[b, :t] = True
        positive[b] = e.positive
        toa[b] = e.toa - start if e.positive else -1.0
        fps[b] = e.fps
        if near_miss is not None:
            marks = event_masks(e, start, stop)
            near_miss[b, :t], before_onset[b, :t] = (torch.from_numpy(m) for m in marks)
        if grid:
            boxes = store.boxes(i, start, stop)
            if aug:
                boxes = augment_boxes(boxes, aug, (H, W))
            cells[b, :t] = torch.from_numpy(box_cells(boxes, grid, (H, W)))
            has_box[b, :t] = torch.from_numpy(~np.isnan(boxes[:, 0]))
        if teacher:
            st, emb = store.teacher(i, start, stop)
            for l in range(3):
                stages[l].append(_pad(st[l], T))
            embeds.append(_pad(emb, T))
    teacher_stages = tuple(torch.stack(s) for s in stages) if teacher else None
    teacher_embedding = torch.stack(embeds) if teacher else None
    targets = Targets(
        valid, positive, toa, fps, teacher_stages, teacher_embedding, None, cells, has_box,
        near_miss=near_miss, before_onset=before_onset,
    )  # fmt: skip
    return Batch(frames, targets, tuple(clips), tuple(s for s, _ in spans))


def _pad(x: torch.Tensor, T: int) -> torch.Tensor:
    if x.shape[0] == T:
        return x
    return torch.cat([x, x.new_zeros((T - x.shape[0], *x.shape[1:]))])
