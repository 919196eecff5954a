"""Safe student checkpoints: ``<name>.safetensors`` (weights) + ``<name>.json`` (config and metadata).

Loaded by path and strictly: every tensor must be present with the right shape, nothing extra, and
nothing is ever unpickled. Errors name the file and the tensor.

JSON layout::

    {"format": "aar-student-1", "model_name": "tsd-nano", "config": {...StudentConfig...},
     "reparameterized": false, "fps": 10.0, "mean": [..3..], "std": [..3..],
     "weights_sha256": "...", ...extra (e.g. "train": {...})}

and optionally the model's semantics (causes, domain statistics, training domain) with their sha256
bound to the weights (:func:`write_semantics`, :func:`checkpoint_semantics`; keys from the contract).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from accident_anticipation_ros.contract import (
    CHECKPOINT_SEMANTICS,
    CHECKPOINT_SEMANTICS_SHA256,
    DEFAULT_PREPROCESS,
    ContractError,
    ModelSemantics,
    check_preprocess,
    encode_semantics,
    file_sha256,
    semantics_sha256,
    semantics_to_json,
    verified_semantics,
)
from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.errors import CheckpointError, ConfigError
from accident_anticipation_ros.model.student import TSDStudent

FORMAT = "aar-student-1"
DEFAULT_FPS = 10.0
DEFAULT_MEAN = (0.0, 0.0, 0.0)  # MobileCLIP-S0 (timm fastvit_mci0.apple_mclip) normalisation
DEFAULT_STD = (1.0, 1.0, 1.0)
_RESERVED = ("format", "model_name", "config", "reparameterized", "weights_sha256")


def checkpoint_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(weights, config)`` paths for ``x.safetensors``, ``x.json`` or the stem ``x``."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.parent / f"{stem.name}.safetensors", stem.parent / f"{stem.name}.json"


def state_dict_sha256(model: torch.nn.Module) -> str:
    """sha256 over the state dict (names, shapes, dtypes, bytes in key order), for in-memory models."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        t = tensor.detach().cpu().contiguous()
        digest.update(f"{name}|{tuple(t.shape)}|{t.dtype}|".encode())
        digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _check_norm(meta: dict[str, Any], source: str) -> None:
    fps = meta.get("fps")
    if not isinstance(fps, (int, float)) or isinstance(fps, bool) or not math.isfinite(fps) or fps <= 0:
        raise CheckpointError(f"{source}: 'fps' must be a positive number, got {fps!r}")
    for key in ("mean", "std"):
        value = meta.get(key)
        if (
            not isinstance(value, (list, tuple))
            or len(value) != 3
            or not all(isinstance(x, (int, float)) and math.isfinite(x) for x in value)
        ):
            raise CheckpointError(f"{source}: '{key}' must be a list of 3 numbers, got {value!r}")
    if any(s <= 0 for s in meta["std"]):
        raise CheckpointError(f"{source}: 'std' must be positive, got {meta['std']!r}")


