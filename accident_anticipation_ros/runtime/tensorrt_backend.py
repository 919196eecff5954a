"""TensorRT 10 backend: runs the step graph as a cached engine with the recurrent state on the device.

UNVERIFIED ON HARDWARE. This module is written against the TensorRT 10 Python API (JetPack 6:
TensorRT 10.3, CUDA 12.6, Python 3.10) and cuda-python, but the machines it was developed on have no
GPU and no TensorRT: only its pure parts (in :mod:`.trt_cache` and :mod:`.trt_build`, and the errors
when TensorRT is missing) are tested here. Check on the device with ``accident-anticipation verify``
and ``accident-anticipation bench`` before relying on it.

What it does:

* given the ONNX step graph, looks up the plan in the engine cache (:mod:`.trt_cache`: key of ONNX
  sha256, TensorRT version, GPU name, precision flags) and builds it when the key changed
  (:mod:`.trt_build`: FP16 or BF16 with the state path pinned to FP32); given a plan, loads it with
  its sidecar;
* binds I/O by name (``set_tensor_address``, ``execute_async_v3``) and keeps the state on the device
  in two buffer sets used in turn (ping-pong): ``state_out`` of frame t is ``state_in`` of frame t+1
  by swapping addresses, with no host copy of the state between frames; a reset is a
  ``cudaMemsetAsync`` to zero. Per frame only the image goes up and the small outputs come down;
* with an export that has a batch axis (an engine with a batch-1..MAX_BATCH profile, see
  :func:`.trt_build.profile_shapes`), ``step_batch`` runs several streams in one
  ``execute_async_v3``: each stream's state rows are copied device-to-device into a staging batch
  and back (each stream keeps its own ping-pong buffers), the images go up as one block.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import threading
import weakref
from pathlib import Path
from typing import Any

import numpy as np

from accident_anticipation_ros.contract import (
    EMBEDDING,
    IMAGE,
    MAX_BATCH,
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
from accident_anticipation_ros.runtime.onnx_contract import check_contract
from accident_anticipation_ros.runtime.onnx_signature import read_signature
from accident_anticipation_ros.runtime.trt_build import PRECISIONS, build_engine
from accident_anticipation_ros.runtime.trt_cache import (
    DEFAULT_CACHE_DIR,
    PLAN_SUFFIXES,
    EngineKey,
    cached_plan_is_current,
    plan_path,
    read_sidecar,
    verified_plan_bytes,
    write_plan,
)

log = logging.getLogger(__name__)


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
        # Only verified bytes reach TensorRT (trt_cache.verified_plan_bytes: sidecar key and plan sha256).
        self.engine = self._runtime.deserialize_cuda_engine(verified_plan_bytes(plan, self.key))
        if self.engine is None and self.key is not None and not built:  # a damaged cache entry
            log.warning("cached TensorRT plan %s does not deserialize: rebuilding it", plan)
            self._build(path, plan, info, workspace_mb)
            self.engine = self._runtime.deserialize_cuda_engine(verified_plan_bytes(plan, self.key))
        if self.engine is None:
            raise BackendError(
                f"{plan}: TensorRT cannot deserialize this plan (built for another TensorRT or GPU?); "
                "pass the ONNX export instead"
            )
        self.context = self.engine.create_execution_context()
        self._dynamic = self._shape(IMAGE)[0] < 0  # an engine with a batch profile
        self._rows = MAX_BATCH if self._dynamic else 1
        self._check_engine_io()
        self._stream = call(rt.cudaStreamCreate(), "cudaStreamCreate")
        h, w = info.risk_map_shape
        rows = self._rows
        host_shapes = {
            IMAGE: image_shape(info.input_height, info.input_width, rows),
            RISK_LOGIT: (rows, *self._shape(RISK_LOGIT)[1:]),
            TTA: (rows, *self._shape(TTA)[1:]),
            RISK_MAP: (rows, h, w),
            EMBEDDING: (rows, info.embedding_dim),
        }
        self._host = {name: _PinnedArray(shape) for name, shape in host_shapes.items()}
        self._dev = {name: _DeviceBuffer(self._host[name].nbytes) for name in host_shapes}
        for name, buf in self._dev.items():
            self._set_address(name, buf.ptr)
        # Staging batches of the state for step_batch: rows of every stream, in and out.
        self._staging = (
            tuple(
                {n: _DeviceBuffer(int(np.prod(shape)) * 4 * rows) for n, shape in info.state_specs.items()}
                for _ in range(2)
            )
            if self._dynamic
            else None
        )
        self._batch = 0  # the batch the context's input shapes are set to
        self._states: weakref.WeakSet[TensorRTState] = weakref.WeakSet()

    def _build(self, onnx_path: Path, plan: Path, info: ModelInfo, workspace_mb: int) -> None:
        serialized = build_engine(self._trt, onnx_path, self.precision, workspace_mb, self._logger)
        write_plan(plan, serialized, info, self.key)

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
        first = -1 if self._dynamic else 1
        for key, shape in self.info.state_specs.items():
            for name in (STATE_IN + key, STATE_OUT + key):
                if self._shape(name) != (first, *tuple(shape)[1:]):
                    raise BackendError(
                        f"{self.plan}: engine tensor {name!r} has shape {self._shape(name)}, expected {shape}"
                        + (" with a dynamic batch" if self._dynamic else "")
                    )

    def _set_address(self, name: str, ptr: int) -> None:
        if not self.context.set_tensor_address(name, ptr):
            raise BackendError(f"TensorRT rejected the device address of tensor {name!r}")

    def _set_batch(self, batch: int) -> None:
        """Set the input shapes of a dynamic engine to ``batch`` rows (no-op when already set)."""
        if not self._dynamic or batch == self._batch:
            return
        info = self.info
        shapes = {IMAGE: image_shape(info.input_height, info.input_width, batch)}
        shapes.update({STATE_IN + n: (batch, *shape[1:]) for n, shape in info.state_specs.items()})
        for name, shape in shapes.items():
            if not self.context.set_input_shape(name, shape):
                raise BackendError(f"TensorRT rejected the shape {list(shape)} of input {name!r}")
        self._batch = batch

    @property
    def batched(self) -> bool:
        return self._dynamic

    def describe(self) -> str:
        batch = f"batches 1..{MAX_BATCH}" if self._dynamic else "batch-1 engine: streams one by one"
        return f"tensorrt {self._trt.__version__} {self.precision} on {self.gpu} ({self.plan.name}, {batch})"

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
            self._set_batch(1)
            src, dst = state.sets[state.current], state.sets[1 - state.current]
            for name in self.info.state_specs:  # ping-pong: swap addresses, never copy the state
                self._set_address(STATE_IN + name, src[name].ptr)
                self._set_address(STATE_OUT + name, dst[name].ptr)
            host_image = self._host[IMAGE]
            np.copyto(host_image.array[:1], image)
            call(
                rt.cudaMemcpyAsync(
                    self._dev[IMAGE].ptr, host_image.ptr, host_image.nbytes // self._rows, h2d, self._stream
                ),
                "cudaMemcpyAsync(image)",
            )
            if not self.context.execute_async_v3(int(self._stream)):
                raise BackendError(f"{self.info.model_name}: TensorRT execute_async_v3 failed")
            for name in OUTPUTS:
                host = self._host[name]
                call(
                    rt.cudaMemcpyAsync(
                        host.ptr, self._dev[name].ptr, host.nbytes // self._rows, d2h, self._stream
                    ),
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

    def step_batch(self, images, states):
        """Several streams in one ``execute_async_v3`` (chunks of ``MAX_BATCH``); UNVERIFIED."""
        if len(images) != len(states):
            raise ValueError(f"step_batch: {len(images)} images but {len(states)} states")
        if not self._dynamic or len(images) < 2:
            return super().step_batch(images, states)
        outputs: list[StepOutput] = []
        for start in range(0, len(images), self._rows):
            outputs += self._run_batch(images[start : start + self._rows], states[start : start + self._rows])
        return outputs, list(states)

    def _run_batch(self, images, states) -> list[StepOutput]:
        for image in images:
            self.check_image(image)
        for state in states:
            if not isinstance(state, TensorRTState):
                raise ValueError("state was not created by this TensorRT backend's init_state()")
        rt = cudart()
        kinds = rt.cudaMemcpyKind
        batch = len(images)
        specs = self.info.state_specs
        with self._lock:
            self._set_batch(batch)
            stage_in, stage_out = self._staging
            for name, shape in specs.items():
                row = int(np.prod(shape)) * 4
                for i, state in enumerate(states):  # each stream's rows into the staging batch
                    call(
                        rt.cudaMemcpyAsync(
                            stage_in[name].ptr + i * row,
                            state.sets[state.current][name].ptr,
                            row,
                            kinds.cudaMemcpyDeviceToDevice,
                            self._stream,
                        ),
                        "cudaMemcpyAsync(state rows in)",
                    )
                self._set_address(STATE_IN + name, stage_in[name].ptr)
                self._set_address(STATE_OUT + name, stage_out[name].ptr)
            host_image = self._host[IMAGE]
            np.copyto(host_image.array[:batch], np.concatenate(images))
            nbytes = host_image.nbytes // self._rows * batch
            call(
                rt.cudaMemcpyAsync(
                    self._dev[IMAGE].ptr, host_image.ptr, nbytes, kinds.cudaMemcpyHostToDevice, self._stream
                ),
                "cudaMemcpyAsync(images)",
            )
            if not self.context.execute_async_v3(int(self._stream)):
                raise BackendError(
                    f"{self.info.model_name}: TensorRT execute_async_v3 failed (batch {batch})"
                )
            for name, shape in specs.items():
                row = int(np.prod(shape)) * 4
                for i, state in enumerate(states):  # rows back into each stream's other buffer set
                    call(
                        rt.cudaMemcpyAsync(
                            state.sets[1 - state.current][name].ptr,
                            stage_out[name].ptr + i * row,
                            row,
                            kinds.cudaMemcpyDeviceToDevice,
                            self._stream,
                        ),
                        "cudaMemcpyAsync(state rows out)",
                    )
            for name in OUTPUTS:
                host = self._host[name]
                call(
                    rt.cudaMemcpyAsync(
                        host.ptr,
                        self._dev[name].ptr,
                        host.nbytes // self._rows * batch,
                        kinds.cudaMemcpyDeviceToHost,
                        self._stream,
                    ),
                    f"cudaMemcpyAsync({name})",
                )
            call(rt.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")
            for state in states:
                state.current = 1 - state.current
            out = {name: self._host[name].array for name in OUTPUTS}
            return [
                StepOutput(
                    risk_logit=float(out[RISK_LOGIT][i].reshape(-1)[0]),
                    tta=float(out[TTA][i].reshape(-1)[0]),
                    risk_map=out[RISK_MAP][i].copy(),
                    embedding=out[EMBEDDING][i].reshape(-1).copy(),
                )
                for i in range(batch)
            ]

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter shutdown cuda-python may be gone
            self.close()

    def close(self) -> None:
        rt = cudart()
        for state in list(self._states):
            state.free()
        self._states.clear()
        staging = [b for group in (self._staging or ()) for b in group.values()]
        for buf in list(self._dev.values()) + list(self._host.values()) + staging:
            buf.free()
        if getattr(self, "_stream", None) is not None:
            rt.cudaStreamDestroy(self._stream)
            self._stream = None
        self.context = None
        self.engine = None
