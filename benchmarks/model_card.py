"""The model card's per-clip numbers of one student in one run (a benchmark script, not a test).

    OMP_NUM_THREADS=2 python benchmarks/model_card.py [--model models/tsd-nano]   # ~5-10 min

1. Per clip, exact protocol (UString's AP, plus ap_maxprec / mTTA / TTA@R80) on the benchmark's
   100-clip test split (``runs/data/synth-ccd-128``) and on the 600-clip set
   (``synth --clips 600 --size 128 --preset ccd --split-fractions 0,0,1 --seed 1``, generated once into
   ``runs/data/synth-ccd-128-test600``), and the risk map's top-cell accuracy in the last second
   before toa (the colliding object's box; chance 1 / cells).
2. Cause accuracy in the last second before toa and the out-of-domain fraction on the test split,
   from the exported graph on ONNX Runtime (``training.semantics.evaluate_items``).
3. The share of frames of the real DAD clips (``../shared/real/dad``, read in place, at the model's
   10 fps) flagged out of domain; skipped with a reason where the folder is absent.

The streaming numbers are ``benchmarks/streaming.py --model <stem>.onnx``. The report is cached as
``runs/model_card/<stem>-<sha256[:12]>.json`` (``--fresh`` recomputes).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "runs" / "model_card"
DATA = ROOT / "runs" / "data" / "synth-ccd-128"
DATA600 = ROOT / "runs" / "data" / "synth-ccd-128-test600"


def ensure_data(root: Path, clips: int, fractions: str, seed: int) -> Path:
    """``root``, generated once with the ``synth`` command the model card names."""
    from accident_anticipation_ros.tools.synth import main as synth
    from accident_anticipation_ros.training.synth.storage import MANIFEST

    if not (root / MANIFEST).is_file():
        print(f"generating {clips} clips into {root} ...", file=sys.stderr)
        args = ["--out", str(root), "--clips", str(clips), "--size", "128", "--preset", "ccd"]
        if synth([*args, "--split-fractions", fractions, "--seed", str(seed), "--force"]) != 0:
            raise SystemExit(f"synth failed for {root}")
    return root


def per_clip(stem: Path, data: Path) -> dict:
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint

    metrics, details = evaluate_checkpoint(stem, data, "test")
    return {**{k: float(v) for k, v in metrics.items()}, "clips": len(details["toa"]),
            "positives": details["positives"], "risk_map_top_cell": details["risk_map_top_cell"]}  # fmt: skip


def semantics(stem: Path, data: Path) -> dict:
    from accident_anticipation_ros.training.semantics import evaluate_items, split_embeddings

    items, info = split_embeddings(stem.with_suffix(".onnx"), data, "test", threads=2)
    return evaluate_items(info.semantics, items)


def real_dad(stem: Path) -> dict:
    import cv2
    import numpy as np

    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.session import SessionConfig, StreamSession

    folder = next((p / "shared/real/dad" for p in ROOT.parents if (p / "shared/real/dad").is_dir()), None)
    if folder is None:
        return {"skipped": "real DAD clips not found (../shared/real/dad is not part of the repository)"}
    out = {}
    for clip in sorted(p for p in folder.iterdir() if p.is_dir()):
        session = StreamSession(create_backend(stem.with_suffix(".onnx"), kind="onnxruntime", threads=1),
                                SessionConfig())  # fmt: skip
        files = sorted(clip.glob("*.jpg"))[::2]  # 20 fps -> the model's 10 fps
        results = [session.step(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB), 0.1 * i, "rgb8")
                   for i, f in enumerate(files)]  # fmt: skip
        out[clip.name] = {"frames": len(results),
                          "flagged": float(np.mean([r.out_of_domain for r in results])),
                          "score_median": float(np.median([r.domain_score for r in results])),
                          "probability_mean": float(np.mean([r.probability for r in results]))}  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=ROOT / "models" / "tsd-nano", help="checkpoint stem")
    p.add_argument("--fresh", action="store_true", help="recompute")
    args = p.parse_args(argv)
    stem = (
        args.model.with_suffix("") if args.model.suffix in (".onnx", ".safetensors", ".json") else args.model
    )
    digest = hashlib.sha256(stem.with_suffix(".onnx").read_bytes()).hexdigest()[:12]
    path = OUT / f"{stem.name}-{digest}.json"
    data = ensure_data(DATA, 500, "0.65,0.15,0.2", 0)
    if path.is_file() and not args.fresh:
        report = json.loads(path.read_text())
    else:
        t0 = time.time()
        report = {"model": str(stem), "onnx_sha256_12": digest, "test": per_clip(stem, data),
                  "test600": per_clip(stem, ensure_data(DATA600, 600, "0,0,1", 1)),
                  "semantics_test": semantics(stem, data),
                  "real_dad": real_dad(stem)}  # fmt: skip
        report["wall_s"] = round(time.time() - t0, 1)
        OUT.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
