"""Stream plans of carried-state training, per-frame accident targets, and chunks read from a prepared split."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from accident_anticipation_ros.metrics_map import box_cells
from accident_anticipation_ros.training.chunks import ChunkReader, frame_toa
from accident_anticipation_ros.training.streams import Span, epoch_steps, epoch_streams, plan_epoch

LENGTHS = [16, 9, 16, 30, 16, 5, 16, 12, 16, 20, 7]
ARGS = dict(rows=3, chunk_len=6, burn_in_max=4, stream_clips=(1, 3), seed=5)


def _play(plan):
    """Per row: the list of streams it played, each as ``[(seq, frame, with_grad), ...]``."""
    rows = [[] for _ in plan[0]]
    for step in plan:
        for b, row in enumerate(step):
            if row.reset:
                rows[b].append([])
            assert row.num_frames <= ARGS["chunk_len"]
            assert not row.burn_in or row.reset  # a burn-in only starts a stream
            for spans, grad in ((row.burn_in, False), (row.frames, True)):
                for s in spans:
                    rows[b][-1].extend((s.seq, t, grad) for t in range(s.start, s.stop))
    return [[st for st in r if st] for r in rows]


def test_a_plan_plays_every_frame_once_in_stream_order_with_resets_only_between_streams():
    plan = plan_epoch(LENGTHS, epoch=0, **ARGS)
    played = _play(plan)
    streams = epoch_streams(len(LENGTHS), ARGS["seed"], 0, ARGS["stream_clips"])
    expected = {tuple(s) for s in streams}
    got = set()
    for row in played:
        for stream in row:
            seqs = tuple(dict.fromkeys(seq for seq, _, _ in stream))
            got.add(seqs)
            # the stream's clips back to back, every frame once, the burn-in first and without gradient
            assert [(q, t) for q, t, _ in stream] == [(q, t) for q in seqs for t in range(LENGTHS[q])]
            grads = [g for _, _, g in stream]
            burn = grads.index(True)
            assert burn <= ARGS["burn_in_max"] and all(grads[burn:])
    assert got == expected
    # chunks between resets are full: only a stream's last chunk may be short (padded)
    for step_no, step in enumerate(plan[:-1]):
        for b, row in enumerate(step):
            if row.frames and not plan[step_no + 1][b].reset:
                assert row.num_frames == ARGS["chunk_len"]


def test_plans_are_pure_functions_of_seed_and_epoch_and_balance_the_rows():
    a, b = plan_epoch(LENGTHS, epoch=1, **ARGS), plan_epoch(LENGTHS, epoch=1, **ARGS)
    assert a == b and a != plan_epoch(LENGTHS, epoch=2, **ARGS)
    assert any(r.burn_in for step in a for r in step)  # random burn-ins, some of them non-empty
    work = [sum(step[b].num_frames + sum(s.frames for s in step[b].burn_in) for step in a) for b in range(3)]
    assert sum(work) == sum(LENGTHS)
    assert max(work) - min(work) <= ARGS["stream_clips"][1] * max(LENGTHS)  # about one stream apart
    assert len(plan_epoch(LENGTHS, epoch=1, steps=len(a) + 2, **ARGS)) == len(a) + 2
    with pytest.raises(ValueError, match="needs"):
        plan_epoch(LENGTHS, epoch=1, steps=1, **ARGS)


def test_ranks_share_the_sequences_and_run_the_same_number_of_steps():
    world = 2
    steps = epoch_steps(LENGTHS, ARGS["rows"], ARGS["chunk_len"], ARGS["burn_in_max"], ARGS["stream_clips"],
                        ARGS["seed"], 0, world)  # fmt: skip
    seen = []
    for rank in range(world):
        plan = plan_epoch(LENGTHS, epoch=0, rank=rank, world=world, steps=steps, **ARGS)
        assert len(plan) == steps
        seen.append({q for row in _play(plan) for st in row for q, _, _ in st})
    assert not seen[0] & seen[1] and len(seen[0] | seen[1]) == len(LENGTHS) // world * world


def test_frame_toa_gives_clips_their_exact_toa_and_long_sequences_each_event():
    clip = (np.arange(10) >= 6.4).astype(np.uint8)
    assert frame_toa(clip, 6.4).tolist() == [6.4] * 10
    assert frame_toa(np.zeros(5, np.uint8), -1.0).tolist() == [-1.0] * 5
    drive = np.array([0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 1, 0, 0])
    assert frame_toa(drive).tolist() == [3, 3, 3, 3, 3, 10, 10, 10, 10, 10, 10, -1, -1]
    # with a horizon of 2 frames, the frames long before an event are safe driving
    assert frame_toa(drive, horizon=2).tolist() == [-1, 3, 3, 3, 3, -1, -1, -1, 10, 10, 10, -1, -1]


@pytest.fixture(scope="module")
def store(synth_root, tiny_teacher, tmp_path_factory):
    from accident_anticipation_ros.training.cache import prepare_split
    from accident_anticipation_ros.training.config import TeacherConfig
    from accident_anticipation_ros.training.datasets import iter_clips
    from accident_anticipation_ros.training.teacher import build_teacher, teacher_norm

    cfg = TeacherConfig(source="aar", checkpoint=str(tiny_teacher))
    mean, _ = teacher_norm(cfg)
    return prepare_split(iter_clips(synth_root, split="train"), tmp_path_factory.mktemp("cache") / "train",
                         image_size=(64, 64), resize="letterbox", mean=mean, fingerprint_parts={"t": 1},
                         teacher=build_teacher(cfg))  # fmt: skip


def test_a_chunk_across_a_clip_boundary_lines_frames_teacher_and_targets_up(store):
    from accident_anticipation_ros.training.streams import RowChunk

    e0, e1 = store.entries[0], store.entries[1]
    assert e0.positive and not e1.positive and e0.has_box
    row0 = RowChunk(frames=(Span(0, 12, 16), Span(1, 0, 4)), burn_in=(Span(0, 0, 12),), reset=True)
    row1 = RowChunk(frames=(Span(2, 3, 8),), reset=False)  # a short chunk: padded
    reader = ChunkReader(store, chunk_len=8, teacher=True, grid=(2, 2))
    chunk = reader.read((row0, row1))
    b, tg = chunk.batch, chunk.batch.targets
    assert torch.equal(b.frames[0], torch.cat([store.frames(0, 12, 16), store.frames(1, 0, 4)]))
    stages0, emb0 = store.teacher(0, 12, 16)
    stages1, emb1 = store.teacher(1, 0, 4)
    assert torch.equal(tg.teacher_embedding[0], torch.cat([emb0, emb1]))
    for l in range(3):
        assert torch.equal(tg.teacher_stages[l][0], torch.cat([stages0[l], stages1[l]]))
    assert tg.valid[1].tolist() == [True] * 5 + [False] * 3
    assert torch.equal(b.frames[1, :5], store.frames(2, 3, 8)) and not b.frames[1, 5:].any()
    # per-frame accidents, chunk-relative: clip 0's toa lies at chunk frame toa - 12; clip 1 is safe
    assert tg.positive[0].tolist() == [True] * 4 + [False] * 4
    assert tg.toa[0, :4].tolist() == [e0.toa - 12] * 4 and tg.toa[0, 4:].tolist() == [-1.0] * 4
    assert tg.segment[0].tolist() == [0] * 4 + [1] * 4
    boxes = np.concatenate([store.boxes(0, 12, 16), store.boxes(1, 0, 4)])
    assert torch.equal(tg.box_cells[0], torch.from_numpy(box_cells(boxes, (2, 2), (64, 64))))
    assert tg.has_box[0].all() and tg.box_cells[0].any(dim=(1, 2)).all()
    assert chunk.reset.tolist() == [True, False]
    assert torch.equal(chunk.burn_in[0], store.frames(0, 0, 12)) and chunk.burn_in[1] is None
    with pytest.raises(ValueError, match="more than chunk_len"):
        ChunkReader(store, chunk_len=4).read((row0,))


def test_the_cache_stores_labels_and_key_boxes_in_input_pixels(store, synth_root):
    from accident_anticipation_ros.metrics_map import box_to_input
    from accident_anticipation_ros.training.datasets import iter_clips
    from accident_anticipation_ros.training.datasets.synthetic import key_boxes

    clip = next(iter_clips(synth_root, split="train"))
    assert store.labels(0).tolist() == clip.labels.tolist()
    want = box_to_input(key_boxes(clip), clip.frames.shape[1:3], (64, 64), "letterbox")
    assert np.array_equal(store.boxes(0), want, equal_nan=True)


def test_the_cache_keeps_event_frames_and_chunks_mark_the_near_miss_frames(store, synth_root):
    from accident_anticipation_ros.training.cache import event_masks
    from accident_anticipation_ros.training.datasets import iter_clips
    from accident_anticipation_ros.training.streams import RowChunk

    clips = list(iter_clips(synth_root, split="train"))
    for clip, e in zip(clips, store.entries, strict=True):
        assert (e.event_frame, e.critical_frame) == (clip.meta["event_frame"], clip.meta["critical_frame"])
    assert store.has_events
    e1 = store.entries[1]  # a negative: its frames from the manoeuvre's onset to the reference frame
    marked, early = event_masks(e1)
    t = np.arange(e1.num_frames)
    assert marked.tolist() == ((t >= e1.event_frame) & (t <= e1.critical_frame)).tolist() and marked.any()
    assert not early.any()  # a negative has no frames before an accident's onset
    assert not event_masks(store.entries[0])[0].any()  # a positive has none
    row = RowChunk(frames=(Span(0, 8, 16), Span(1, 0, 8)), reset=True)
    tg = ChunkReader(store, chunk_len=16).read((row,)).batch.targets
    assert tg.near_miss[0].tolist() == [False] * 8 + marked[:8].tolist()


def test_chunks_mark_an_accident_s_frames_before_its_onset(store):
    from accident_anticipation_ros.training.cache import event_masks
    from accident_anticipation_ros.training.streams import RowChunk

    e0, e1 = store.entries[:2]  # an accident, a hard negative
    early = event_masks(e0)[1]
    t = np.arange(e0.num_frames)
    assert early.tolist() == (t < e0.event_frame).tolist() and early.any() and not early.all()
    assert not event_masks(e1)[1].any()  # a negative has none
    row = RowChunk(frames=(Span(1, 0, 8), Span(0, 8, 16)), reset=True)
    tg = ChunkReader(store, chunk_len=16).read((row,)).batch.targets
    assert tg.before_onset[0].tolist() == [False] * 8 + early[8:16].tolist()
