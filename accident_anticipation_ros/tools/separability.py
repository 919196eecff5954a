"""Is anticipation a temporal task? A per-frame classifier check on synthetic clips, printed as JSON.

    python -m accident_anticipation_ros.tools.separability --clips 300 --workers 2

(or ``--data DIR`` to use a benchmark written by ``accident-anticipation synth``). See
:mod:`accident_anticipation_ros.training.synth.separability` for what the numbers mean.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "python -m accident_anticipation_ros.tools.separability"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.splitlines()[0])
    p.add_argument("--clips", type=int, default=300, help="clips to generate (half with an accident)")
    p.add_argument("--preset", choices=["ccd", "dad"], default="ccd")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--folds", type=int, default=5)
    p.add_argument("--data", type=Path, help="use the clips of a written benchmark instead of generating")
    return p


def _separability(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.synth.separability import separability

    result = separability(args.clips, args.preset, args.size, args.seed, args.workers, args.folds, args.data)
    print(json.dumps(result, indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _separability(args), (OSError,))


if __name__ == "__main__":
    sys.exit(main())
