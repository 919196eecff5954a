"""Cost of the recurrent student against sliding-window baselines.

A benchmark, not a test: one run, batch 1, all cores, random weights (cost does not depend on them).
Measured in one process:

* per-frame step latency (median, p95) of each student (default ``tsd-nano``, ``tsd-s0``) on ONNX
  Runtime (the deployed path, ``OnnxRuntimeBackend``) and on torch (``TorchBackend``);
* params and GFLOPs per frame (``torch.utils.flop_counter.FlopCounterMode`` on the reparameterized
  step: 2 x multiply-accumulates of the convolutions and matrix products);
* latency at frame 10 and at frame N (default 1000) of one stream through a ``StreamSession``
  (preprocessing of a 480x640 frame included), each the median of the 11 frames around it; and a
  fresh stream's frame 10 timed in turns with frame N (same machine load);
* in turns with the recurrent step of ``tsd-s0`` (so that a changing load hits all alike):
  baseline (a) ``window16``, the same student re-encoding the last 16 frames at every step (trunk
  on 16 frames + the RWKV stack over the clip from a fresh state: what a window model like BADAS
  costs per step); baseline (b) ``window16_cached``, per-frame trunk features cached and a 2-layer
  temporal transformer (pre-norm, attention over time per stride-32 token, MLP ratio 4) over the
  last 16 frames' tokens at every step (attention per token is this baseline's cheapest variant);
  the MobileCLIP MCi0 stem + stages 1-3 alone (timm ``fastvit_mci0``, reparameterized) at the
  student's resolution; and float32 2048x2048 matmuls (numpy and ONNX Runtime ``MatMul``), for
  the GFLOP/s the student reaches relative to the trunk alone and to the machine's matmul.

:func:`run_bench` returns one flat dict (``accident-anticipation bench --json`` prints it). The targets
(2-core CPU, ONNX Runtime) are reported as ``target_*`` booleans. On a machine shared with other jobs,
``threads=1, clock="thread"`` (``--threads 1 --clock thread``) times the CPU time of the one working
thread instead of wall time: robust to the load, but blind to multi-thread scaling.
"""

from __future__ import annotations

import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

CLOCKS = {"wall": time.perf_counter, "thread": time.thread_time}  # thread: CPU time of the calling thread


@dataclass(frozen=True)
class BenchOptions:
    """What :func:`run_bench` times, and how.

    Attributes:
        models: Students timed on ONNX Runtime and torch.
        stream_model: Student of the long-stream test ('' skips it).
        stream_frames: Frame N of the long-stream test.
        paired_model: Student compared with the baselines, in turns ('' skips it).
        window: Frames of the sliding-window baselines.
        rounds: Turns of the paired comparison.
        frames: Timed steps per latency measurement.
        warmup: Untimed steps before each latency measurement.
        threads: torch and ONNX Runtime threads.
        clock: 'wall', or 'thread' (CPU time of the calling thread; needs ``threads == 1``).
        skip_torch, skip_windows, skip_mci0, skip_matmul: Leave that measurement out.
    """

    models: tuple[str, ...] = ("tsd-nano", "tsd-s0")
    stream_model: str = "tsd-nano"
    stream_frames: int = 1000
    paired_model: str = "tsd-s0"
    window: int = 16
    rounds: int = 10
    frames: int = 50
    warmup: int = 10
    threads: int = field(default_factory=lambda: os.cpu_count() or 1)
    clock: str = "wall"
    skip_torch: bool = False
    skip_windows: bool = False
    skip_mci0: bool = False
    skip_matmul: bool = False

    def __post_init__(self) -> None:
        if self.clock not in CLOCKS:
            raise ValueError(f"clock must be one of {sorted(CLOCKS)}, got {self.clock!r}")
        if self.clock == "thread" and self.threads != 1:
            raise ValueError("--clock thread measures one thread's CPU time: use it with --threads 1")

    @property
    def timer(self) -> Callable[[], float]:
        return CLOCKS[self.clock]


