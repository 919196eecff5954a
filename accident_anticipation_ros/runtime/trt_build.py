"""The TensorRT build recipe: ONNX step graph -> serialized engine, reduced precision with an FP32 state.

FP16 or BF16 with the recurrent arithmetic kept in FP32: ``OBEY_PRECISION_CONSTRAINTS`` plus a
per-layer FP32 precision for the layers that read a ``state_in.*`` tensor or write a
``state_out.*`` tensor, the element-wise layers between the two (the state update) and every EXP
on the state path (the WKV exponentials), see :func:`select_fp32_layers`; the state I/O tensors are
FP32. An export with a batch axis gets one optimisation profile for batches 1 to
:data:`~accident_anticipation_ros.contract.MAX_BATCH` (tuned for :data:`OPT_BATCH`, see
:func:`profile_shapes`); a batch-1 export has one static shape and needs none. The build is logged
with progress (it takes minutes on a Jetson).

UNVERIFIED ON HARDWARE (written against the TensorRT 10 Python API): only the layer selection and
the profile shapes are tested here, on a small graph and on the student's ONNX graph. TensorRT 11 removed the weakly typed
precision flags (``BuilderFlag.FP16``, ``OBEY_PRECISION_CONSTRAINTS``); with it, only
``precision="fp32"`` is accepted.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from accident_anticipation_ros.contract import MAX_BATCH, STATE_IN, STATE_OUT
from accident_anticipation_ros.runtime.errors import BackendError

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "bf16")
OPT_BATCH = 4  # the batch the profile's kernels are tuned for (a car with four cameras)

Dims = tuple[int, ...]


def profile_shapes(
    inputs: dict[str, Dims], max_batch: int = MAX_BATCH, opt_batch: int = OPT_BATCH
) -> dict[str, tuple[Dims, Dims, Dims]]:
    """The optimisation profile of a network's inputs: ``{name: (min, opt, max)}`` shapes.

    Args:
        inputs: Each network input's shape as TensorRT reports it, ``-1`` for a dynamic dimension.
            Only the first (batch) dimension may be dynamic.
        max_batch: Largest batch the engine runs.
        opt_batch: The batch its kernels are tuned for (clipped to ``[1, max_batch]``).

    Returns:
        One entry per input with a dynamic batch: batch 1, ``opt_batch`` and ``max_batch``; empty
        when every input is static (a batch-1 export needs no profile).

    Raises:
        BackendError: a dynamic dimension other than the first, or ``max_batch`` < 1.
    """
    if max_batch < 1:
        raise BackendError(f"max_batch must be >= 1, got {max_batch}")
    opt = min(max(int(opt_batch), 1), int(max_batch))
    profile = {}
    for name, shape in inputs.items():
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape[1:]):
            raise BackendError(
                f"TensorRT input {name!r} has shape {list(shape)}: only the batch (first) dimension may be dynamic"
            )
        if shape and shape[0] < 0:
            rest = shape[1:]
            profile[name] = ((1, *rest), (opt, *rest), (int(max_batch), *rest))
    return profile


def _make_progress_monitor(trt: Any) -> Any | None:
    """A ``trt.IProgressMonitor`` that logs build phases, or None if this TensorRT has none."""
    if not hasattr(trt, "IProgressMonitor"):
        return None

    class _Progress(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)
            self._steps: dict[str, int] = {}
            self._lock = threading.Lock()

        def phase_start(self, phase_name, parent_phase, num_steps):
            with self._lock:
                self._steps[phase_name] = max(int(num_steps), 1)
            log.info(
                "TensorRT build: %s%s (%d steps)",
                f"{parent_phase} / " if parent_phase else "",
                phase_name,
                num_steps,
            )

        def step_complete(self, phase_name, step):
            total = self._steps.get(phase_name, 1)
            if total >= 10 and (step + 1) % max(total // 10, 1) == 0:
                log.info("TensorRT build: %s %d%%", phase_name, round(100 * (step + 1) / total))
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            log.info("TensorRT build: %s done", phase_name)

    return _Progress()


@dataclass(frozen=True)
class GraphLayer:
    """A layer as the FP32 selection sees it: tensor names in and out, and its kind.

    ``kind`` is ``"exp"`` (an EXP), ``"matmul"`` (a matrix multiply or convolution) or ``"other"``.
    """

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    kind: str = "other"


def select_fp32_layers(layers: list[GraphLayer], state_in: set[str], state_out: set[str]) -> list[int]:
    """Indices of the layers to pin to FP32: the recurrent state's arithmetic and its exponentials.

    Pinned: every layer that reads a state input or writes a state output; every EXP downstream of
    a state input or upstream of a state output (the WKV exponentials, which overflow FP16 for large
    keys); and every element-wise / normalisation layer that lies downstream of a state input and
    upstream of a state output (the state update, e.g. the running max and the decayed sums).
    Matrix products on that path that do not touch the state (the RWKV projections) stay in the
    reduced precision (TensorRT accumulates them in FP32), as does the convolutional trunk.
    ``layers`` must be in topological order (as TensorRT's network and ONNX's graph are).
    """
    down_tensors, down = set(state_in), set()
    for i, layer in enumerate(layers):
        if down_tensors.intersection(layer.inputs):
            down.add(i)
            down_tensors.update(layer.outputs)
    up_tensors, up = set(state_out), set()
    for i in reversed(range(len(layers))):
        if up_tensors.intersection(layers[i].outputs):
            up.add(i)
            up_tensors.update(layers[i].inputs)
    touching = {
        i
        for i, layer in enumerate(layers)
        if state_in.intersection(layer.inputs) or state_out.intersection(layer.outputs)
    }
    exps = {i for i in down | up if layers[i].kind == "exp"}
    update = {i for i in down & up if layers[i].kind != "matmul"}
    return sorted(touching | exps | update)


def state_path_layers(trt: Any, network: Any) -> list[int]:
    """:func:`select_fp32_layers` on a TensorRT ``INetworkDefinition``."""
    layers = []
    for i in range(network.num_layers):
        layer = network.get_layer(i)
        ins = tuple(t.name for t in (layer.get_input(j) for j in range(layer.num_inputs)) if t is not None)
        outs = tuple(layer.get_output(j).name for j in range(layer.num_outputs))
        kind = "other"
        if layer.type == trt.LayerType.UNARY:
            layer.__class__ = trt.IUnaryLayer  # the Python API's downcast
            kind = "exp" if layer.op == trt.UnaryOperation.EXP else kind
        elif layer.type in (trt.LayerType.MATRIX_MULTIPLY, trt.LayerType.CONVOLUTION):
            kind = "matmul"
        layers.append(GraphLayer(ins, outs, kind))
    names_in = {network.get_input(i).name for i in range(network.num_inputs)}
    names_out = {network.get_output(i).name for i in range(network.num_outputs)}
    return select_fp32_layers(
        layers,
        {n for n in names_in if n.startswith(STATE_IN)},
        {n for n in names_out if n.startswith(STATE_OUT)},
    )


def _pin_fp32(trt: Any, network: Any, indices: list[int]) -> int:
    """Set FP32 precision and output types on the given layers; returns how many were pinned."""
    floats = {trt.float32, trt.float16} | ({trt.bfloat16} if hasattr(trt, "bfloat16") else set())
    skip = {trt.LayerType.CONSTANT, trt.LayerType.SHAPE}
    pinned = 0
    for i in indices:
        layer = network.get_layer(i)
        outputs = [layer.get_output(j) for j in range(layer.num_outputs)]
        if layer.type in skip or not outputs or any(t.dtype not in floats for t in outputs):
            continue
        layer.precision = trt.float32
        for j in range(layer.num_outputs):
            layer.set_output_type(j, trt.float32)
        pinned += 1
    for i in range(network.num_inputs):
        tensor = network.get_input(i)
        if tensor.name.startswith(STATE_IN):
            tensor.dtype = trt.float32
    for i in range(network.num_outputs):
        tensor = network.get_output(i)
        if tensor.name.startswith(STATE_OUT):
            tensor.dtype = trt.float32
    return pinned


def build_engine(trt: Any, onnx_path: Path, precision: str, workspace_mb: int, logger: Any) -> bytes:
    """Build a serialized engine from the ONNX step graph (takes minutes on a Jetson)."""
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # explicit batch is the only mode in TensorRT 10
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise BackendError(f"{onnx_path}: TensorRT's ONNX parser failed: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_mb) << 20)
    inputs = {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}
    shapes = profile_shapes(inputs)
    if shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
        log.info("TensorRT build: batch axis, one optimisation profile for batches 1..%d", MAX_BATCH)
    if precision != "fp32":
        flag = "FP16" if precision == "fp16" else "BF16"
        if not hasattr(trt.BuilderFlag, flag) or not hasattr(trt.BuilderFlag, "OBEY_PRECISION_CONSTRAINTS"):
            raise BackendError(
                f"TensorRT {trt.__version__} has no weakly typed {precision} mode (removed in TensorRT 11); "
                "use precision:=fp32 here, or TensorRT 10 (JetPack 6)"
            )
        config.set_flag(getattr(trt.BuilderFlag, flag))
        config.set_flag(trt.BuilderFlag.OBEY_PRECISION_CONSTRAINTS)
        pinned = _pin_fp32(trt, network, state_path_layers(trt, network))
        log.info("TensorRT build: %s with %d state-path layers pinned to FP32", precision, pinned)
    monitor = _make_progress_monitor(trt)
    if monitor is not None:
        config.progress_monitor = monitor
    log.info(
        "TensorRT build of %s started (%s); this takes a few minutes once per device", onnx_path, precision
    )
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise BackendError(f"{onnx_path}: TensorRT engine build failed (see the TensorRT log above)")
    return bytes(serialized)
