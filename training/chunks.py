"""Batches of stream chunks (``streams.RowChunk`` per row) read from a prepared split.

Each frame of a chunk carries its own targets: the accident of the sequence it comes from
(:func:`frame_toa`, chunk-relative), that sequence's fps, a segment id (the sequence index: temporal
pairs across a scene cut are skipped), the colliding object's cells; teacher features are read from
the same ``(sequence, frames)`` spans as the frames, so they line up across clip boundaries.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from accident_anticipation_ros.metrics_map import box_cells
from accident_anticipation_ros.training.cache import ClipStore, event_masks
from accident_anticipation_ros.training.data import Batch
from accident_anticipation_ros.training.losses import Targets
from accident_anticipation_ros.training.streams import RowChunk


def frame_toa(labels: np.ndarray, toa: float = -1.0, horizon: float | None = None) -> np.ndarray:
    """Per frame of a sequence: the frame index of the accident it leads up to or belongs to, else -1.

    Accidents are the onsets of runs of 1 in ``labels``. A frame before an onset belongs to that
    accident (within ``horizon`` frames of it, when given); a frame inside a run to the run's onset. The
    onset that ``toa`` rounds up to takes its exact (fractional) value, so a clip gets exactly its toa.

    Args:
        labels: ``(T,)`` per-frame labels.
        toa: The sequence's annotated accident frame (``< 0``: none).
        horizon: Frames before an accident that still count as leading up to it; None: all.
    """
    lab = np.asarray(labels).astype(bool)
    T = len(lab)
    out = np.full(T, -1.0)
    start = 0
    t = 0
    while t < T:
        if not lab[t]:
            t += 1
            continue
        onset = float(toa) if (toa >= 0 and t - 1 < toa <= t) else float(t)
        end = t
        while end < T and lab[end]:
            end += 1
        lo = start if horizon is None else max(start, math.ceil(onset - horizon))
        out[lo:end] = onset
        start = t = end
    return out


@dataclass(frozen=True)
class Chunk:
    """One step of carried-state training.

    Attributes:
        batch: Frames ``(B, chunk_len, H, W, 3)`` and per-frame targets.
        reset: ``(B,)`` bool, rows whose state is zeroed before this step.
        burn_in: Per row the ``(n, H, W, 3)`` uint8 frames run without gradient after the reset
            (None: none).
    """

    batch: Batch
    reset: torch.Tensor
    burn_in: tuple[torch.Tensor | None, ...]


class ChunkReader:
    """Reads :class:`Chunk` batches of a prepared split (per-sequence accident frames are cached).

    Args:
        store: The prepared training split.
        chunk_len: Frames per row.
        teacher: Read teacher targets.
        grid: Risk-map ``(h, w)`` to build box cells for (None: no box targets).
        horizon_s: ``StatefulConfig.label_horizon_s``.
    """

    def __init__(
        self,
        store: ClipStore,
        chunk_len: int,
        teacher: bool = False,
        grid: tuple[int, int] | None = None,
        horizon_s: float | None = None,
    ) -> None:
        self.store, self.chunk_len, self.teacher, self.grid = store, chunk_len, teacher, grid
        self.horizon_s = horizon_s
        self._toa: dict[int, np.ndarray] = {}

    def sequence_toa(self, i: int) -> np.ndarray:
        """:func:`frame_toa` of sequence ``i`` (sequence-relative frame indices)."""
        if i not in self._toa:
            e = self.store.entries[i]
            horizon = None if self.horizon_s is None else self.horizon_s * e.fps
            self._toa[i] = frame_toa(self.store.labels(i), e.toa, horizon)
        return self._toa[i]

    def burn_in(self, row: RowChunk) -> torch.Tensor | None:
        if not row.burn_in:
            return None
        if not row.reset:
            raise ValueError("a burn-in must follow a reset (it starts a stream)")
        return torch.cat([self.store.frames(s.seq, s.start, s.stop) for s in row.burn_in])

    def read(self, step: tuple[RowChunk, ...]) -> Chunk:
        """The chunk of one step of the plan (``streams.plan_epoch``)."""
        store, T, B = self.store, self.chunk_len, len(step)
        H, W = store.image_size
        frames = torch.zeros(B, T, H, W, 3, dtype=torch.uint8)
        valid = torch.zeros(B, T, dtype=torch.bool)
        positive = torch.zeros(B, T, dtype=torch.bool)
        toa = torch.full((B, T), -1.0)
        fps = torch.ones(B, T)
        segment = torch.full((B, T), -1, dtype=torch.int64)
        cells = torch.zeros(B, T, *self.grid, dtype=torch.bool) if self.grid else None
        has_box = torch.zeros(B, T, dtype=torch.bool) if self.grid else None
        near_miss = torch.zeros(B, T, dtype=torch.bool) if store.has_events else None
        before_onset = torch.zeros(B, T, dtype=torch.bool) if store.has_events else None
        stages: list[torch.Tensor] | None = None
        embedding: torch.Tensor | None = None
        for b, row in enumerate(step):
            if row.num_frames > T:
                raise ValueError(f"row {b} has {row.num_frames} frames, more than chunk_len {T}")
            p = 0
            for s in row.frames:
                q = p + s.frames
                e = store.entries[s.seq]
                frames[b, p:q] = store.frames(s.seq, s.start, s.stop)
                valid[b, p:q] = True
                ft = torch.from_numpy(self.sequence_toa(s.seq)[s.start : s.stop]).float()
                positive[b, p:q] = ft >= 0
                toa[b, p:q] = torch.where(ft >= 0, ft - s.start + p, torch.full_like(ft, -1.0))
                fps[b, p:q] = e.fps
                segment[b, p:q] = s.seq
                if near_miss is not None:
                    marks = event_masks(e, s.start, s.stop)
                    near_miss[b, p:q], before_onset[b, p:q] = (torch.from_numpy(m) for m in marks)
                if self.grid:
                    boxes = store.boxes(s.seq, s.start, s.stop)
                    cells[b, p:q] = torch.from_numpy(box_cells(boxes, self.grid, (H, W)))
                    has_box[b, p:q] = torch.from_numpy(~np.isnan(boxes[:, 0]))
                if self.teacher:
                    st, emb = store.teacher(s.seq, s.start, s.stop)
                    if stages is None:
                        stages = [x.new_zeros((B, T, *x.shape[1:])) for x in st]
                        embedding = emb.new_zeros((B, T, *emb.shape[1:]))
                    for l, x in enumerate(st):
                        stages[l][b, p:q] = x
                    embedding[b, p:q] = emb
                p = q
        if self.teacher and stages is None:
            raise ValueError("a chunk with teacher targets needs at least one frame")
        targets = Targets(valid, positive, toa, fps, None if stages is None else tuple(stages), embedding,
                          segment, cells, has_box, near_miss, before_onset)  # fmt: skip
        first = tuple(r.frames[0] if r.frames else None for r in step)
        batch = Batch(frames, targets, tuple(-1 if s is None else s.seq for s in first),
                      tuple(0 if s is None else s.start for s in first))  # fmt: skip
        reset = torch.tensor([r.reset for r in step], dtype=torch.bool)
        return Chunk(batch, reset, tuple(self.burn_in(r) for r in step))
