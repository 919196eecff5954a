"""Per-clip vs streaming numbers of the shipped model in one run (a benchmark script, not a test).

    OMP_NUM_THREADS=1 python benchmarks/streaming.py            # ~10-30 min on a shared 2-core CPU

1. A continuous drive of at least 30 minutes (``synth --drive``: 1860 s asked, as the drive stops at the
   first event that would not fit; preset ccd, 128x128 at 10 fps, accident_fraction 0.8,
   lead_in 5-8 s, safe_gap 3-10 s, seed 0), rendered once and cached under ``runs/streaming/``.
2. The shipped ``models/tsd-nano.onnx`` (ONNX Runtime, 1 thread) through the runtime's StreamSession with
   the node's default settings over it: event-window AP (UString protocol) / ap_maxprec / mTTA /
   TTA@R80 with the state carried in, the same windows from a fresh state, alerts per hour of safe
   driving, the share of accidents alerted >= 0.5 / 1 / 2 s before toa, risk-map top-cell accuracy.
3. The same drive at 30 fps (every frame three times, 1/30 s stamps), aligned by the session where
   ``align_to_model_fps`` exists (else reported as pending: the model then takes three steps per frame).
4. The benchmark's 100-clip test split (``synth --clips 500 --size 128 --preset ccd --split-fractions
   0.65,0.15,0.2 --seed 0``: only its test split is generated, the same clips) chained back to back
   through one session, crash aftermath left out and kept, beside each clip from a fresh state.

Every part's numbers are cached as ``runs/streaming/<part>-<model>-<sha256[:12]>.json`` (``--fresh``
recomputes); ``--model`` scores another export (a candidate before it is shipped).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNS = ROOT / "runs" / "streaming"
MODEL = ROOT / "models" / "tsd-nano.onnx"
DRIVE = RUNS / "drive-ccd-31min-s0"
CLIPS = ROOT / "runs" / "data" / "synth-ccd-128-test"
DRIVE_OPTIONS = dict(duration=1860.0, accident_fraction=0.8, lead_in=(5.0, 8.0), safe_gap=(3.0, 10.0))


def ensure_drive() -> Path:
    from accident_anticipation_ros.training.synth.drive import generate_drive
    from accident_anticipation_ros.training.synth.drive_config import make_drive_config
    from accident_anticipation_ros.training.synth.drive_storage import DRIVE_INDEX

    if not (DRIVE / DRIVE_INDEX).is_file():
        print(f"rendering the drive into {DRIVE} ...", file=sys.stderr)
        generate_drive(make_drive_config("ccd", size=128, **DRIVE_OPTIONS), 0, DRIVE, overwrite=True)
    return DRIVE


def ensure_clips() -> Path:
    from accident_anticipation_ros.training.synth.config import make_config
    from accident_anticipation_ros.training.synth.storage import MANIFEST
    from accident_anticipation_ros.training.synth.writer import write_benchmark

    if not (CLIPS / MANIFEST).is_file():
        print(f"generating the 100-clip test split into {CLIPS} ...", file=sys.stderr)
        cfg = make_config("ccd", size=128, positive_fraction=0.5)
        write_benchmark(CLIPS, cfg, 0, {"train": 0, "val": 0, "test": 100}, (0.65, 0.15, 0.2), progress=False)
    return CLIPS


def part(name: str, compute, fresh: bool, model: Path) -> dict:
    """``compute()``'s report, cached per part and model (the model file's sha256 in the name)."""
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    path = RUNS / f"{name}-{model.stem}-{digest}.json"
    if path.is_file() and not fresh:
        return json.loads(path.read_text())
    t0 = time.time()
    report = compute()
    report["wall_s"] = round(time.time() - t0, 1)
    RUNS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1))
    return report


def _row(name: str, m: dict) -> str:
    return (f"| {name} | {100 * m['ap']:.1f} % | {100 * m['ap_maxprec']:.1f} % | {m['mtta']:.2f} s "
            f"| {m['tta_r80']:.2f} s |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    from accident_anticipation_ros.training.stream_evaluate import (
        alignment_available,
        evaluate_clips_stream,
        evaluate_drive_stream,
        format_report,
    )

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--fresh", action="store_true", help="recompute every part")
    p.add_argument("--parts", default="drive,drive30,clips", help="comma-separated parts (default: all)")
    p.add_argument(
        "--model", type=Path, default=MODEL, help=f"ONNX model (default: {MODEL.relative_to(ROOT)})"
    )
    args = p.parse_args(argv)
    model = args.model.resolve()
    parts = args.parts.split(",")
    out = {}
    if "drive" in parts or "drive30" in parts:
        drive = ensure_drive()
    if "drive" in parts:
        out["drive"] = part(
            "drive", lambda: evaluate_drive_stream(model, drive, threads=1), args.fresh, model
        )
        print("## drive, 10 fps\n" + format_report(out["drive"]) + "\n")
    if "drive30" in parts:
        aligned = alignment_available()
        out["drive30"] = part(
            "drive30", lambda: {**evaluate_drive_stream(model, drive, threads=1, repeat=3, fresh=False),
                                "aligned": aligned}, args.fresh, model)  # fmt: skip
        state = (
            "aligned to 10 fps" if out["drive30"]["aligned"] else "NOT aligned (frame-rate alignment pending)"
        )
        print(f"## drive, 30 fps ({state})\n" + format_report(out["drive30"]) + "\n")
    if "clips" in parts:
        clips = ensure_clips()
        for aftermath in (False, True):
            key = f"clips_aftermath_{'kept' if aftermath else 'cut'}"
            out[key] = part(key, lambda a=aftermath: evaluate_clips_stream(model, clips, "test", aftermath=a),
                            args.fresh, model)  # fmt: skip
            print(f"## test split back to back\n{format_report(out[key])}\n")
    print("| numbers (UString protocol) | AP | ap_maxprec | mTTA | TTA@R80 |\n|---|---|---|---|---|")
    if "drive" in out:
        print(_row("drive event windows, per clip (fresh state)", out["drive"]["fresh"]))
        print(_row("drive event windows, streaming (10 fps)", out["drive"]["stream"]))
    if "drive30" in out:
        print(_row("drive event windows, streaming (30 fps camera)", out["drive30"]["stream"]))
    for key, name in (
        ("clips_aftermath_cut", "aftermath left out"),
        ("clips_aftermath_kept", "aftermath kept"),
    ):
        if key in out:
            print(
                _row("test split, each clip fresh", out[key]["fresh"]) if key.endswith("cut") else "", end=""
            )
            print(
                ("\n" if key.endswith("cut") else "")
                + _row(f"test split back to back, {name}", out[key]["stream"])
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