MEAN, STD = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)  # MobileCLIP-S0 normalisation


def short(name: str) -> str:
    """``tsd-nano`` -> ``nano`` (the JSON key prefix)."""
    return name.removeprefix("tsd-").replace("-", "_")


def latency_ms(
    fn: Callable[[], object], frames: int, warmup: int, clock: Callable[[], float] = time.perf_counter
) -> np.ndarray:
    """Time of ``frames`` calls of ``fn`` after ``warmup`` calls, in ms."""
    for _ in range(warmup):
        fn()
    times = np.empty(frames)
    for i in range(frames):
        t0 = clock()
        fn()
        times[i] = clock() - t0
    return times * 1e3


def summary(times: np.ndarray) -> dict[str, float]:
    return {"median": float(np.median(times)), "p95": float(np.percentile(times, 95))}


def count_gflops(fn: Callable[[], object]) -> float:
    """GFLOPs of one call of ``fn`` (convolutions and matrix products, 2 x MACs)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops() / 1e9


def ort_session(path: Path, threads: int, spinning: bool = True):
    """A CPU session; ``spinning=False`` parks idle workers (several sessions timed in turns)."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    if not spinning:
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def export(module, args: tuple, path: Path, inputs: list[str], outputs: list[str]) -> Path:
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            module.eval(),
            args,
            str(path),
            input_names=inputs,
            output_names=outputs,
            opset_version=17,
            dynamo=False,
        )
    return path


# --- baselines -------------------------------------------------------------------------------------


def _window_module(model):
    """Baseline (a): re-encode a clip ``(T, 3, H, W)``; the risk of its last frame."""
    import torch.nn as nn

    class WindowClip(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, clip):
            m = self.model
            x = m.embed(m.trunk(clip)[-1]).flatten(2).transpose(1, 2).unsqueeze(0)  # (1, T, N, C)
            for layer, layer_state in zip(m.layers, m.init_state(1, clip.device).layers, strict=True):
                x, _ = layer(x, layer_state, None)
            risk_logit, _, risk_map, _ = m.heads(m.norm(x)[:, -1])
            return risk_logit, risk_map

    return WindowClip()


def _trunk_module(model):
    """The student's per-frame encoder: trunk + stride-32 embedding -> tokens ``(N, C)``."""
    import torch.nn as nn

    class FrameTokens(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, image):
            return self.model.embed(self.model.trunk(image)[-1]).flatten(2).transpose(1, 2)[0]  # (N, C)

    return FrameTokens()


