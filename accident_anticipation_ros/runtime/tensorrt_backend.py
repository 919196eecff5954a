"""TensorRT 10 backend: engine build and cache, device-resident recurrent state (Jetson Orin path).

UNVERIFIED ON HARDWARE. This module is written against the TensorRT 10 Python API (JetPack 6:
TensorRT 10.3, CUDA 12.6, Python 3.10) and cuda-python, but the machines it was developed on have no
GPU and no TensorRT: only its pure parts (engine cache key, plan naming, sidecar, the errors when
TensorRT is missing) are tested. Check on the device with ``accident-anticipation verify`` and
``accident-anticipation bench`` before relying on it.

What it does:

* builds the engine from the ONNX step graph (``trt.Builder`` + ``trt.OnnxParser``), FP16 or BF16
  with the recurrent arithmetic kept in FP32: ``OBEY_PRECISION_CONSTRAINTS`` plus a per-layer FP32
  precision for the layers that read a ``state_in.*`` tensor or write a ``state_out.*`` tensor,
  the element-wise layers between the two (the state update) and every EXP on the state path
  (the WKV exponentials), see :func:`select_fp32_layers`; the state I/O tensors are FP32;
* caches the serialized plan under a key of (ONNX sha256, TensorRT version, GPU name, precision
  flags) in ``~/.cache/accident_anticipation_ros/engines``; a JSON sidecar next to each plan keeps
  the :class:`ModelInfo` and the key's parts; a changed key means a rebuild, logged with progress;
* binds I/O by name (``set_tensor_address``, ``execute_async_v3``) and keeps the state on the device
  in two buffer sets used in turn (ping-pong): ``state_out`` of frame t is ``state_in`` of frame t+1
  by swapping addresses, with no host copy of the state between frames; a reset is a
  ``cudaMemsetAsync`` to zero. Per frame only the image goes up and the small outputs come down.

TensorRT 11 removed the weakly typed precision flags (``BuilderFlag.FP16``, ``OBEY_PRECISION_
CONSTRAINTS``); with it, only ``precision="fp32"`` is accepted here.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import json
import logging
import os
import tempfile
import threading
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from accident_anticipation_ros.contract import (
    EMBEDDING,
    IMAGE,
    OUTPUTS,
    RISK_LOGIT,
    RISK_MAP,
    STATE_IN,
    STATE_OUT,
    TTA,
    file_sha256,
    image_shape,
)
from accident_anticipation_ros.runtime.backend import Backend, ModelInfo, StepOutput
from accident_anticipation_ros.runtime.cuda_runtime import call, cudart, device_name
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.factory import PLAN_SUFFIXES
from accident_anticipation_ros.runtime.onnx_contract import check_contract
from accident_anticipation_ros.runtime.onnx_signature import read_signature

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = Path("~/.cache/accident_anticipation_ros/engines")
PRECISIONS = ("fp32", "fp16", "bf16")
ENGINE_FORMAT = 1  # bump when the build recipe changes, so old cached plans are rebuilt


# --- the engine cache (pure: tested without TensorRT) --------------------------------------------


@dataclass(frozen=True)
class EngineKey:
    """Everything a serialized plan depends on; its digest names the cached plan."""

    onnx_sha256: str
    tensorrt_version: str
    gpu: str
    precision: str

    @property
    def flags(self) -> str:
        """Precision flags as built: the reduced precision plus the FP32 state policy."""
        if self.precision == "fp32":
            return "fp32"
        return f"{self.precision}+obey-constraints+fp32-state"

    @property
    def digest(self) -> str:
        text = json.dumps(
            {
                "onnx_sha256": self.onnx_sha256,
                "tensorrt": self.tensorrt_version,
                "gpu": self.gpu,
                "flags": self.flags,
                "format": ENGINE_FORMAT,
            },
            sort_keys=True,
        )
        return hashlib.sha256(text.encode()).hexdigest()[:24]

    def to_json(self) -> dict:
        return {
            "onnx_sha256": self.onnx_sha256,
            "tensorrt_version": self.tensorrt_version,
            "gpu": self.gpu,
            "precision": self.precision,
            "flags": self.flags,
            "digest": self.digest,
        }


def plan_path(cache_dir: str | Path, model_name: str, key: EngineKey) -> Path:
    """``<cache_dir>/<model_name>-<precision>-<digest>.plan``; the sidecar is the same path with ``.json``."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in model_name) or "model"
    return Path(cache_dir).expanduser() / f"{safe}-{key.precision}-{key.digest}.plan"


