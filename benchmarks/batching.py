"""Several cameras in one model call vs one after another (a benchmark script, not a test; issue #16).

    nice -n 19 python benchmarks/batching.py                     # ~5 min on a shared 2-core CPU
    python benchmarks/batching.py --models tsd-nano --cameras 1,2 --rounds 5 --levers ''   # a quick look

For each student (random weights: cost does not depend on them; exported with a batch axis) and
each number of cameras N, on ONNX Runtime (CPU, ``--threads``):

1. *model calls*: ``backend.step_batch`` of N preprocessed frames vs N ``backend.step`` calls, timed
   in turns (batched, then sequential, ``--rounds`` times) so that a changing load hits both alike:
   CPU time of the process per round (every ONNX Runtime thread counted) and the ratio.
2. *paced rounds*: N cameras at ``--fps`` (all frames of a round arrive together; 640x360 RGB),
   through ``StreamSession``: ``step_sessions`` (the node's batched worker) vs ``session.step``
   camera after camera (``batch_cameras:=false``), in runs ordered batched, sequential,
   sequential, batched. CPU per round and, per camera, the end-to-end
   latency from the frame's arrival to its result (preprocessing, model, post-processing); when a
   round takes longer than the frame period the next round takes the newest frames (as the node's
   newest-frame slots do), and ``fps/cam`` says what each camera got.
3. ``--levers``: for N = 4 of the first model, the model-call ratio under other ONNX Runtime settings
   (intra-op threads x graph optimisation level), with plain ``InferenceSession`` objects.

Prints one table per part; ``--json PATH`` writes every number.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FRAME_SHAPE = (360, 640, 3)


def build(name: str, workdir: Path) -> Path:
    """A random ``name`` student exported with a batch axis."""
    from accident_anticipation_ros.runtime.bench import build_student

    return build_student(name, workdir)[1]


def model_calls(backend, cameras: int, rounds: int) -> dict:
    """CPU ms per round of N model calls vs one call of N rows, in turns."""
    info = backend.info
    rng = np.random.default_rng(0)
    images = [
        rng.standard_normal((1, 3, info.input_height, info.input_width)).astype(np.float32)
        for _ in range(cameras)
    ]
    states_b = [backend.init_state() for _ in range(cameras)]
    states_s = [backend.init_state() for _ in range(cameras)]
    batched, sequential = [], []
    for r in range(rounds + 1):  # the first round warms up (and allocates for this batch)
        c0 = time.process_time()
        _, states_b = backend.step_batch(images, states_b)
        c1 = time.process_time()
        for i in range(cameras):
            _, states_s[i] = backend.step(images[i], states_s[i])
        c2 = time.process_time()
        if r:
            batched.append(c1 - c0)
            sequential.append(c2 - c1)
    b, s = 1e3 * float(np.mean(batched)), 1e3 * float(np.mean(sequential))
    return {"batched_cpu_ms": b, "sequential_cpu_ms": s, "ratio": b / s}


def paced(backend, cameras: int, rounds: int, fps: float, batched: bool) -> dict:
    """N cameras at ``fps`` through StreamSessions, batched (step_sessions) or camera after camera.

    Two runs of ``rounds // 2`` (at least 1) rounds each; :func:`paced_pair` orders them ABBA."""
    from accident_anticipation_ros.runtime.session import (
        FrameRequest,
        SessionConfig,
        StreamSession,
        step_sessions,
    )

    config = SessionConfig(max_gap=1e9, align_to_model_fps=False)  # cost only: no resets, every frame steps
    sessions = [StreamSession(backend, config) for _ in range(cameras)]
    rng = np.random.default_rng(1)
    frames = [[rng.integers(0, 256, FRAME_SHAPE, dtype=np.uint8) for _ in range(4)] for _ in range(cameras)]
    period, warmup = 1.0 / fps, 2
    cpu, latency, grids = [], [], []
    start = time.monotonic()
    grid = 0
    for r in range(warmup + max(rounds, 1)):
        now = time.monotonic()
        if now < start + grid * period:
            time.sleep(start + grid * period - now)
        else:  # behind: the newest frame of each camera (older ones would be dropped)
            grid = max(grid, int((now - start) / period))
        arrival, stamp = start + grid * period, grid * period
        c0 = time.process_time()
        done = []
        if batched:
            requests = [FrameRequest(s, frames[i][r % 4], stamp, "rgb8") for i, s in enumerate(sessions)]
            step_sessions(requests)
            done = [time.monotonic()] * cameras
        else:
            for i, s in enumerate(sessions):
                s.step(frames[i][r % 4], stamp, "rgb8")
                done.append(time.monotonic())
        c1 = time.process_time()
        if r >= warmup:
            cpu.append(c1 - c0)
            latency.append([1e3 * (t - arrival) for t in done])
            grids.append(grid)
        grid += 1
    frames_per_camera = len(grids)
    seconds = (grids[-1] - grids[0] + 1) * period  # the frame periods the timed rounds spanned
    return {"cpu": cpu, "latency": latency, "fps": frames_per_camera / seconds}