def _temporal_transformer(dim: int, heads: int, window: int, depth: int = 2, mlp_ratio: float = 4.0):
    """Baseline (b): pre-norm transformer over time per token on cached tokens ``(T, N, C)``."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            hidden = int(dim * mlp_ratio)
            self.fc1, self.fc2 = nn.Linear(dim, hidden), nn.Linear(hidden, dim)

        def forward(self, x):  # (N, T, C)
            n, t, c = x.shape
            q, k, v = self.qkv(self.norm1(x)).reshape(n, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
            att = torch.softmax(q @ k.transpose(-1, -2) * (c // heads) ** -0.5, dim=-1)  # (N, h, T, T)
            x = x + self.proj((att @ v).transpose(1, 2).reshape(n, t, c))
            return x + self.fc2(F.gelu(self.fc1(self.norm2(x))))

    class TemporalTransformer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = nn.Parameter(torch.zeros(window, dim))
            self.blocks = nn.Sequential(*(Block() for _ in range(depth)))
            self.norm = nn.LayerNorm(dim)
            self.token_risk, self.risk = nn.Linear(dim, 1), nn.Linear(dim, 1)

        def forward(self, tokens):  # (T, N, C)
            x = self.blocks(tokens.transpose(0, 1) + self.pos)  # (N, T, C)
            last = self.norm(x[:, -1])  # (N, C): the current frame
            return self.risk(last.mean(0)), self.token_risk(last)[:, 0]

    return TemporalTransformer()


def _mci0_trunk(image_size: tuple[int, int]):
    """timm ``fastvit_mci0`` stem + stages 1-3, reparameterized (no weights)."""
    import timm
    import torch.nn as nn
    from timm.models import reparameterize_model

    net = reparameterize_model(timm.create_model("fastvit_mci0", pretrained=False).eval())

    class Stages13(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem, self.stages = net.stem, net.stages[:3]

        def forward(self, x):
            return self.stages(self.stem(x))

    return Stages13().eval()


# --- measurements ----------------------------------------------------------------------------------


def round_robin(
    fns: dict[str, Callable[[], object]],
    rounds: int,
    warmup: int = 1,
    clock: Callable[[], float] = time.perf_counter,
    pause: float = 0.0,
) -> dict[str, np.ndarray]:
    """Time several functions in turns, so that a changing machine load hits them alike (ms).

    ``pause`` seconds (untimed) after each call let the thread pool that just ran park its workers.
    """
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    times = {name: np.empty(rounds) for name in fns}
    for i in range(rounds):
        for name, fn in fns.items():
            t0 = clock()
            fn()
            times[name][i] = clock() - t0
            if pause:
                time.sleep(pause)
    return {name: t * 1e3 for name, t in times.items()}


def build_student(name: str, workdir: Path) -> tuple[Path, Path]:
    """A random ``name`` student saved as a checkpoint and exported; returns (checkpoint, onnx)."""
    import torch

    from accident_anticipation_ros.model.checkpoint import save_checkpoint
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent

    torch.manual_seed(0)
    weights, _ = save_checkpoint(TSDStudent(get_config(name)), workdir / name, {"mean": MEAN, "std": STD})
    onnx_path = workdir / f"{name}.onnx"
    export_onnx(weights, onnx_path, frames=1)
    return weights, onnx_path


def stepper(backend) -> Callable[[], object]:
    """One call = one step of a fresh stream on ``backend`` with a random preprocessed frame."""
    info = backend.info
    image = np.random.default_rng(0).standard_normal(
        (1, 3, info.input_height, info.input_width), dtype=np.float32
    )
    state = [backend.init_state()]

    def step():
        _, state[0] = backend.step(image, state[0])

    return step


def bench_student(name: str, files: tuple[Path, Path], args) -> tuple[dict, object, object]:
    """Latency on ONNX Runtime and torch, params and GFLOPs of one student."""
    from accident_anticipation_ros.runtime.factory import create_backend

    key = short(name)
    out: dict = {}
    ort_backend = create_backend(files[1], kind="onnxruntime", threads=args.threads)
    s = summary(latency_ms(stepper(ort_backend), args.frames, args.warmup, args.timer))
    out[f"{key}_onnx_step_ms"], out[f"{key}_onnx_p95_ms"] = s["median"], s["p95"]
    out[f"{key}_onnx_fps"] = 1e3 / s["median"]
    torch_backend = create_backend(files[0], kind="torch", threads=args.threads)
    torch_step = stepper(torch_backend)
    if not args.skip_torch:
        s = summary(latency_ms(torch_step, args.frames, args.warmup, args.timer))
        out[f"{key}_torch_step_ms"], out[f"{key}_torch_p95_ms"] = s["median"], s["p95"]
        out[f"{key}_torch_fps"] = 1e3 / s["median"]
    out[f"{key}_params_m"] = torch_backend.model.num_params(deploy=True) / 1e6
    out[f"{key}_gflops"] = count_gflops(torch_step)
    out[f"{key}_onnx_gflops_per_s"] = out[f"{key}_gflops"] / out[f"{key}_onnx_step_ms"] * 1e3
    out[f"{key}_input"] = f"{ort_backend.info.input_height}x{ort_backend.info.input_width}"
    return out, ort_backend, torch_backend


def bench_stream(backend, args) -> dict:
    """Latency at frame 10 and at frame N of one stream (``StreamSession``, 480x640 frames).

    Each is the median of the 11 frames around it. A second, short stream on the same backend is
    restarted every 20 frames and stepped in turns with the long one around frame N: its frames
    5-15 give a frame-10 latency measured under the same machine load as frame N.
    """
    from accident_anticipation_ros.runtime.session import StreamSession

    n, clock = args.stream_frames, args.timer
    long, short_ = StreamSession(backend), StreamSession(backend)
    rng = np.random.default_rng(1)
    clip = [rng.integers(0, 256, (480, 640, 3), dtype=np.uint8) for _ in range(8)]
    dt = 1.0 / backend.info.fps
    times, companion = np.empty(n + 5), []
    for i in range(n + 5):
        t0 = clock()
        result = long.step(clip[i % len(clip)], i * dt)
        times[i] = clock() - t0
        if i >= n - 45:  # the companion stream, around frame n
            j = i - (n - 45)
            if j % 20 == 0:
                short_.reset()
            t0 = clock()
            other = short_.step(clip[(i + 3) % len(clip)], i * dt)
            if 5 <= other.frames_since_reset <= 15:
                companion.append(clock() - t0)
    if long.stats.total_resets != 1 or result.frames_since_reset != n + 5:
        raise RuntimeError(f"the long stream was reset during the benchmark: {long.stats}")
    at10 = float(np.median(times[4:15])) * 1e3  # frames 5..15 (1-based)
    atn = float(np.median(times[n - 6 : n + 5])) * 1e3  # frames n-5..n+5
    paired10 = float(np.median(companion)) * 1e3
    return {
        "stream_model": backend.info.model_name,
        "stream_frames": n,
        "frame10_ms": at10,
        "frame_n_ms": atn,
        "frame10_paired_ms": paired10,
        "frame1000_over_frame10": atn / at10,
        "frame1000_over_frame10_paired": atn / paired10,
    }


def window_runners(torch_backend, args, workdir: Path) -> tuple[dict, dict]:
    """Baselines (a) and (b) as ONNX Runtime callables, and their GFLOPs per step.

    (b) runs two sessions per step: they park idle workers, or each one's spinning workers would
    slow the other (54 vs 89 ms per step measured on 2 threads).
    """
    import torch

    model, cfg, T = torch_backend.model, torch_backend.model.cfg, args.window
    H, W = cfg.image_size
    rng = np.random.default_rng(2)

    window = _window_module(model)
    clip = torch.from_numpy(rng.standard_normal((T, 3, H, W), dtype=np.float32))
    win = ort_session(
        export(window, (clip,), workdir / "window.onnx", ["clip"], ["risk", "map"]), args.threads
    )
    clip_feed = {"clip": clip.numpy()}

    tokens = _trunk_module(model)
    image = torch.from_numpy(rng.standard_normal((1, 3, H, W), dtype=np.float32))
    trunk = ort_session(
        export(tokens, (image,), workdir / "tokens.onnx", ["image"], ["tokens"]), args.threads, False
    )
    temporal = _temporal_transformer(cfg.rwkv_dim, cfg.num_heads, T).eval()
    cache = np.zeros((T, cfg.num_tokens, cfg.rwkv_dim), np.float32)
    head = ort_session(
        export(temporal, (torch.from_numpy(cache),), workdir / "temporal.onnx", ["tokens"], ["risk", "map"]),
        args.threads,
        False,
    )
    slot, image_feed = [0], {"image": image.numpy()}

    def cached_step():
        cache[slot[0] % T] = trunk.run(None, image_feed)[0]  # ring buffer of the last T token maps
        slot[0] += 1
        head.run(None, {"tokens": cache[np.roll(np.arange(T), -(slot[0] % T))]})  # oldest first

    runners = {"window16": lambda: win.run(None, clip_feed), "window16_cached": cached_step}
    gflops = {
        "window16": count_gflops(lambda: window(clip)),
        "window16_cached": count_gflops(lambda: tokens(image))
        + count_gflops(lambda: temporal(torch.from_numpy(cache))),
    }
    return runners, gflops


def mci0_runner(image_size: tuple[int, int], args, workdir: Path) -> tuple[Callable, float, float]:
    """MCi0 stem + stages 1-3 on ONNX Runtime; its GFLOPs and params (M)."""
    import torch

    trunk = _mci0_trunk(image_size)
    image = torch.from_numpy(np.random.default_rng(3).standard_normal((1, 3, *image_size), dtype=np.float32))
    sess = ort_session(export(trunk, (image,), workdir / "mci0.onnx", ["image"], ["features"]), args.threads)
    feed = {"image": image.numpy()}
    params = sum(p.numel() for p in trunk.parameters()) / 1e6
    return (lambda: sess.run(None, feed)), count_gflops(lambda: trunk(image)), params


def matmul_runners(threads: int, workdir: Path, n: int = 2048) -> dict[str, Callable]:
    """``n x n`` float32 matmuls: numpy (BLAS) and ONNX Runtime ``MatMul`` (MLAS)."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "matmul",
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [n, n]) for x in "ab"],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [n, n])],
    )
    path = workdir / "matmul.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8), str(path))
    sess = ort_session(path, threads)
    return {"matmul_numpy": lambda: a @ b, "matmul_onnx": lambda: sess.run(None, {"a": a, "b": b})}


