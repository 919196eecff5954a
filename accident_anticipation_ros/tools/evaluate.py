"""``accident-anticipation evaluate``: community metrics of a student checkpoint on a dataset split.

    accident-anticipation evaluate --checkpoint runs/tsd-nano-synth/best/tsd-nano --data data/synth-ccd --split test --json

``--json`` prints the metrics dict of ``accident_anticipation_ros.metrics.evaluate`` (ap, mtta,
tta_r80, mtta_toa, video_ap); ``--scores`` also keeps the per-frame scores.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation evaluate"


def build_parser() -> argparse.ArgumentParser:
    from accident_anticipation_ros.training.config import RESIZE_MODES

    p = argparse.ArgumentParser(prog=PROG, description="Evaluate a student checkpoint (AP, mTTA, TTA@R80).")
    p.add_argument("--checkpoint", required=True, help="student checkpoint (x, x.safetensors or x.json)")
    p.add_argument("--data", required=True, type=Path, help="dataset folder")
    p.add_argument("--split", default="test", help="split to evaluate (default: test)")
    p.add_argument("--format", default="auto", help="dataset format (default: auto-detect)")
    p.add_argument("--max-clips", type=int, default=None, help="evaluate only the first N clips")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument(
        "--resize", choices=RESIZE_MODES, default=None, help="frame fitting (default: the checkpoint's)"
    )
    p.add_argument("--scores", type=Path, default=None, help="also write per-frame scores to this .npz")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def _evaluate(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint, save_scores

    metrics, details = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        args.split,
        args.format,
        args.max_clips,
        args.device,
        args.resize,
        progress=not args.json,
    )
    if args.scores is not None:
        save_scores(args.scores, details)
    if details["fps_model"] != details["fps_data"]:
        print(
            f"{PROG}: warning: model assumes {details['fps_model']} fps, data has {details['fps_data']}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(metrics))
    else:
        n = len(details["clip_ids"])
        print(f"{args.split}: {n} clips ({details['positives']} with an accident), {details['frames']} frames, "
              f"{details['wall_s']:.1f} s")  # fmt: skip
        for key, value in metrics.items():
            unit = " s" if key.startswith(("mtta", "tta")) else ""
            print(f"  {key:<9} {value:.4f}{unit}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _evaluate(args), (ModelError, ValueError, OSError))
