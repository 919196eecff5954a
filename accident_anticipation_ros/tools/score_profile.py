"""How early a student's risk rises: mean score against time before the accident, from saved scores.

    python -m accident_anticipation_ros.tools.score_profile A.npz B.npz --labels full,no_distillation \\
        --out docs/score_profile.png

One line per file (see :mod:`accident_anticipation_ros.training.score_profile`), and the plot with ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "python -m accident_anticipation_ros.tools.score_profile"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Mean risk score against time before the accident.")
    p.add_argument("scores", nargs="+", type=Path, help=".npz files of per-frame scores")
    p.add_argument("--labels", default=None, help="comma-separated names (default: the file names)")
    p.add_argument("--threshold", type=float, default=0.5, help="score threshold of the crossing counts")
    p.add_argument("--false-alarms", type=float, default=0.2, help="share of safe clips allowed to alarm")
    p.add_argument("--out", type=Path, default=None, help="also write the plot here (.png)")
    p.add_argument("--fps", type=float, default=None, help="frame rate, for files that do not record it")
    return p


def _profile(args: argparse.Namespace, labels: list[str]) -> int:
    from accident_anticipation_ros.training.score_profile import (
        at_false_alarm_rate,
        load_scores,
        plot,
        summary,
    )

    runs = {label: load_scores(f, args.fps) for label, f in zip(labels, args.scores, strict=True)}
    for label, s in runs.items():
        row = summary(s, args.threshold) | at_false_alarm_rate(s, args.false_alarms)
        print(label + ": " + ", ".join(f"{k} {v:.3f}" for k, v in row.items()))
    if args.out:
        print(f"wrote {plot(runs, args.out)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    labels = args.labels.split(",") if args.labels else [f.stem for f in args.scores]
    if len(labels) != len(args.scores):
        parser.error(f"{len(labels)} labels for {len(args.scores)} files")
    return run(PROG, lambda: _profile(args, labels), (OSError, KeyError, ValueError))


if __name__ == "__main__":
    sys.exit(main())
