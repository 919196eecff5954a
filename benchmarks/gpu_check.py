"""GPU check of the student: step latency (eager, CUDA graphs), CUDA vs CPU parity, AMP training speed.

    source scripts/env.sh && python benchmarks/gpu_check.py --out gpu_check.json    # on a CUDA machine
    pip install torch numpy timm safetensors pyyaml                                  # or, without the venv:
    PYTHONPATH=. python benchmarks/gpu_check.py --out gpu_check.json
    python benchmarks/gpu_check.py --device cpu --quick --out /tmp/gpu_check_cpu.json   # a CPU smoke run

Not part of the test suite. Needs torch and numpy plus what the model package imports (timm,
safetensors, pyyaml); no TensorRT and no onnxruntime-gpu. ONNX Runtime (CPU) with onnx and
onnxscript is used only for one reference of the parity part, which says why it is skipped without
them. Every model has random weights (seeded): no checkpoint, dataset or MobileCLIP teacher is read.

1. Steps: tsd-s0 and tsd-nano, one frame per step with the recurrent state carried, median ms per
   step over ``--steps`` steps after a warm-up (``torch.cuda.synchronize`` after each step):
   ``backend`` is the package's TorchBackend (numpy frame in, outputs back on the host; batch 1),
   ``eager`` the reparameterized module's ``step`` on device tensors, ``cuda_graph`` one captured
   step (static frame and state tensors, the new state copied into the static state inside the
   graph) replayed; batch 1 and batch 8 (eager and graph call the module, which takes any batch).
   A graph replay is checked against eager steps from the same state.
2. Parity: the same seeded weights, 20 random preprocessed frames, the state carried: the torch
   backend on ``--device`` against the torch backend on the CPU and against ONNX Runtime (CPU) on
   an ``export_onnx`` of the same checkpoint; float32 everywhere, TF32 off. Max abs difference of
   the risk logit, the risk probability, tta, risk map, embedding and every state tensor; a value
   passes when ``max_abs <= atol + rtol * max|reference|`` (the thresholds are printed).
3. Training: the tsd-s0 DAD and CCD configs (``configs/tsd_s0_{dad,ccd}.yaml``) at their batch size,
   clip length (whole clips: DAD 100, CCD 50 frames) and image size: forward_clip + the config's
   TSDLoss (its terms, uncertainty weighting, WKV mask ratio) + backward + grad clip + AdamW, as
   ``Trainer._optimize`` does, under autocast (bf16 where supported, else fp16 with a GradScaler;
   fp32 on the CPU). Synthetic: the frames, the teacher's stage features and embeddings (random, of
   the shapes the cache holds: MobileCLIP2-S0 dims = the student config's ``teacher_dims``, stages
   pooled by ``cache.stage_pool``), the prompt text embeddings and the labels. Reports steps/s,
   clips/s, frames/s and the peak CUDA memory.

``--quick`` shrinks step counts, batch sizes, clip lengths and image sizes (64x64) for a smoke run
(on the CPU with one thread unless ``--threads`` is given).
Exit status: 0 all checks passed, 1 a parity check failed, 2 CUDA requested but absent.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
STUDENTS = ("tsd-s0", "tsd-nano")
TRAIN_CONFIGS = ("configs/tsd_s0_dad.yaml", "configs/tsd_s0_ccd.yaml")
QUICK_IMAGE = (64, 64)  # a 2x2 token grid: the window becomes the whole grid
PARITY_FRAMES = 20
ATOL, RTOL = 1e-4, 1e-3  # parity: max_abs <= ATOL + RTOL * max|reference|
NORM = {"fps": 10.0, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]}  # MobileCLIP's normalisation


def bootstrap_imports() -> None:
    """Import the package from this checkout; map ``training/`` to ``accident_anticipation_ros.training``
    (setup.py's package_dir) when no installed copy provides it (a plain ``PYTHONPATH=.`` run)."""
    if str(REPO) not in sys.path:
        sys.path.insert(0, str(REPO))
    import accident_anticipation_ros

    name = "accident_anticipation_ros.training"
    if importlib.util.find_spec(name) is None:
        spec = importlib.util.spec_from_file_location(
            name, REPO / "training" / "__init__.py", submodule_search_locations=[str(REPO / "training")]
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        accident_anticipation_ros.training = module  # type: ignore[attr-defined]


def log(text: str) -> None:
    print(text, flush=True)


# ------------------------------------------------------------------------------------------- setup
def pick_device(name: str) -> Any:
    """The torch device; exit 2 with one line when CUDA is asked for but not there."""
    import torch

    if name.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_check: --device {name} requested but CUDA is not available (torch {torch.__version__})")
        sys.exit(2)
    return torch.device(name)


def sync(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def environment(device: Any, quick: bool) -> dict[str, Any]:
    import torch

    env: dict[str, Any] = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "quick": quick,
        "threads": torch.get_num_threads(),
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "matmul_allow_tf32": torch.backends.cuda.matmul.allow_tf32,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
    }
    if device.type == "cuda":
        env.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
        env["bf16_supported"] = torch.cuda.is_bf16_supported()
    return env


def student_config(name: str, quick: bool) -> Any:
    """The named config; with ``quick`` at 64x64 (window = the whole 2x2 grid)."""
    from accident_anticipation_ros.model.config import get_config

    if not quick:
        return get_config(name)
    return get_config(name, image_size=QUICK_IMAGE, window_size=QUICK_IMAGE[0] // 32)


def make_checkpoint(cfg: Any, folder: Path, seed: int = 0) -> Path:
    """A seeded random student saved as ``<folder>/<name>.safetensors`` (+ .json); returns the weights."""
    import torch

    from accident_anticipation_ros.model.checkpoint import save_checkpoint
    from accident_anticipation_ros.model.student import TSDStudent

    torch.manual_seed(seed)
    weights, _ = save_checkpoint(TSDStudent(cfg), folder / cfg.name, NORM)
    return weights


def random_frames(cfg: Any, count: int, batch: int = 1, seed: int = 0) -> list[np.ndarray]:
    """``count`` preprocessed frames ``(batch, 3, H, W)`` float32 (standard normal)."""
    rng = np.random.default_rng(seed)
    return [rng.standard_normal((batch, 3, *cfg.image_size), dtype=np.float32) for _ in range(count)]


# ------------------------------------------------------------------------------------------ timing
def time_steps(step: Callable[[], object], device: Any, steps: int, warmup: int) -> dict[str, float]:
    """Median / p90 ms per call of ``step`` (synchronized after each) and steps/s from the median."""
    for _ in range(warmup):
        step()
    sync(device)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        sync(device)
        times.append((time.perf_counter() - t0) * 1e3)
    median = statistics.median(times)
    p90 = float(np.percentile(times, 90))
    return {"ms_median": round(median, 4), "ms_p90": round(p90, 4), "steps_per_s": round(1e3 / median, 2)}


def bench_backend(backend: Any, cfg: Any, device: Any, steps: int, warmup: int) -> dict[str, float]:
    """The TorchBackend's own ``step``: numpy frame in, host outputs out, state carried."""
    frames = random_frames(cfg, 8)
    box = {"state": backend.init_state(), "i": 0}

    def step() -> None:
        _, box["state"] = backend.step(frames[box["i"] % len(frames)], box["state"])
        box["i"] += 1

    return time_steps(step, device, steps, warmup)


def bench_eager(model: Any, batch: int, device: Any, steps: int, warmup: int) -> dict[str, float]:
    """``model.step`` on device tensors, state carried."""
    import torch

    with torch.inference_mode():
        frame = torch.randn(batch, 3, *model.cfg.image_size, device=device)
        box = {"state": model.init_state(batch, device)}

        def step() -> None:
            _, box["state"] = model.step(frame, box["state"])

        return time_steps(step, device, steps, warmup)


@dataclasses.dataclass
class StepGraph:
    """One captured step: ``frame`` and ``state`` are the static inputs; replay advances ``state``."""

    graph: Any
    frame: Any
    state: Any
    out: Any


def capture_step(model: Any, batch: int, device: Any) -> StepGraph:
    """Capture ``model.step`` on static tensors; the new state is copied into the input state inside the
    graph, so each replay is one recurrent step."""
    import torch

    with torch.inference_mode():
        frame = torch.randn(batch, 3, *model.cfg.image_size, device=device)
        state = model.init_state(batch, device)
        side = torch.cuda.Stream(device)
        side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side):  # warm-up off the capture stream (cuDNN / allocator set-up)
            for _ in range(3):
                model.step(frame, state)
        torch.cuda.current_stream(device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            out, new = model.step(frame, state)
            for dst, src in zip(state.flatten().values(), new.flatten().values(), strict=True):
                dst.copy_(src)
    return StepGraph(graph, frame, state, out)


def graph_vs_eager(model: Any, captured: StepGraph, steps: int = 3) -> tuple[float, bool]:
    """Replays vs eager steps from the reset state: the max abs difference of the risk logit and the
    state, and whether every tensor is within ``ATOL + RTOL * max|eager|``. Leaves the state reset."""
    import torch

    def reset() -> None:
        for t in captured.state.flatten().values():
            t.zero_()

    pairs = []
    with torch.inference_mode():
        reset()
        state = model.init_state(captured.frame.shape[0], captured.frame.device)
        for _ in range(steps):
            captured.graph.replay()
            ref, state = model.step(captured.frame, state)
            pairs.append((captured.out.risk_logit.clone(), ref.risk_logit))
        pairs += list(zip(captured.state.flatten().values(), state.flatten().values(), strict=True))
        worst, ok = 0.0, True
        for got, want in pairs:
            diff = float((got - want).abs().max())
            worst = max(worst, diff)
            ok = ok and diff <= ATOL + RTOL * float(want.abs().max())
        reset()
    return worst, ok


def bench_graph(model: Any, batch: int, device: Any, steps: int, warmup: int) -> dict[str, Any]:
    captured = capture_step(model, batch, device)
    diff, ok = graph_vs_eager(model, captured)
    result: dict[str, Any] = time_steps(captured.graph.replay, device, steps, warmup)
    result.update(vs_eager_max_abs=diff, vs_eager_pass=ok)
    return result


def step_benchmarks(args: argparse.Namespace, device: Any, folder: Path) -> dict[str, Any]:
    """Section 1: ms per step of each student, backend / eager / CUDA graph, batch 1 and batch 8."""
    from accident_anticipation_ros.runtime.factory import create_backend

    batches = (1, 2) if args.quick else (1, 8)
    results: dict[str, Any] = {}
    for name in STUDENTS:
        cfg = student_config(name, args.quick)
        backend = create_backend(make_checkpoint(cfg, folder), kind="torch", device=str(device))
        model = backend.model  # reparameterized, eval
        rows: dict[str, Any] = {"image_size": list(cfg.image_size), "backend": backend.describe()}
        rows["backend_b1"] = bench_backend(backend, cfg, device, args.steps, args.warmup)
        for b in batches:
            rows[f"eager_b{b}"] = bench_eager(model, b, device, args.steps, args.warmup)
            if device.type != "cuda":
                rows[f"cuda_graph_b{b}"] = {"skipped": "CUDA graphs need a CUDA device"}
                continue
            try:
                rows[f"cuda_graph_b{b}"] = bench_graph(model, b, device, args.steps, args.warmup)
            except RuntimeError as err:  # a capture that fails is a result, not the end of the run
                rows[f"cuda_graph_b{b}"] = {"error": f"{type(err).__name__}: {err}"[:500]}
        results[name] = rows
        for key, row in rows.items():
            if isinstance(row, dict):
                log(f"  {name:9s} {key:14s} {format_row(row)}")
    return results


def format_row(row: dict[str, Any]) -> str:
    if "ms_median" not in row:
        return "; ".join(f"{k}: {v}" for k, v in row.items())
    text = f"{row['ms_median']:9.3f} ms/step (p90 {row['ms_p90']:.3f})  {row['steps_per_s']:9.1f} steps/s"
    if "vs_eager_max_abs" in row:
        text += f"  vs eager {row['vs_eager_max_abs']:.1e} {'PASS' if row['vs_eager_pass'] else 'FAIL'}"
    return text


# ------------------------------------------------------------------------------------------ parity
def run_backend(backend: Any, frames: list[np.ndarray]) -> list[dict[str, np.ndarray]]:
    """Per frame: the outputs (risk logit, probability, tta, map, embedding) and the state as numpy."""
    state = backend.init_state()
    runs = []
    for frame in frames:
        out, state = backend.step(frame, state)
        flat = backend.state_to_numpy(state) if hasattr(backend, "state_to_numpy") else state
        logit = np.float64(out.risk_logit)
        record = {
            "risk_logit": np.array([logit]),
            "risk_prob": np.array([1.0 / (1.0 + math.exp(-logit))]),
            "tta": np.array([out.tta]),
            "risk_map": np.array(out.risk_map, np.float64),
            "embedding": np.array(out.embedding, np.float64),
        }
        record.update({f"state.{k}": np.array(v, np.float64) for k, v in flat.items()})
        runs.append(record)
    return runs


def compare(got: list[dict[str, np.ndarray]], ref: list[dict[str, np.ndarray]]) -> dict[str, Any]:
    """Max abs difference per quantity over all frames (the state: the worst tensor), pass or fail."""
    diff: dict[str, float] = {}
    scale: dict[str, float] = {}
    for g, r in zip(got, ref, strict=True):
        for name, value in r.items():
            d = np.abs(g[name] - value)
            diff[name] = max(diff.get(name, 0.0), float(d.max()) if np.isfinite(d).all() else math.inf)
            scale[name] = max(scale.get(name, 0.0), float(np.abs(value).max()))
    states = [n for n in diff if n.startswith("state.")]
    worst_state = max(states, key=lambda n: diff[n] - RTOL * scale[n])
    result: dict[str, Any] = {}
    for name in ("risk_logit", "risk_prob", "tta", "risk_map", "embedding", worst_state):
        limit = ATOL + RTOL * scale[name]
        key = "state" if name == worst_state else name
        result[key] = {"max_abs": diff[name], "limit": limit, "pass": diff[name] <= limit}
        if key == "state":
            result[key]["worst_tensor"] = name.removeprefix("state.")
    result["pass"] = all(v["pass"] for v in result.values())
    return result


def onnx_missing() -> str | None:
    missing = [m for m in ("onnxruntime", "onnx", "onnxscript") if importlib.util.find_spec(m) is None]
    return f"{', '.join(missing)} not installed" if missing else None


def parity_checks(args: argparse.Namespace, device: Any, folder: Path) -> dict[str, Any]:
    """Section 2: the torch backend on ``device`` vs the CPU torch backend and CPU ONNX Runtime."""
    import torch

    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.runtime.factory import create_backend

    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    results: dict[str, Any] = {"atol": ATOL, "rtol": RTOL, "frames": PARITY_FRAMES}
    try:
        for name in STUDENTS:
            cfg = student_config(name, args.quick)
            weights = make_checkpoint(cfg, folder / "parity", seed=1)
            frames = random_frames(cfg, PARITY_FRAMES, seed=1)
            got = run_backend(create_backend(weights, kind="torch", device=str(device)), frames)
            row: dict[str, Any] = {}
            if device.type == "cpu":
                row["torch_cpu"] = {"skipped": "the device is the CPU"}
            else:
                row["torch_cpu"] = compare(got, run_backend(create_backend(weights, kind="torch"), frames))
            reason = onnx_missing()
            if reason:
                row["onnxruntime_cpu"] = {"skipped": reason}
            else:
                onnx_path = export_onnx(weights, weights.with_suffix(".onnx"), frames=0).path
                ort = create_backend(onnx_path, kind="onnxruntime", threads=args.threads or None)
                row["onnxruntime_cpu"] = compare(got, run_backend(ort, frames))
            results[name] = row
            for ref, res in row.items():
                log(f"  {name:9s} {device.type} torch vs {ref:15s} {format_parity(res)}")
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved
    return results


def format_parity(res: dict[str, Any]) -> str:
    if "skipped" in res:
        return f"skipped: {res['skipped']}"
    parts = [
        f"{k} {res[k]['max_abs']:.1e}{'' if res[k]['pass'] else ' FAIL'}"
        for k in ("risk_logit", "risk_prob", "tta", "risk_map", "embedding", "state")
    ]
    return f"{'PASS' if res['pass'] else 'FAIL'}  max abs: " + ", ".join(parts)


# ---------------------------------------------------------------------------------------- training
@dataclasses.dataclass(frozen=True)
class TrainShape:
    batch: int
    frames: int
    image_size: tuple[int, int]
    teacher_size: tuple[int, int]


def train_shape(cfg: Any, quick: bool) -> TrainShape:
    """Batch, clip length and image sizes of a training config (shrunk with ``quick``)."""
    from accident_anticipation_ros.training.datasets import ccd, dad

    clip_len = {"dad": dad.NUM_FRAMES, "ccd": ccd.NUM_FRAMES}
    if cfg.data.window is not None:
        frames = cfg.data.window
    elif cfg.data.format in clip_len:
        frames = clip_len[cfg.data.format]
    else:
        raise SystemExit(f"gpu_check: no clip length known for data.format {cfg.data.format!r}")
    image = student_config(cfg.student.config, False).image_size
    teacher = tuple(cfg.teacher.image_size or image)
    if quick:
        return TrainShape(1, min(frames, 4), QUICK_IMAGE, QUICK_IMAGE)
    return TrainShape(cfg.train.batch_size, frames, image, teacher)  # type: ignore[arg-type]


def synthetic_targets(cfg: Any, student: Any, shape: TrainShape, fps: float, device: Any) -> Any:
    """Random Targets of the shapes a cached batch has (teacher outputs in the cache dtype)."""
    import torch

    from accident_anticipation_ros.training.losses import Targets

    B, T = shape.batch, shape.frames
    dtype = getattr(torch, cfg.cache.dtype)
    stages = []
    for level, (channels, pool) in enumerate(zip(student.teacher_dims, cfg.cache.stage_pool, strict=True)):
        h, w = (side // 2 ** (level + 2) // pool for side in shape.teacher_size)
        stages.append(torch.randn(B, T, channels, h, w, device=device).to(dtype))
    positive = torch.arange(B, device=device) % 2 == 0  # half the clips are accidents
    toa = torch.where(
        positive, torch.full((B,), 0.9 * T, device=device), torch.full((B,), -1.0, device=device)
    )
    h, w = student.grid
    return Targets(
        valid=torch.ones(B, T, dtype=torch.bool, device=device),
        positive=positive,
        toa=toa,
        fps=torch.full((B,), fps, device=device),
        teacher_stages=tuple(stages),
        teacher_embedding=torch.randn(B, T, student.teacher_embed_dim, device=device).to(dtype),
        box_cells=torch.rand(B, T, h, w, device=device) < 0.1,
        has_box=torch.ones(B, T, dtype=torch.bool, device=device),
    )


def amp_dtype(device: Any) -> Any:
    """bf16 on CUDA where supported, else fp16 (the trainer's ``amp: auto``); None (fp32) on the CPU."""
    import torch

    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def train_benchmark(path: Path, args: argparse.Namespace, device: Any) -> dict[str, Any]:
    """Optimiser steps of one config on synthetic tensors: steps/s, clips/s, peak CUDA memory."""
    import contextlib

    import torch
    import torch.nn as nn

    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.training.config import load_train_config
    from accident_anticipation_ros.training.gru_student import build_student
    from accident_anticipation_ros.training.losses import TSDLoss
    from accident_anticipation_ros.training.prompts import expand_prompts

    cfg = load_train_config(path, check=False)
    shape = train_shape(cfg, args.quick)
    overrides = dict(cfg.student.overrides, image_size=shape.image_size)
    if args.quick:
        overrides["window_size"] = shape.image_size[0] // 32
    student = get_config(cfg.student.config, **overrides)  # teacher dims: the config's = MobileCLIP2-S0's
    torch.manual_seed(cfg.train.seed)
    model = build_student(cfg.student.arch, student).to(device).train()
    text = None
    if cfg.loss.contrastive.enabled:
        text = torch.randn(len(expand_prompts(cfg.loss.contrastive)), student.embed_dim, device=device)
    # random text embeddings: CLIP's initial logit scale for the targets' temperature
    loss = TSDLoss(cfg.loss, text, teacher_logit_scale=1 / 0.07).to(device)
    params = [p for m in (model, loss) for p in m.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.ndim >= 2], "weight_decay": cfg.optim.weight_decay},
        {"params": [p for p in params if p.ndim < 2], "weight_decay": 0.0},
    ]
    optimizer = torch.optim.AdamW(groups, lr=cfg.optim.lr, betas=cfg.optim.betas)
    amp = amp_dtype(device)
    scaler = torch.amp.GradScaler("cuda") if amp == torch.float16 else None
    fps = {"dad": 20.0, "ccd": 10.0}.get(cfg.data.format, 10.0)
    frames = torch.randn(shape.batch, shape.frames, 3, *shape.image_size, device=device)
    targets = synthetic_targets(cfg, student, shape, fps, device)
    ratio = cfg.loss.mask.ratio

    def step() -> None:
        mask = model.sample_mask(shape.batch, shape.frames, ratio) if ratio > 0 else None
        autocast = torch.autocast("cuda", dtype=amp) if amp is not None else contextlib.nullcontext()
        with autocast:
            out, _ = model.forward_clip(frames, None, mask=mask)
            total, _ = loss(out, targets)
        (scaler.scale(total) if scaler is not None else total).backward()
        if scaler is not None:
            scaler.unscale_(optimizer)
        if cfg.optim.grad_clip:
            nn.utils.clip_grad_norm_(params, cfg.optim.grad_clip)
        if scaler is not None:
            scaler.step(optimizer)
            scaler.update()
        else:
            optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)
    result: dict[str, Any] = {
        "config": str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path),
        "batch": shape.batch,
        "clip_frames": shape.frames,
        "image_size": list(shape.image_size),
        "amp": str(amp).removeprefix("torch.") if amp is not None else "off (fp32)",
        "loss_terms": list(loss.terms),
        "mask_ratio": ratio,
        "synthetic": "frames, teacher stage features + embeddings, prompt text embeddings, labels",
    }
    try:
        timing = time_steps(step, device, args.train_steps, args.train_warmup)
    except torch.cuda.OutOfMemoryError as err:
        result["error"] = f"CUDA out of memory: {str(err).splitlines()[0]}"
        return result
    result.update(timing)
    result["clips_per_s"] = round(timing["steps_per_s"] * shape.batch, 3)
    result["frames_per_s"] = round(timing["steps_per_s"] * shape.batch * shape.frames, 1)
    if device.type == "cuda":
        result["peak_cuda_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    return result


def training_benchmarks(args: argparse.Namespace, device: Any) -> dict[str, Any]:
    """Section 3: each training config's optimiser steps per second."""
    results = {}
    for rel in TRAIN_CONFIGS:
        res = train_benchmark(REPO / rel, args, device)
        results[Path(rel).stem] = res
        if "error" in res:
            log(f"  {Path(rel).stem:12s} {res['error']}")
            continue
        memory = f", peak {res['peak_cuda_memory_gib']} GiB" if "peak_cuda_memory_gib" in res else ""
        log(
            f"  {Path(rel).stem:12s} B={res['batch']} T={res['clip_frames']} {res['image_size'][0]}x"
            f"{res['image_size'][1]} amp {res['amp']}: {res['ms_median']:.1f} ms/step, "
            f"{res['steps_per_s']:.3f} steps/s, {res['clips_per_s']:.2f} clips/s, "
            f"{res['frames_per_s']:.0f} frames/s{memory}"
        )
    return results


# -------------------------------------------------------------------------------------------- main
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and step counts (a smoke run)")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="torch / ONNX Runtime CPU threads (0: default; 1 with --quick on cpu)",
    )
    parser.add_argument("--steps", type=int, help="timed steps per row (default 200, quick 5)")
    parser.add_argument("--train-steps", type=int, help="timed training steps (default 10, quick 2)")
    args = parser.parse_args(argv)
    args.steps = args.steps or (5 if args.quick else 200)
    args.warmup = 2 if args.quick else 20
    args.train_steps = args.train_steps or (2 if args.quick else 10)
    args.train_warmup = 1 if args.quick else 3
    if args.quick and args.device == "cpu" and not args.threads:
        args.threads = 1  # the smoke run on one core: a busy machine is not oversubscribed
    return args


