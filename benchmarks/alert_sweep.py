"""Alert settings vs the streaming alert numbers of one model (a benchmark script, not a test).

    OMP_NUM_THREADS=1 python benchmarks/alert_sweep.py [--model models/tsd-nano.onnx] [--drive DIR]   # ~3 min

Runs the model once over the benchmark's continuous drive (``benchmarks/streaming.py`` renders it into
``runs/streaming/``) as the node runs it, keeps the per-frame probabilities, and replays them through
the session's own ``RiskFilter`` for a grid of ``alert_on`` thresholds and ``alert_on_frames``
(``alert_off`` = ``alert_on`` - 0.15, smoothing as the node's defaults): alerts per hour of safe
driving and the share of accidents alerted >= 0.5 / 1 s before toa for each setting, the node's
defaults marked. The drive is the evaluation drive: read the table as an operating curve, not as a
setting tuned for it; ``--drive`` sweeps another drive (``synth --drive`` with another seed: a
validation drive to choose settings on).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DRIVE = ROOT / "runs" / "streaming" / "drive-ccd-31min-s0"


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.session import RiskFilter, SessionConfig
    from accident_anticipation_ros.stream_metrics import alerts_per_hour, event_windows, lead_shares
    from accident_anticipation_ros.training.stream_evaluate import drive_truth, run_drive

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "tsd-nano.onnx")
    p.add_argument("--thresholds", default="0.2,0.25,0.3,0.35,0.4,0.45,0.5")
    p.add_argument("--frames", default="1,2,3")
    p.add_argument("--drive", type=Path, default=DRIVE, help="drive folder (default: the benchmark's)")
    args = p.parse_args(argv)
    if not args.drive.is_dir():
        hint = (
            "run benchmarks/streaming.py first (it renders the drive)"
            if args.drive == DRIVE
            else "render it with `synth --drive`"
        )
        print(f"{args.drive} is missing: {hint}", file=sys.stderr)
        return 1
    backend = create_backend(args.model, "onnxruntime", threads=1)
    outputs = run_drive(backend, args.drive, fresh=False)
    _, _, truth = drive_truth(args.drive)
    windows = event_windows(truth).windows
    default = SessionConfig()
    print(f"drive {args.drive.name}, model {args.model.name}; node defaults: alert_on {default.alert_on}, alert_off {default.alert_off}, "
          f"alert_on_frames {default.alert_on_frames}\n")  # fmt: skip
    print("| alert_on | alert_on_frames | alerts / h of safe driving | alert on in safe driving "
          "| alerted >= 0.5 s | >= 1 s |\n|---|---|---|---|---|---|")  # fmt: skip
    for k in (int(x) for x in args.frames.split(",")):
        for on in (float(x) for x in args.thresholds.split(",")):
            cfg = dataclasses.replace(default, alert_on=on, alert_off=max(0.0, on - 0.15), alert_on_frames=k)
            f = RiskFilter(cfg)
            alert = np.array([f.update(float(q)).alert for q in outputs.probability])
            rates = alerts_per_hour(alert, truth, windows)
            lead = lead_shares(alert, truth, (0.5, 1.0))
            mark = " (default)" if (on, k) == (default.alert_on, default.alert_on_frames) else ""
            print(f"| {on:.2f}{mark} | {k} | {rates['alerts_per_hour']:.1f} | {100 * rates['alerting_share']:.1f} % "
                  f"| {100 * lead[0.5]:.1f} % | {100 * lead[1.0]:.1f} % |")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
