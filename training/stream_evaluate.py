"""Streaming evaluation through the runtime's own ``StreamSession`` (ONNX Runtime, as the node runs it).

    report = evaluate_drive_stream("models/tsd-nano.onnx", "runs/drives/ccd-30min")
    report = evaluate_drive_stream(StudentBackend(checkpoint), "runs/drives/ccd-30min")  # any student
    report = evaluate_clips_stream("models/tsd-nano.onnx", "runs/data/synth-ccd-128", split="test")

One session (one recurrent state) runs over the whole stream with the node's default settings
(``NodeParams()``: reset rules, smoothing, alert hysteresis, the model's own preprocessing); nothing resets it except
those rules. Stamps are ``k / fps`` (a drive's own stamps; clips are chained back to back with one
period between them, as ``bag-from-clips --continuous`` lays them out). Each window of
``stream_metrics.event_windows`` is also run from a fresh state (a second session over the same
backend, its first frame the window's first), which gives the per-clip numbers of the same clips.
``repeat=3`` feeds every frame three times at three times the rate (a 30 fps camera showing a
10 fps scene); the result of each frame's last copy stands for the frame.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from accident_anticipation_ros.stream_metrics import (
    ACCIDENT,
    DEFAULT_LEADS,
    SAFE,
    StreamEvent,
    StreamTruth,
    Window,
    WindowSpec,
    alerts_per_hour,
    event_windows,
    last_second_frames,
    lead_shares,
    stream_window_metrics,
    window_metrics,
)
from accident_anticipation_ros.stream_report import format_report  # noqa: F401  (re-exported)


@dataclass
class StreamOutputs:
    """Per-frame outputs of one stream (what the node publishes), ``(N,)`` each."""

    probability: np.ndarray
    probability_smoothed: np.ndarray
    alert: np.ndarray
    state_reset: np.ndarray
    top_cell: np.ndarray  # flat argmax index of the risk map
    fresh: dict[int, np.ndarray] = field(
        default_factory=dict
    )  # window index -> probabilities from zero state
    steps: int = 0


def _session(backend, align: bool):
    from accident_anticipation_ros.parameters import NodeParams
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor
    from accident_anticipation_ros.runtime.session import SessionConfig, StreamSession

    params = NodeParams()
    config = params.session_config()
    if align and "align_to_model_fps" in {f.name for f in fields(SessionConfig)}:
        from dataclasses import replace

        config = replace(config, align_to_model_fps=True)
    return StreamSession(backend, config, Preprocessor(backend.info, mode=params.preprocess_mode))


def alignment_available() -> bool:
    """Whether the session can align a stream to the model's frame rate (``align_to_model_fps``)."""
    from accident_anticipation_ros.runtime.session import SessionConfig

    return "align_to_model_fps" in {f.name for f in fields(SessionConfig)}


def run_stream(backend, frames: Iterable[np.ndarray], n: int, fps: float, windows: tuple[Window, ...] = (),
               repeat: int = 1, align: bool = True) -> StreamOutputs:  # fmt: skip
    """Run ``n`` frames through one session (and each window through a fresh one).

    Args:
        backend: A loaded runtime backend (shared by the sessions).
        frames: ``(H, W, 3) uint8`` frames in stream order.
        n: Number of frames.
        fps: Frame rate of ``frames``; frame ``k`` has the stamp ``k / fps``.
        windows: Windows to run from a fresh state as well (only with ``repeat == 1``).
        repeat: Feed each frame this many times at ``repeat * fps``.
        align: Turn the session's frame-rate alignment on where it exists.
    """
    out = StreamOutputs(np.zeros(n), np.zeros(n), np.zeros(n, bool), np.zeros(n, bool), np.zeros(n, np.int32))
    stream = _session(backend, align)
    starts: dict[int, list[int]] = {}
    for i, w in enumerate(windows if repeat == 1 else ()):
        starts.setdefault(w.start, []).append(i)
    active: dict[int, tuple] = {}  # window index -> (session, scores)
    k = -1
    for k, rgb in enumerate(frames):
        for j in range(repeat):
            r = stream.step(rgb, (k * repeat + j) / (fps * repeat), "rgb8")
            out.steps += 1
            out.state_reset[k] |= r.state_reset
        out.probability[k], out.probability_smoothed[k], out.alert[k] = (
            r.probability,
            r.probability_smoothed,
            r.alert,
        )
        out.top_cell[k] = int(np.argmax(r.risk_map))
        for i in starts.get(k, ()):
            active[i] = (_session(backend, align), [])
        for i in list(active):
            session, scores = active[i]
            scores.append(session.step(rgb, k / fps, "rgb8").probability)
            if k + 1 == windows[i].end:
                out.fresh[i] = np.asarray(scores)
                del active[i]
    if k + 1 != n:
        raise ValueError(f"expected {n} frames, got {k + 1}")
    return out


