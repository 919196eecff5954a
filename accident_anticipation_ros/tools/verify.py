"""``accident-anticipation verify``: parallel vs step, PyTorch vs ONNX Runtime and reparameterization parity.

Exit code 1 if any error exceeds the tolerance.
"""

from __future__ import annotations

import argparse
import json

from accident_anticipation_ros.tools.command import UsageError, run

PROG = "accident-anticipation verify"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check parallel vs step, PyTorch vs ONNX Runtime and reparameterization parity.",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--configs", nargs="+", default=["tsd-nano", "tsd-s0"], help="configs to check")
    parser.add_argument("--frames", type=int, default=32, help="frames carried through the state (>= 32)")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max relative error")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--threads", type=int, default=1, help="torch and ONNX Runtime threads (1 is fastest on a shared CPU)"
    )
    return parser


def _verify(args: argparse.Namespace) -> int:
    if args.frames < 1:
        raise UsageError("--frames must be >= 1")
    from accident_anticipation_ros.model.verify import KEYS, verify

    result = verify(args.configs, args.frames, args.seed, args.threads, args.tolerance)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for name, d in result["configs"].items():
            print(
                f"{name}: "
                + ", ".join(f"{k} {d[k]:.2e}" for k in KEYS)
                + f" ({d['frames']} frames, {d['seconds']} s)"
            )
        print("OK" if result["ok"] else f"FAILED: an error exceeds {args.tolerance:.0e}")
    return 0 if result["ok"] else 1


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _verify(args), (ModelError, OSError))
