"""The student's recurrent state: explicit, typed, and all zeros at a fresh start.

Per RWKV layer and per stride-32 token (``N = h * w``), float32:

- ``att_x``  ``(B, N, C)`` last input of the time mixing (token shift)
- ``att_aa`` ``(B, N, C)`` WKV numerator, scaled by ``exp(-att_pp)``
- ``att_bb`` ``(B, N, C)`` WKV denominator, scaled by ``exp(-att_pp)``; 0 means "nothing seen yet"
- ``att_pp`` ``(B, N, C)`` running max exponent (RWKV-4's numerically stable form)
- ``ffn_x``  ``(B, N, C)`` last input of the channel mixing (token shift)

Flat names (the ONNX graph's ``state_in.<name>`` / ``state_out.<name>``) are ``layer{i}.{field}``
(:func:`accident_anticipation_ros.contract.state_name`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch

from accident_anticipation_ros import contract
from accident_anticipation_ros.contract import STATE_FIELDS
from accident_anticipation_ros.model.config import StudentConfig


@dataclass(frozen=True)
class LayerState:
    """State of one spatio-temporal RWKV layer; every tensor is ``(B, N, C)``."""

    att_x: torch.Tensor
    att_aa: torch.Tensor
    att_bb: torch.Tensor
    att_pp: torch.Tensor
    ffn_x: torch.Tensor


@dataclass(frozen=True)
class StudentState:
    """State of the whole student: one :class:`LayerState` per RWKV layer."""

    layers: tuple[LayerState, ...]

    @classmethod
    def zeros(
        cls,
        cfg: StudentConfig,
        batch: int,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> StudentState:
        """The reset state (a fresh start)."""
        shape = (batch, cfg.num_tokens, cfg.rwkv_dim)
        return cls(
            tuple(
                LayerState(*(torch.zeros(shape, device=device, dtype=dtype) for _ in STATE_FIELDS))
                for _ in range(cfg.rwkv_layers)
            )
        )

    @property
    def batch(self) -> int:
        return self.layers[0].att_x.shape[0]

    def flatten(self) -> dict[str, torch.Tensor]:
        """``{"layer0.att_x": tensor, ...}`` in a fixed order (the ONNX state order)."""
        return {
            contract.state_name(i, name): getattr(layer, name)
            for i, layer in enumerate(self.layers)
            for name in STATE_FIELDS
        }

    @classmethod
    def from_flat(cls, flat: Mapping[str, torch.Tensor], num_layers: int) -> StudentState:
        """Inverse of :meth:`flatten`.

        Raises:
            KeyError: a state tensor is missing (names it).
        """
        layers = []
        for i in range(num_layers):
            values = {}
            for name in STATE_FIELDS:
                key = contract.state_name(i, name)
                if key not in flat:
                    raise KeyError(f"state tensor {key!r} missing")
                values[name] = flat[key]
            layers.append(LayerState(**values))
        return cls(tuple(layers))

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> StudentState:
        """Apply ``fn`` to every tensor (e.g. ``lambda t: t.detach()``)."""
        return StudentState(
            tuple(
                LayerState(**{f.name: fn(getattr(layer, f.name)) for f in dataclasses.fields(layer)})
                for layer in self.layers
            )
        )

    def detach(self) -> StudentState:
        """Cut the graph (truncated back-propagation through time)."""
        return self.map(lambda t: t.detach())

    def to(self, device: torch.device | str) -> StudentState:
        return self.map(lambda t: t.to(device))


def state_names(cfg: StudentConfig) -> list[str]:
    """Flat state names in ONNX order."""
    return contract.state_names(cfg.rwkv_layers)


def state_shape(cfg: StudentConfig, batch: int = 1) -> tuple[int, int, int]:
    """Shape of every state tensor."""
    return batch, cfg.num_tokens, cfg.rwkv_dim


def random_state(cfg: StudentConfig, batch: int, generator: torch.Generator | None = None) -> StudentState:
    """A random but valid non-zero state (``att_bb`` > 0), for verification and tests.

    It is what a state looks like after some frames: the WKV denominator is at least 1 once any token
    was seen (the running max keeps one of its terms at exactly 1).
    """
    shape = state_shape(cfg, batch)

    def randn() -> torch.Tensor:
        return torch.randn(shape, generator=generator)

    layers = []
    for _ in range(cfg.rwkv_layers):
        layers.append(
            LayerState(
                att_x=randn(),
                att_aa=randn() * 2.0,
                att_bb=1.0 + 2.0 * torch.rand(shape, generator=generator),
                att_pp=randn() * 3.0,
                ffn_x=randn(),
            )
        )
    return StudentState(tuple(layers))
