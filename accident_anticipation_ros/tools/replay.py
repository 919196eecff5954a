"""``accident-anticipation replay``: a bag's camera stream through the node, its outputs into a new bag.

Over DDS (default) into a running ``anticipation_node`` (or one started with ``--model``);
``--offline`` steps the node's ``StreamSession`` over every frame without DDS. See
:mod:`accident_anticipation_ros.replay`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from accident_anticipation_ros.replay import DEFAULT_NODE, replay_dds, replay_offline
from accident_anticipation_ros.replay_accounting import DROPPED, describe
from accident_anticipation_ros.tools.command import UsageError, run

NAME = "replay"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation replay", description=__doc__.splitlines()[0])
    p.add_argument("bag", type=Path, help="input bag (directory or .mcap/.db3 file)")
    p.add_argument("--out", type=Path, required=True, help="output bag directory to create (mcap)")
    p.add_argument("--rate", type=float, default=1.0, help="playback rate factor (default 1: real time)")
    p.add_argument("--camera-topic", default=None, help="camera topic (default: the bag's only image topic)")
    p.add_argument("--label-topic", default=None, help="ground-truth topic (default: the writer's)")
    p.add_argument(
        "--node-name", default=DEFAULT_NODE, help=f"name of the running node (default {DEFAULT_NODE})"
    )
    p.add_argument(
        "--model", type=Path, default=None, help="start anticipation_node with this model for the replay"
    )
    p.add_argument("--backend", default="onnxruntime", help="backend of the node started with --model")
    p.add_argument(
        "--overlay-rate", type=float, default=0.0, help="overlay Hz of a started node (0: every frame)"
    )
    p.add_argument(
        "--offline", action="store_true", help="no DDS: step a StreamSession over the bag (needs --model)"
    )
    p.add_argument("--overlay", action="store_true", help="--offline: also write overlay images")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for the node to come up")
    p.add_argument(
        "--ahead",
        type=int,
        default=1,
        help="frames published beyond the node's last answer (default 1: lockstep, the node never drops)",
    )
    p.add_argument(
        "--answer-timeout",
        type=float,
        default=10.0,
        help="seconds without an answer before the oldest unanswered frame is given up (and listed)",
    )
    return p


def _replay(args: argparse.Namespace) -> int:
    if args.rate <= 0:
        raise UsageError("--rate must be > 0")
    if args.ahead < 1 or args.answer_timeout <= 0:
        raise UsageError("--ahead must be >= 1 and --answer-timeout > 0")
    if args.offline:
        if args.model is None:
            raise UsageError("--offline needs --model MODEL")
        summary = replay_offline(
            args.bag,
            args.out,
            args.model,
            backend=args.backend,
            overlay=args.overlay,
            camera_topic=args.camera_topic,
            label_topic=args.label_topic,
        )
    else:
        summary = replay_dds(
            args.bag,
            args.out,
            rate=args.rate,
            camera_topic=args.camera_topic,
            label_topic=args.label_topic,
            node_name=args.node_name,
            model=args.model,
            backend=args.backend,
            overlay_rate=args.overlay_rate,
            timeout=args.timeout,
            ahead=args.ahead,
            answer_timeout=args.answer_timeout,
        )
    decimated_dropped = summary.dropped - sum(m.reason == DROPPED for m in summary.missing)
    print(
        f"replay: {summary.frames} frames of camera '{summary.camera}' -> {summary.risk_messages} AccidentRisk, "
        f"{summary.overlays} overlays, {summary.dropped} dropped by the node (of which {decimated_dropped} "
        "would have been decimated), "
        f"{summary.decimated} decimated to the model's fps "
        f"(no AccidentRisk by design), in {summary.wall_s:.1f} s; wrote {summary.out}"
    )
    print("replay: " + describe(summary.missing, summary.frames - summary.decimated))
    if summary.missing:
        listing = Path(str(summary.out).rstrip("/") + ".missing.json")
        listing.write_text(json.dumps([m.as_dict() for m in summary.missing], indent=1))
        print(f"replay: every missing frame (clip, stamp, reason): {listing}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.bag.errors import BagError
    from accident_anticipation_ros.runtime.errors import BackendError

    args = build_parser().parse_args(argv)
    # OSError: FileExistsError of an existing --out too; RuntimeError: a node that does not come up
    return run(NAME, lambda: _replay(args), (BagError, BackendError, RuntimeError, ValueError, OSError))
