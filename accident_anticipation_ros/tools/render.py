"""``accident-anticipation render``: a recorded overlay stream as a video (.mp4) or animation (.gif)."""

from __future__ import annotations

import argparse
from pathlib import Path

from accident_anticipation_ros.tools.command import run

NAME = "render"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation render", description=__doc__.splitlines()[0])
    p.add_argument("bag", type=Path, help="recorded output bag with overlay images (from replay)")
    p.add_argument("--out", type=Path, required=True, help="video file: .mp4, .avi or .gif")
    p.add_argument("--camera", default=None, help="camera (default: the only one with an overlay)")
    p.add_argument("--clip", default=None, help="only this labelled clip id")
    p.add_argument("--fps", type=float, default=None, help="frame rate (default: the clip's)")
    return p


def _render(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.render import overlay_frames, write_video

    frames, fps = overlay_frames(args.bag, args.camera, args.clip)
    out = write_video(frames, args.out, args.fps or fps)
    print(f"render: {len(frames)} frames at {args.fps or fps:g} fps -> {out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.bag.errors import BagError

    args = build_parser().parse_args(argv)
    return run(NAME, lambda: _render(args), (BagError, ValueError, OSError))
