"""``accident-anticipation bench-node``: end-to-end latency of the running node, beside its raw step time."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accident_anticipation_ros.parameters import NodeParams, ParameterError
from accident_anticipation_ros.tools.command import UsageError, run

NAME = "bench-node"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation bench-node", description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, default=None, help="ONNX model (default: the shipped tsd-nano.onnx)")
    p.add_argument("--rate", type=float, default=30.0, help="camera rate in Hz (default 30)")
    p.add_argument("--seconds", type=float, default=10.0, help="measurement length per phase (default 10)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=360)
    p.add_argument(
        "--encoding", choices=("rgb8", "jpeg"), default="rgb8", help="rgb8 Image or JPEG CompressedImage"
    )
    p.add_argument(
        "--frames",
        type=Path,
        default=None,
        metavar="DIR",
        help="send the JPEG files under DIR (e.g. ../shared/real/dad) as they are, in name order, "
        "instead of random pixels (implies --encoding jpeg; the size is the files')",
    )
    p.add_argument(
        "--fastdds-profile",
        default=None,
        help="Fast DDS XML profile for every process of the run (default: the package's "
        "config/fastdds_large_images.xml, shared-memory segments for images > 0.5 MB; 'none' to use Fast DDS defaults)",
    )
    p.add_argument(
        "--full-jpeg-decode",
        action="store_true",
        help="run the node with reduced_jpeg_decode:=false (and decode the alone baseline at full size)",
    )
    for name, zero in (("opencv_threads", "OpenCV's default"), ("num_threads", "ONNX Runtime's own")):
        p.add_argument(
            f"--{name.replace('_', '-')}",
            type=int,
            default=getattr(NodeParams, name),
            metavar="N",
            help=f"the node's {name}, also used by the baselines (default %(default)s; 0 = {zero})",
        )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    return p


def _bench(args: argparse.Namespace) -> int:
    from accident_anticipation_ros import bench_node
    from accident_anticipation_ros.dds_profile import large_image_profile
    from accident_anticipation_ros.package_files import SHIPPED_MODEL, find_installed

    model = args.model or find_installed(SHIPPED_MODEL)
    if args.frames is not None and not args.frames.is_dir():
        raise UsageError(f"--frames {args.frames}: not a folder")
    try:  # the node's own checks of the values it is given
        NodeParams(opencv_threads=args.opencv_threads, num_threads=args.num_threads)
    except ParameterError as exc:
        raise UsageError(str(exc)) from None
    if not model.exists():
        raise UsageError(f"model {model} not found; pass --model MODEL.onnx")
    if args.fastdds_profile == "none":
        profile = None
    else:
        profile = Path(args.fastdds_profile) if args.fastdds_profile else large_image_profile()
        if not profile.is_file():
            raise UsageError(f"Fast DDS profile {profile} not found")
    result = bench_node.run(
        model,
        args.rate,
        args.seconds,
        args.width,
        args.height,
        fastdds_profile=profile,
        encoding=args.encoding,
        frames_dir=args.frames,
        reduced_jpeg=not args.full_jpeg_decode,
        opencv_threads=args.opencv_threads,
        num_threads=args.num_threads,
    )
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:<24}{value:.3f}" if isinstance(value, float) else f"{key:<24}{value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # RuntimeError: a process that does not come up, or a package file that is not installed
    return run(NAME, lambda: _bench(args), (RuntimeError, OSError))
