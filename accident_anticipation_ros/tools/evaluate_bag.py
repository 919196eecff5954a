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
    p.add_argument(
        "--stream",
        action="store_true",
        help="also the streaming numbers of a continuous bag (event windows, alerts per hour, lead shares)",
    )
    p.add_argument(
        "--drive",
        type=Path,
        default=None,
        help="with --stream: the drive folder the bag was written from (truth)",
    )
    return p


def _stream_section(ev, args: argparse.Namespace, out: Path) -> dict:
    from accident_anticipation_ros.stream_bag import stream_report_from_clips

    truth = None
    if args.drive is not None:
        from accident_anticipation_ros.stream_metrics import truth_from_drive
        from accident_anticipation_ros.training.synth.drive_storage import read_drive, read_frames

        truth = truth_from_drive(read_drive(args.drive), read_frames(args.drive))
    report = stream_report_from_clips(ev.clips, truth=truth)
    (out / "stream.json").write_text(json.dumps(report, indent=1))
    return report


def _evaluate(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.evaluate_bag import check_missing, evaluate_bags, write_report

    if not 0.0 <= args.max_missing <= 1.0:
        raise UsageError(f"--max-missing must be a fraction in [0, 1], got {args.max_missing}")
    ev = evaluate_bags(args.bags, args.camera, args.labels_bag)
    out = write_report(ev, args.out or Path(str(args.bags[0]).rstrip("/") + "_report"))
    stream = _stream_section(ev, args, out) if args.stream else None
    if args.json:
        print(json.dumps(ev.summary() if stream is None else {**ev.summary(), "stream": stream}))
    else:
        print((out / "summary.md").read_text())
        if stream is not None:
            from accident_anticipation_ros.stream_report import format_report

            print("## Streaming (one state over the continuous bag)\n" + format_report(stream))
        print(f"report: {out}")
    check_missing(ev, args.max_missing)  # after the report: it shows which frames are missing
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.bag.errors import BagError

    args = build_parser().parse_args(argv)
    return run(NAME, lambda: _evaluate(args), (BagError, ValueError, OSError))
