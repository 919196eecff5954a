"""``accident-anticipation bench``: cost of the recurrent student against sliding-window baselines.

``--json`` prints one JSON object; without it a table. See :mod:`accident_anticipation_ros.runtime.bench`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.runtime.bench import BenchOptions, format_table, run_bench
from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation bench"


def build_parser() -> argparse.ArgumentParser:
    d = BenchOptions()
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--out", type=Path, help="also write the JSON to this file")
    p.add_argument("--models", default=",".join(d.models), help="students to time (comma separated)")
    p.add_argument(
        "--stream-model", default=d.stream_model, help="student of the long-stream test ('' skips it)"
    )
    p.add_argument(
        "--stream-frames", type=int, default=d.stream_frames, help="frame N of the long-stream test"
    )
    p.add_argument(
        "--paired-model", default=d.paired_model, help="student compared with the baselines ('' skips)"
    )
    p.add_argument("--window", type=int, default=d.window, help="frames of the sliding-window baselines")
    p.add_argument("--rounds", type=int, default=d.rounds, help="turns of the paired comparison")
    p.add_argument("--frames", type=int, default=d.frames, help="timed steps per latency measurement")
    p.add_argument(
        "--warmup", type=int, default=d.warmup, help="untimed steps before each latency measurement"
    )
    p.add_argument("--threads", type=int, default=d.threads, help="threads (default: all cores)")
    p.add_argument(
        "--clock",
        choices=("wall", "thread"),
        default=d.clock,
        help="'thread': CPU time of the calling thread (needs --threads 1): robust on a shared machine",
    )
    p.add_argument("--skip-torch", action="store_true", help="skip the torch backend timings")
    p.add_argument("--skip-windows", action="store_true", help="skip the sliding-window baselines")
    p.add_argument("--skip-mci0", action="store_true", help="skip the MCi0 trunk reference")
    p.add_argument("--skip-matmul", action="store_true", help="skip the matmul peak")
    return p


def _bench(args: argparse.Namespace, options: BenchOptions) -> int:
    log = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    results = run_bench(options, log)
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2) if args.json else format_table(results))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    fields = {k: v for k, v in vars(args).items() if k not in ("json", "out")}
    fields["models"] = tuple(m.strip() for m in args.models.split(",") if m.strip())
    try:
        options = BenchOptions(**fields)
    except ValueError as exc:
        parser.error(str(exc))
    return run(PROG, lambda: _bench(args, options), (OSError,))
