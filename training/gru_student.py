"""Ablation student: TSD's trunk and stride-32 embedding, with the spatio-temporal RWKV stage replaced by a
GRU over pooled tokens (the recurrent design of UString / DSTA).

It exposes the same ``forward_clip`` / ``step`` outputs as :class:`TSDStudent` (risk, TTA, risk map,
embedding, distillation heads), so the trainer and the losses treat both alike. Its state is the GRU
hidden state ``(1, B, C)``; it is not exported to ONNX (the node's contract is the RWKV state).
"""

from __future__ import annotations

import torch
import torch.nn as nn

from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.student import ClipOutput, StepOutput, TSDStudent


class GRUStudent(TSDStudent):
    """MCi trunk -> stride-32 tokens -> mean over tokens -> GRU over frames; the GRU state is added back to
    every token (so the risk map stays per token) before the shared heads."""

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__(cfg)
        dim = cfg.rwkv_dim
        self.layers = nn.ModuleList()  # no RWKV layers
        self.token_norm = nn.LayerNorm(dim)
        self.gru = nn.GRU(dim, dim, batch_first=True)

    def init_state(self, batch: int, device: torch.device | str | None = None) -> torch.Tensor:
        """The all-zeros GRU hidden state ``(1, B, C)``."""
        if device is None:
            device = self.norm.weight.device
        return torch.zeros(1, batch, self.cfg.rwkv_dim, device=device)

    def forward_clip(
        self,
        frames: torch.Tensor,
        state: torch.Tensor | None = None,
        mask_ratio: float = 0.0,
        mask: torch.Tensor | None = None,
    ) -> tuple[ClipOutput, torch.Tensor]:
        """As :meth:`TSDStudent.forward_clip`; a mask drops tokens from the pooled GRU input."""
        self._check_frames(frames, 5, "forward_clip frames")
        B, T = frames.shape[:2]
        state = self.init_state(B, frames.device) if state is None else state
        if tuple(state.shape) != (1, B, self.cfg.rwkv_dim):
            raise ValueError(f"GRU state must be (1, {B}, {self.cfg.rwkv_dim}), got {tuple(state.shape)}")
        if mask is None and self.training and mask_ratio > 0:
            mask = self.sample_mask(B, T, mask_ratio)
        keep = self._keep(mask, (B, T, *self.cfg.grid), frames.device)  # (B, T, N) or None

        feats, x = self._tokens(frames.flatten(0, 1))
        x = self.token_norm(x).unflatten(0, (B, T))  # (B, T, N, C)
        if keep is None:
            pooled = x.mean(dim=2)
        else:
            w = keep.unsqueeze(-1).to(x.dtype)  # (B, T, N, 1)
            pooled = (x * w).sum(dim=2) / w.sum(dim=2).clamp(min=1.0)
        hidden, state = self.gru(pooled, state)  # (B, T, C), (1, B, C)
        x = self.norm(x + hidden.unsqueeze(2))  # (B, T, N, C)
        risk_logit, tta, risk_map, embedding = (y.unflatten(0, (B, T)) for y in self.heads(x.flatten(0, 1)))
        stages, next_embedding = self.distill(feats, x)
        stages = tuple(s.unflatten(0, (B, T)) for s in stages)
        return ClipOutput(risk_logit, tta, risk_map, embedding, stages, next_embedding, x.mean(dim=-2)), state

    def step(
        self, frame: torch.Tensor, state: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[StepOutput, torch.Tensor]:
        """One frame ``(B, 3, H, W)``; equals ``forward_clip`` frame by frame."""
        self._check_frames(frame, 4, "step frame")
        out, state = self.forward_clip(
            frame.unsqueeze(1), state, mask=None if mask is None else mask.unsqueeze(1)
        )
        return StepOutput(out.risk_logit[:, 0], out.tta[:, 0], out.risk_map[:, 0], out.embedding[:, 0]), state


def build_student(arch: str, cfg: StudentConfig) -> TSDStudent:
    """``tsd`` -> :class:`TSDStudent`, ``gru`` -> :class:`GRUStudent`."""
    if arch == "tsd":
        return TSDStudent(cfg)
    if arch == "gru":
        return GRUStudent(cfg)
    raise ValueError(f"unknown student arch {arch!r}; expected tsd or gru")
