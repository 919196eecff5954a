"""Carried-state training of one rank: the epoch plans, the chunks and the state carried between them.

The trainer asks :class:`StreamTraining` for the step's :class:`~.chunks.Chunk` and for the state
to start it from (:meth:`StreamTraining.state_in`: the carried state, zeroed on the rows whose stream
starts here, which then play their burn-in frames without gradient), runs the chunk with gradient
from that state and hands the final state back (:meth:`StreamTraining.carry_out`, detached).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch
import torch.nn as nn

from accident_anticipation_ros.training import carry as C
from accident_anticipation_ros.training.cache import ClipStore
from accident_anticipation_ros.training.chunks import Chunk, ChunkReader
from accident_anticipation_ros.training.config import StatefulConfig
from accident_anticipation_ros.training.streams import RowChunk, epoch_steps, plan_epoch


class StreamTraining:
    """Plans, chunks and the carried state of carried-state training (one rank).

    Args:
        cfg: ``train.stateful``.
        store: The prepared training split (its clips are the sequences chained into streams).
        rows: Batch rows.
        seed, rank, world: Of the run (the plan is a pure function of them and the epoch).
        teacher: Chunks carry teacher targets.
        grid: Risk-map ``(h, w)`` for box targets (None: none).
    """

    def __init__(self, cfg: StatefulConfig, store: ClipStore, rows: int, seed: int, rank: int = 0,
                 world: int = 1, teacher: bool = False, grid: tuple[int, int] | None = None) -> None:  # fmt: skip
        self.cfg, self.rows, self.seed, self.rank, self.world = cfg, rows, seed, rank, world
        self.lengths = [e.num_frames for e in store.entries]
        self.reader = ChunkReader(store, cfg.chunk_len, teacher, grid, cfg.label_horizon_s)
        self.carry: C.State | None = None
        self._steps: dict[int, int] = {}
        self._plan: tuple[int, list[tuple[RowChunk, ...]]] | None = None

    def _args(self) -> tuple:
        c = self.cfg
        return self.lengths, self.rows, c.chunk_len, c.burn_in_max, tuple(c.stream_clips), self.seed

    def steps(self, epoch: int) -> int:
        """Optimiser steps of ``epoch`` (equal on every rank)."""
        if epoch not in self._steps:
            self._steps[epoch] = epoch_steps(*self._args(), epoch, self.world)
        return self._steps[epoch]

    def plan(self, epoch: int) -> list[tuple[RowChunk, ...]]:
        """This rank's steps of ``epoch`` (``streams.plan_epoch``)."""
        if self._plan is None or self._plan[0] != epoch:
            plan = plan_epoch(*self._args(), epoch, self.rank, self.world, steps=self.steps(epoch))
            self._plan = (epoch, plan)
        return self._plan[1]

    def chunk(self, epoch: int, step: int) -> Chunk:
        return self.reader.read(self.plan(epoch)[step])

    def state_in(
        self,
        model: nn.Module,
        chunk: Chunk,
        prepare: Callable[[torch.Tensor], torch.Tensor],
        autocast: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext,
    ) -> C.State:
        """The state the chunk starts from: the carried one, reset where a stream starts, then the
        burn-in frames of those rows played without gradient (grouped by their length).

        Args:
            model: The student (its mode is kept: train-mode normalisation, no WKV mask).
            chunk: This step's chunk.
            prepare: uint8 ``(B, T, H, W, 3)`` on the CPU -> the model's input on its device.
            autocast: Context of the training forward.
        """
        device = next(model.parameters()).device
        state = self.carry if self.carry is not None else model.init_state(self.rows, device)
        state = C.reset_rows(state, chunk.reset)
        groups: dict[int, list[int]] = {}
        for b, frames in enumerate(chunk.burn_in):
            if frames is not None:
                groups.setdefault(len(frames), []).append(b)
        for _, rows in sorted(groups.items()):
            frames = prepare(torch.stack([chunk.burn_in[b] for b in rows]))
            with torch.no_grad(), autocast():
                _, sub = model.forward_clip(frames)
            state = C.set_rows(state, rows, C.detach(sub))
        return state

    def carry_out(self, state: C.State) -> None:
        """Keep the chunk's final state for the next chunk (detached)."""
        self.carry = C.detach(state)

    def carry_tensors(self) -> dict[str, torch.Tensor]:
        """The carried state as flat CPU tensors (empty before the first step)."""
        return {} if self.carry is None else C.to_tensors(self.carry)

    def load_carry(self, tensors: dict[str, torch.Tensor], model: nn.Module) -> None:
        """Restore :meth:`carry_tensors` (nothing saved: no carry yet)."""
        device = next(model.parameters()).device
        self.carry = C.from_tensors(tensors, model.init_state(self.rows, device), device) if tensors else None
