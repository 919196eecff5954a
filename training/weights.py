"""Reading a user's weights file safely: safetensors, or ``torch.load(weights_only=True)`` for .pt/.bin."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from accident_anticipation_ros.model.state_dict import state_dict_problems
from accident_anticipation_ros.training.errors import TeacherError

__all__ = ["load_strict", "read_state_dict"]

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


def load_strict(module: torch.nn.Module, sd: dict[str, torch.Tensor], source: str) -> None:
    """``load_state_dict(strict=True)`` with an error that lists missing, unexpected and mismatched keys."""
    problems = state_dict_problems(module.state_dict(), sd, first=4)
    if problems:
        raise TeacherError(f"{source}: weights do not fit the model: " + "; ".join(problems))
    module.load_state_dict(sd, strict=True)
