"""Check the student's two forms and its deployment against each other (RWKV-LM ``verify.py`` style).

:func:`verify` (``accident-anticipation verify --json``) builds each config with random weights (batch-norm
statistics, layer scales and RWKV parameters perturbed so that no branch is trivially zero), runs
random frames from a random non-zero state, and reports max relative errors (``max|a - b| / max|b|``):

- ``parallel_vs_step_rel``: ``forward_clip`` over T frames vs T calls of ``step`` (outputs, final state)
- ``torch_vs_onnx_rel``:    the exported ONNX step graph in ONNX Runtime vs ``step`` (carried state)
- ``reparam_rel``:          reparameterized vs training-form model (clip outputs and final state)

``ok`` is false (and the command exits 1) if any error exceeds the tolerance (1e-4).
"""

from __future__ import annotations

import copy
import tempfile
import time
from pathlib import Path

import torch
import torch.nn as nn
from timm.models.fastvit import LayerScale2d

from accident_anticipation_ros.contract import OUTPUTS
from accident_anticipation_ros.model.config import get_config
from accident_anticipation_ros.model.export import export_onnx, rel_error
from accident_anticipation_ros.model.rwkv import ChannelMix, TimeMix
from accident_anticipation_ros.model.state import StudentState, random_state
from accident_anticipation_ros.model.student import TSDStudent

KEYS = ("parallel_vs_step_rel", "torch_vs_onnx_rel", "reparam_rel")


@torch.no_grad()
def perturb_(model: TSDStudent, generator: torch.Generator) -> TSDStudent:
    """Randomise what a fresh init leaves trivial (BN statistics, layer scales, RWKV mixes), in place."""
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.normal_(0.0, 0.1, generator=generator)
            m.running_var.uniform_(0.5, 1.5, generator=generator)
            m.weight.uniform_(0.5, 1.5, generator=generator)
            m.bias.normal_(0.0, 0.1, generator=generator)
        elif isinstance(m, LayerScale2d):
            m.gamma.uniform_(0.05, 0.2, generator=generator)
        elif isinstance(m, (TimeMix, ChannelMix)):
            for name in ("mix_k", "mix_v", "mix_r"):
                if hasattr(m, name):
                    getattr(m, name).uniform_(0.0, 1.0, generator=generator)
            if isinstance(m, TimeMix):
                m.time_decay.add_(torch.randn(m.time_decay.shape, generator=generator))
                m.time_first.add_(torch.randn(m.time_first.shape, generator=generator))
    return model


def _state_error(a: StudentState, b: StudentState) -> float:
    fb = b.flatten()
    return max(rel_error(t, fb[name]) for name, t in a.flatten().items())


@torch.no_grad()
def parallel_vs_step(model: TSDStudent, frames: torch.Tensor, state: StudentState) -> float:
    """Max relative error between ``forward_clip`` and a loop of ``step`` (outputs per frame, final state)."""
    clip, clip_state = model.forward_clip(frames, state)
    steps = []
    for t in range(frames.shape[1]):
        out, state = model.step(frames[:, t], state)
        steps.append(out)
    err = max(rel_error(torch.stack([getattr(o, k) for o in steps], 1), getattr(clip, k)) for k in OUTPUTS)
    return max(err, _state_error(state, clip_state))


@torch.no_grad()
def reparam_error(model: TSDStudent, frames: torch.Tensor, state: StudentState) -> float:
    """Max relative error of a reparameterized copy vs ``model`` on a clip (outputs and final state)."""
    deployed = copy.deepcopy(model).reparameterize()
    ref, ref_state = model.forward_clip(frames, state)
    out, out_state = deployed.forward_clip(frames, state)
    err = max(rel_error(getattr(out, k), getattr(ref, k)) for k in OUTPUTS)
    return max(err, _state_error(out_state, ref_state))


def verify_config(
    name: str, frames: int = 32, seed: int = 0, threads: int = 0, workdir: str | Path | None = None
) -> dict:
    """All three checks for one config; returns its detail dict (``threads``: ONNX Runtime's, 0 = default)."""
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    cfg = get_config(name)
    model = perturb_(TSDStudent(cfg), gen).eval()
    clip = torch.randn(1, frames, 3, *cfg.image_size, generator=gen)
    state = random_state(cfg, 1, gen)
    detail: dict = {
        "frames": frames,
        "params": model.num_params(),
        "params_deploy": model.num_params(deploy=True),
    }
    detail["parallel_vs_step_rel"] = parallel_vs_step(model, clip, state)
    detail["reparam_rel"] = reparam_error(model, clip, state)
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        report = export_onnx(
            model,
            Path(tmp) / f"{name}.onnx",
            fps=10.0,
            mean=(0.0,) * 3,
            std=(1.0,) * 3,
            frames=frames,
            tolerance=float("inf"),
            threads=threads,
        )
    detail["torch_vs_onnx_rel"] = report.max_rel_error
    detail["seconds"] = round(time.perf_counter() - start, 2)
    return detail


def verify(
    configs: list[str] | tuple[str, ...] = ("tsd-nano", "tsd-s0"),
    frames: int = 32,
    seed: int = 0,
    threads: int = 1,
    tolerance: float = 1e-4,
) -> dict:
    """:func:`verify_config` for every config; the max of each error over them, ``ok`` and the details.

    ``threads``: torch's and ONNX Runtime's threads for the run (1 is fastest on a shared CPU).
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    previous = torch.get_num_threads()
    torch.set_num_threads(max(threads, 1))
    try:
        details = {name: verify_config(name, frames, seed, threads) for name in configs}
    finally:
        torch.set_num_threads(previous)
    result: dict = {key: max(d[key] for d in details.values()) for key in KEYS}
    result["tolerance"] = tolerance
    result["ok"] = all(result[key] <= tolerance for key in KEYS)
    result["configs"] = details
    return result
