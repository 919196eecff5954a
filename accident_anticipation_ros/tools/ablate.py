"""``accident-anticipation ablate``: the paper's ablation, one training run per variant, scored on test.

    accident-anticipation ablate --config configs/ablation_synth.yaml --out runs/ablation

See :mod:`accident_anticipation_ros.training.ablate` for the variants, seeds and what is written.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation ablate"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Run the TSD ablation (one training per variant).")
    p.add_argument(
        "--config", required=True, type=Path, help="ablation YAML (see configs/ablation_synth.yaml)"
    )
    p.add_argument("--out", required=True, type=Path, help="output folder (one run per variant)")
    p.add_argument("--variants", default=None, help="comma-separated subset of the variants")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override for every variant"
    )
    p.add_argument(
        "--seeds", default=None, help="comma-separated training seeds (default: the YAML's, or the base seed)"
    )
    p.add_argument(
        "--test-data", default=None, help="score on this dataset folder instead of the base config's"
    )
    p.add_argument(
        "--stream-data",
        default=None,
        metavar="DIR",
        help="also score every run as one stream over this drive (synth --drive), e.g. "
        "runs/streaming/drive-ccd-31min-s0",
    )
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


def _ablate(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.ablate import run_ablation

    only = [v.strip() for v in args.variants.split(",")] if args.variants else None
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else None
    rows = run_ablation(args.config, args.out, only, args.set, progress=not args.no_progress, seeds=seeds,
                        test_data=args.test_data, stream_data=args.stream_data)  # fmt: skip
    if rows:
        print((args.out / "ablation.md").read_text(), end="")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError
    from accident_anticipation_ros.training.errors import TrainingError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _ablate(args), (TrainingError, ModelError, ValueError, OSError))
