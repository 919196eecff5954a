"""``accident-anticipation demo``: the package's main job, end to end, in one command.

1. writes a synthetic dashcam test set (fixed seed, CCD-like: 50 frames at 10 fps) as a rosbag2;
2. starts ``anticipation_node`` with the shipped model on ONNX Runtime and replays the bag into it
   over real DDS, recording its outputs;
3. evaluates the recording (AP, mTTA, TTA@R80, ...), writes the report, renders one accident clip;
4. prints a summary table and where everything is.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _default_model() -> Path:
    """The shipped demo model: in the source tree, or in the package's share dir after colcon install."""
    import os

    candidates = [REPO / "models" / "tsd-nano.onnx"]
    for prefix in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep):
        if prefix:
            candidates.append(
                Path(prefix) / "share" / "accident_anticipation_ros" / "models" / "tsd-nano.onnx"
            )
    return next((c.resolve() for c in candidates if c.exists()), candidates[0])


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    p.add_argument(
        "--model", type=Path, default=None, help="ONNX model (default: the shipped models/tsd-nano.onnx)"
    )
    p.add_argument("--clips", type=int, default=24, help="synthetic test clips (default 24)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the synthetic test set (default 2026)")
    p.add_argument("--rate", type=float, default=2.0, help="replay rate factor (default 2x real time)")
    return p


def _step(text: str) -> float:
    print(f"\n==> {text}", flush=True)
    return time.monotonic()


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    model = (args.model or _default_model()).resolve()
    if not model.exists():
        print(
            f"demo: model {model} not found. The repository ships models/tsd-nano.onnx; train one with "
            "`accident-anticipation train --config configs/tsd_nano_synth.yaml` or pass --model.",
            file=sys.stderr,
        )
        return 2
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()

    from accident_anticipation_ros.bag.cli import main as bag_from_clips
    from accident_anticipation_ros.evaluate_bag import evaluate_bags, write_report
    from accident_anticipation_ros.render import main as render
    from accident_anticipation_ros.replay import replay_dds
    from accident_anticipation_ros.training.synth.cli import main as synth

    data, bag, recording = out / "synth", out / "test_bag", out / "replay"
    t = _step(f"synthetic test set: {args.clips} clips, seed {args.seed} -> {data}")
    manifest = data / "synth.json"
    wanted = {"clips": args.clips, "seed": args.seed}
    if not (manifest.exists() and _same_set(manifest, wanted)):
        shutil.rmtree(data, ignore_errors=True)
        code = synth(
            [
                "--out",
                str(data),
                "--clips",
                str(args.clips),
                "--seed",
                str(args.seed),
                "--preset",
                "ccd",
                "--split-fractions",
                "0,0,1",
                "--preview",
            ]
        )
        if code:
            return code
    print(f"    {time.monotonic() - t:.1f} s")

    t = _step(f"evaluation bag -> {bag}")
    shutil.rmtree(bag, ignore_errors=True)
    if code := bag_from_clips([str(data), "--out", str(bag), "--split", "test"]):
        return code
    print(f"    {time.monotonic() - t:.1f} s")

    t = _step(
        f"anticipation_node ({model.name}, onnxruntime) <- replay over DDS at {args.rate:g}x -> {recording}"
    )
    shutil.rmtree(recording, ignore_errors=True)
    summary = replay_dds(bag, recording, rate=args.rate, model=model, backend="onnxruntime")
    print(
        f"    {summary.frames} frames published, {summary.risk_messages} AccidentRisk received, "
        f"{summary.dropped} dropped by the node, {summary.wall_s:.1f} s"
    )

    t = _step("evaluation")
    ev = evaluate_bags([recording])
    report = write_report(ev, out / "report")
    positive = next((c.clip_id for c in ev.clips if c.positive), ev.clips[0].clip_id)
    for suffix in (".mp4", ".gif"):
        if code := render([str(recording), "--out", str(out / f"positive_clip{suffix}"), "--clip", positive]):
            return code
    print(f"    {time.monotonic() - t:.1f} s")

    s = ev.summary()
    rows = [
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
    width = max(len(k) for k, _ in rows)
    print("\n" + "=" * (width + 14))
    print(f"demo summary ({time.monotonic() - started:.0f} s)")
    print("-" * (width + 14))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("=" * (width + 14))
    print(f"report:        {report / 'summary.md'} (curves in {report / 'curves'})")
    print(f"video:         {out / 'positive_clip.mp4'} (and .gif), clip {positive}")
    print(f"recording:     {recording} (AccidentRisk, overlay, /diagnostics, ground truth)")
    print(f"preview:       {data / 'preview.png'}")
    (out / "summary.json").write_text(json.dumps(s, indent=2))
    return 0


def _same_set(manifest: Path, wanted: dict) -> bool:
    try:
        meta = json.loads(manifest.read_text())
    except (OSError, ValueError):
        return False
    n = sum(len(v) for v in meta.get("splits", {}).values())
    return n == wanted["clips"] and meta.get("seed") == wanted["seed"]


if __name__ == "__main__":
    sys.exit(main())
