"""Ship a trained student: copy its checkpoint (optionally as float16) and export the ONNX step graph from it.

    python -m accident_anticipation_ros.tools.ship --checkpoint runs/tsd-nano-synth/best/tsd-nano \\
        --out models/tsd-nano --half --semantics-data runs/data/synth-ccd-128

``--semantics-data`` also computes the causes and the domain statistics over that dataset's training
split and ships them in the model file. Prints the written files and their sizes as JSON (see :func:`accident_anticipation_ros.training.ship.ship`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "python -m accident_anticipation_ros.tools.ship"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Copy a student checkpoint and export its ONNX graph.")
    p.add_argument("--checkpoint", required=True, help="trained checkpoint (x, x.safetensors or x.json)")
    p.add_argument("--out", required=True, type=Path, help="output stem, e.g. models/tsd-nano")
    p.add_argument("--half", action="store_true", help="store the weights as float16")
    p.add_argument(
        "--semantics-data",
        metavar="DIR",
        help="dataset root: ship the causes and domain statistics computed over its training split",
    )
    return p


def _ship(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.semantics import SemanticsSpec
    from accident_anticipation_ros.training.ship import ship

    semantics = SemanticsSpec(data=args.semantics_data) if args.semantics_data else None
    print(json.dumps(ship(args.checkpoint, args.out, args.half, semantics=semantics), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _ship(args), (ModelError, OSError))


if __name__ == "__main__":
    sys.exit(main())
