"""Tiny clips for the bag tests (3 clips x 8 frames x 32x32) and a writer of recorded output bags."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.clip import Clip


def _frames(seed: int, t: int = 8, h: int = 32, w: int = 32) -> np.ndarray:
    """Smooth moving gradients plus a little noise: JPEG keeps them close, rgb8 must keep them exact."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    frames = []
    for i in range(t):
        r = 128 + 100 * np.sin((x + 2 * i + seed) / 7)
        g = 128 + 100 * np.cos((y - i) / 5)
        b = 64 + 2 * x + 2 * y
        img = np.stack([r, g, b], axis=-1) + rng.normal(0, 2, (h, w, 3))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)  # (T, H, W, 3)


def make_clip(clip_id: str, toa: float, fps: float, seed: int, t: int = 8, scenario: str = "") -> Clip:
    labels = (np.arange(t) >= toa).astype(np.uint8) if toa >= 0 else np.zeros(t, np.uint8)
    meta = {"scenario": scenario} if scenario else {}
    return Clip(clip_id, _frames(seed, t), labels, toa, fps, caption=f"caption of {clip_id}", meta=meta)


@pytest.fixture
def tiny_clips() -> list[Clip]:
    """A positive clip (integer toa), a negative one, a positive one with fractional toa and odd fps."""
    return [
        make_clip("pos_0000", 5.0, 10.0, seed=1, scenario="cut_in"),
        make_clip("neg_0001", -1.0, 20.0, seed=2),
        make_clip("pos_0002", 3.25, 29.97, seed=3),
    ]


def copy_bag(
    src,
    dst,
    *,
    keep=lambda topic, index: True,
    drop_topics=(),
    version: int = 9,
    storage: str = "mcap",
    extra=(),
):
    """Copy bag ``src`` to ``dst`` message by message, keeping the ``index``-th message of a topic if ``keep``.

    ``drop_topics``: topics not copied at all.
    ``extra``: ``(topic, msgtype, typestore, [(recv_ns, message), ...])`` streams to add.
    """
    from rosbags.rosbag2 import Reader, StoragePlugin, Writer

    plugin = StoragePlugin.MCAP if storage == "mcap" else StoragePlugin.SQLITE3
    with Reader(src) as reader, Writer(dst, version=version, storage_plugin=plugin) as writer:
        conns, counts, rows = {}, {}, []
        for c in reader.connections:
            if c.topic in drop_topics:
                continue
            conns[c.id] = writer.add_connection(
                c.topic,
                c.msgtype,
                msgdef=c.msgdef.data,
                rihs01=c.digest,
                offered_qos_profiles=c.ext.offered_qos_profiles,
            )
        for c, t, raw in reader.messages():
            i = counts[c.topic] = counts.get(c.topic, -1) + 1
            if c.id in conns and keep(c.topic, i):
                rows.append((t, conns[c.id], bytes(raw)))
        for topic, msgtype, store, messages in extra:
            conn = writer.add_connection(topic, msgtype, typestore=store)
            rows += [(t, conn, bytes(store.serialize_cdr(m, msgtype))) for t, m in messages]
        for t, conn, raw in sorted(rows, key=lambda r: r[0]):
            writer.write(conn, t, raw)


@pytest.fixture
def bag_copier():
    return copy_bag


@pytest.fixture
def clip_factory():
    """``make_clip(clip_id, toa, fps, seed, t=8)``: a clip of smooth moving gradients."""
    return make_clip
