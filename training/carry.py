"""The recurrent state carried between the chunks of carried-state training, per batch row.

Works on both students' states: :class:`StudentState` (RWKV: ``(B, N, C)`` tensors) and the GRU
student's hidden state ``(1, B, C)``. Saved in the training state as flat float32 tensors.
"""

from __future__ import annotations

import torch

from accident_anticipation_ros.model.state import StudentState

State = StudentState | torch.Tensor
GRU_KEY = "gru.h"


def reset_rows(state: State, reset: torch.Tensor) -> State:
    """Zero (a fresh start) the rows where ``reset`` ``(B,)`` is True."""
    if isinstance(state, torch.Tensor):
        return torch.where(reset.to(state.device)[None, :, None], torch.zeros_like(state), state)
    return state.map(lambda t: torch.where(reset.to(t.device)[:, None, None], torch.zeros_like(t), t))


def set_rows(state: State, rows: list[int], sub: State) -> State:
    """``state`` with its ``rows`` replaced by the rows of ``sub`` (in that order)."""
    index = torch.tensor(rows, dtype=torch.long)
    if isinstance(state, torch.Tensor):
        out = state.clone()
        out[:, index.to(state.device)] = sub.to(state.dtype)
        return out
    flat, new = state.flatten(), sub.flatten()
    out = {}
    for name, t in flat.items():
        t = t.clone()
        t[index.to(t.device)] = new[name].to(t.dtype)
        out[name] = t
    return StudentState.from_flat(out, len(state.layers))


def detach(state: State) -> State:
    """Cut the graph (truncated back-propagation through time); float32 whatever the autocast."""
    if isinstance(state, torch.Tensor):
        return state.detach().float()
    return state.map(lambda t: t.detach().float())


def to_tensors(state: State) -> dict[str, torch.Tensor]:
    """Flat CPU tensors (``layer{i}.{field}`` or ``gru.h``) for saving."""
    if isinstance(state, torch.Tensor):
        return {GRU_KEY: state.detach().cpu()}
    return {k: v.detach().cpu() for k, v in state.flatten().items()}


def from_tensors(tensors: dict[str, torch.Tensor], like: State, device: torch.device) -> State:
    """Inverse of :func:`to_tensors`, checked against a state of the right shapes (``like``).

    Raises:
        ValueError: names or shapes do not match ``like``.
    """
    want = to_tensors(like)
    if set(tensors) != set(want):
        raise ValueError(
            f"carried state has tensors {sorted(tensors)[:3]}..., expected {sorted(want)[:3]}..."
        )
    for k, v in tensors.items():
        if tuple(v.shape) != tuple(want[k].shape):
            raise ValueError(
                f"carried state {k!r} has shape {tuple(v.shape)}, expected {tuple(want[k].shape)}"
            )
    if isinstance(like, torch.Tensor):
        return tensors[GRU_KEY].to(device)
    return StudentState.from_flat({k: v.to(device) for k, v in tensors.items()}, len(like.layers))
