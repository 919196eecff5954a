"""ONNX Runtime backend: runs the exported step graph (CPU by default; CUDA / TensorRT EPs as options).

Two ways to run, same results:

* plain ``session.run`` (default on the CPU): the state is a dict of numpy arrays, the
  ``state_out.*`` arrays of frame t are fed as ``state_in.*`` of frame t+1 without copies;
* IO binding (default with a GPU execution provider): the state lives in two preallocated sets of
  device OrtValues used in turn (ping-pong), so it never leaves the device between frames; the
  small per-frame outputs are bound to preallocated host arrays.

``step_batch`` on an export with a batch axis (plain ``session.run``) stacks the streams' images and
state rows into one call and hands each stream its own rows back (views of the batch outputs); on a
batch-1 export, or with IO binding, it steps the streams one by one.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

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
)
from accident_anticipation_ros.runtime.backend import Backend, StepOutput
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_contract import read_model_info

PROVIDER_ALIASES = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


class _BoundState:
    """Device-resident state for IO binding: two sets of OrtValues, ``current`` is the input."""

    def __init__(self, sets: tuple[dict, dict]) -> None:
        self.sets = sets
        self.current = 0


class OnnxRuntimeBackend(Backend):
    """Run an ONNX step graph with ONNX Runtime.

    Args:
        path: The ``.onnx`` step graph (checked against the contract).
        threads: Intra-op threads (default: all cores).
        providers: Execution providers in priority order, short (``"cpu"``, ``"cuda"``,
            ``"tensorrt"``) or full names; the CPU provider is always appended as a fallback.
        io_binding: Keep the state in device buffers (default: on when a GPU provider is used).
        allow_spinning: Let idle intra-/inter-op worker threads spin-wait for work. Off (the
            default) frees the cores between frames: on 1280x720 JPEG frames at 20 fps the node
            burns ~4x less CPU per frame for ~2 ms more latency (see the README); on for the
            lowest latency on cores nothing else needs.
    """

    name = "onnxruntime"
    OPTIONS = ("threads", "providers", "io_binding", "allow_spinning")

    def __init__(
        self,
        path: str | Path,
        threads: int | None = None,
        providers: Sequence[str] = ("cpu",),
        io_binding: bool | None = None,
        allow_spinning: bool = False,
    ) -> None:
        import onnxruntime as ort

        path = Path(path)
        super().__init__(read_model_info(path))
        if isinstance(providers, str):
            providers = [p.strip() for p in providers.split(",") if p.strip()]
        names = [PROVIDER_ALIASES.get(p.lower(), p) for p in providers]
        available = ort.get_available_providers()
        for provider in names:
            if provider not in available:
                raise BackendError(
                    f"ONNX Runtime execution provider {provider!r} is not available in this onnxruntime "
                    f"build (available: {available}); install onnxruntime-gpu for CUDA/TensorRT"
                )
        if "CPUExecutionProvider" not in names:
            names.append("CPUExecutionProvider")
        self.threads = int(threads) if threads else (os.cpu_count() or 1)

        opts = ort.SessionOptions()
        opts.intra_op_num_threads = self.threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        self.allow_spinning = bool(allow_spinning)
        spin = "1" if self.allow_spinning else "0"
        opts.add_session_config_entry("session.intra_op.allow_spinning", spin)
        opts.add_session_config_entry("session.inter_op.allow_spinning", spin)
        self.session_options = opts
        try:
            self.session = ort.InferenceSession(str(path), sess_options=opts, providers=names)
        except Exception as exc:  # onnxruntime raises its own exception types
            raise BackendError(f"{path}: ONNX Runtime cannot load the model ({exc})") from exc
        self.providers = self.session.get_providers()
        self._state_names = list(self.info.state_specs)
        self._output_names = list(OUTPUTS) + [STATE_OUT + n for n in self._state_names]
        self._device = (
            "cuda" if self.providers[0] in ("CUDAExecutionProvider", "TensorrtExecutionProvider") else "cpu"
        )
        self.io_binding = (self._device != "cpu") if io_binding is None else bool(io_binding)
        if self.io_binding:
            self._lock = threading.Lock()  # one IO binding: steps of sessions sharing the backend take turns
            self._binding = self.session.io_binding()
            h, w = self.info.risk_map_shape
            self._host_out = {
                RISK_LOGIT: np.zeros(self._output_shape(RISK_LOGIT), np.float32),
                TTA: np.zeros(self._output_shape(TTA), np.float32),
                RISK_MAP: np.zeros((1, h, w), np.float32),
                EMBEDDING: np.zeros((1, self.info.embedding_dim), np.float32),
            }
            for name, array in self._host_out.items():
                self._binding.bind_ortvalue_output(name, ort.OrtValue.ortvalue_from_numpy(array))

    def _output_shape(self, name: str) -> tuple[int, ...]:
        for out in self.session.get_outputs():
            if out.name == name:
                return (1, *out.shape[1:])  # one row (an export with a batch axis names the first dimension)
        raise BackendError(f"{self.info.model_name}: ONNX output {name!r} missing")  # checked on load

    @property
    def batched(self) -> bool:
        return self.info.batch_axis and not self.io_binding

    def describe(self) -> str:
        mode = "io-binding" if self.io_binding else "run"
        spin = "spinning" if self.allow_spinning else "no spinning"
        if self.batched:
            batch = "batched streams"
        elif self.info.batch_axis:
            batch = "streams one by one with io-binding"
        else:
            batch = "batch-1 export: streams one by one"
        return f"onnxruntime {self.providers[0]} ({self.threads} threads, {mode}, {spin}, {batch})"

    def init_state(self):
        specs = self.info.state_specs
        if not self.io_binding:
            return {n: np.zeros(shape, np.float32) for n, shape in specs.items()}
        import onnxruntime as ort

        # Each ping-pong set gets its own zeros: on the CPU an OrtValue wraps the numpy memory without a
        # copy, so sharing one array would alias state_in and state_out.
        sets = tuple(
            {
                n: ort.OrtValue.ortvalue_from_numpy(np.zeros(shape, np.float32), self._device, 0)
                for n, shape in specs.items()
            }
            for _ in range(2)
        )
        return _BoundState(sets)  # type: ignore[arg-type]

    def step(self, image: np.ndarray, state):
        self.check_image(image)
        if self.io_binding:
            return self._step_bound(image, state)
        feed = {IMAGE: image}
        for name in self._state_names:
            feed[STATE_IN + name] = state[name]
        results = self.session.run(self._output_names, feed)
        risk_logit, tta, risk_map, embedding = results[:4]
        new_state = dict(zip(self._state_names, results[4:], strict=True))
        return _output(risk_logit, tta, risk_map, embedding), new_state

    def step_batch(self, images, states):
        if not self.batched or len(images) < 2:
            return super().step_batch(images, states)
        if len(images) != len(states):
            raise ValueError(f"step_batch: {len(images)} images but {len(states)} states")
        for image in images:
            self.check_image(image)
        feed = {IMAGE: np.concatenate(images)}  # (B, 3, H, W)
        for name in self._state_names:  # (B, N, C): row i is stream i's state
            feed[STATE_IN + name] = np.concatenate([state[name] for state in states])
        results = self.session.run(self._output_names, feed)
        risk_logit, tta, risk_map, embedding = results[:4]
        rows = range(len(images))
        outputs = [
            _output(risk_logit[i : i + 1], tta[i : i + 1], risk_map[i : i + 1], embedding[i : i + 1])
            for i in rows
        ]
        new_states = [
            {name: value[i : i + 1] for name, value in zip(self._state_names, results[4:], strict=True)}
            for i in rows
        ]
        return outputs, new_states

    def _step_bound(self, image: np.ndarray, state: _BoundState):
        if not isinstance(state, _BoundState):
            raise ValueError("state was not created by this IO-binding backend's init_state()")
        with self._lock:
            src, dst = state.sets[state.current], state.sets[1 - state.current]
            binding = self._binding
            binding.bind_cpu_input(IMAGE, image)
            for name in self._state_names:  # ping-pong: swap the bound buffers, never copy the state
                binding.bind_ortvalue_input(STATE_IN + name, src[name])
                binding.bind_ortvalue_output(STATE_OUT + name, dst[name])
            self.session.run_with_iobinding(binding)
            state.current = 1 - state.current
            out = self._host_out
            result = _output(*(out[name] for name in OUTPUTS), copy=True)
        return result, state

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


def _output(risk_logit, tta, risk_map, embedding, copy: bool = False) -> StepOutput:
    risk_map = np.asarray(risk_map, np.float32)[0]  # (h, w)
    embedding = np.asarray(embedding, np.float32).reshape(-1)  # (D,)
    return StepOutput(
        risk_logit=float(np.asarray(risk_logit).reshape(-1)[0]),
        tta=float(np.asarray(tta).reshape(-1)[0]),
        risk_map=risk_map.copy() if copy else risk_map,
        embedding=embedding.copy() if copy else embedding,
    )
