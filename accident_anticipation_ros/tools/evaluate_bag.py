"""``accident-anticipation evaluate-bag``: the paper's metrics and a report from recorded output bags."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accident_anticipation_ros.tools.command import UsageError, run

NAME = "evaluate-bag"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="accident-anticipation evaluate-bag", description=__doc__.splitlines()[0]
    )
    p.add_argument("bags", nargs="+", type=Path, help="recorded output bags (from replay)")
    p.add_argument("--camera", default=None, help="camera to evaluate (default: the only one)")
    p.add_argument(
        "--labels-bag", type=Path, default=None, help="bag holding the labels, if the recording lacks them"
    )
    p.add_argument("--out", type=Path, default=None, help="report folder (default: <first bag>_report)")
    p.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    p.add_argument(
        "--max-missing",
        type=float,
        default=0.0,
        help="fail (exit 1) when more than this fraction of the frames has no AccidentRisk (default 0)",
    )
    return p


def _evaluate(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.evaluate_bag import check_missing, evaluate_bags, write_report

    if not 0.0 <= args.max_missing <= 1.0:
        raise UsageError(f"--max-missing must be a fraction in [0, 1], got {args.max_missing}")
    ev = evaluate_bags(args.bags, args.camera, args.labels_bag)
    out = write_report(ev, args.out or Path(str(args.bags[0]).rstrip("/") + "_report"))
    if args.json:
        print(json.dumps(ev.summary()))
    else:
        print((out / "summary.md").read_text())
        print(f"report: {out}")
    check_missing(ev, args.max_missing)  # after the report: it shows which frames are missing
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.bag.errors import BagError

    args = build_parser().parse_args(argv)
    return run(NAME, lambda: _evaluate(args), (BagError, ValueError, OSError))
