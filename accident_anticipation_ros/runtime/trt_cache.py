"""The TensorRT engine cache: the key a plan depends on, where plans live, and their JSON sidecars.

A serialized plan is tied to the ONNX it was built from, the TensorRT version, the GPU and the
precision flags: those make its :class:`EngineKey`, whose digest names the cached file
``~/.cache/accident_anticipation_ros/engines/<model>-<precision>-<digest>.plan``. The sidecar next
to it keeps the :class:`ModelInfo`, the key's parts and the plan's sha256, so a plan loads without
its ONNX and a changed key means a rebuild.

A plan is executable code for the GPU: it is deserialised only as the bytes
:func:`verified_plan_bytes` returns, whose sha256 equals the sidecar's ``plan_sha256`` (and, for a
cache entry, whose sidecar key is the expected one). A tampered or damaged cache entry is rebuilt;
a plan passed by path that fails the check is refused. Pure Python: tested without TensorRT.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.errors import BackendError

DEFAULT_CACHE_DIR = Path("~/.cache/accident_anticipation_ros/engines")
PLAN_SUFFIXES = (".plan", ".engine", ".trt")
ENGINE_FORMAT = 1  # bump when the build recipe (runtime/trt_build.py) changes, so old plans are rebuilt


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
    """The JSON sidecar next to ``plan``."""
    return plan.with_suffix(".json")


def write_sidecar(plan: Path, info: ModelInfo, key: EngineKey | None) -> None:
    """Write the sidecar of ``plan``: the model info, the engine key (None for a plan built elsewhere)
    and the sha256 of the plan file as it is now (None if it does not exist yet)."""
    data = {
        "model_info": info.to_json(),
        "engine_key": key.to_json() if key else None,
        "plan_sha256": file_sha256(plan) if plan.is_file() else None,
    }
    _atomic_write(sidecar_path(plan), json.dumps(data, indent=2).encode())


def write_plan(plan: Path, serialized: bytes, info: ModelInfo, key: EngineKey) -> None:
    """Store a freshly built engine and its sidecar (each written atomically) in the cache."""
    _atomic_write(plan, serialized)
    write_sidecar(plan, info, key)


def read_sidecar(plan: Path) -> tuple[ModelInfo, dict | None]:
    """The ModelInfo and engine key dict stored next to ``plan``; BackendError if absent or bad."""
    data = _sidecar_data(plan)
    return ModelInfo.from_json(data["model_info"], str(sidecar_path(plan))), data.get("engine_key")


def verified_plan_bytes(plan: Path, key: EngineKey | None = None) -> bytes:
    """The bytes of ``plan``, read once, after checking them against the sidecar; the only bytes to
    hand to TensorRT's ``deserialize_cuda_engine``.

    Raises:
        BackendError: no or a bad sidecar, no ``plan_sha256`` in it, a sidecar key other than
            ``key`` (when given), or plan bytes whose sha256 is not the recorded one.
    """
    data = _sidecar_data(plan)
    recorded = data.get("plan_sha256")
    if not isinstance(recorded, str) or len(recorded) != 64:
        raise BackendError(
            f"{sidecar_path(plan)}: the sidecar records no plan_sha256, so {plan.name} cannot be verified; "
            "a TensorRT plan is executable code and is not deserialised unverified: pass the ONNX export "
            "(the backend builds and caches a verified plan)"
        )
    if key is not None:
        stored = data.get("engine_key") or {}
        if stored.get("digest") != key.digest:
            raise BackendError(
                f"{plan}: the sidecar's engine key {stored.get('digest')!r} is not the expected {key.digest!r}"
            )
    try:
        blob = plan.read_bytes()
    except OSError as exc:
        raise BackendError(f"{plan}: cannot read the TensorRT plan ({exc})") from exc
    actual = hashlib.sha256(blob).hexdigest()
    if actual != recorded:
        raise BackendError(
            f"{plan}: plan sha256 {actual} is not the {recorded} its sidecar records (tampered or damaged); "
            "refusing to deserialise it"
        )
    return blob


def _sidecar_data(plan: Path) -> dict:
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
    return data


def cached_plan_is_current(plan: Path, key: EngineKey) -> bool:
    """Whether ``plan`` and its sidecar exist, were built for ``key`` and the plan is the recorded one."""
    if not plan.is_file() or not sidecar_path(plan).is_file():
        return False
    try:
        read_sidecar(plan)
        verified_plan_bytes(plan, key)
    except BackendError:
        return False
    return True


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
