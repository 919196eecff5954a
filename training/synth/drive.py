"""Continuous synthetic drives: minutes of one dashcam stream with accidents and near misses.

``generate_drive`` plans one world at a time (``drive_world``), draws its frames (``drive_render``)
and streams them to disk piece by piece (``drive_storage``), so memory stays flat in the drive's
length. Accidents and near misses are the clip benchmark's scenarios at random times, each with its
exact toa (the frame at which the ego touches the key actor) and its cause; between them the ego
drives on safely. After an accident the next frame starts a new world (``after_accident="cut"``) or
the drive ends (``"end"``). A pure function of ``(cfg, seed)``.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.synth.captions import clip_caption, condition
from accident_anticipation_ros.training.synth.drive_config import DRIVE_VERSION, DriveConfig
from accident_anticipation_ros.training.synth.drive_events import PlannedEvent
from accident_anticipation_ros.training.synth.drive_render import DriveRenderer
from accident_anticipation_ros.training.synth.drive_storage import (
    DRIVE_INDEX,
    SPLIT,
    piece_id,
    write_frames,
    write_index,
)
from accident_anticipation_ros.training.synth.drive_world import DriveWorld, plan_world
from accident_anticipation_ros.training.synth.storage import write_clip


@dataclass(frozen=True)
class DriveSummary:
    """What ``generate_drive`` wrote."""

    root: Path
    num_frames: int
    fps: float
    worlds: int
    accidents: int
    near_misses: int
    pieces: int

    @property
    def seconds(self) -> float:
        return self.num_frames / self.fps


def piece_bounds(events: list[PlannedEvent], n: int, max_len: int) -> list[tuple[int, int, int | None]]:
    """Pieces of a world of ``n`` frames: ``(first, end, event index or None)``, ``end`` exclusive.

    A piece ends with each event's window; safe driving before it is split into pieces of at most
    ``max_len`` frames, so a piece with an event is at most ``max_len`` plus one window long.
    """
    out: list[tuple[int, int, int | None]] = []
    lo = 0
    for e, ev in enumerate(events):
        while ev.start - lo > max_len:
            out.append((lo, lo + max_len, None))
            lo += max_len
        out.append((lo, ev.end + 1, e))
        lo = ev.end + 1
    while lo < n:
        out.append((lo, min(n, lo + max_len), None))
        lo = min(n, lo + max_len)
    return out


def _event_record(dw: DriveWorld, e: int, event_id: int, first: int, piece: str) -> dict:
    ev, sc = dw.events[e], dw.events[e].scenario
    return {
        "id": event_id,
        "world": dw.index,
        "kind": "accident" if ev.positive else "near_miss",
        "scenario": sc.name,
        "variant": sc.variant,
        "window": [first + ev.start, first + ev.end],
        "toa": first + ev.ref if ev.positive else None,
        "critical_frame": first + ev.ref,
        "event_frame": round(first + ev.event_frame, 3),
        "key_actor": {
            "id": dw.key_id(e),
            "kind": sc.look.kind,
            "type": sc.look.vtype or sc.look.kind,
            "colour": sc.look.colour_name,
            "noun": sc.look.noun(),
        },
        "side": {-1: "left", 0: "front", 1: "right"}[sc.side],
        "min_gap": round(float(sc.min_gap), 3),
        "piece": piece,
    }


class _Columns:
    """The per-frame columns of ``frames.npz``, filled world by world."""

    def __init__(self, n: int):
        self.data = {
            "stamp": np.zeros(n, np.float64),
            "world": np.zeros(n, np.int32),
            "cut": np.zeros(n, np.uint8),
            "piece": np.zeros(n, np.int32),
            "event": np.full(n, -1, np.int32),
            "event_offset": np.zeros(n, np.int32),
            "label": np.zeros(n, np.uint8),
            "key_event": np.full(n, -1, np.int32),
            "key_box": np.full((n, 4), -1, np.int32),
            "ego_speed": np.zeros(n, np.float32),
        }

    def trimmed(self, n: int) -> dict[str, np.ndarray]:
        return {name: col[:n] for name, col in self.data.items()}


def generate_drive(cfg: DriveConfig, seed: int, out: str | Path, *, overwrite: bool = False,
                   progress: Callable[[int], None] | None = None) -> DriveSummary:  # fmt: skip
    """Render a continuous drive into the folder ``out`` (layout: ``drive_storage``).

    Args:
        cfg: Drive configuration (preset, frame format, duration, event mix).
        seed: Drive seed.
        out: Output folder; created if missing.
        overwrite: Replace an existing drive in ``out``.
        progress: Called with the number of frames after each piece is written.

    Returns:
        A summary of what was written.

    Raises:
        FileExistsError: ``out`` holds a drive already and ``overwrite`` is False.
        RuntimeError: Not even one event fits (or a world cannot be planned without stray contacts).
    """
    root = Path(out)
    if (root / DRIVE_INDEX).exists() and not overwrite:
        raise FileExistsError(f"{root / DRIVE_INDEX} exists (pass overwrite=True to replace it)")
    if (root / SPLIT).is_dir():
        shutil.rmtree(root / SPLIT)
    budget = cfg.frames(cfg.duration)
    max_piece = cfg.frames(cfg.piece_seconds)
    cols = _Columns(budget)
    worlds, events, pieces = [], [], []
    frame0 = 0
    while frame0 < budget:
        dw = plan_world(cfg, seed, len(worlds), budget - frame0)
        if dw is None and not worlds:
            raise RuntimeError(f"seed {seed}: no event fits in the drive's {cfg.duration} s")
        if dw is None:
            break
        _render_world(cfg, seed, dw, root, frame0, events, pieces, cols, max_piece, progress)
        worlds.append(_world_record(dw, frame0))
        frame0 += dw.num_frames
        if not dw.ends_in_accident or cfg.after_accident == "end":
            break
    write_frames(root, cols.trimmed(frame0))
    index = {
        "generator": DRIVE_VERSION,
        "config": dataclasses.asdict(cfg),
        "seed": int(seed),
        "fps": cfg.fps,
        "width": cfg.width,
        "height": cfg.height,
        "num_frames": frame0,
        "frame_columns": "frames.npz",
        "worlds": worlds,
        "events": events,
        "pieces": pieces,
    }
    write_index(root, index)
    accidents = sum(e["kind"] == "accident" for e in events)
    return DriveSummary(root, frame0, cfg.fps, len(worlds), accidents, len(events) - accidents, len(pieces))


def _world_record(dw: DriveWorld, first: int) -> dict:
    return {
        "index": dw.index,
        "attempt": dw.attempt,
        "first_frame": first,
        "num_frames": dw.num_frames,
        "lighting": dw.lighting,
        "weather": dw.weather,
        "road": dw.world.layout.road,
        "ends": "accident" if dw.ends_in_accident else "end",
    }


def _render_world(cfg: DriveConfig, seed: int, dw: DriveWorld, root: Path, first: int, events: list, pieces: list,
                  cols: _Columns, max_piece: int, progress) -> None:  # fmt: skip
    """Draw one world's frames, write its pieces and fill its rows of the frame columns."""
    w = dw.world
    renderer = DriveRenderer(w, dw.crash, dw.lighting, dw.weather, cfg.width, cfg.height, cfg.fps, dw.rng,
                             dw.junctions, dw.focus)  # fmt: skip
    first_event = len(events)
    d = cols.data
    rows = slice(first, first + dw.num_frames)
    d["stamp"][rows] = np.arange(first, first + dw.num_frames) / cfg.fps
    d["world"][rows] = dw.index
    d["cut"][first] = int(dw.index > 0)
    d["ego_speed"][rows] = w.ego_v
    for e, ev in enumerate(dw.events):
        win = slice(first + ev.start, first + ev.end + 1)
        d["event"][win] = first_event + e
        d["event_offset"][win] = np.arange(ev.start, ev.end + 1) - ev.ref
        if ev.positive:
            d["label"][first + ev.ref : first + dw.num_frames] = 1
    key_ids = {dw.key_id(e): first_event + e for e in range(len(dw.events))}
    for lo, hi, e in piece_bounds(dw.events, dw.num_frames, max_piece):
        cid = piece_id(len(pieces))
        frames = np.empty((hi - lo, cfg.height, cfg.width, 3), np.uint8)
        objects = []
        for k in range(lo, hi):
            frames[k - lo], objs = renderer.frame(k)
            objects.append([o.as_dict() for o in objs])
            for o in objs:
                if o.key:
                    d["key_event"][first + k] = key_ids[o.id]
                    d["key_box"][first + k] = o.box
        d["piece"][first + lo : first + hi] = len(pieces)
        ev = dw.events[e] if e is not None else None
        if e is not None:
            events.append(_event_record(dw, e, first_event + e, first, cid))
        toa = float(ev.ref - lo) if ev is not None and ev.positive else -1.0
        labels = (np.arange(hi - lo) >= toa).astype(np.uint8) if toa >= 0 else np.zeros(hi - lo, np.uint8)
        meta = {
            "generator": DRIVE_VERSION,
            "seed": [int(seed), SPLIT, len(pieces)],
            "world": dw.index,
            "first_frame": first + lo,
            "cut_before": lo == 0 and dw.index > 0,
            "event": None if e is None else first_event + e,
            "lighting": dw.lighting,
            "weather": dw.weather,
            "road": w.layout.road,
            "ego_speed_kmh": [round(float(v) * 3.6, 1) for v in w.ego_v[lo:hi]],
            "objects": objects,
        }
        if ev is not None:
            sc = ev.scenario
            meta.update(scenario=sc.name, variant=sc.variant, critical_frame=float(ev.ref - lo),
                        event_frame=round(ev.event_frame - lo, 3))  # fmt: skip
            caption = clip_caption(sc, dw.lighting, dw.weather)
        else:
            caption = f"{condition(dw.lighting, dw.weather)}: the ego car drives on a {w.layout.road} road"
        clip = Clip(cid, frames, labels, toa, cfg.fps, caption=caption, meta=meta)
        write_clip(root, SPLIT, clip)
        pieces.append({"clip_id": cid, "first_frame": first + lo, "num_frames": hi - lo, "world": dw.index,
                       "event": None if e is None else first_event + e, "toa": toa})  # fmt: skip
        if progress is not None:
            progress(first + hi)
