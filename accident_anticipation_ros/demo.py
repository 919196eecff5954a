"""The package's main job, end to end (the library of ``accident-anticipation demo``).

1. writes a synthetic dashcam test set (fixed seed, CCD-like: 50 frames at 10 fps) as a rosbag2;
2. starts ``anticipation_node`` with the shipped model on ONNX Runtime and replays the bag into it
   over real DDS, recording its outputs;
3. evaluates the recording (AP, mTTA, TTA@R80, ...), writes the report, renders one accident clip.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.evaluate_bag import Evaluation

SYNTH_SIZE = 224  # frame size and positive share of the test set (the synth command's defaults)
SYNTH_POSITIVE_FRACTION = 0.5


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` measured and wrote under its output folder."""

    evaluation: Evaluation
    report: Path  # folder: summary.md, metrics.json, pr_curve.png, curves/
    video: Path  # one accident clip as .mp4 (and .gif beside it)
    clip_id: str
    recording: Path  # the node's outputs and the ground truth
    preview: Path
    seconds: float


def run_demo(
    out: Path,
    model: Path,
    clips: int = 24,
    seed: int = 2026,
    rate: float = 2.0,
    log: Callable[[str], None] = print,
) -> DemoResult:
    """Synthetic test set -> bag -> ``anticipation_node`` over DDS -> metrics, report, video, under ``out``.

    The test set is reused when ``out/synth`` already holds the same clip count and seed.
    """
    from accident_anticipation_ros.bag.writer import write_clips_bag
    from accident_anticipation_ros.evaluate_bag import evaluate_bags, write_report
    from accident_anticipation_ros.render import overlay_frames, write_video
    from accident_anticipation_ros.replay import replay_dds
    from accident_anticipation_ros.replay_accounting import describe
    from accident_anticipation_ros.training.datasets import iter_clips
    from accident_anticipation_ros.training.synth.config import make_config, split_counts
    from accident_anticipation_ros.training.synth.preview import write_previews
    from accident_anticipation_ros.training.synth.writer import write_benchmark

    out = out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    def step(text: str) -> float:
        log(f"\n==> {text}")
        return time.monotonic()

    data, bag, recording = out / "synth", out / "test_bag", out / "replay"
    t = step(f"synthetic test set: {clips} clips, seed {seed} -> {data}")
    manifest = data / "synth.json"
    if not (manifest.exists() and _same_set(manifest, clips, seed)):
        shutil.rmtree(data, ignore_errors=True)
        fractions = (0.0, 0.0, 1.0)
        cfg = make_config("ccd", size=SYNTH_SIZE, positive_fraction=SYNTH_POSITIVE_FRACTION)
        info = write_benchmark(data, cfg, seed, split_counts(clips, fractions), fractions)
        write_previews(data)
        log(f"    wrote {info.clips} clips ({info.positives} with an accident)")
    log(f"    {time.monotonic() - t:.1f} s")

    t = step(f"evaluation bag -> {bag}")
    shutil.rmtree(bag, ignore_errors=True)
    written = write_clips_bag(iter_clips(data, split="test"), bag)
    log(f"    {written.num_clips} clips, {written.num_frames} frames, {time.monotonic() - t:.1f} s")

    t = step(f"anticipation_node ({model.name}, onnxruntime) <- replay over DDS at {rate:g}x -> {recording}")
    shutil.rmtree(recording, ignore_errors=True)
    summary = replay_dds(bag, recording, rate=rate, model=model, backend="onnxruntime")
    log(
        f"    {summary.frames} frames published, {summary.risk_messages} AccidentRisk received, "
        f"{summary.dropped} dropped by the node, {summary.wall_s:.1f} s"
    )
    log("    " + describe(summary.missing, summary.frames).replace("\n", "\n    "))

    t = step("evaluation")
    ev = evaluate_bags([recording])
    report = write_report(ev, out / "report")
    positive = next((c.clip_id for c in ev.clips if c.positive), ev.clips[0].clip_id)
    frames, fps = overlay_frames(recording, clip_id=positive)
    video = write_video(frames, out / "positive_clip.mp4", fps)
    write_video(frames, out / "positive_clip.gif", fps)
    log(f"    {time.monotonic() - t:.1f} s")
    (out / "summary.json").write_text(json.dumps(ev.summary(), indent=2))
    return DemoResult(
        ev, report, video, positive, recording, data / "preview.png", time.monotonic() - started
    )


def summary_rows(ev: Evaluation) -> list[tuple[str, str]]:
    """The demo's summary table: ``(metric, formatted value)`` rows."""
    s = ev.summary()
    return [
        ("clips (accident / normal)", f"{s['clips']} ({s['positives']} / {s['negatives']})"),
        ("AP", f"{s['ap']:.3f}"),
        ("mTTA (s)", f"{s['mtta']:.2f}"),
        ("TTA@R80 (s)", f"{s['tta_r80']:.2f}"),
        ("mTTA toa-based (s)", f"{s['mtta_toa']:.2f}"),
        ("video-level AP", f"{s['video_ap']:.3f}"),
        ("node latency p50 / p95 (ms)", f"{s['latency_p50_ms']:.1f} / {s['latency_p95_ms']:.1f}"),
        ("processed fps", f"{s['processed_fps']:.1f}"),
        ("frames without AccidentRisk (dropped)", f"{s['dropped_frames']} of {s['frames']}"),
    ]


def _same_set(manifest: Path, clips: int, seed: int) -> bool:
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    n = sum(len(v) for v in meta.get("splits", {}).values())
    return n == clips and meta.get("seed") == seed
