"""Community metrics of a student checkpoint on a dataset split.

    accident-anticipation evaluate --checkpoint runs/tsd-nano-synth/best/tsd-nano --data data/synth-ccd --split test --json

Every clip runs from a fresh state over all its frames; frames are fitted to the model input as the
runtime does (the checkpoint's ``train.resize``, letterbox by default). ``--json`` prints the metrics
dict of ``accident_anticipation_ros.metrics.evaluate``: ``ap``, ``mtta``, ``tta_r80`` of the UString protocol,
then the corrected ``ap_maxprec``, ``mtta_maxprec``, ``tta_r80_maxprec``, ``mtta_toa``, ``video_ap``
(named in tables as ``metrics.METRIC_LABELS``).
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch


def evaluate_checkpoint(
    checkpoint: str | Path,
    data: str | Path,
    split: str = "test",
    fmt: str = "auto",
    max_clips: int | None = None,
    device: str = "cpu",
    resize: str | None = None,
    progress: bool = False,
) -> tuple[dict[str, float], dict]:
    """Score every clip of ``split`` and compute the metrics.

    Returns:
        ``(metrics, details)``; details hold per-clip ``scores`` (list of arrays), ``toa``, ``clip_ids``,
        the frame count and wall time, and ``risk_map`` (``metrics_map.top_cell_accuracy`` over the
        clips whose key object's boxes are known; None when none are).
    """
    from accident_anticipation_ros.metrics_map import box_cells, box_to_input, top_cell_accuracy
    from accident_anticipation_ros.model.checkpoint import checkpoint_preprocess
    from accident_anticipation_ros.training.cache import fit_frames
    from accident_anticipation_ros.training.checkpoint import load_student
    from accident_anticipation_ros.training.datasets import list_clips, load_clip
    from accident_anticipation_ros.training.datasets.synthetic import key_boxes
    from accident_anticipation_ros.training.predict import clip_metrics, clip_outputs

    dev = torch.device(device)
    model, meta = load_student(checkpoint, dev)
    mode = resize or checkpoint_preprocess(meta, str(checkpoint))
    size = model.cfg.image_size
    refs = list_clips(data, fmt, split)[:max_clips]
    if not refs:
        raise ValueError(f"{data}: split {split!r} has no clips")
    if progress:
        from tqdm import tqdm

        refs = tqdm(refs, desc=f"evaluate {split}", unit="clip")
    scores, toa, fps, ids = [], [], [], []
    maps, cells, map_toa = [], [], []
    t0 = time.time()
    frames_total = 0
    for ref in refs:
        clip = load_clip(ref)
        frames = torch.from_numpy(fit_frames(clip.frames, size, mode, meta["mean"]))
        clip_score, clip_map = clip_outputs(model, frames, meta["mean"], meta["std"], dev)
        scores.append(clip_score)
        boxes = key_boxes(clip)
        if boxes is not None:
            fitted = box_to_input(boxes, clip.frames.shape[1:3], size, mode)
            maps.append(clip_map)
            cells.append(box_cells(fitted, clip_map.shape[1:], size))
            map_toa.append(clip.toa)
        toa.append(clip.toa)
        fps.append(clip.fps)
        ids.append(clip.clip_id)
        frames_total += clip.num_frames
    metrics = clip_metrics(scores, toa, fps)
    details = {"scores": scores, "toa": toa, "clip_ids": ids, "frames": frames_total, "wall_s": time.time() - t0,
               "positives": int(sum(t >= 0 for t in toa)), "fps_model": meta["fps"], "fps_data": fps[0],
               "risk_map_top_cell": top_cell_accuracy(maps, cells, map_toa, fps[0]) if maps else None}  # fmt: skip
    return metrics, details


def save_scores(path: str | Path, details: dict) -> None:
    """Per-frame scores of :func:`evaluate_checkpoint` as ``.npz``: ``clip_ids``, ``toa`` (frame index,
    -1 for a clip without accident), ``fps`` and ``score/<clip id>``."""
    arrays = {f"score/{cid}": s for cid, s in zip(details["clip_ids"], details["scores"], strict=True)}
    np.savez(path, clip_ids=np.asarray(details["clip_ids"]), toa=np.asarray(details["toa"], np.float64),
             fps=np.float64(details["fps_data"]), **arrays)  # fmt: skip
