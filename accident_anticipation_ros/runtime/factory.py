"""Pick and create an inference backend for a model file: format, availability, selection, options.

    backend = create_backend("models/tsd-nano.onnx")          # TensorRT > ONNX Runtime > torch
    backend = create_backend("models/tsd-nano.onnx", kind="onnxruntime", threads=2)
    backend = create_backend("models/tsd-nano.onnx", step_delay_ms=50.0)  # a slower model, for tests

The backends are imported only when one is created, so importing this module stays cheap (no
onnxruntime, tensorrt or torch).
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path
from typing import Any

from accident_anticipation_ros.runtime.backend import Backend
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.trt_cache import PLAN_SUFFIXES

KINDS = ("tensorrt", "onnxruntime", "torch")  # each is also the name of the package it needs
ONNX_SUFFIXES = (".onnx",)
CHECKPOINT_SUFFIXES = (".safetensors",)
KIND_ALIASES = {
    "auto": "auto",
    "onnxruntime": "onnxruntime",
    "ort": "onnxruntime",
    "onnx": "onnxruntime",
    "tensorrt": "tensorrt",
    "trt": "tensorrt",
    "torch": "torch",
    "pytorch": "torch",
}


def module_available(name: str) -> bool:
    """Whether ``name`` can be imported (without importing it)."""
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def model_format(path: Path) -> str:
    """``"onnx"``, ``"plan"`` or ``"checkpoint"`` from the file name; BackendError if none fits."""
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        return "onnx"
    if suffix in PLAN_SUFFIXES:
        return "plan"
    if suffix in CHECKPOINT_SUFFIXES or (suffix == ".json" and path.with_suffix(".safetensors").is_file()):
        return "checkpoint"
    raise BackendError(
        f"{path}: not a model file (expected an ONNX step graph '.onnx', a TensorRT plan "
        f"'{'/'.join(PLAN_SUFFIXES)}' or a checkpoint '.safetensors')"
    )


def _not_installed(kind: str) -> BackendError:
    hints = {
        "tensorrt": "the tensorrt Python package is not installed; use backend:=onnxruntime or install "
        "TensorRT 10 (JetPack 6) and cuda-python",
        "onnxruntime": "the onnxruntime Python package is not installed; pip install onnxruntime "
        "(or onnxruntime-gpu), or use backend:=torch with a checkpoint",
        "torch": "torch is not installed; pip install 'accident_anticipation_ros[train]' or use "
        "backend:=onnxruntime with an ONNX export",
    }
    return BackendError(f"backend {kind!r} requested but {hints[kind]}")


def _backend_class(kind: str) -> type[Backend]:
    if kind == "onnxruntime":
        from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend

        return OnnxRuntimeBackend
    if kind == "tensorrt":
        from accident_anticipation_ros.runtime.tensorrt_backend import TensorRTBackend

        return TensorRTBackend
    from accident_anticipation_ros.runtime.torch_backend import TorchBackend

    return TorchBackend


def available_kinds() -> dict[str, bool]:
    """Which backends could be used on this machine, ``{kind: bool}`` (TensorRT also needs a CUDA GPU)."""
    from accident_anticipation_ros.runtime.cuda_runtime import gpu_count

    return {
        "tensorrt": module_available("tensorrt") and gpu_count() > 0,
        "onnxruntime": module_available("onnxruntime"),
        "torch": module_available("torch"),
    }


def select_kind(path: Path, kind: str = "auto", available: dict[str, bool] | None = None) -> tuple[str, Path]:
    """Resolve ``kind`` for the model at ``path``: the backend to use and the file it loads.

    ``auto`` picks TensorRT (installed, a GPU present, an ONNX or plan given), then ONNX Runtime
    (an ONNX given), then torch (a checkpoint given, or the ``.safetensors`` next to the ONNX).

    Args:
        path: The model file.
        kind: ``auto``, a kind of :data:`KINDS` or an alias (``ort``, ``trt``, ``pytorch``, ...).
        available: Which kinds this machine can run, ``{kind: bool}``; a kind not named counts as
            unavailable. Default: looked up, :func:`available_kinds` for ``auto``, whether the
            backend's package is installed for an explicit kind.

    Raises:
        BackendError: unknown kind, a backend that cannot load this file, or one not installed.
    """
    if kind not in KIND_ALIASES:
        raise BackendError(f"unknown backend kind {kind!r}; expected one of {sorted(set(KIND_ALIASES))}")
    kind = KIND_ALIASES[kind]
    fmt = model_format(path)
    checkpoint = path.with_suffix(".safetensors")  # the file itself, or the one beside an ONNX / JSON
    if available is None:
        available = available_kinds() if kind == "auto" else {kind: module_available(kind)}

    if kind == "auto":
        if fmt in ("onnx", "plan") and available.get("tensorrt"):
            return "tensorrt", path
        if fmt == "plan":
            raise BackendError(
                f"{path}: a TensorRT plan needs TensorRT and a CUDA GPU, which this machine lacks; "
                "pass the ONNX export with backend:=onnxruntime instead"
            )
        if fmt == "onnx" and available.get("onnxruntime"):
            return "onnxruntime", path
        if available.get("torch") and checkpoint.is_file():
            return "torch", checkpoint
        if fmt == "checkpoint":
            raise _not_installed("torch")
        raise BackendError(
            f"{path}: no backend can run this model here: TensorRT (with a GPU) and ONNX Runtime are "
            f"not available and there is no checkpoint {checkpoint.name} next to it for torch"
        )

    if kind == "tensorrt":
        if fmt == "checkpoint":
            raise BackendError(
                f"{path}: TensorRT needs the ONNX export or a plan, not a checkpoint; "
                "run `accident-anticipation export` first"
            )
        if not available.get(kind):
            raise _not_installed(kind)
        return kind, path
    if kind == "onnxruntime":
        if fmt != "onnx":
            raise BackendError(f"{path}: ONNX Runtime needs an ONNX step graph '.onnx', got a {fmt} file")
        if not available.get(kind):
            raise _not_installed(kind)
        return kind, path
    # torch
    if not checkpoint.is_file():
        raise BackendError(
            f"{path}: the torch backend loads a checkpoint '.safetensors' (+ '.json'); "
            f"{checkpoint} does not exist"
        )
    if not available.get(kind):
        raise _not_installed(kind)
    return kind, checkpoint


def create_backend(
    model_path: str | Path,
    kind: str = "auto",
    *,
    available: dict[str, bool] | None = None,
    step_delay_ms: float = 0.0,
    **opts: Any,
) -> Backend:
    """Load ``model_path`` with the backend ``kind`` (``auto``, ``onnxruntime``, ``tensorrt``, ``torch``).

    Keyword options go to the backend that is picked (e.g. ``threads`` for ONNX Runtime and torch,
    ``precision`` and ``cache_dir`` for TensorRT). With ``kind="auto"`` options the picked backend
    does not know are ignored; with an explicit kind they are an error. ``available`` is passed to
    :func:`select_kind` (default: this machine's). ``step_delay_ms`` > 0 wraps the backend in a
    :class:`~accident_anticipation_ros.runtime.delayed_backend.DelayedBackend` that sleeps that long
    before every step (for tests and benchmarks that need a slower model; 0: off).

    Raises:
        BackendError: missing or unusable model file, unknown kind or option, backend not installed.
    """
    path = Path(model_path).expanduser()
    if not path.exists():
        raise BackendError(f"model file {path} does not exist")
    if path.is_dir():
        raise BackendError(f"model path {path} is a directory; pass the .onnx, plan or .safetensors file")
    resolved, load_path = select_kind(path, kind, available)
    cls = _backend_class(resolved)
    known = set().union(*(_backend_class(k).OPTIONS for k in KINDS))
    unknown = sorted(set(opts) - (known if KIND_ALIASES[kind] == "auto" else set(cls.OPTIONS)))
    if unknown:
        raise BackendError(
            f"unknown option(s) {unknown} for backend {resolved!r}; it accepts {sorted(cls.OPTIONS)}"
        )
    if not (math.isfinite(step_delay_ms) and step_delay_ms >= 0):
        raise BackendError(f"step_delay_ms must be a finite number >= 0, got {step_delay_ms}")
    backend = cls(load_path, **{k: v for k, v in opts.items() if k in cls.OPTIONS})
    if step_delay_ms > 0:
        from accident_anticipation_ros.runtime.delayed_backend import DelayedBackend

        return DelayedBackend(backend, step_delay_ms)
    return backend