def bench_paired(name: str, onnx_path: Path, torch_backend, gflops: float, args, workdir: Path) -> dict:
    """The recurrent step of ``name`` against the baselines and references, timed in turns.

    A 50 ms untimed pause follows every call: with more than one thread, the workers of the thread
    pool that just ran (ONNX Runtime's or BLAS's) keep spinning for a while and would otherwise take
    the cores from the next one (measured on 2 threads: tsd-s0 60 ms per step in turns without the
    pause, 24-25 ms with it and alone).
    """
    from accident_anticipation_ros.runtime.factory import create_backend

    key = short(name)
    recurrent_backend = create_backend(onnx_path, kind="onnxruntime", threads=args.threads)
    runners: dict[str, Callable] = {"recurrent": stepper(recurrent_backend)}
    window_gflops: dict[str, float] = {}
    if not args.skip_windows:
        more, window_gflops = window_runners(torch_backend, args, workdir)
        runners.update(more)
    out: dict = {"paired_model": name}
    if not args.skip_mci0:
        size = (recurrent_backend.info.input_height, recurrent_backend.info.input_width)
        runners["mci0_trunk"], out["mci0_trunk_gflops"], out["mci0_trunk_params_m"] = mci0_runner(
            size, args, workdir
        )
        out["mci0_trunk_input"] = f"{size[0]}x{size[1]}"
    if not args.skip_matmul:
        runners.update(matmul_runners(args.threads, workdir))
        if args.clock == "thread":  # BLAS threads are not the calling thread: only ORT's MatMul counts
            del runners["matmul_numpy"]
    pause = 0.05 if args.threads > 1 else 0.0
    timed = round_robin(runners, args.rounds, clock=args.timer, pause=pause)
    times = {k: float(np.median(v)) for k, v in timed.items()}
    recurrent = times["recurrent"]
    out[f"{key}_paired_step_ms"] = recurrent
    rate = gflops / recurrent * 1e3
    out[f"{key}_paired_gflops_per_s"] = rate
    for base in ("window16", "window16_cached"):
        if base in times:
            out[f"{base}_step_ms"] = times[base]
            out[f"{base}_gflops"] = window_gflops[base]
            out[f"{base}_over_recurrent"] = times[base] / recurrent
    if "mci0_trunk" in times:
        out["mci0_trunk_onnx_ms"] = times["mci0_trunk"]
        out["mci0_trunk_gflops_per_s"] = out["mci0_trunk_gflops"] / times["mci0_trunk"] * 1e3
        out[f"{key}_fraction_of_mci0_trunk"] = rate / out["mci0_trunk_gflops_per_s"]
    if "matmul_onnx" in times:
        flops = 2.0 * 2048**3
        out["matmul_onnx_gflops"] = flops / times["matmul_onnx"] / 1e6
        if "matmul_numpy" in times:
            out["matmul_numpy_gflops"] = flops / times["matmul_numpy"] / 1e6
        out["matmul_gflops"] = max(out["matmul_onnx_gflops"], out.get("matmul_numpy_gflops", 0.0))
        out[f"{key}_fraction_of_matmul"] = rate / out["matmul_gflops"]
    return out