def failures(parity: dict[str, Any], steps: dict[str, Any]) -> list[str]:
    """The failed checks, as ``what: detail`` lines."""
    bad = []
    for model, rows in parity.items():
        for ref, res in rows.items() if isinstance(rows, dict) else ():
            if isinstance(res, dict) and res.get("pass") is False:
                terms = [k for k, v in res.items() if isinstance(v, dict) and not v["pass"]]
                bad.append(f"parity {model} vs {ref}: {', '.join(terms)} over tolerance")
    for model, rows in steps.items():
        for key, row in rows.items():
            if isinstance(row, dict) and row.get("vs_eager_pass") is False:
                bad.append(f"{model} {key}: graph replay differs from eager by {row['vs_eager_max_abs']:.2e}")
    return bad


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    bootstrap_imports()
    import torch

    device = pick_device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    env = environment(device, args.quick)
    log(f"gpu_check: torch {env['torch']} on {env.get('gpu', device)} (quick={args.quick})")
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gpu_check_") as tmp:
        folder = Path(tmp)
        log(f"1. student steps (median of {args.steps} after {args.warmup} warm-up, ms per step):")
        steps = step_benchmarks(args, device, folder)
        log(
            f"2. parity, {PARITY_FRAMES} frames, fp32, TF32 off (pass: max_abs <= {ATOL} + {RTOL} * max|ref|):"
        )
        parity = parity_checks(args, device, folder)
    log("3. training steps (synthetic data and teacher targets):")
    training = training_benchmarks(args, device)
    bad = failures(parity, steps)
    env["wall_s"] = round(time.perf_counter() - t0, 1)
    results = {"env": env, "steps": steps, "parity": parity, "training": training, "failures": bad}
    results["passed"] = not bad
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n")
        log(f"wrote {args.out}")
    if bad:
        print("gpu_check: FAILED: " + "; ".join(bad), file=sys.stderr)
        return 1
    log(f"gpu_check: all checks passed in {env['wall_s']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
