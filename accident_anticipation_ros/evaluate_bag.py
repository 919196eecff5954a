"""The paper's metrics and a report from recorded output bags (the library of ``accident-anticipation evaluate-bag``).

Reads AccidentRisk and AccidentLabel from one or more bags (``replay`` writes them), aligns every
clip's frames with the risk messages (``bag.reader.read_risk_bag``), and computes AP, mTTA, TTA@R80 of
the UString protocol and their corrected variants with ``metrics.evaluate``. A frame the node dropped
has no risk message: it takes the last probability the node published before it (what a consumer of
the stream saw at that moment; 0 before the first), and the number of such frames is reported.

A replay that lost frames changes the metrics: :func:`check_missing` fails an evaluation whose share
of frames without a risk message exceeds a limit (``evaluate-bag --max-missing``, default 0).

Where the labels carry a cause (``AccidentLabel.cause``), the cause the node named is scored on the
accident clips' frames in the last :data:`CAUSE_WINDOW_S` seconds before the accident
(:func:`cause_report`); the share of frames the node flagged out of domain is reported too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CAUSE_WINDOW_S = 1.0  # cause accuracy is scored over this many seconds before the accident


@dataclass
class Evaluation:
    """Metrics and what they were computed from."""

    metrics: dict[str, float]
    clips: list = field(repr=False)  # bag.reader.RiskClip
    camera: str = ""
    dropped: int = 0
    frames: int = 0
    latency_p50_ms: float = float("nan")
    latency_p95_ms: float = float("nan")
    processed_fps: float = float("nan")

    @property
    def missing_by_clip(self) -> dict[str, int]:
        """``{clip_id: frames without a risk message}`` of the clips that miss any."""
        return {c.clip_id: c.dropped for c in self.clips if c.dropped}

    @property
    def missing_fraction(self) -> float:
        return self.dropped / self.frames if self.frames else 0.0

    def missing_line(self) -> str:
        """How many frames have no risk message, and in which clips (one line)."""
        if not self.dropped:
            return f"missing frames: none of {self.frames}"
        clips = ", ".join(f"{k} ({n})" for k, n in self.missing_by_clip.items())
        return (
            f"missing frames: {self.dropped} of {self.frames} ({100 * self.missing_fraction:.2f} %) "
            f"have no AccidentRisk, in clips {clips}"
        )

    def summary(self) -> dict:
        positives = sum(c.positive for c in self.clips)
        return {
            **self.metrics,
            **cause_report(self.clips),
            "camera": self.camera,
            "clips": len(self.clips),
            "positives": positives,
            "negatives": len(self.clips) - positives,
            "frames": self.frames,
            "dropped_frames": self.dropped,  # frames without a risk message (= missing_frames)
            "missing_frames": self.dropped,
            "missing_fraction": self.missing_fraction,
            "missing_by_clip": self.missing_by_clip,
            # frames the node's fps alignment stepped over: no message by design, scored at the held value
            "decimated_frames": sum(c.num_decimated for c in self.clips),
            "latency_p50_ms": self.latency_p50_ms,
            "latency_p95_ms": self.latency_p95_ms,
            "processed_fps": self.processed_fps,
        }


class TooManyMissing(ValueError):
    """More frames of a recording lack a risk message than the evaluation allows."""


def check_missing(ev: Evaluation, max_missing: float) -> None:
    """Raise TooManyMissing if the share of frames without a risk message exceeds ``max_missing``."""
    if ev.missing_fraction > max_missing:
        raise TooManyMissing(
            f"{ev.missing_line()}; above --max-missing {max_missing:g}. The metrics would not be those of "
            "the bag's frames: replay losslessly (accident-anticipation replay, see its missing-frame "
            "list) or allow a share with --max-missing"
        )


def filled_scores(clip) -> np.ndarray:
    """Per-frame probability with dropped (or decimated) frames holding the last published value (0 before any)."""
    p = clip.probability.astype(np.float64)
    held, out = 0.0, np.empty_like(p)
    for i, (ok, value) in enumerate(zip(clip.received, p, strict=True)):
        if ok:
            held = value
        out[i] = held
    return out


def cause_report(clips, window_s: float = CAUSE_WINDOW_S) -> dict:
    """Cause accuracy and out-of-domain share of recorded clips.

    ``cause_accuracy``: of the frames in the last ``window_s`` seconds before the accident of accident
    clips with a cause label that have a risk message naming a cause (the node names one only while
    the level is above LOW), the share naming the labelled cause (NaN when there are none);
    ``cause_frames``: how many such frames; ``cause_window_frames``: the received frames in those
    windows (named or not). ``out_of_domain_fraction``: received frames flagged out of domain.
    """
    hits = named = window = received = ood = 0
    for clip in clips:
        got = clip.received
        received += int(got.sum())
        if clip.out_of_domain is not None:
            ood += int((clip.out_of_domain & got).sum())
        if not clip.positive or not clip.cause_label or clip.cause is None:
            continue
        t = np.arange(clip.num_frames)
        in_window = got & (t < clip.toa) & (t >= clip.toa - window_s * clip.fps)
        window += int(in_window.sum())
        said = in_window & (clip.cause != "")
        named += int(said.sum())
        hits += int((clip.cause[said] == clip.cause_label).sum())
    return {
        "cause_accuracy": hits / named if named else float("nan"),
        "cause_frames": named,
        "cause_window_frames": window,
        "out_of_domain_fraction": ood / received if received else float("nan"),
    }


def evaluate_bags(paths: list[Path], camera: str | None = None, labels_bag: Path | None = None) -> Evaluation:
    """Metrics over the clips of every bag in ``paths`` for one camera (the only one, or ``camera``)."""
    from accident_anticipation_ros.bag.errors import BagError
    from accident_anticipation_ros.bag.reader import read_risk_bag
    from accident_anticipation_ros.metrics import evaluate

    clips, latencies, fps_values = [], [], []
    chosen = camera
    for path in paths:
        recording = read_risk_bag(path, labels_bag=labels_bag)
        cameras = recording.cameras
        if chosen is None:
            if len(cameras) != 1:
                raise BagError(f"bag {path} has risk streams of cameras {cameras}; pick one with --camera")
            chosen = cameras[0]
        if chosen not in cameras:
            raise BagError(f"bag {path} has no risk stream of camera {chosen!r}; it has {cameras}")
        these = recording.for_camera(chosen)
        clips += these
        latencies += [c.latency_ms[c.received] for c in these]
        fps_values += _processed_fps(path)
    if not clips:
        raise BagError("no labelled clips in " + ", ".join(map(str, paths)))
    fps = {c.fps for c in clips}
    if len(fps) != 1:
        raise BagError(f"clips have different frame rates {sorted(fps)}; evaluate them separately")
    metrics = evaluate(
        [filled_scores(c) for c in clips],
        np.array([c.label for c in clips]),
        np.array([c.toa if c.positive else -1.0 for c in clips]),
        fps.pop(),
    )
    lat = np.concatenate(latencies) if latencies else np.zeros(0)
    return Evaluation(
        metrics={k: float(v) for k, v in metrics.items()},
        clips=clips,
        camera=chosen,
        dropped=sum(c.dropped for c in clips),
        frames=sum(c.num_frames for c in clips),
        latency_p50_ms=float(np.percentile(lat, 50)) if lat.size else float("nan"),
        latency_p95_ms=float(np.percentile(lat, 95)) if lat.size else float("nan"),
        processed_fps=float(np.mean(fps_values)) if fps_values else float("nan"),
    )


def _processed_fps(path: Path) -> list[float]:
    """processed_fps of every /diagnostics period in which frames came in (empty for offline bags)."""
    from accident_anticipation_ros.bag.reader import open_bag
    from accident_anticipation_ros.bag.types import get_package_typestore

    store = get_package_typestore()
    values = []
    with open_bag(path) as reader:
        conns = [c for c in reader.connections if c.msgtype == "diagnostic_msgs/msg/DiagnosticArray"]
        if not conns:  # rosbags reads every connection when given none
            return values
        for conn, _, raw in reader.messages(connections=conns):
            for status in store.deserialize_cdr(raw, conn.msgtype).status:
                kv = {v.key: v.value for v in status.values}
                if float(kv.get("input_fps", 0) or 0) > 0 and "processed_fps" in kv:
                    values.append(float(kv["processed_fps"]))
    return values


def write_report(ev: Evaluation, out: Path) -> Path:
    """Per-clip risk curves, the precision-recall curve, metrics.json and summary.md under ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from accident_anticipation_ros.metrics import (
        METRIC_LABELS,
        per_threshold_curve,
        protocol_levels,
        recall_levels,
    )

    out.mkdir(parents=True, exist_ok=True)
    (out / "curves").mkdir(exist_ok=True)
    for clip in ev.clips:
        t = np.arange(clip.num_frames) / clip.fps
        fig, ax = plt.subplots(figsize=(6, 2.6), dpi=100)
        ax.plot(t, clip.probability, ".-", lw=1, ms=3, label="probability")
        ax.plot(t, clip.probability_smoothed, lw=2, label="smoothed")
        if clip.alert.any():
            ax.fill_between(t, 0, 1, where=clip.alert, color="red", alpha=0.12, step="mid", label="alert")
        if clip.positive:
            ax.axvline(clip.toa / clip.fps, color="k", ls="--", label="accident")
        dropped = ~clip.received
        if dropped.any():
            ax.plot(t[dropped], np.zeros(dropped.sum()), "x", color="gray", label="dropped")
        ax.set(
            ylim=(-0.02, 1.02),
            xlabel="time (s)",
            ylabel="risk",
            title=f"{clip.clip_id} ({'accident' if clip.positive else 'normal'})",
        )
        ax.legend(fontsize=7, loc="upper left")
        fig.tight_layout()
        fig.savefig(out / "curves" / f"{_safe(clip.clip_id)}.png")
        plt.close(fig)

    curve = per_threshold_curve(
        [filled_scores(c) for c in ev.clips],
        np.array([c.label for c in ev.clips]),
        np.array([c.toa if c.positive else -1.0 for c in ev.clips]),
        ev.clips[0].fps,
    )
    original, corrected = protocol_levels(curve), recall_levels(curve)
    fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
    for levels, style, name in ((original, ".-", "ap"), (corrected, "--", "ap_maxprec")):
        label = f"{METRIC_LABELS[name]} {ev.metrics[name]:.3f}"
        ax.plot(np.r_[0.0, levels.recall], np.r_[levels.precision[0], levels.precision], style, label=label)
    ax.legend(fontsize=7, loc="lower left")
    ax.set(
        xlim=(0, max(1.02, float(original.recall[-1]) + 0.02)),  # > 1: negatives at threshold 0
        ylim=(0, 1.02),
        xlabel="recall",
        ylabel="precision",
        title=f"AP {ev.metrics['ap']:.3f}, mTTA {ev.metrics['mtta']:.2f} s (UString protocol)",
    )
    fig.tight_layout()
    fig.savefig(out / "pr_curve.png")
    plt.close(fig)

    summary = ev.summary()
    (out / "metrics.json").write_text(json.dumps(summary, indent=2))
    rows = [(label, f"{summary[key]:.{3 if 'tta' in key else 4}f}") for key, label in METRIC_LABELS.items()]
    rows += [
        (
            "clips (positive / negative)",
            f"{summary['clips']} ({summary['positives']} / {summary['negatives']})",
        ),
        ("frames (without a risk message)", f"{summary['frames']} ({summary['missing_frames']})"),
        ("frames decimated to the model's fps (held)", str(summary["decimated_frames"])),
        ("node latency p50 / p95 (ms)", f"{summary['latency_p50_ms']:.1f} / {summary['latency_p95_ms']:.1f}"),
        ("processed fps", f"{summary['processed_fps']:.1f}"),
        (
            f"cause accuracy, last {CAUSE_WINDOW_S:g} s before the accident (frames with a cause)",
            f"{summary['cause_accuracy']:.3f} ({summary['cause_frames']} of {summary['cause_window_frames']})",
        ),
        ("frames flagged out of domain", f"{summary['out_of_domain_fraction']:.3f}"),
    ]
    lines = [
        "# Accident anticipation report",
        "",
        f"Camera `{ev.camera}`.",
        "",
        "| metric | value |",
        "|---|---|",
    ]
    lines += [f"| {k} | {v} |" for k, v in rows]
    lines += ["", ev.missing_line() + ".", ""]
    lines += ["![precision-recall](pr_curve.png)", "", "Per-clip risk curves: `curves/`.", ""]
    (out / "summary.md").write_text("\n".join(lines))
    return out


def _safe(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
