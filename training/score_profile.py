"""How early a student's risk rises: mean score against time before the accident, from saved scores.

    python -m accident_anticipation_ros.tools.score_profile A.npz B.npz --labels full,no_distillation \
        --out docs/score_profile.png

The inputs are per-frame scores as ``evaluate --scores`` and ``ablate`` write them. For each file it
prints the mean score of accident clips 3, 2, 1 and 0.5 s before ``toa``, the mean score of safe clips,
and how many accident clips pass a threshold at least 1 s and 2 s before ``toa`` against how many safe
clips ever pass it, and the recall and mean time to accident at the threshold that a given share of safe
clips pass (earliness at equal false alarms): where AP (ranking) and mTTA (earliness) come from.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

MARKS_S = (3.0, 2.0, 1.0, 0.5)


@dataclass(frozen=True)
class Scores:
    """Per-frame scores of one model on one split."""

    scores: list[np.ndarray]
    toa: np.ndarray  # frame index of the accident, -1 for a safe clip
    fps: float


def load_scores(path: str | Path, fps: float | None = None) -> Scores:
    """Read a scores file; ``fps`` is needed only for files written without one (older ``--scores``)."""
    with np.load(path) as z:
        if "clip_ids" in z.files:
            ids = [str(c) for c in z["clip_ids"]]
        else:  # written in clip order
            ids = [f.removeprefix("score/") for f in z.files if f.startswith("score/")]
        if fps is None and "fps" not in z.files:
            raise ValueError(f"{path} has no frame rate: pass --fps")
        rate = float(z["fps"]) if fps is None else float(fps)
        scores = [np.asarray(z[f"score/{c}"], np.float64) for c in ids]
        return Scores(scores, z["toa"].astype(np.float64), rate)


def before_toa(s: Scores, horizon_s: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """``(seconds before toa, mean accident-clip score)`` for every frame offset up to ``horizon_s``."""
    offsets = np.arange(int(round(horizon_s * s.fps)) + 1)
    sums, counts = np.zeros(len(offsets)), np.zeros(len(offsets))
    for score, toa in zip(s.scores, s.toa, strict=True):
        if toa < 0:
            continue
        frames = int(round(toa)) - offsets
        ok = (frames >= 0) & (frames < len(score))
        sums[ok] += score[frames[ok]]
        counts[ok] += 1
    seen = counts > 0
    return offsets[seen] / s.fps, sums[seen] / counts[seen]


def summary(s: Scores, threshold: float = 0.5) -> dict[str, float]:
    """Mean accident-clip score at :data:`MARKS_S` before toa, safe-clip mean, and threshold crossings."""
    t, mean = before_toa(s, max(MARKS_S))
    out = {f"pos_mean_{m:g}s": float(np.interp(m, t, mean)) for m in MARKS_S}
    safe = [x for x, toa in zip(s.scores, s.toa, strict=True) if toa < 0]
    out["safe_mean"] = float(np.mean(np.concatenate(safe))) if safe else float("nan")
    out["safe_ever_above"] = float(np.mean([x.max() >= threshold for x in safe])) if safe else float("nan")
    for lead in (1.0, 2.0):
        hits = []
        for x, toa in zip(s.scores, s.toa, strict=True):
            if toa >= 0:
                last = int(np.floor(toa - lead * s.fps))  # frames at least `lead` seconds before toa
                hits.append(last >= 0 and x[: last + 1].max() >= threshold)
        out[f"pos_above_{lead:g}s_before"] = float(np.mean(hits)) if hits else float("nan")
    return out


def at_false_alarm_rate(s: Scores, rate: float = 0.2) -> dict[str, float]:
    """Earliness at a matched false-alarm rate: the threshold that ``rate`` of the safe clips pass at
    some frame; the share of accident clips that pass it before ``toa`` and their mean time to accident.

    mTTA and TTA@R80 average over thresholds or fix recall, so a model with jumpier scores gains
    earliness from crossings that also fire on safe clips; this compares models at equal false alarms.
    """
    safe_max = np.array([x.max() for x, toa in zip(s.scores, s.toa, strict=True) if toa < 0])
    if not len(safe_max):
        raise ValueError("no safe clip to set a false-alarm rate on")
    threshold = float(np.quantile(safe_max, 1.0 - rate))
    ttas, positives = [], 0
    for x, toa in zip(s.scores, s.toa, strict=True):
        if toa < 0:
            continue
        positives += 1
        end = min(int(np.ceil(toa)), len(x))  # frames before the accident
        above = np.flatnonzero(x[:end] > threshold)
        if above.size:
            ttas.append((toa - above[0]) / s.fps)
    return {
        f"threshold_fa{rate:g}": threshold,
        f"recall_fa{rate:g}": len(ttas) / max(positives, 1),
        f"tta_fa{rate:g}": float(np.mean(ttas)) if ttas else 0.0,
    }


def plot(runs: dict[str, Scores], out: Path, horizon_s: float = 4.0) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2), dpi=110)
    for i, (label, s) in enumerate(runs.items()):
        t, mean = before_toa(s, horizon_s)
        color = f"C{i}"
        ax.plot(-t, mean, color=color, lw=2, label=f"{label}: accident clips")
        ax.axhline(summary(s)["safe_mean"], color=color, ls="--", lw=1, label=f"{label}: safe clips (mean)")
    ax.set_xlabel("seconds before the accident")
    ax.set_ylabel("mean risk score")
    ax.set_ylim(0, 1)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
