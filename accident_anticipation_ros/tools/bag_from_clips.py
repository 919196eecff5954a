"""``accident-anticipation bag-from-clips``: write a dataset split as a rosbag2 evaluation bag.

``--continuous`` writes the clips back to back as one stream (``bag.continuous.write_continuous_bag``:
no gap, one stamp step), so the node never resets between clips; a drive folder
(``synth --drive``) is written as its pieces in stream order (``iter_drive_clips``).
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation bag-from-clips"


def build_parser() -> argparse.ArgumentParser:
    from accident_anticipation_ros.bag.writer import (
        DEFAULT_CAMERA_TOPIC,
        DEFAULT_GAP,
        DEFAULT_LABEL_TOPIC,
        DEFAULT_START_TIME,
        STORAGES,
    )

    p = argparse.ArgumentParser(
        prog=PROG,
        description="Write the clips of a dataset split as a rosbag2 bag: camera frames (Image rgb8 or "
        "CompressedImage jpeg) and one AccidentLabel per clip, clips separated by a time gap.",
    )
    p.add_argument(
        "src", type=Path, metavar="SRC", help="dataset root (e.g. a synthetic set with synth.json)"
    )
    p.add_argument("--out", type=Path, required=True, metavar="BAG", help="bag directory to create")
    p.add_argument(
        "--storage", choices=sorted(STORAGES), default="mcap", help="storage plugin (default: mcap)"
    )
    p.add_argument(
        "--compressed", action="store_true", help="CompressedImage jpeg on <camera-topic>/compressed"
    )
    p.add_argument(
        "--jpeg-quality", type=int, default=95, help="JPEG quality with --compressed (default: 95)"
    )
    p.add_argument("--split", default="test", help="dataset split (default: test)")
    p.add_argument(
        "--fmt", default="auto", help="dataset format, as the dataset loaders name it (default: auto)"
    )
    p.add_argument("--max-clips", type=int, default=None, metavar="N", help="write at most N clips")
    p.add_argument("--camera-topic", default=DEFAULT_CAMERA_TOPIC, help=f"default: {DEFAULT_CAMERA_TOPIC}")
    p.add_argument("--label-topic", default=DEFAULT_LABEL_TOPIC, help=f"default: {DEFAULT_LABEL_TOPIC}")
    p.add_argument("--frame-id", default="camera", help="header.frame_id of every message (default: camera)")
    p.add_argument(
        "--gap",
        type=float,
        default=DEFAULT_GAP,
        help=f"seconds between clips; longer than the node's max_gap (default: {DEFAULT_GAP})",
    )
    p.add_argument(
        "--continuous",
        action="store_true",
        help="one stream: clips back to back, no gap (no reset between clips); a drive folder is always "
        "written so",
    )
    p.add_argument(
        "--start-time",
        type=float,
        default=DEFAULT_START_TIME,
        help=f"stamp of the first frame, seconds since the epoch (default: {DEFAULT_START_TIME:.0f})",
    )
    return p


def _write(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from accident_anticipation_ros.bag.continuous import write_continuous_bag
    from accident_anticipation_ros.bag.writer import write_clips_bag
    from accident_anticipation_ros.training.datasets import iter_clips
    from accident_anticipation_ros.training.synth.drive_storage import DRIVE_INDEX, iter_drive_clips

    drive = (args.src / DRIVE_INDEX).is_file()
    if drive:
        clips = itertools.islice(iter_drive_clips(args.src), args.max_clips)
    else:
        clips = iter_clips(args.src, fmt=args.fmt, split=args.split, limit=args.max_clips)
    clips = tqdm(clips, total=args.max_clips, unit="clip", desc="bag-from-clips", file=sys.stderr)
    common = dict(
        storage=args.storage, compressed=args.compressed, camera_topic=args.camera_topic,
        label_topic=args.label_topic, frame_id=args.frame_id, start_time=args.start_time,
        jpeg_quality=args.jpeg_quality,
    )  # fmt: skip
    if drive or args.continuous:
        info = write_continuous_bag(clips, args.out, **common)
    else:
        info = write_clips_bag(clips, args.out, gap_between_clips=args.gap, **common)
    seconds = (info.end_ns - info.start_ns) / 1e9
    print(
        f"wrote {info.num_clips} clips ({info.num_frames} frames, {seconds:.1f} s) to {info.path} "
        f"[{info.storage}; camera {info.camera_topic}; labels {info.label_topic}"
        f"{'; continuous' if drive or args.continuous else ''}]"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command; return 0 on success, 1 on a bad dataset or bag, 2 on bad arguments."""
    from accident_anticipation_ros.bag.errors import BagError

    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.src.exists():
        parser.error(f"dataset root {args.src} does not exist")
    if args.out.exists():
        parser.error(f"--out {args.out} exists already; not overwriting")
    if args.max_clips is not None and args.max_clips < 1:
        parser.error(f"--max-clips must be at least 1, got {args.max_clips}")
    return run(PROG, lambda: _write(args), (BagError, OSError, ValueError))
