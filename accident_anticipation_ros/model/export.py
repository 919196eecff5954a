"""Export the student's STEP graph (one frame per stream, explicit state) to ONNX, then verify it.

The library of ``accident-anticipation export --checkpoint CKPT --out model.onnx``.

The graph (see :mod:`accident_anticipation_ros.contract`): input ``image`` ``[B, 3, H, W]`` and
``state_in.<name>``; outputs ``risk_logit`` ``[B]``, ``tta`` ``[B]``, ``risk_map`` ``[B, h, w]``,
``embedding`` ``[B, D]`` and ``state_out.<name>``, where ``B`` is the batch axis ``"batch"`` (one row
per camera; ``batch_axis=False`` exports the static batch 1 of older files). All-zeros states are
the reset state. After export the graph is checked with ``onnx.checker`` and run with ONNX Runtime
over several frames with a carried, non-zero state, and (with a batch axis) on a batch of 3 rows
against three batch-1 PyTorch steps; export fails if any output or state differs from PyTorch by
more than ``tolerance`` (relative).
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from accident_anticipation_ros.contract import (
    BATCH_DIM,
    DEFAULT_PREPROCESS,
    IMAGE,
    OUTPUTS,
    STATE_IN,
    STATE_OUT,
    ModelMetadata,
    ModelSemantics,
    encode_metadata,
)
from accident_anticipation_ros.model.checkpoint import (
    checkpoint_preprocess,
    checkpoint_semantics,
    load_checkpoint,
    state_dict_sha256,
)
from accident_anticipation_ros.model.errors import ExportError
from accident_anticipation_ros.model.onnx_storage import store_exact_float16
from accident_anticipation_ros.model.state import StudentState, random_state, state_names
from accident_anticipation_ros.model.student import TSDStudent

DEFAULT_OPSET = 17


class StepGraph(nn.Module):
    """``(image, *state) -> (risk_logit, tta, risk_map, embedding, *new_state)``: flat tensors for export."""

    def __init__(self, model: TSDStudent) -> None:
        super().__init__()
        self.model = model
        self.names = state_names(model.cfg)
        # the wrapper in the model's mode: torch.onnx.export restores the wrapper's mode recursively
        # after tracing, and a default (training) wrapper left the model's BatchNorm in training mode
        self.train(model.training)

    def forward(self, image: torch.Tensor, *state: torch.Tensor) -> tuple[torch.Tensor, ...]:
        st = StudentState.from_flat(dict(zip(self.names, state, strict=True)), self.model.cfg.rwkv_layers)
        out, new = self.model.step(image, st)
        return (out.risk_logit, out.tta, out.risk_map, out.embedding, *new.flatten().values())


@dataclass(frozen=True)
class ExportReport:
    """Result of :func:`export_onnx`."""

    path: Path
    model_name: str
    model_hash: str
    opset: int
    frames_checked: int
    max_rel_error: float  # max over outputs, states and frames of max|onnx - torch| / max|torch|
    per_output: dict[str, float]
    float16_initializers: int = 0  # weights stored as float16 (losslessly) with ``float16_storage``
    batch_axis: bool = False  # the first dimension is the symbolic "batch"


def rel_error(actual: np.ndarray | torch.Tensor, reference: np.ndarray | torch.Tensor) -> float:
    """``max|actual - reference| / max|reference|`` (scale-relative; 1e-12 floor on the scale)."""
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(reference, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"shape mismatch {a.shape} vs {b.shape}")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        return float("inf")
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-12)
    return float(np.abs(a - b).max(initial=0.0) / scale)


def onnx_metadata(
    model: TSDStudent,
    model_hash: str,
    fps: float,
    mean: Sequence[float],
    std: Sequence[float],
    semantics: ModelSemantics | None = None,
    risk_map_trained: bool = False,
    preprocess: str = DEFAULT_PREPROCESS,
) -> dict[str, str]:
    """The ``aar.*`` metadata_props of the contract (with the semantics and their sha256 when given)."""
    H, W = model.cfg.image_size
    return encode_metadata(
        ModelMetadata(
            model_name=model.cfg.name,
            model_hash=model_hash,
            config=model.cfg.to_dict(),
            input_height=H,
            input_width=W,
            mean=tuple(mean),  # type: ignore[arg-type]
            std=tuple(std),  # type: ignore[arg-type]
            fps=fps,
            semantics=semantics,
            risk_map_trained=risk_map_trained,
            preprocess=preprocess,
        )
    )


def _torch_export(graph: StepGraph, path: Path, opset: int, batch_axis: bool = True) -> None:
    cfg = graph.model.cfg
    names = state_names(cfg)
    batch = 2 if batch_axis else 1  # traced with 2 rows, so that no size-1 dimension is baked in
    image = torch.zeros(batch, 3, *cfg.image_size)
    state = tuple(t for t in graph.model.init_state(batch, "cpu").flatten().values())
    input_names = [IMAGE] + [STATE_IN + n for n in names]
    output_names = list(OUTPUTS) + [STATE_OUT + n for n in names]
    dynamic = {n: {0: BATCH_DIM} for n in input_names + output_names} if batch_axis else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation and tracer warnings
        torch.onnx.export(
            graph,
            (image, *state),
            str(path),
            dynamo=False,
            opset_version=opset,
            input_names=input_names,
            output_names=output_names,
            dynamic_axes=dynamic,
            do_constant_folding=True,
        )


def _declare_shapes(proto, graph: StepGraph, batch_axis: bool) -> None:
    """Write every output's shape into the graph: ``[batch, *static]`` (the exporter leaves the
    dimensions behind a dynamic batch symbolic) or the static batch-1 shape."""
    cfg = graph.model.cfg
    with torch.no_grad():
        image = torch.zeros(1, 3, *cfg.image_size)
        outputs = graph(image, *graph.model.init_state(1, "cpu").flatten().values())
    shapes = dict(zip(list(OUTPUTS) + [STATE_OUT + n for n in graph.names], outputs, strict=True))
    for value in proto.graph.output:
        dims = value.type.tensor_type.shape.dim
        shape = list(shapes[value.name].shape)
        del dims[:]
        for i, size in enumerate(shape):
            dim = dims.add()
            if i == 0 and batch_axis:
                dim.dim_param = BATCH_DIM
            else:
                dim.dim_value = int(size)


def verify_onnx(
    path: str | os.PathLike,
    model: TSDStudent,
    frames: int = 8,
    seed: int = 0,
    threads: int = 0,
    batch: int = 0,
) -> dict[str, float]:
    """Run the ONNX step graph and ``model.step`` over ``frames`` random frames with a carried state.

    The state starts random and non-zero (as after some frames). With ``batch`` > 1, one more ONNX
    call runs ``batch`` rows (random frames and states) and each row is compared with a batch-1
    PyTorch step of its own (the graph's rows must not mix). Returns the relative error per output
    and per state name: max abs difference over all frames / max abs PyTorch value over all
    frames (a per-frame ratio would blow up on a scalar output that happens to be near zero).
    """
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    cfg = model.cfg
    gen = torch.Generator().manual_seed(seed)
    state = random_state(cfg, 1, gen)
    flat = {STATE_IN + k: v.numpy() for k, v in state.flatten().items()}
    out_names = [o.name for o in session.get_outputs()]
    diff: dict[str, float] = {}
    scale: dict[str, float] = {}
    model = model.eval()
    for _ in range(frames):
        image = torch.randn(1, 3, *cfg.image_size, generator=gen)
        with torch.no_grad():
            ref, state = model.step(image, state)
        got = dict(zip(out_names, session.run(out_names, {IMAGE: image.numpy(), **flat}), strict=True))
        reference = {name: getattr(ref, name) for name in OUTPUTS}
        reference.update({STATE_OUT + k: v for k, v in state.flatten().items()})
        for name, value in reference.items():
            a, b = np.asarray(got[name], np.float64), value.numpy().astype(np.float64)
            if a.shape != b.shape:
                raise ExportError(f"{path}: output {name!r} has shape {a.shape}, PyTorch gives {b.shape}")
            finite = np.isfinite(a).all() and np.isfinite(b).all()
            d = float(np.abs(a - b).max(initial=0.0)) if finite else float("inf")
            diff[name] = max(diff.get(name, 0.0), d)
            scale[name] = max(scale.get(name, 0.0), float(np.abs(b).max(initial=0.0)))
        flat = {STATE_IN + k.removeprefix(STATE_OUT): got[k] for k in got if k.startswith(STATE_OUT)}
    if batch > 1:
        states = [random_state(cfg, 1, gen) for _ in range(batch)]
        images = torch.randn(batch, 3, *cfg.image_size, generator=gen)
        feed = {IMAGE: images.numpy()}
        for name in states[0].flatten():
            feed[STATE_IN + name] = np.concatenate([s.flatten()[name].numpy() for s in states])
        got = dict(zip(out_names, session.run(out_names, feed), strict=True))
        for i, state in enumerate(states):
            with torch.no_grad():
                ref, new = model.step(images[i : i + 1], state)
            reference = {name: getattr(ref, name) for name in OUTPUTS}
            reference.update({STATE_OUT + k: v for k, v in new.flatten().items()})
            for name, value in reference.items():
                a, b = np.asarray(got[name][i : i + 1], np.float64), value.numpy().astype(np.float64)
                if a.shape != b.shape:
                    raise ExportError(
                        f"{path}: batched output {name!r} row has shape {a.shape}, PyTorch {b.shape}"
                    )
                finite = np.isfinite(a).all() and np.isfinite(b).all()
                d = float(np.abs(a - b).max(initial=0.0)) if finite else float("inf")
                diff[name] = max(diff.get(name, 0.0), d)
                scale[name] = max(scale.get(name, 0.0), float(np.abs(b).max(initial=0.0)))
    return {name: diff[name] / max(scale[name], 1e-12) for name in diff}


def export_onnx(
    model: TSDStudent | str | os.PathLike,
    out_path: str | os.PathLike,
    *,
    fps: float | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    model_hash: str | None = None,
    opset: int = DEFAULT_OPSET,
    frames: int = 8,
    tolerance: float = 1e-4,
    threads: int = 0,
    float16_storage: bool = False,
    semantics: ModelSemantics | None = None,
    risk_map_trained: bool | None = None,
    batch_axis: bool = True,
    preprocess: str | None = None,
) -> ExportReport:
    """Reparameterize, export the step graph, check it, and compare ONNX Runtime with PyTorch.

    Args:
        model: A student in memory (left untouched: a reparameterized copy is exported) or a
            checkpoint path (``fps``, ``mean``, ``std`` and the hash then come from its JSON).
        out_path: Where to write the ``.onnx`` file.
        fps, mean, std: Frame rate and input normalisation the model assumes (required for a model
            in memory; they override the checkpoint's values).
        model_hash: ``aar.model_hash``; default: sha256 of the weights file, or of the state dict.
        opset: ONNX opset (>= 17).
        frames: Frames run through ONNX Runtime for the parity check (0 skips it).
        tolerance: Max relative error allowed between ONNX Runtime and PyTorch.
        threads: ONNX Runtime intra-op threads for the check (0: its default).
        float16_storage: Store every float32 weight that float16 holds exactly as float16 (widened
            by a ``Cast``; see :mod:`~accident_anticipation_ros.model.onnx_storage`): about half
            the file for a checkpoint shipped in float16, the same numbers.
        semantics: Causes, domain statistics and training domain for the metadata (bound to
            ``model_hash``); default: those stored in the checkpoint's JSON, if any.
        risk_map_trained: ``aar.risk_map_trained``; default: the checkpoint JSON's
            ``risk_map_trained`` (the trainer writes it: true when a risk-map loss ran; absent: False).
        batch_axis: Export the first dimension as the symbolic ``"batch"`` (several cameras in one
            call); False: the static batch 1 of older exports.
        preprocess: ``aar.preprocess``, how frames are fitted to the input; default: the checkpoint's
            ``train.resize`` (absent, or a model in memory: letterbox).

    Raises:
        ExportError: missing metadata, a failed export or check, or a parity error above tolerance
            (the bad file is removed).
    """
    import onnx
    import onnxscript.optimizer

    if opset < 17:
        raise ExportError(f"opset must be >= 17, got {opset}")
    if not isinstance(model, TSDStudent):
        model_path = model
        model, meta = load_checkpoint(model)
        fps = meta["fps"] if fps is None else fps
        mean = meta["mean"] if mean is None else mean
        std = meta["std"] if std is None else std
        model_hash = meta["model_hash"] if model_hash is None else model_hash
        semantics = checkpoint_semantics(meta, str(out_path)) if semantics is None else semantics
        if risk_map_trained is None:
            risk_map_trained = bool(meta.get("risk_map_trained", False))
        if preprocess is None:
            preprocess = checkpoint_preprocess(meta, str(model_path))
    missing = [name for name, value in (("fps", fps), ("mean", mean), ("std", std)) if value is None]
    if missing:
        raise ExportError(f"export_onnx of a model in memory needs {missing} (the input the model assumes)")
    if fps <= 0 or len(mean) != 3 or len(std) != 3:
        raise ExportError(f"bad input metadata: fps={fps}, mean={list(mean)}, std={list(std)}")
    if model_hash is None:
        model_hash = state_dict_sha256(model)

    deployed = copy.deepcopy(model).cpu().float().eval().reparameterize()
    path = Path(out_path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        graph = StepGraph(deployed)
        _torch_export(graph, path, opset, batch_axis)
        proto = onnxscript.optimizer.optimize(onnx.load(str(path)))  # folds constants, drops Identity
        _declare_shapes(proto, graph, batch_axis)
        converted = store_exact_float16(proto).converted if float16_storage else 0
        props = onnx_metadata(
            deployed,
            model_hash,
            fps,
            mean,
            std,
            semantics,
            bool(risk_map_trained),
            preprocess or DEFAULT_PREPROCESS,
        )
        for key, value in props.items():
            entry = proto.metadata_props.add()
            entry.key, entry.value = key, value
        onnx.checker.check_model(proto, full_check=True)
        onnx.save(proto, str(path))
    except Exception as err:
        path.unlink(missing_ok=True)
        raise ExportError(f"{path}: ONNX export failed: {type(err).__name__}: {err}") from err

    batch = 3 if batch_axis else 0
    errors = verify_onnx(path, deployed, frames, threads=threads, batch=batch) if frames > 0 else {}
    worst = max(errors.values(), default=0.0)
    if worst > tolerance:
        path.unlink(missing_ok=True)
        bad = {k: f"{v:.2e}" for k, v in errors.items() if v > tolerance}
        raise ExportError(
            f"{path}: ONNX Runtime differs from PyTorch by {worst:.2e} > {tolerance:.0e} (relative) in {bad}; "
            "file removed"
        )
    return ExportReport(
        path, deployed.cfg.name, model_hash, opset, frames, worst, errors, converted, batch_axis
    )