def map_cell_of_point(info, src_h: int, src_w: int, mode: str):
    """``f(y, x) -> (row, col)``: the risk-map cell of a source-image point (None outside the input)."""
    from accident_anticipation_ros.runtime.preprocessing import resize_plan

    plan = resize_plan(src_h, src_w, info.input_height, info.input_width, mode)
    (st, sl, sh, sw), (ct, cl, ch, cw) = plan.crop, plan.content
    mh, mw = info.risk_map_shape

    def cell(y: float, x: float):
        iy, ix = ct + (y - st) * ch / sh, cl + (x - sl) * cw / sw
        if not (0 <= iy < info.input_height and 0 <= ix < info.input_width):
            return None
        return int(iy * mh // info.input_height), int(ix * mw // info.input_width)

    return cell


def risk_map_truth(outputs: StreamOutputs, truth: StreamTruth, key_box: np.ndarray, cell_of_point,
                   map_shape: tuple[int, int]) -> dict[str, float]:  # fmt: skip
    """Top-cell accuracy on the colliding road user in the last second before each toa."""
    frames = [k for k in last_second_frames(truth, 1.0) if key_box[k][0] >= 0]
    hits = 0
    for k in frames:
        x0, y0, x1, y1 = key_box[k]
        cell = cell_of_point((y0 + y1) / 2.0, (x0 + x1) / 2.0)
        hits += cell is not None and cell[0] * map_shape[1] + cell[1] == outputs.top_cell[k]
    cells = map_shape[0] * map_shape[1]
    return {"frames": len(frames), "top_cell_accuracy": hits / len(frames) if frames else math.nan,
            "chance": 1.0 / cells, "cells": cells}  # fmt: skip


def stream_report(outputs: StreamOutputs, truth: StreamTruth, windows, leads=DEFAULT_LEADS,
                  horizon: float = 5.0) -> dict:  # fmt: skip
    """The streaming numbers of one run: window metrics (stream and fresh), alerts per hour, lead shares."""
    win = windows.windows
    report = {
        "frames": truth.num_frames,
        "seconds": truth.num_frames / truth.fps,
        "steps": outputs.steps,
        "resets": int(outputs.state_reset.sum()),
        "accidents": len(truth.accidents),
        "windows": {k: windows.count(k) for k in (ACCIDENT, "near_miss", SAFE)},
        "windows_skipped": windows.skipped,
        "stream": stream_window_metrics(outputs.probability, win, truth.fps),
        "alerts": alerts_per_hour(outputs.alert, truth, win),
        "lead_share": {str(k): v for k, v in lead_shares(outputs.alert, truth, leads, horizon).items()},
        "horizon_s": horizon,
    }
    if len(outputs.fresh) == len(win):
        report["fresh"] = window_metrics([outputs.fresh[i] for i in range(len(win))], win, truth.fps)
    return report


def drive_truth(root: Path):
    """A drive folder's record, its per-frame columns and its ground truth (``stream_metrics.StreamTruth``)."""
    from accident_anticipation_ros.stream_metrics import truth_from_drive
    from accident_anticipation_ros.training.synth.drive_storage import read_drive, read_frames

    record, cols = read_drive(root), read_frames(root)
    return record, cols, truth_from_drive(record, cols)


def _frames(clips) -> Iterator[np.ndarray]:
    for clip in clips:
        yield from clip.frames


def run_drive(backend, root: str | Path, spec: WindowSpec | None = None, *, repeat: int = 1,
              fresh: bool = True) -> StreamOutputs:  # fmt: skip
    """The per-frame outputs of ``backend`` over a drive folder (one session; each window fresh too)."""
    from accident_anticipation_ros.training.synth.drive_storage import iter_drive_clips

    root = Path(root)
    _, _, truth = drive_truth(root)
    windows = event_windows(truth, spec).windows if fresh else ()
    return run_stream(backend, _frames(iter_drive_clips(root)), truth.num_frames, truth.fps, windows,
                      repeat=repeat)  # fmt: skip


def drive_report(outputs: StreamOutputs, root: str | Path, info, spec: WindowSpec | None = None,
                 repeat: int = 1) -> dict:  # fmt: skip
    """The streaming report of :func:`run_drive`'s outputs (``info``: the backend's ``ModelInfo``)."""
    record, cols, truth = drive_truth(Path(root))
    report = stream_report(outputs, truth, event_windows(truth, spec))
    cell = map_cell_of_point(info, record["height"], record["width"], info.preprocess)
    report["map_truth"] = risk_map_truth(outputs, truth, cols["key_box"], cell, info.risk_map_shape)
    report["repeat"] = repeat
    return report


def _as_backend(model, threads: int):
    """``model`` if it is a loaded runtime ``Backend``, else the ONNX file run by ONNX Runtime."""
    from accident_anticipation_ros.runtime.backend import Backend
    from accident_anticipation_ros.runtime.factory import create_backend

    return model if isinstance(model, Backend) else create_backend(model, "onnxruntime", threads=threads)


def evaluate_drive_stream(model, root: str | Path, spec: WindowSpec | None = None, *, threads: int = 1,
                          repeat: int = 1, fresh: bool = True) -> dict:  # fmt: skip
    """Streaming report over a drive folder (``synth --drive``), with risk-map truth.

    ``model``: an ONNX file (run by ONNX Runtime) or a loaded runtime ``Backend`` (e.g.
    ``training.student_backend.StudentBackend`` for any trained student).
    """
    backend = _as_backend(model, threads)
    outputs = run_drive(backend, root, spec, repeat=repeat, fresh=fresh)
    return drive_report(outputs, root, backend.info, spec, repeat)


_OUTPUT_ARRAYS = ("probability", "probability_smoothed", "alert", "state_reset", "top_cell")


def save_outputs(path: str | Path, outputs: StreamOutputs) -> Path:
    """Keep :class:`StreamOutputs` as ``.npz`` (the fresh windows as ``fresh_<i>``)."""
    arrays = {name: getattr(outputs, name) for name in _OUTPUT_ARRAYS}
    arrays.update({f"fresh_{i}": v for i, v in outputs.fresh.items()}, steps=np.int64(outputs.steps))
    with open(path, "wb") as f:  # np.savez would append ".npz" to a name without it
        np.savez_compressed(f, **arrays)
    return Path(path)


def load_outputs(path: str | Path) -> StreamOutputs:
    """Inverse of :func:`save_outputs`."""
    with np.load(path, allow_pickle=False) as kept:
        fresh = {int(k[len("fresh_") :]): kept[k] for k in kept.files if k.startswith("fresh_")}
        return StreamOutputs(*(kept[n] for n in _OUTPUT_ARRAYS), fresh=fresh, steps=int(kept["steps"]))


def clip_chain_truth(
    clips: list, fps: float, aftermath: bool
) -> tuple[StreamTruth, tuple[Window, ...], list]:
    """Clips back to back as one stream: truth, one window per clip, and the frames each clip contributes.

    Without ``aftermath`` a positive clip is cut at its toa (its crash frames are never fed).
    """
    event, label, events, windows, parts = [], [], [], [], []
    start = 0
    for i, clip in enumerate(clips):
        toa = int(clip.toa) if clip.toa >= 0 else -1
        frames = clip.frames if aftermath or toa < 0 else clip.frames[:toa]
        m = len(frames)
        event.append(np.full(m, i if toa >= 0 else -1))
        lab = np.zeros(m, np.uint8)
        if toa >= 0:
            lab[toa:] = 1
            events.append(StreamEvent(i, ACCIDENT, start + toa))
        label.append(lab)
        windows.append(Window(start, start + m, ACCIDENT if toa >= 0 else SAFE, toa, i if toa >= 0 else -1))
        parts.append(frames)
        start += m
    truth = StreamTruth(fps, np.concatenate(event), np.concatenate(label), tuple(events))
    return truth, tuple(windows), parts


def evaluate_clips_stream(model, data: str | Path, split: str = "test", fmt: str = "auto", *,
                          max_clips: int | None = None, aftermath: bool = False, threads: int = 1) -> dict:  # fmt: skip
    """A clip set chained back to back through one session: the clip protocol on the clips, vs fresh.

    ``model``: an ONNX file or a loaded runtime ``Backend``, as in :func:`evaluate_drive_stream`.
    """
    from accident_anticipation_ros.training.datasets import iter_clips

    clips = list(iter_clips(data, fmt=fmt, split=split, limit=max_clips))
    if not clips:
        raise ValueError(f"{data}: split {split!r} has no clips")
    fps = clips[0].fps
    truth, windows, parts = clip_chain_truth(clips, fps, aftermath)
    backend = _as_backend(model, threads)
    outputs = run_stream(backend, (f for part in parts for f in part), truth.num_frames, fps, windows)
    stream = stream_window_metrics(outputs.probability, windows, fps)
    fresh = window_metrics([outputs.fresh[i] for i in range(len(windows))], windows, fps)
    return {"clips": len(clips), "accidents": len(truth.accidents), "aftermath": aftermath,
            "resets": int(outputs.state_reset.sum()), "stream": stream, "fresh": fresh,
            "lead_share": {str(k): v for k, v in lead_shares(outputs.alert, truth).items()}}  # fmt: skip