def save_checkpoint(
    model: TSDStudent, path: str | os.PathLike, extra: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` and ``<path>.json``.

    Args:
        model: The student (training form or reparameterized; the JSON says which).
        path: ``x``, ``x.safetensors`` or ``x.json``.
        extra: JSON-serialisable metadata merged into the JSON: ``fps``, ``mean``, ``std`` (defaults
            10.0 and MobileCLIP's 0 / 1) and anything else (e.g. ``{"train": {...}}``).

    Returns:
        The weights and config paths.
    """
    weights, config = checkpoint_paths(path)
    extra = dict(extra or {})
    clash = sorted(set(extra) & set(_RESERVED))
    if clash:
        raise CheckpointError(f"{config}: extra metadata may not set reserved key(s) {clash}")
    meta: dict[str, Any] = {"format": FORMAT, "model_name": model.cfg.name, "config": model.cfg.to_dict()}
    meta["reparameterized"] = bool(model.reparameterized)
    meta.update({"fps": DEFAULT_FPS, "mean": list(DEFAULT_MEAN), "std": list(DEFAULT_STD)})
    meta.update(extra)
    meta["fps"] = float(meta["fps"]) if isinstance(meta["fps"], int) else meta["fps"]
    meta["mean"], meta["std"] = list(meta["mean"]), list(meta["std"])
    _check_norm(meta, str(config))

    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = weights.with_name(weights.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, weights)
    meta["weights_sha256"] = file_sha256(weights)
    tmp = config.with_name(config.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, config)
    return weights, config


def _read_header(weights: Path) -> dict[str, Any]:
    """Parse the safetensors header and check that every tensor's bytes are inside the file."""
    size = weights.stat().st_size
    with open(weights, "rb") as f:
        raw = f.read(8)
        if len(raw) < 8:
            raise CheckpointError(f"{weights}: truncated ({size} bytes), not a safetensors file")
        (header_len,) = struct.unpack("<Q", raw)
        if header_len > size - 8:
            raise CheckpointError(
                f"{weights}: header claims {header_len} bytes but the file has {size}; truncated or not safetensors"
            )
        try:
            header = json.loads(f.read(header_len))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CheckpointError(f"{weights}: unreadable safetensors header ({err})") from None
    data_size = size - 8 - header_len
    for name, info in header.items():
        if name == "__metadata__":
            continue
        begin, end = info["data_offsets"]
        if end > data_size:
            raise CheckpointError(
                f"{weights}: tensor {name!r} needs bytes [{begin}, {end}) of the data area, "
                f"which ends at {data_size}: the file is truncated"
            )
    return header


def read_json_object(
    config: Path,
    error: type[Exception] = CheckpointError,
    missing: str = "checkpoint config file not found",
) -> dict[str, Any]:
    """A JSON file holding an object, as a dict; ``error`` naming the file when missing (``missing``
    says what) or malformed. Checkpoints, training states, teacher configs and cache indexes use it."""
    if not config.is_file():
        raise error(f"{config}: {missing}")
    try:
        meta = json.loads(config.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise error(f"{config}: not valid JSON ({err})") from None
    if not isinstance(meta, dict):
        raise error(f"{config}: must hold a JSON object")
    return meta


def read_meta(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate the checkpoint's JSON (without the weights)."""
    _, config = checkpoint_paths(path)
    meta = read_json_object(config)
    if meta.get("format") != FORMAT:
        raise CheckpointError(f"{config}: 'format' must be {FORMAT!r}, got {meta.get('format')!r}")
    for key in ("config", "reparameterized"):
        if key not in meta:
            raise CheckpointError(f"{config}: missing key {key!r}")
    _check_norm(meta, str(config))
    return meta


def load_checkpoint(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[TSDStudent, dict[str, Any]]:
    """Load a student strictly (safetensors + JSON, no pickle).

    Args:
        path: ``x``, ``x.safetensors`` or ``x.json``.
        device: Where to put the model.

    Returns:
        ``(model, meta)``: the model in eval mode, and the JSON metadata with ``config`` as a
        :class:`StudentConfig` and ``model_hash`` (sha256 of the weights file).

    Raises:
        CheckpointError: a file is missing, unreadable or truncated, or a tensor is missing,
            unexpected or has the wrong shape (the message names the file and the tensor).
    """
    weights, config = checkpoint_paths(path)
    meta = read_meta(config)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: checkpoint weights file not found")
    try:
        cfg = StudentConfig.from_dict(meta["config"], source=str(config))
    except ConfigError as err:
        raise CheckpointError(str(err)) from None
    header = _read_header(weights)
    model = TSDStudent(cfg)
    if meta["reparameterized"]:
        model.reparameterize()
    expected = model.state_dict()
    found = [k for k in header if k != "__metadata__"]
    missing = [k for k in expected if k not in header]
    unexpected = [k for k in found if k not in expected]
    if missing:
        raise CheckpointError(
            f"{weights}: {len(missing)} tensor(s) missing for {cfg.name}, first {missing[0]!r}"
            + (f" (all: {missing[:8]}{' ...' if len(missing) > 8 else ''})" if len(missing) > 1 else "")
        )
    if unexpected:
        raise CheckpointError(
            f"{weights}: {len(unexpected)} unexpected tensor(s) for {cfg.name}, first {unexpected[0]!r}"
        )
    for name, want in expected.items():
        shape = tuple(header[name]["shape"])
        if shape != tuple(want.shape):
            raise CheckpointError(
                f"{weights}: tensor {name!r} has shape {shape}, {cfg.name} expects {tuple(want.shape)}"
            )
    try:
        with safe_open(str(weights), framework="pt") as f:
            file_meta = f.metadata() or {}
            if file_meta.get("format") != FORMAT:
                raise CheckpointError(
                    f"{weights}: safetensors metadata 'format' must be {FORMAT!r}, got {file_meta.get('format')!r}"
                )
            tensors = {}
            for name, want in expected.items():
                t = f.get_tensor(name)
                if t.dtype != want.dtype:
                    if not (t.is_floating_point() and want.is_floating_point()):
                        raise CheckpointError(
                            f"{weights}: tensor {name!r} has dtype {t.dtype}, expected {want.dtype}"
                        )
                    t = t.to(want.dtype)
                tensors[name] = t
    except SafetensorError as err:
        raise CheckpointError(f"{weights}: cannot read safetensors file ({err})") from None
    model.load_state_dict(tensors, strict=True)

    model_hash = file_sha256(weights)
    recorded = meta.get("weights_sha256")
    if recorded is not None and recorded != model_hash:
        raise CheckpointError(
            f"{weights}: sha256 {model_hash[:12]}... differs from {config.name}'s weights_sha256 "
            f"{str(recorded)[:12]}...; the two files do not belong together"
        )
    meta = dict(meta, config=cfg, model_hash=model_hash)
    return model.to(device).eval(), meta


def checkpoint_semantics(meta: dict[str, Any], source: str = "checkpoint") -> ModelSemantics | None:
    """The verified semantics of a loaded checkpoint's ``meta`` (from :func:`load_checkpoint`); None if it has none.

    Raises:
        CheckpointError: the semantics do not match their sha256 for these weights, or are malformed.
    """
    if meta.get(CHECKPOINT_SEMANTICS) is None:
        return None
    try:
        return verified_semantics(
            meta[CHECKPOINT_SEMANTICS], meta.get(CHECKPOINT_SEMANTICS_SHA256), meta["model_hash"]
        )
    except ContractError as err:
        raise CheckpointError(f"{source}: {err}") from None


def checkpoint_preprocess(meta: dict[str, Any], source: str = "checkpoint") -> str:
    """How the training fitted frames to the input: the checkpoint's ``train.resize`` (``aar.preprocess``
    of its export); ``letterbox`` for a checkpoint that does not say.

    Raises:
        CheckpointError: not one of ``contract.PREPROCESS_MODES``.
    """
    train = meta.get("train")
    mode = train.get("resize", DEFAULT_PREPROCESS) if isinstance(train, dict) else DEFAULT_PREPROCESS
    try:
        return check_preprocess(mode)
    except ContractError as err:
        raise CheckpointError(f"{source}: train.resize: {err}") from None


def write_semantics(path: str | os.PathLike, semantics: ModelSemantics | None) -> Path:
    """Store ``semantics`` (None removes them) in the checkpoint's JSON, bound to the weights' sha256;
    the weights file is not touched. Returns the JSON path."""
    weights, config = checkpoint_paths(path)
    meta = read_meta(config)
    model_hash = file_sha256(weights)
    if meta.get("weights_sha256", model_hash) != model_hash:
        raise CheckpointError(
            f"{config}: weights_sha256 does not match {weights.name}; not writing semantics"
        )
    meta.pop(CHECKPOINT_SEMANTICS, None)
    meta.pop(CHECKPOINT_SEMANTICS_SHA256, None)
    if semantics is not None:
        meta[CHECKPOINT_SEMANTICS] = semantics_to_json(semantics)
        meta[CHECKPOINT_SEMANTICS_SHA256] = semantics_sha256(model_hash, encode_semantics(semantics))
    tmp = config.with_name(config.name + ".tmp")
    tmp.write_text(json.dumps(meta, indent=2) + "\n")
    os.replace(tmp, config)
    return config
