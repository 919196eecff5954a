"""``accident-anticipation demo``: the package's main job, end to end, in one command.

Synthetic test set -> rosbag2 -> ``anticipation_node`` (shipped model, ONNX Runtime) over real DDS ->
AP, mTTA, TTA@R80, report and one rendered accident clip; prints a summary table and where everything is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from accident_anticipation_ros.tools.command import UsageError, run

NAME = "demo"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="accident-anticipation demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("demo_out"), help="output folder (default demo_out)")
    p.add_argument(
        "--model", type=Path, default=None, help="ONNX model (default: the shipped models/tsd-nano.onnx)"
    )
    p.add_argument("--clips", type=int, default=24, help="synthetic test clips (default 24)")
    p.add_argument("--seed", type=int, default=2026, help="seed of the synthetic test set (default 2026)")
    p.add_argument("--rate", type=float, default=2.0, help="replay rate factor (default 2x real time)")
    return p


def shipped_or_given_model(model: Path | None) -> Path:
    """``model``, or the shipped ``models/tsd-nano.onnx``; a :class:`UsageError` that says what to do if absent."""
    from accident_anticipation_ros.package_files import SHIPPED_MODEL, PackageFileError, find_installed

    try:
        path = model if model is not None else find_installed(SHIPPED_MODEL)
    except PackageFileError as exc:
        raise UsageError(f"{exc}\nTrain a model or pass --model MODEL.onnx.") from exc
    if not path.exists():
        raise UsageError(
            f"model {path.resolve()} not found. The repository ships models/tsd-nano.onnx; train one with "
            "`accident-anticipation train --config configs/tsd_nano_synth.yaml` or pass --model."
        )
    return path.resolve()


def _demo(args: argparse.Namespace) -> int:
    from accident_anticipation_ros.demo import run_demo, summary_rows

    model = shipped_or_given_model(args.model)
    result = run_demo(
        args.out, model, args.clips, args.seed, args.rate, log=lambda line: print(line, flush=True)
    )
    rows = summary_rows(result.evaluation)
    width = max(len(k) for k, _ in rows)
    print("\n" + "=" * (width + 14))
    print(f"demo summary ({result.seconds:.0f} s)")
    print("-" * (width + 14))
    for key, value in rows:
        print(f"{key:<{width}}  {value}")
    print("=" * (width + 14))
    print(f"report:        {result.report / 'summary.md'} (curves in {result.report / 'curves'})")
    print(f"video:         {result.video} (and .gif), clip {result.clip_id}")
    print(f"recording:     {result.recording} (AccidentRisk, overlay, /diagnostics, ground truth)")
    print(f"preview:       {result.preview}")
    return 0


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.bag.errors import BagError
    from accident_anticipation_ros.runtime.errors import BackendError

    args = build_parser().parse_args(argv)
    return run(NAME, lambda: _demo(args), (BagError, BackendError, RuntimeError, ValueError, OSError))
