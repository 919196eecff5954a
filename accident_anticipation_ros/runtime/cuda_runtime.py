"""Thin, lazily imported access to the CUDA runtime through cuda-python (no torch on the runtime path).

cuda-python moved the runtime bindings from ``cuda.cudart`` (up to 12.x) to ``cuda.bindings.runtime``
(12.6+ and 13.x); both are accepted. Every call returns ``(err, *values)``: :func:`call` checks ``err``.
"""

from __future__ import annotations

import functools
from typing import Any

from accident_anticipation_ros.runtime.errors import BackendError


@functools.lru_cache(maxsize=1)
def cudart() -> Any:
    """The cuda-python runtime module; BackendError if cuda-python is not installed."""
    try:
        from cuda.bindings import runtime

        return runtime
    except ImportError:
        pass
    try:
        from cuda import cudart as runtime  # cuda-python < 12.6

        return runtime
    except ImportError as exc:
        raise BackendError(
            "the TensorRT backend needs cuda-python for device memory and streams; "
            "pip install 'cuda-python>=12,<13' (matching the CUDA of JetPack 6: 12.x)"
        ) from exc


def call(result: Any, what: str = "CUDA call") -> Any:
    """Check a cuda-python ``(err, *values)`` result; return the value(s) or raise BackendError."""
    rt = cudart()
    if isinstance(result, tuple):
        err, values = result[0], result[1:]
    else:
        err, values = result, ()
    if err != rt.cudaError_t.cudaSuccess:
        _, name = rt.cudaGetErrorName(err)
        _, text = rt.cudaGetErrorString(err)
        raise BackendError(f"{what} failed: {_decode(name)} ({_decode(text)})")
    if not values:
        return None
    return values[0] if len(values) == 1 else values


def _decode(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def gpu_count() -> int:
    """Number of usable CUDA devices; 0 without cuda-python, a driver or a GPU."""
    try:
        rt = cudart()
    except BackendError:
        return 0
    try:
        err, count = rt.cudaGetDeviceCount()
    except Exception:  # a broken driver install must not break backend selection
        return 0
    return int(count) if err == rt.cudaError_t.cudaSuccess else 0


def device_name(device: int = 0) -> str:
    """``"<name> sm_<major><minor>"`` of a CUDA device, e.g. ``"Orin sm_87"`` (part of the engine key)."""
    props = call(cudart().cudaGetDeviceProperties(device), f"cudaGetDeviceProperties({device})")
    name = _decode(props.name).split("\x00", 1)[0].strip()
    return f"{name} sm_{props.major}{props.minor}"
