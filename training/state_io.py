"""Resumable training state in safetensors + JSON (no pickles anywhere).

``<stem>.safetensors`` holds every tensor: ``model.*``, ``loss.*`` (learned loss weights),
``optim.<param index>.<key>`` (AdamW moments and step), ``rng.torch``, ``rng.cuda.<device>``,
``rng.numpy``, and the caller's extra tensors (``carry.rank<r>.<name>``: carried recurrent states). ``<stem>.json`` holds the rest: step counters, optimizer hyper-parameters, the LR
scheduler and AMP scaler state, the numpy / Python RNG scalars, and caller metadata.
"""

from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from accident_anticipation_ros.model.checkpoint import read_json_object
from accident_anticipation_ros.training.errors import ResumeError

FORMAT = "aar-train-state-1"
_RESERVED = ("model.", "loss.", "optim.", "rng.")


def _paths(stem: str | Path) -> tuple[Path, Path]:
    stem = Path(stem)
    return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")


def rng_state() -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Tensors and JSON data of the torch (CPU + CUDA), numpy and Python global RNGs."""
    tensors = {"rng.torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for i, s in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"rng.cuda.{i}"] = s
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    tensors["rng.numpy"] = torch.from_numpy(np.asarray(keys, dtype=np.int64))
    version, internal, gauss = random.getstate()
    data = {
        "numpy": [kind, int(pos), int(has_gauss), float(cached)],
        "python": [version, list(internal), gauss],
    }
    return tensors, data


def set_rng_state(tensors: dict[str, torch.Tensor], data: dict[str, Any]) -> None:
    torch.set_rng_state(tensors["rng.torch"])
    cuda = sorted((k for k in tensors if k.startswith("rng.cuda.")), key=lambda k: int(k.rsplit(".", 1)[1]))
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([tensors[k] for k in cuda])
    kind, pos, has_gauss, cached = data["numpy"]
    np.random.set_state((kind, tensors["rng.numpy"].numpy().astype(np.uint32), pos, has_gauss, cached))
    version, internal, gauss = data["python"]
    random.setstate((version, tuple(internal), gauss))


def save_state(
    stem: str | Path,
    *,
    model: torch.nn.Module,
    loss: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any | None,
    meta: dict[str, Any],
    extra: dict[str, torch.Tensor] | None = None,
) -> tuple[Path, Path]:
    """Write the full training state (atomically: temp files, then rename).

    ``extra`` tensors are stored under their own names (read back with :func:`load_tensors`); they
    must not use the reserved prefixes ``model.``, ``loss.``, ``optim.`` or ``rng.``.
    """
    weights, config = _paths(stem)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, torch.Tensor] = {}
    for prefix, module in (("model.", model), ("loss.", loss)):
        for k, v in module.state_dict().items():
            tensors[prefix + k] = v
    opt = optimizer.state_dict()
    opt_scalars: dict[str, dict[str, Any]] = {}
    for idx, state in opt["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                opt_scalars.setdefault(str(idx), {})[key] = value
    rng_tensors, rng_data = rng_state()
    tensors.update(rng_tensors)
    for k, v in (extra or {}).items():
        if k.startswith(_RESERVED):
            raise ValueError(f"extra training-state tensor {k!r} uses a reserved prefix {_RESERVED}")
        tensors[k] = v
    tensors = {k: v.detach().cpu().contiguous().clone() for k, v in tensors.items()}
    data = {
        "format": FORMAT,
        "meta": meta,
        "optimizer": {"param_groups": opt["param_groups"], "scalars": opt_scalars},
        "scheduler": scheduler.state_dict(),
        "scaler": scaler.state_dict() if scaler is not None else None,
        "rng": rng_data,
    }
    tmp_w = weights.with_name(weights.name + ".tmp")
    tmp_c = config.with_name(config.name + ".tmp")
    save_file(tensors, str(tmp_w), metadata={"format": FORMAT})
    tmp_c.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp_w, weights)
    os.replace(tmp_c, config)
    return weights, config


def _read_json(config: Path) -> dict[str, Any]:
    data = read_json_object(config, ResumeError, "training state not found")
    if data.get("format") != FORMAT:
        raise ResumeError(f"{config}: 'format' must be {FORMAT!r}")
    return data


def load_state(
    stem: str | Path,
    *,
    model: torch.nn.Module,
    loss: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    scheduler: Any,
    scaler: Any | None,
    restore_rng: bool = True,
) -> dict[str, Any]:
    """Restore everything :func:`save_state` wrote (strictly); return the caller metadata."""
    weights, config = _paths(stem)
    data = _read_json(config)
    if not weights.is_file():
        raise ResumeError(f"{weights}: training state weights not found")
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise ResumeError(f"{weights}: cannot read safetensors file ({err})") from None
    for prefix, module in (("model.", model), ("loss.", loss)):
        sd = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        want = module.state_dict()
        missing, unexpected = sorted(set(want) - set(sd)), sorted(set(sd) - set(want))
        if missing or unexpected:
            raise ResumeError(
                f"{weights}: {prefix[:-1]} state does not match the config: missing {missing[:4]}, unexpected {unexpected[:4]}"
            )
        try:
            module.load_state_dict(sd, strict=True)
        except RuntimeError as err:
            raise ResumeError(f"{weights}: {prefix[:-1]} state does not fit: {err}") from None
    state: dict[int, dict[str, Any]] = {}
    for key, value in tensors.items():
        if key.startswith("optim."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    for idx, scalars in data["optimizer"]["scalars"].items():
        state.setdefault(int(idx), {}).update(scalars)
    try:
        optimizer.load_state_dict({"state": state, "param_groups": data["optimizer"]["param_groups"]})
    except (ValueError, KeyError) as err:
        raise ResumeError(f"{config}: optimizer state does not fit: {err}") from None
    scheduler.load_state_dict(data["scheduler"])
    if scaler is not None and data["scaler"]:
        scaler.load_state_dict(data["scaler"])
    if restore_rng:
        set_rng_state(tensors, data["rng"])
    return data["meta"]


def load_tensors(stem: str | Path, prefix: str) -> dict[str, torch.Tensor]:
    """The tensors of a training state whose names start with ``prefix`` (prefix removed)."""
    weights, _ = _paths(stem)
    try:
        tensors = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise ResumeError(f"{weights}: cannot read safetensors file ({err})") from None
    return {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
