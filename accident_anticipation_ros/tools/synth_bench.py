"""Generator throughput: ``python -m accident_anticipation_ros.tools.synth_bench`` prints JSON.

One process, OpenCV on one thread: frames per second of CPU time is the speed per core; wall-clock
frames per second is reported too (it drops when other processes share the cores).
"""

from __future__ import annotations

import argparse
import json
import sys

from accident_anticipation_ros.tools.command import run

PROG = "python -m accident_anticipation_ros.tools.synth_bench"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__)
    p.add_argument("--preset", choices=["ccd", "dad"], default="ccd")
    p.add_argument("--size", type=int, default=224)
    p.add_argument("--clips", type=int, default=8)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-write", action="store_true", help="time generation only")
    return p


def _bench(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.synth import bench

    print(json.dumps(bench.run(args.preset, args.size, args.clips, args.seed, not args.no_write), indent=2))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _bench(args), (OSError,))


if __name__ == "__main__":
    sys.exit(main())
