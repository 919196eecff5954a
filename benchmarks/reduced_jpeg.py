"""JPEG frames decoded smaller (``reduced_jpeg_decode``) against full size: CPU and the model's answers.

    source scripts/env.sh && python benchmarks/reduced_jpeg.py --frames ../shared/real/dad --json out.json

Each clip folder of ``--frames`` (JPEG files in name order) goes through two ``StreamPipeline`` s of the
same model, one decoding at full size and one at the smallest libjpeg scale that covers the model
input twice over (the node's default), frame by frame at ``--fps`` stamps. Printed per clip: CPU
ms per frame of decoding + preprocessing (this process, all threads, back to back), and how far the
two pipelines' answers are apart (probability, smoothed probability, domain score; alert and
out-of-domain flags that differ).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

REPO = Path(__file__).resolve().parent.parent


def _msgs(folder: Path, fps: float) -> list[SimpleNamespace]:
    from accident_anticipation_ros.stamps import seconds_to_ns, split_ns

    out = []
    for i, path in enumerate(sorted(folder.glob("*.jpg"))):
        sec, nanosec = split_ns(seconds_to_ns(100.0 + i / fps))
        header = SimpleNamespace(stamp=SimpleNamespace(sec=sec, nanosec=nanosec), frame_id="cam")
        out.append(SimpleNamespace(header=header, format="jpeg", data=path.read_bytes()))
    return out


def _decode_cpu_ms(pipeline, msgs) -> float:
    from accident_anticipation_ros.conversions import msg_to_rgb

    pre = pipeline.session.preprocessor
    t = time.process_time()
    for msg in msgs:
        pre(msg_to_rgb(msg, pipeline.decode_min_size))
    return (time.process_time() - t) * 1e3 / len(msgs)


def compare(model: Path, folder: Path, fps: float) -> dict:
    from accident_anticipation_ros.parameters import NodeParams
    from accident_anticipation_ros.pipeline import StreamPipeline
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.runtime.preprocessing import Preprocessor
    from accident_anticipation_ros.runtime.session import StreamSession

    params = NodeParams(align_to_model_fps=False)
    backend = create_backend(model, "onnxruntime")
    pipes = {
        reduced: StreamPipeline(
            StreamSession(backend, params.session_config(), Preprocessor(backend.info)), "cam", reduced
        )
        for reduced in (False, True)
    }
    msgs = _msgs(folder, fps)
    outputs = {k: [p.handle_msg(m) for m in msgs] for k, p in pipes.items()}
    full, small = ([o.result for o in outputs[k]] for k in (False, True))

    def diff(field: str) -> float:
        a = np.array([getattr(r, field) for r in full], np.float64)
        b = np.array([getattr(r, field) for r in small], np.float64)
        return float(np.nanmax(np.abs(a - b)))

    sizes = {k: outputs[k][0].rgb.shape[:2] for k in pipes}  # as decoded for the first frame
    backend.close()
    return {
        "clip": folder.name,
        "frames": len(msgs),
        "decoded": {"full": list(sizes[False]), "reduced": list(sizes[True])},
        "decode_preprocess_cpu_ms": {
            k: _decode_cpu_ms(pipes[r], msgs) for k, r in (("full", False), ("reduced", True))
        },
        "max_abs_diff": {f: diff(f) for f in ("probability", "probability_smoothed", "domain_score")},
        "mean_abs_diff_probability": float(
            np.mean([abs(a.probability - b.probability) for a, b in zip(full, small, strict=True)])
        ),
        "alert_frames_differing": sum(a.alert != b.alert for a, b in zip(full, small, strict=True)),
        "out_of_domain_frames_differing": sum(
            a.out_of_domain != b.out_of_domain for a, b in zip(full, small, strict=True)
        ),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=Path, default=REPO.parent / "shared" / "real" / "dad")
    ap.add_argument("--model", type=Path, default=REPO / "models" / "tsd-nano.onnx")
    ap.add_argument("--fps", type=float, default=20.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)
    import cv2

    cv2.setNumThreads(1)
    clips = sorted(d for d in args.frames.iterdir() if d.is_dir() and any(d.glob("*.jpg")))
    if not clips:
        print(f"no clip folders with .jpg files under {args.frames}", file=sys.stderr)
        return 2
    rows = [compare(args.model, d, args.fps) for d in clips]
    for r in rows:
        print(json.dumps(r))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