def paced_pair(backend, cameras: int, rounds: int, fps: float) -> tuple[dict, dict]:
    """Batched and sequential paced runs in the order B S S B (a load drift hits both alike)."""
    half = max(rounds // 2, 1)
    runs = {True: [], False: []}
    for batched in (True, False, False, True):
        runs[batched].append(paced(backend, cameras, half, fps, batched))

    def merge(parts: list[dict]) -> dict:
        lat = np.array([row for p in parts for row in p["latency"]])  # (rounds, cameras)
        return {
            "cpu_ms_per_round": 1e3 * float(np.mean([c for p in parts for c in p["cpu"]])),
            "latency_p50_ms": float(np.median(lat)),  # over every camera and round
            "latency_last_camera_p50_ms": float(np.median(lat[:, -1])),
            "latency_max_ms": float(lat.max()),
            "fps_per_camera": float(np.mean([p["fps"] for p in parts])),
        }

    return merge(runs[True]), merge(runs[False])


def levers(path: Path, cameras: int, rounds: int) -> list[dict]:
    """The model-call ratio for N cameras under ONNX Runtime threads x graph optimisation levels."""
    import onnxruntime as ort

    from accident_anticipation_ros.contract import IMAGE, STATE_IN
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info

    info = read_model_info(path)
    rng = np.random.default_rng(0)
    shape = (cameras, 3, info.input_height, info.input_width)
    feed = {IMAGE: rng.standard_normal(shape).astype(np.float32)}
    feed.update({STATE_IN + n: np.zeros((cameras, *s[1:]), np.float32) for n, s in info.state_specs.items()})
    one = {k: v[:1] for k, v in feed.items()}
    levels = {
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
    }
    rows = []
    for threads in (1, 2):
        for level_name, level in levels.items():
            opts = ort.SessionOptions()
            opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
            opts.graph_optimization_level = level
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
            session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
            batched, sequential = [], []
            for r in range(rounds + 1):
                c0 = time.process_time()
                session.run(None, feed)
                c1 = time.process_time()
                for _ in range(cameras):
                    session.run(None, one)
                c2 = time.process_time()
                if r:
                    batched.append(c1 - c0)
                    sequential.append(c2 - c1)
            b, s = 1e3 * float(np.mean(batched)), 1e3 * float(np.mean(sequential))
            rows.append(
                {"threads": threads, "opt_level": level_name, "batched_cpu_ms": b, "sequential_cpu_ms": s}
            )
            rows[-1]["ratio"] = b / s
            print(
                f"  levers: {cameras} cams, {threads} thread(s), {level_name:8s}: "
                f"batched {b:7.1f} ms, sequential {s:7.1f} ms, ratio {b / s:.2f}",
                file=sys.stderr,
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="tsd-nano,tsd-s0")
    parser.add_argument("--cameras", default="1,2,4,8")
    parser.add_argument("--fps", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=10, help="timed rounds per measurement")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime intra-op threads")
    parser.add_argument("--levers", default="4", help="cameras of the lever sweep ('' skips it)")
    parser.add_argument("--json", default="", help="write every number to this file")
    args = parser.parse_args(argv)

    from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

    models = [m for m in args.models.split(",") if m]
    counts = [int(n) for n in args.cameras.split(",") if n]
    out: dict = {"fps": args.fps, "threads": args.threads, "rounds": args.rounds, "results": [], "levers": []}
    with tempfile.TemporaryDirectory() as tmp:
        paths = {m: build(m, Path(tmp)) for m in models}
        for model in models:
            backend = OnnxRuntimeBackend(paths[model], threads=args.threads)
            print(f"{model}: {backend.describe()}", file=sys.stderr)
            for n in counts:
                row = {"model": model, "cameras": n, "model_calls": model_calls(backend, n, args.rounds)}
                row["batched"], row["sequential"] = paced_pair(backend, n, args.rounds, args.fps)
                out["results"].append(row)
                print(f"  {n} cameras: {json.dumps(row)}", file=sys.stderr)
        if args.levers:
            out["levers"] = levers(paths[models[-1]], int(args.levers), args.rounds)
            out["levers_model"] = models[-1]
    print(format_tables(out))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2) + "\n")
    return 0


def format_tables(out: dict) -> str:
    lines = [
        f"Model calls, ONNX Runtime {out['threads']} threads, CPU ms per round (process, all threads), "
        "in turns:",
        "",
        "| model | cameras | batched (1 call) | sequential (N calls) | batched / sequential |",
        "|---|---|---|---|---|",
    ]
    for r in out["results"]:
        m = r["model_calls"]
        lines.append(
            f"| `{r['model']}` | {r['cameras']} | {m['batched_cpu_ms']:.1f} | {m['sequential_cpu_ms']:.1f} | "
            f"**{m['ratio']:.2f}** |"
        )
    lines += [
        "",
        f"Paced rounds at {out['fps']:g} fps per camera, 640x360 RGB frames through StreamSession "
        "(preprocessing + model + post-processing): CPU ms per round, latency arrival -> result p50 "
        "(all cameras / last camera of the round), fps each camera got:",
        "",
        "| model | cameras | CPU batched | CPU sequential | ratio | latency batched | latency sequential | "
        "fps/cam batched | fps/cam sequential |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in out["results"]:
        b, s = r["batched"], r["sequential"]
        lines.append(
            f"| `{r['model']}` | {r['cameras']} | {b['cpu_ms_per_round']:.1f} | {s['cpu_ms_per_round']:.1f} | "
            f"{b['cpu_ms_per_round'] / s['cpu_ms_per_round']:.2f} | "
            f"{b['latency_p50_ms']:.0f} / {b['latency_last_camera_p50_ms']:.0f} ms | "
            f"{s['latency_p50_ms']:.0f} / {s['latency_last_camera_p50_ms']:.0f} ms | "
            f"{b['fps_per_camera']:.1f} | {s['fps_per_camera']:.1f} |"
        )
    if out["levers"]:
        lines += [
            "",
            f"Levers, `{out['levers_model']}`, model calls only (plain InferenceSession):",
            "",
            "| intra-op threads | graph optimisation | batched | sequential | ratio |",
            "|---|---|---|---|---|",
        ]
        for r in out["levers"]:
            lines.append(
                f"| {r['threads']} | {r['opt_level']} | {r['batched_cpu_ms']:.1f} | {r['sequential_cpu_ms']:.1f} | "
                f"**{r['ratio']:.2f}** |"
            )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
