"""``accident-anticipation synth``: write a synthetic dashcam benchmark (or a continuous drive) to a folder.

    accident-anticipation synth --out runs/data/synth-ccd --clips 500 --preset ccd
    accident-anticipation synth --drive --out runs/drives/ccd-30min --minutes 30 --accident-fraction 0.8

``--drive`` renders one continuous stream (``training.synth.drive.generate_drive``: accidents and near
misses at random times with exact toa; layout in ``training.synth.drive_storage``) instead of clips.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accident_anticipation_ros.tools.command import UsageError, run

PROG = "accident-anticipation synth"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split(":", 1)[1].split("\n")[0].strip())
    p.add_argument(
        "--out", required=True, type=Path, help="output folder (gets synth.json and one folder per split)"
    )
    p.add_argument("--clips", type=int, default=None, help="number of clips over all splits (clip sets)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument(
        "--preset", choices=["ccd", "dad"], default="ccd", help="ccd: 50 frames @ 10 fps; dad: 100 @ 20 fps"
    )
    p.add_argument(
        "--size", type=int, default=None, help="square frame size in pixels (default 224; drives: 128)"
    )
    p.add_argument(
        "--split-fractions", default="0.7,0.15,0.15", help="train,val,test fractions (default 0.7,0.15,0.15)"
    )
    p.add_argument(
        "--positive-fraction", type=float, default=0.5, help="share of accident clips (default 0.5)"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--preview", action="store_true", help="also write preview.png and preview.gif")
    p.add_argument("--force", action="store_true", help="write into a folder that already has a synth.json")
    d = p.add_argument_group("continuous drive (--drive; defaults: the preset's DriveConfig)")
    d.add_argument("--drive", action="store_true", help="render one continuous drive instead of clips")
    d.add_argument("--minutes", type=float, default=None, help="minutes of driving (default 1)")
    d.add_argument("--accident-fraction", type=float, default=None, help="share of events that are accidents")
    d.add_argument(
        "--safe-gap", default=None, metavar="LOW,HIGH", help="seconds of safe driving between events"
    )
    d.add_argument("--lead-in", default=None, metavar="LOW,HIGH", help="seconds before a world's first event")
    d.add_argument(
        "--event-lead", default=None, metavar="LOW,HIGH", help="seconds from manoeuvre start to toa"
    )
    d.add_argument("--after-accident", choices=["cut", "end"], default=None, help="cut to a new world or end")
    d.add_argument("--piece-seconds", type=float, default=None, help="longest stored piece in seconds")
    d.add_argument(
        "--lead-traffic",
        type=float,
        default=None,
        metavar="PER_MIN",
        help="ordinary cars ahead in the ego lane, arrivals per minute (default 0: none)",
    )
    return p


def _pair(text: str, name: str) -> tuple[float, float]:
    parts = text.split(",")
    if len(parts) != 2:
        raise ValueError(f"--{name} must be LOW,HIGH, got {text!r}")
    return float(parts[0]), float(parts[1])


def drive_overrides(args: argparse.Namespace) -> dict:
    """The ``DriveConfig`` fields the command line sets (the rest stay the preset's)."""
    out: dict = {}
    if args.minutes is not None:
        out["duration"] = args.minutes * 60.0
    for name in ("accident_fraction", "after_accident", "piece_seconds", "lead_traffic"):
        if getattr(args, name) is not None:
            out[name] = getattr(args, name)
    for name in ("safe_gap", "lead_in", "event_lead"):
        if getattr(args, name) is not None:
            out[name] = _pair(getattr(args, name), name.replace("_", "-"))
    return out


def _drive(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.synth.drive import generate_drive
    from accident_anticipation_ros.training.synth.drive_config import make_drive_config

    try:
        cfg = make_drive_config(args.preset, size=args.size, **drive_overrides(args))
    except ValueError as exc:
        raise UsageError(exc) from exc
    try:
        s = generate_drive(cfg, args.seed, args.out, overwrite=args.force)
    except FileExistsError as exc:
        raise UsageError(f"{exc}; use --force to overwrite") from exc
    print(
        f"wrote a {s.seconds / 60:.1f} min drive ({s.num_frames} frames at {s.fps:g} fps, {s.worlds} worlds, "
        f"{s.accidents} accidents, {s.near_misses} near misses, {s.pieces} pieces) to {s.root}"
    )
    return 0


def _synth(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.training.synth.config import make_config, split_counts
    from accident_anticipation_ros.training.synth.storage import MANIFEST
    from accident_anticipation_ros.training.synth.writer import write_benchmark

    if args.drive:
        return _drive(args)
    if args.clips is None:
        raise UsageError("--clips is required (or --drive for a continuous drive)")
    try:
        fractions = tuple(float(x) for x in args.split_fractions.split(","))
        counts = split_counts(args.clips, fractions)
        cfg = make_config(args.preset, size=args.size or 224, positive_fraction=args.positive_fraction)
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
    return run(PROG, lambda: _synth(args), (OSError, RuntimeError))