def sidecar_path(plan: Path) -> Path:
    return plan.with_suffix(".json")


def write_sidecar(plan: Path, info: ModelInfo, key: EngineKey | None) -> None:
    data = {"model_info": info.to_json(), "engine_key": key.to_json() if key else None}
    _atomic_write(sidecar_path(plan), json.dumps(data, indent=2).encode())


def read_sidecar(plan: Path) -> tuple[ModelInfo, dict | None]:
    """The ModelInfo and engine key dict stored next to ``plan``; BackendError if absent or bad."""
    path = sidecar_path(plan)
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as exc:
        raise BackendError(
            f"{plan}: TensorRT plan has no sidecar {path.name} with the model info; "
            "pass the ONNX export instead (the backend builds and caches the plan itself)"
        ) from exc
    except (OSError, ValueError) as exc:
        raise BackendError(f"{path}: unreadable plan sidecar ({exc})") from exc
    if not isinstance(data, dict) or "model_info" not in data:
        raise BackendError(f"{path}: plan sidecar has no 'model_info'")
    return ModelInfo.from_json(data["model_info"], str(path)), data.get("engine_key")


def cached_plan_is_current(plan: Path, key: EngineKey) -> bool:
    """Whether ``plan`` and its sidecar exist and were built for ``key``."""
    if not plan.is_file() or not sidecar_path(plan).is_file():
        return False
    try:
        _, stored = read_sidecar(plan)
    except BackendError:
        return False
    return bool(stored) and stored.get("digest") == key.digest


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


# --- TensorRT (needs the tensorrt package and a GPU) --------------------------------------------


def import_tensorrt() -> Any:
    """``import tensorrt`` or a BackendError that says what to do."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendError(
            "backend 'tensorrt' requested but the tensorrt Python package is not installed; "
            "use backend:=onnxruntime or install TensorRT 10 (JetPack 6)"
        ) from exc
    major = int(str(trt.__version__).split(".")[0])
    if major < 10:
        raise BackendError(
            f"TensorRT {trt.__version__} found, but this backend needs TensorRT 10 (JetPack 6); "
            "use backend:=onnxruntime on older JetPacks"
        )
    return trt


def _make_logger(trt: Any) -> Any:
    """A ``trt.ILogger`` that forwards to Python logging."""

    class _Logger(trt.ILogger):
        def __init__(self) -> None:
            trt.ILogger.__init__(self)

        def log(self, severity, msg):  # TensorRT callback
            S = trt.ILogger.Severity
            level = {
                S.INTERNAL_ERROR: logging.CRITICAL,
                S.ERROR: logging.ERROR,
                S.WARNING: logging.WARNING,
                S.INFO: logging.DEBUG,
                S.VERBOSE: logging.DEBUG,
            }.get(severity, logging.INFO)
            log.log(level, "TensorRT: %s", msg)

    return _Logger()


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


class _DeviceBuffer:
    """One cudaMalloc'ed block (freed with the backend)."""

    def __init__(self, nbytes: int) -> None:
        self.nbytes = int(nbytes)
        self.ptr = int(call(cudart().cudaMalloc(self.nbytes), f"cudaMalloc({self.nbytes})"))

    def free(self) -> None:
        if self.ptr:
            cudart().cudaFree(self.ptr)
            self.ptr = 0


class _PinnedArray:
    """A page-locked host array (cudaMallocHost) viewed as numpy, for async copies."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        self.nbytes = int(np.prod(shape)) * 4
        self.ptr = int(call(cudart().cudaMallocHost(self.nbytes), f"cudaMallocHost({self.nbytes})"))
        buf = (ctypes.c_float * int(np.prod(shape))).from_address(self.ptr)
        self.array = np.ctypeslib.as_array(buf).reshape(shape)

    def free(self) -> None:
        if self.ptr:
            self.array = None  # type: ignore[assignment]
            cudart().cudaFreeHost(self.ptr)
            self.ptr = 0


class TensorRTState:
    """A recurrent state on the device: two buffer sets, ``current`` is the next step's input."""

    def __init__(self, specs: dict[str, tuple[int, ...]]) -> None:
        self.sets = tuple(
            {name: _DeviceBuffer(int(np.prod(shape)) * 4) for name, shape in specs.items()} for _ in range(2)
        )
        self.current = 0

    def free(self) -> None:
        for buffers in self.sets:
            for buf in buffers.values():
                buf.free()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown cuda-python may be gone
            self.free()


