"""Streams for carried-state training: sequences chained back to back, played in consecutive chunks.

A *sequence* is any run of frames with per-frame labels (a clip, a continuous drive). Each epoch the
sequences are shuffled (seeded by ``(seed, epoch)``, shared out over DDP ranks as in
``data.epoch_batches``) and cut into *streams* of ``stream_clips`` consecutive sequences; the streams
are shared out over the batch rows, longest first to the least loaded row (the rows end within
about the shortest stream of each other), and each row plays its streams in a random order, one
after the other, in chunks of ``chunk_len`` frames:

- the first chunk of a stream resets the row's state and is preceded by ``0 .. burn_in_max`` frames
  of the stream that only build the state (no loss, no gradient);
- every later chunk continues the state of the one before (carried, detached);
- the last chunk of a stream may be short (the batch pads it); a row with no stream left idles.

The plan is a pure function of its arguments, so a resumed run rebuilds it and continues at its
batch; only the carried states need saving.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Span:
    """Frames ``[start, stop)`` of sequence ``seq``."""

    seq: int
    start: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.start


@dataclass(frozen=True)
class RowChunk:
    """What one batch row plays in one step.

    Attributes:
        frames: The chunk's frames (with loss and gradient), in stream order; empty for an idle row.
        burn_in: Frames played before ``frames`` without gradient (only at a stream's start).
        reset: Zero the row's state first: a new stream starts (True for idle rows too).
    """

    frames: tuple[Span, ...]
    burn_in: tuple[Span, ...] = ()
    reset: bool = True

    @property
    def num_frames(self) -> int:
        return sum(s.frames for s in self.frames)


IDLE = RowChunk(frames=())


def epoch_streams(
    n: int, seed: int, epoch: int, stream_clips: tuple[int, int], rank: int = 0, world: int = 1
) -> list[list[int]]:
    """This rank's streams of ``epoch``: its share of a permutation of the ``n`` sequences, cut into
    runs of ``stream_clips = (min, max)`` sequences (uniform; the last run may be shorter)."""
    if n < world:
        raise ValueError(f"{n} training sequences cannot be shared by {world} processes")
    order = np.random.default_rng([seed, epoch]).permutation(n)
    mine = order[rank::world][: n // world].tolist()
    rng = np.random.default_rng([seed, epoch, rank, 2])
    lo, hi = stream_clips
    streams, at = [], 0
    while at < len(mine):
        k = int(rng.integers(lo, hi + 1))
        streams.append(mine[at : at + k])
        at += k
    return streams


def _spans(seqs: list[int], lengths: Sequence[int], a: int, b: int) -> tuple[Span, ...]:
    """The spans of stream frames ``[a, b)`` of a stream that chains ``seqs``."""
    out, offset = [], 0
    for s in seqs:
        n = int(lengths[s])
        lo, hi = max(a, offset), min(b, offset + n)
        if lo < hi:
            out.append(Span(s, lo - offset, hi - offset))
        offset += n
    return tuple(out)


def stream_chunks(seqs: list[int], lengths: Sequence[int], chunk_len: int, burn_in: int) -> list[RowChunk]:
    """The chunks of one stream: ``burn_in`` frames without gradient, then ``chunk_len`` at a time."""
    total = sum(int(lengths[s]) for s in seqs)
    burn_in = min(burn_in, total - 1)  # at least one frame with a loss
    chunks = []
    for a in range(burn_in, total, chunk_len):
        first = a == burn_in
        chunks.append(
            RowChunk(
                frames=_spans(seqs, lengths, a, min(a + chunk_len, total)),
                burn_in=_spans(seqs, lengths, 0, burn_in) if first else (),
                reset=first,
            )
        )
    return chunks


def plan_epoch(
    lengths: Sequence[int],
    rows: int,
    chunk_len: int,
    burn_in_max: int,
    stream_clips: tuple[int, int],
    seed: int,
    epoch: int,
    rank: int = 0,
    world: int = 1,
    steps: int | None = None,
) -> list[tuple[RowChunk, ...]]:
    """This rank's steps of ``epoch``: per step one :class:`RowChunk` per batch row.

    Args:
        lengths: Frame count of every sequence.
        rows: Batch rows (the batch size).
        chunk_len, burn_in_max, stream_clips: As in ``StatefulConfig``.
        seed, epoch, rank, world: What the plan is a pure function of.
        steps: Pad with idle steps to this many (DDP: every rank runs :func:`epoch_steps` steps).
    """
    rng = np.random.default_rng([seed, epoch, rank, 3])
    streams = [
        stream_chunks(seqs, lengths, chunk_len, int(rng.integers(0, burn_in_max + 1)))
        for seqs in epoch_streams(len(lengths), seed, epoch, stream_clips, rank, world)
    ]
    # Longest first to the least loaded row (balanced rows: little idling), then each row's streams
    # in a random order (so a stream's length says nothing about when in the epoch it plays).
    loads, owned = [0] * rows, [[] for _ in range(rows)]
    for k in sorted(range(len(streams)), key=lambda k: -len(streams[k])):
        row = int(np.argmin(loads))
        owned[row].append(k)
        loads[row] += len(streams[k])
    schedule = [[c for k in rng.permutation(mine).tolist() for c in streams[k]] for mine in owned]
    n = max(len(s) for s in schedule)
    if steps is not None:
        if steps < n:
            raise ValueError(f"epoch {epoch} of rank {rank} needs {n} steps, more than {steps}")
        n = steps
    return [tuple(s[k] if k < len(s) else IDLE for s in schedule) for k in range(n)]


def epoch_steps(
    lengths: Sequence[int],
    rows: int,
    chunk_len: int,
    burn_in_max: int,
    stream_clips: tuple[int, int],
    seed: int,
    epoch: int,
    world: int = 1,
) -> int:
    """Steps of ``epoch`` on every rank: the most any rank's plan needs."""
    return max(
        len(plan_epoch(lengths, rows, chunk_len, burn_in_max, stream_clips, seed, epoch, r, world))
        for r in range(world)
    )
