"""``accident-anticipation synth``: write a synthetic dashcam benchmark to a folder."""

from __future__ import annotations

import argparse
from pathlib import Path

from accident_anticipation_ros.tools.command import UsageError, run

PROG = "accident-anticipation synth"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split(":", 1)[1].strip())
    p.add_argument(
        "--out", required=True, type=Path, help="output folder (gets synth.json and one folder per split)"
    )
    p.add_argument("--clips", required=True, type=int, help="number of clips over all splits")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument(
        "--preset", choices=["ccd", "dad"], default="ccd", help="ccd: 50 frames @ 10 fps; dad: 100 @ 20 fps"
    )
    p.add_argument("--size", type=int, default=224, help="square frame size in pixels (default 224)")
    p.add_argument(
        "--split-fractions", default="0.7,0.15,0.15", help="train,val,test fractions (default 0.7,0.15,0.15)"
    )
    p.add_argument(
        "--positive-fraction", type=float, default=0.5, help="share of accident clips (default 0.5)"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--preview", action="store_true", help="also write preview.png and preview.gif")
    p.add_argument("--force", action="store_true", help="write into a folder that already has a synth.json")
    return p


def _synth(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.synth.config import make_config, split_counts
    from accident_anticipation_ros.training.synth.storage import MANIFEST
    from accident_anticipation_ros.training.synth.writer import write_benchmark

    try:
        fractions = tuple(float(x) for x in args.split_fractions.split(","))
        counts = split_counts(args.clips, fractions)
        cfg = make_config(args.preset, size=args.size, positive_fraction=args.positive_fraction)
    except ValueError as exc:
        raise UsageError(exc) from exc
    if args.clips < 1 or args.workers < 1:
        raise UsageError("--clips and --workers must be >= 1")
    if (args.out / MANIFEST).exists() and not args.force:
        raise UsageError(f"{args.out / MANIFEST} exists (use --force to overwrite)")
    info = write_benchmark(args.out, cfg, args.seed, counts, fractions, workers=args.workers)
    print(f"wrote {info.clips} clips ({info.positives} with an accident) and {info.manifest}")
    if args.preview:
        from accident_anticipation_ros.training.synth.preview import write_previews

        png, gif = write_previews(args.out)
        print(f"wrote {png} and {gif}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _synth(args), (OSError,))
