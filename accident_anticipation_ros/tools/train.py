"""``accident-anticipation train``: train a TSD student from one YAML config.

accident-anticipation train --config configs/tsd_nano_synth.yaml
accident-anticipation train --config configs/tsd_s0_ccd.yaml --set data.root=/data/CCD --set train.batch_size=8
accident-anticipation train --resume runs/tsd-nano-synth              # exact continuation
torchrun --nproc_per_node 2 -m accident_anticipation_ros.tools.train --config ...   # DDP
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation train"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Train a TSD student (temporally shifted distillation)."
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", type=Path, help="training YAML (see configs/)")
    src.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR exactly")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=5 (repeatable)")  # fmt: skip
    p.add_argument("--out", type=Path, help="run directory (overrides out_dir)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


def _train(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training import train

    summary = train.run(args.config, args.resume, args.set, args.out, progress=not args.no_progress)
    if summary:
        print(json.dumps(summary, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError
    from accident_anticipation_ros.training.errors import TrainingError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _train(args), (TrainingError, ModelError, ValueError, OSError))


if __name__ == "__main__":  # torchrun -m accident_anticipation_ros.tools.train
    sys.exit(main())
