"""Is anticipation a temporal task? A per-frame classifier check, printed as JSON.

A logistic regression on single-frame features (downsampled pixels and colour histograms) learns to
tell frames of accident clips from frames of hard negatives taken at matching times (relative to the
accident of a positive, to the matched reference time of a negative), and is scored on held-out clips:

- ``early``: frames more than 2 s before the accident. Should be near chance (AUC < 0.6): a single
  frame carries no label information, the outcome lives in the motion.
- ``late``: frames in the last 0.5 s before the accident. Should be clearly above chance: the
  labels are learnable from visual content near the accident.

Usage: ``python -m accident_anticipation_ros.tools.separability --clips 300 --workers 2``
(or ``--data DIR`` to use a benchmark written by ``accident-anticipation synth``).
"""

from __future__ import annotations

import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

WINDOWS = {
    "early": (None, -2.0),
    "mid": (-2.0, -0.5),
    "late": (-0.5, 0.0),
}  # seconds relative to the accident


def frame_features(frames: np.ndarray, grid: int = 12, bins: int = 8) -> np.ndarray:
    """``(T, H, W, 3)`` uint8 -> ``(T, D)`` float32: a ``grid x grid`` colour thumbnail and RGB histograms."""
    import cv2

    thumbs = np.stack([cv2.resize(f, (grid, grid), interpolation=cv2.INTER_AREA) for f in frames])
    thumbs = thumbs.reshape(len(frames), -1).astype(np.float32) / 255.0
    q = (frames.reshape(len(frames), -1, 3) // (256 // bins)).astype(np.int64)
    hist = np.stack(
        [
            np.stack([np.bincount(q[t, :, c], minlength=bins) for c in range(3)]).ravel()
            for t in range(len(frames))
        ]
    )
    hist = hist.astype(np.float32) / q.shape[1]
    return np.concatenate([thumbs, hist], axis=1)


def _clip_features(task) -> dict:
    """Worker: generate (or load) one clip and keep only its per-frame features."""
    import cv2

    cv2.setNumThreads(1)
    kind, payload = task
    if kind == "generate":
        from accident_anticipation_ros.training.synth.generator import generate_clip

        cfg, seed, split, index = payload
        clip = generate_clip(cfg, seed, split, index)
    else:
        from accident_anticipation_ros.training.datasets.synthetic import load

        clip = load(payload)
    crit = float(clip.meta["critical_frame"])
    return {
        "clip_id": clip.clip_id,
        "positive": clip.positive,
        "reference": crit,  # toa of a positive, matched reference frame of a negative
        "fps": clip.fps,
        "scenario": clip.meta.get("scenario", ""),
        "features": frame_features(clip.frames),
    }


def collect(tasks: list, workers: int) -> list[dict]:
    if workers <= 1:
        return [_clip_features(t) for t in tasks]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_clip_features, tasks, chunksize=4))


def window_samples(
    clips: list[dict], window: tuple[float | None, float]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frames whose time relative to the reference lies in ``[lo, hi)`` seconds: ``(X, y, clip index)``."""
    lo, hi = window
    xs, ys, groups = [], [], []
    for i, c in enumerate(clips):
        rel = (np.arange(len(c["features"])) - c["reference"]) / c["fps"]
        mask = rel < hi
        if lo is not None:
            mask &= rel >= lo
        xs.append(c["features"][mask])
        ys.append(np.full(int(mask.sum()), int(c["positive"])))
        groups.append(np.full(int(mask.sum()), i))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(groups)


def evaluate(clips: list[dict], window: tuple[float | None, float], folds: int = 5, seed: int = 0) -> dict:
    """Grouped (by clip) cross-validated logistic regression: accuracy and ROC AUC on held-out clips."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, groups = window_samples(clips, window)
    scores = np.zeros(len(y))
    splitter = GroupKFold(n_splits=folds)
    for train, test in splitter.split(X, y, groups):
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000))
        model.fit(X[train], y[train])
        scores[test] = model.predict_proba(X[test])[:, 1]
    # Per-clip AUC too: the mean score of a clip's frames in the window.
    clip_ids = np.unique(groups)
    clip_scores = np.array([scores[groups == g].mean() for g in clip_ids])
    clip_y = np.array([y[groups == g][0] for g in clip_ids])
    return {
        "frames": int(len(y)),
        "clips": int(len(clip_ids)),
        "positive_frames": int(y.sum()),
        "accuracy": round(float(((scores > 0.5) == y).mean()), 4),
        "auc": round(float(roc_auc_score(y, scores)), 4),
        "clip_auc": round(float(roc_auc_score(clip_y, clip_scores)), 4),
    }


def separability(
    clips: int = 300,
    preset: str = "ccd",
    size: int = 224,
    seed: int = 0,
    workers: int = 1,
    folds: int = 5,
    data: Path | None = None,
) -> dict:
    """The check of the module docstring on ``clips`` generated clips (or on the benchmark in ``data``)."""
    t0 = time.time()
    if data is not None:
        from accident_anticipation_ros.training.datasets.synthetic import list_clips

        tasks = [("load", ref) for ref in list_clips(data)]
        source = str(data)
    else:
        from accident_anticipation_ros.training.synth.config import make_config

        cfg = make_config(preset, size=size)
        tasks = [("generate", (cfg, seed, "separability", i)) for i in range(clips)]
        source = f"generated: preset={preset} size={size} seed={seed}"
    features = collect(tasks, workers)
    result = {
        "source": source,
        "clips": len(features),
        "positives": int(sum(c["positive"] for c in features)),
        "features": "12x12 RGB thumbnail + 8-bin RGB histograms; logistic regression, grouped 5-fold CV",
    }
    for name, window in WINDOWS.items():
        result[name] = evaluate(features, window, folds, seed)
    result["seconds"] = round(time.time() - t0, 1)
    return result
