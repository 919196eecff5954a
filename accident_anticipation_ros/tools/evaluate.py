"""``accident-anticipation evaluate``: community metrics of a student checkpoint on a dataset split.

    accident-anticipation evaluate --checkpoint runs/tsd-nano-synth/best/tsd-nano --data data/synth-ccd --split test --json

``--json`` prints the metrics dict of ``accident_anticipation_ros.metrics.evaluate`` (ap, mtta,
tta_r80, mtta_toa, video_ap); ``--scores`` also keeps the per-frame scores.

    accident-anticipation evaluate --stream --model models/tsd-nano.onnx --data runs/drives/ccd-30min

``--stream`` runs the model (``--model`` ONNX, or ``--checkpoint`` exported to a temporary ONNX file;
a GRU ablation checkpoint, which has no export, runs in PyTorch by ``training.student_backend``)
through the runtime's own StreamSession with ONNX Runtime and the node's default settings, one state
for the whole drive (``synth --drive``) or for the split's clips chained back to back, and reports
the streaming numbers of ``training.stream_evaluate`` (how windows are drawn is printed with them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.tools.command import UsageError, run

PROG = "accident-anticipation evaluate"


def build_parser() -> argparse.ArgumentParser:
    from accident_anticipation_ros.training.config import RESIZE_MODES

    p = argparse.ArgumentParser(prog=PROG, description="Evaluate a student checkpoint (AP, mTTA, TTA@R80).")
    p.add_argument("--checkpoint", default=None, help="student checkpoint (x, x.safetensors or x.json)")
    p.add_argument("--data", required=True, type=Path, help="dataset folder")
    p.add_argument("--split", default="test", help="split to evaluate (default: test)")
    p.add_argument("--format", default="auto", help="dataset format (default: auto-detect)")
    p.add_argument("--max-clips", type=int, default=None, help="evaluate only the first N clips")
    p.add_argument("--device", default="cpu", help="torch device (cpu, cuda)")
    p.add_argument(
        "--resize", choices=RESIZE_MODES, default=None, help="frame fitting (default: the checkpoint's)"
    )
    p.add_argument("--scores", type=Path, default=None, help="also write per-frame scores to this .npz")
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    s = p.add_argument_group("streaming (--stream; no ROS, ONNX Runtime)")
    s.add_argument("--stream", action="store_true", help="one state over a drive or the chained clips")
    s.add_argument("--model", type=Path, default=None, help="ONNX model (instead of --checkpoint)")
    s.add_argument("--threads", type=int, default=1, help="ONNX Runtime threads (default 1)")
    s.add_argument("--aftermath", action="store_true", help="chained clips: keep the frames after toa")
    s.add_argument(
        "--repeat", type=int, default=1, help="feed every frame N times at N x fps (e.g. 3: 30 fps)"
    )
    s.add_argument("--before", type=float, default=4.0, help="window seconds before toa (default 4)")
    s.add_argument("--after", type=float, default=1.0, help="window seconds from toa on (default 1)")
    s.add_argument(
        "--margin", type=float, default=2.0, help="safe windows' distance to events (s, default 2)"
    )
    return p


def _stream(args: argparse.Namespace) -> int:
    import tempfile

    from accident_anticipation_ros.stream_metrics import WindowSpec
    from accident_anticipation_ros.training.stream_evaluate import (
        evaluate_clips_stream,
        evaluate_drive_stream,
        format_report,
    )
    from accident_anticipation_ros.training.synth.drive_storage import DRIVE_INDEX

    if (args.model is None) == (args.checkpoint is None):
        raise UsageError("--stream needs exactly one of --model (ONNX) and --checkpoint")
    if args.repeat < 1 or args.threads < 1:
        raise UsageError("--repeat and --threads must be >= 1")
    spec = WindowSpec(before=args.before, after=args.after, margin=args.margin)
    with tempfile.TemporaryDirectory() as tmp:
        model = args.model
        if model is None:
            model = _checkpoint_model(args.checkpoint, Path(tmp), args.threads)
        if (args.data / DRIVE_INDEX).is_file():
            report = evaluate_drive_stream(model, args.data, spec, threads=args.threads, repeat=args.repeat)
        else:
            report = evaluate_clips_stream(model, args.data, args.split, args.format, max_clips=args.max_clips,
                                           aftermath=args.aftermath, threads=args.threads)  # fmt: skip
    print(json.dumps(report) if args.json else format_report(report, spec))
    return 0


def _checkpoint_model(checkpoint: str, tmp: Path, threads: int):
    """A TSD checkpoint exported to ONNX in ``tmp`` (the deployed runtime), or a GRU ablation student
    as a PyTorch ``StudentBackend`` (it has no ONNX export)."""
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.training.checkpoint import is_gru_checkpoint
    from accident_anticipation_ros.training.student_backend import StudentBackend

    if is_gru_checkpoint(checkpoint):
        print(f"{checkpoint}: GRU student, streamed in PyTorch (no ONNX export)", file=sys.stderr)
        return StudentBackend(checkpoint, threads=threads)
    model = tmp / "model.onnx"
    export_onnx(checkpoint, model)
    return model


def _evaluate(args: argparse.Namespace) -> int:
    if args.stream:
        return _stream(args)
    if args.checkpoint is None:
        raise UsageError("--checkpoint is required")
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint, save_scores

    metrics, details = evaluate_checkpoint(
        args.checkpoint,
        args.data,
        args.split,
        args.format,
        args.max_clips,
        args.device,
        args.resize,
        progress=not args.json,
    )
    if args.scores is not None:
        save_scores(args.scores, details)
    if details["fps_model"] != details["fps_data"]:
        print(
            f"{PROG}: warning: model assumes {details['fps_model']} fps, data has {details['fps_data']}",
            file=sys.stderr,
        )
    if args.json:
        print(json.dumps(metrics))
    else:
        n = len(details["clip_ids"])
        print(f"{args.split}: {n} clips ({details['positives']} with an accident), {details['frames']} frames, "
              f"{details['wall_s']:.1f} s")  # fmt: skip
        for key, value in metrics.items():
            unit = " s" if key.startswith(("mtta", "tta")) else ""
            print(f"  {key:<9} {value:.4f}{unit}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.model.errors import ModelError
    from accident_anticipation_ros.runtime.errors import BackendError

    args = build_parser().parse_args(argv)
    return run(PROG, lambda: _evaluate(args), (ModelError, BackendError, ValueError, OSError))
