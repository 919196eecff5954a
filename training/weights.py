"""Reading a user's weights file safely: safetensors, or ``torch.load(weights_only=True)`` for .pt/.bin."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch

from accident_anticipation_ros.training.errors import TeacherError

_WRAPPERS = ("state_dict", "model", "model_state_dict", "module")


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a checkpoint file, never unpickling arbitrary objects.

    ``.safetensors`` is read with safetensors; anything else with ``torch.load(weights_only=True)``
    (plain tensors and containers only). A dict wrapping the weights under ``state_dict`` / ``model``
    is unwrapped; a ``module.`` prefix (DataParallel) is stripped.

    Raises:
        TeacherError: the file is missing, unreadable, or holds no tensors.
    """
    p = Path(path)
    if not p.is_file():
        raise TeacherError(f"{p}: weights file not found")
    if p.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            sd = load_file(str(p))
        except (SafetensorError, OSError) as err:
            raise TeacherError(f"{p}: cannot read safetensors file ({err})") from None
    else:
        try:
            sd = torch.load(str(p), map_location="cpu", weights_only=True)
        except Exception as err:  # noqa: BLE001 - torch raises many types for bad / unsafe files
            raise TeacherError(
                f"{p}: cannot read with torch.load(weights_only=True) ({type(err).__name__}: {err}); "
                "convert it to safetensors"
            ) from None
    for key in _WRAPPERS:
        if isinstance(sd, dict) and key in sd and isinstance(sd[key], dict):
            sd = sd[key]
    if not isinstance(sd, dict) or not sd:
        raise TeacherError(f"{p}: no state dict (a mapping of names to tensors) found")
    bad = [k for k, v in sd.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise TeacherError(f"{p}: entries are not tensors, first {bad[0]!r}")
    return {k.removeprefix("module."): v for k, v in sd.items()}


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_strict(module: torch.nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists missing, unexpected and mismatched keys."""
    want = module.state_dict()
    missing = sorted(set(want) - set(sd))
    unexpected = sorted(set(sd) - set(want))
    mismatched = [
        f"{k}: model {tuple(want[k].shape)} vs file {tuple(sd[k].shape)}"
        for k in sorted(set(want) & set(sd))
        if want[k].shape != sd[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing (first: {missing[:4]})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected (first: {unexpected[:4]})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatches (first: {mismatched[:3]})")
    if problems:
        raise TeacherError(f"{source}: weights do not fit the model: " + "; ".join(problems))
    module.load_state_dict(sd, strict=True)
