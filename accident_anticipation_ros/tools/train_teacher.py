"""``accident-anticipation train-teacher``: train a small MobileCLIP-architecture teacher CLIP-style.

    accident-anticipation train-teacher --config configs/teacher_synth.yaml

Prints the run summary (without the per-epoch history) as JSON; see
:mod:`accident_anticipation_ros.training.teacher_train`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation train-teacher"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Train a small MobileCLIP-architecture teacher on captioned frames."
    )
    p.add_argument("--config", required=True, type=Path, help="teacher YAML (see configs/teacher_synth.yaml)")
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config value (repeatable)"
    )
    p.add_argument("--out", type=Path, help="run directory (overrides out_dir)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


def _train_teacher(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.teacher_train import load_teacher_config, train_teacher

    overrides = list(args.set) + ([f"out_dir={args.out}"] if args.out else [])
    summary = train_teacher(load_teacher_config(args.config, overrides), progress=not args.no_progress)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError
    from accident_anticipation_ros.training.errors import TrainingError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _train_teacher(args), (TrainingError, ModelError, ValueError, OSError))