class TensorRTBackend(Backend):
    """Run the step graph as a TensorRT engine, built from the ONNX on first use and cached.

    Args:
        path: The ONNX step graph (preferred: the engine is built and cached for this device) or a
            plan with its JSON sidecar.
        precision: ``"fp16"`` (default), ``"bf16"`` or ``"fp32"``; the state path stays FP32.
        cache_dir: Where plans are cached.
        workspace_mb: Builder workspace limit.
        rebuild: Build even if a current plan is cached.
        device: CUDA device index.
    """

    name = "tensorrt"
    OPTIONS = ("precision", "cache_dir", "workspace_mb", "rebuild", "device")

    def __init__(
        self,
        path: str | Path,
        precision: str = "fp16",
        cache_dir: str | Path | None = None,
        workspace_mb: int = 1024,
        rebuild: bool = False,
        device: int = 0,
    ) -> None:
        if precision not in PRECISIONS:
            raise BackendError(f"unknown TensorRT precision {precision!r}; expected one of {PRECISIONS}")
        trt = import_tensorrt()
        rt = cudart()
        path = Path(path)
        call(rt.cudaSetDevice(int(device)), f"cudaSetDevice({device})")
        self._trt, self._logger = trt, _make_logger(trt)
        self.precision = precision
        self.gpu = device_name(int(device))

        if path.suffix.lower() in PLAN_SUFFIXES:
            info, stored = read_sidecar(path)
            if stored and stored.get("tensorrt_version") != trt.__version__:
                raise BackendError(
                    f"{path}: plan was built with TensorRT {stored.get('tensorrt_version')}, this is "
                    f"{trt.__version__}; plans are tied to a TensorRT version: pass the ONNX instead"
                )
            plan, self.key = path, None
        else:
            sig = read_signature(path)
            info = check_contract(sig, str(path))
            extra = tuple(path.parent / name for name in sig.external_data)
            self.key = EngineKey(file_sha256(path, extra), trt.__version__, self.gpu, precision)
            plan = plan_path(cache_dir or DEFAULT_CACHE_DIR, info.model_name, self.key)
            built = rebuild or not cached_plan_is_current(plan, self.key)
            if built:
                log.info("no current TensorRT plan for %s (key %s): building %s", path, self.key.digest, plan)
                self._build(path, plan, info, workspace_mb)
            else:
                log.info("using cached TensorRT plan %s", plan)
        super().__init__(info)
        self.plan = plan
        self._lock = threading.Lock()
        self._runtime = trt.Runtime(self._logger)
        self.engine = self._runtime.deserialize_cuda_engine(plan.read_bytes())
        if self.engine is None and self.key is not None and not built:  # a damaged cache entry
            log.warning("cached TensorRT plan %s does not deserialize: rebuilding it", plan)
            self._build(path, plan, info, workspace_mb)
            self.engine = self._runtime.deserialize_cuda_engine(plan.read_bytes())
        if self.engine is None:
            raise BackendError(
                f"{plan}: TensorRT cannot deserialize this plan (built for another TensorRT or GPU?); "
                "pass the ONNX export instead"
            )
        self.context = self.engine.create_execution_context()
        self._check_engine_io()
        self._stream = call(rt.cudaStreamCreate(), "cudaStreamCreate")
        h, w = info.risk_map_shape
        host_shapes = {
            IMAGE: image_shape(info.input_height, info.input_width),
            RISK_LOGIT: self._shape(RISK_LOGIT),
            TTA: self._shape(TTA),
            RISK_MAP: (1, h, w),
            EMBEDDING: (1, info.embedding_dim),
        }
        self._host = {name: _PinnedArray(shape) for name, shape in host_shapes.items()}
        self._dev = {name: _DeviceBuffer(self._host[name].nbytes) for name in host_shapes}
        for name, buf in self._dev.items():
            self._set_address(name, buf.ptr)
        self._states: weakref.WeakSet[TensorRTState] = weakref.WeakSet()

    def _build(self, onnx_path: Path, plan: Path, info: ModelInfo, workspace_mb: int) -> None:
        _atomic_write(plan, build_engine(self._trt, onnx_path, self.precision, workspace_mb, self._logger))
        write_sidecar(plan, info, self.key)

    def _shape(self, name: str) -> tuple[int, ...]:
        return tuple(int(d) for d in self.engine.get_tensor_shape(name))

    def _check_engine_io(self) -> None:
        trt = self._trt
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        expected = {IMAGE, *OUTPUTS}
        expected |= {STATE_IN + n for n in self.info.state_specs} | {
            STATE_OUT + n for n in self.info.state_specs
        }
        missing = expected - set(names)
        if missing:
            raise BackendError(f"{self.plan}: engine lacks I/O tensors {sorted(missing)}")
        for name in expected:
            if self.engine.get_tensor_dtype(name) != trt.float32:
                raise BackendError(
                    f"{self.plan}: engine tensor {name!r} is {self.engine.get_tensor_dtype(name)}, expected float32"
                )
        for key, shape in self.info.state_specs.items():
            for name in (STATE_IN + key, STATE_OUT + key):
                if self._shape(name) != tuple(shape):
                    raise BackendError(
                        f"{self.plan}: engine tensor {name!r} has shape {self._shape(name)}, expected {shape}"
                    )

    def _set_address(self, name: str, ptr: int) -> None:
        if not self.context.set_tensor_address(name, ptr):
            raise BackendError(f"TensorRT rejected the device address of tensor {name!r}")

    def describe(self) -> str:
        return f"tensorrt {self._trt.__version__} {self.precision} on {self.gpu} ({self.plan.name})"

    def init_state(self) -> TensorRTState:
        state = TensorRTState(self.info.state_specs)
        self._states.add(state)
        return self.reset_state(state)

    def reset_state(self, state: TensorRTState) -> TensorRTState:
        """Zero ``state`` in place on the device (cudaMemsetAsync); no allocation."""
        if not isinstance(state, TensorRTState):
            return self.init_state()
        rt = cudart()
        for buf in state.sets[0].values():
            call(rt.cudaMemsetAsync(buf.ptr, 0, buf.nbytes, self._stream), "cudaMemsetAsync(state)")
        state.current = 0
        return state

    def step(self, image: np.ndarray, state: TensorRTState) -> tuple[StepOutput, TensorRTState]:
        self.check_image(image)
        if not isinstance(state, TensorRTState):
            raise ValueError("state was not created by this TensorRT backend's init_state()")
        rt = cudart()
        h2d = rt.cudaMemcpyKind.cudaMemcpyHostToDevice
        d2h = rt.cudaMemcpyKind.cudaMemcpyDeviceToHost
        with self._lock:
            src, dst = state.sets[state.current], state.sets[1 - state.current]
            for name in self.info.state_specs:  # ping-pong: swap addresses, never copy the state
                self._set_address(STATE_IN + name, src[name].ptr)
                self._set_address(STATE_OUT + name, dst[name].ptr)
            host_image = self._host[IMAGE]
            np.copyto(host_image.array, image)
            call(
                rt.cudaMemcpyAsync(
                    self._dev[IMAGE].ptr, host_image.ptr, host_image.nbytes, h2d, self._stream
                ),
                "cudaMemcpyAsync(image)",
            )
            if not self.context.execute_async_v3(int(self._stream)):
                raise BackendError(f"{self.info.model_name}: TensorRT execute_async_v3 failed")
            for name in OUTPUTS:
                host = self._host[name]
                call(
                    rt.cudaMemcpyAsync(host.ptr, self._dev[name].ptr, host.nbytes, d2h, self._stream),
                    f"cudaMemcpyAsync({name})",
                )
            call(rt.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
            state.current = 1 - state.current
            out = {name: self._host[name].array for name in OUTPUTS}
            result = StepOutput(
                risk_logit=float(out[RISK_LOGIT].reshape(-1)[0]),
                tta=float(out[TTA].reshape(-1)[0]),
                risk_map=out[RISK_MAP][0].copy(),
                embedding=out[EMBEDDING].reshape(-1).copy(),
            )
        return result, state

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown cuda-python may be gone
            self.close()

    def close(self) -> None:
        rt = cudart()
        for state in list(self._states):
            state.free()
        self._states.clear()
        for buf in list(self._dev.values()) + list(self._host.values()):
            buf.free()
        if getattr(self, "_stream", None) is not None:
            rt.cudaStreamDestroy(self._stream)
            self._stream = None
        self.context = None
        self.engine = None