def targets(r: dict) -> dict:
    """The ``target_*`` checks that apply to the measured results (2-core CPU, ONNX Runtime)."""
    t: dict[str, bool] = {}
    if "nano_onnx_fps" in r:
        t["target_nano_30fps"] = r["nano_onnx_fps"] >= 30.0
    if "s0_fraction_of_mci0_trunk" in r:
        t["target_s0_90pct_of_mci0_trunk"] = r["s0_fraction_of_mci0_trunk"] >= 0.9
    if "s0_fraction_of_matmul" in r:
        t["target_s0_60pct_of_matmul"] = r["s0_fraction_of_matmul"] >= 0.6
    if "frame1000_over_frame10_paired" in r:
        t["target_constant_cost"] = abs(r["frame1000_over_frame10_paired"] - 1.0) <= 0.1
    if "window16_over_recurrent" in r:
        t["target_10x_cheaper_than_window16"] = r["window16_over_recurrent"] >= 10.0
    if "window16_cached_over_recurrent" in r:
        t["target_cheaper_than_cached_window"] = r["window16_cached_over_recurrent"] > 1.0
    return {k: bool(v) for k, v in t.items()}


def format_table(r: dict) -> str:
    rows = []
    for key, value in r.items():
        text = f"{value:.3f}" if isinstance(value, float) else str(value)
        rows.append(f"  {key:<38}{text}")
    return "\n".join(rows)


