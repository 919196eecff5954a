"""``accident-anticipation export``: a student checkpoint as an ONNX step graph (reparameterized, verified)."""

from __future__ import annotations

import argparse

from accident_anticipation_ros.model.errors import ModelError
from accident_anticipation_ros.model.export import DEFAULT_OPSET, export_onnx
from accident_anticipation_ros.tools.command import run

PROG = "accident-anticipation export"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Export a student checkpoint to an ONNX step graph (reparameterized, verified).",
    )
    parser.add_argument("--checkpoint", required=True, help="checkpoint (x, x.safetensors or x.json)")
    parser.add_argument("--out", required=True, help="output .onnx path")
    parser.add_argument("--opset", type=int, default=DEFAULT_OPSET, help="ONNX opset (>= 17)")
    parser.add_argument("--fps", type=float, default=None, help="override the checkpoint's frame rate")
    parser.add_argument("--frames", type=int, default=8, help="frames for the ONNX Runtime parity check")
    parser.add_argument("--tolerance", type=float, default=1e-4, help="max relative error vs PyTorch")
    parser.add_argument(
        "--float16-storage",
        action="store_true",
        help="store the weights float16 holds exactly as float16 (smaller file, same outputs)",
    )
    parser.add_argument(
        "--static-batch",
        action="store_true",
        help="export a static batch of 1 (as older exports); default: a batch axis, several cameras per call",
    )
    return parser


def _export(args: argparse.Namespace) -> int:
    report = export_onnx(
        args.checkpoint,
        args.out,
        fps=args.fps,
        opset=args.opset,
        frames=args.frames,
        tolerance=args.tolerance,
        float16_storage=args.float16_storage,
        batch_axis=not args.static_batch,
    )
    print(
        f"wrote {report.path} ({report.model_name}, opset {report.opset}, sha256 {report.model_hash[:12]}...); "
        f"ONNX Runtime vs PyTorch over {report.frames_checked} frames"
        f"{' and a batch of 3' if report.batch_axis else ''}: max rel error {report.max_rel_error:.2e}"
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _export(args), (ModelError, OSError))