def run_bench(options: BenchOptions, log: Callable[[str], object] = print) -> dict:
    """Every measurement of the module docstring that ``options`` does not skip; one flat JSON-able dict."""
    import onnxruntime
    import torch

    torch.set_num_threads(options.threads)
    models = list(options.models)
    models += [
        m for m in dict.fromkeys((options.stream_model, options.paired_model)) if m and m not in models
    ]
    results: dict = {
        "clock": options.clock,
        "threads": options.threads,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="aar-bench-") as tmp:
        workdir = Path(tmp)
        backends, onnx_paths = {}, {}
        for name in models:
            log(f"[bench] {name}: export, latency, FLOPs")
            files = build_student(name, workdir)
            onnx_paths[name] = files[1]
            measured, *backends[name] = bench_student(name, files, options)
            results.update(measured)
        if options.stream_model:
            log(f"[bench] one stream of {options.stream_frames} frames ({options.stream_model})")
            results.update(bench_stream(backends[options.stream_model][0], options))
        if options.paired_model:
            log(f"[bench] {options.paired_model} against the baselines, in turns ({options.rounds} rounds)")
            gflops = results[f"{short(options.paired_model)}_gflops"]
            results.update(
                bench_paired(
                    options.paired_model,
                    onnx_paths[options.paired_model],
                    backends[options.paired_model][1],
                    gflops,
                    options,
                    workdir,
                )
            )
    results.update(targets(results))
    results["bench_seconds"] = time.perf_counter() - t_start
    return {k: float(v) if isinstance(v, np.floating) else v for k, v in results.items()}
