"""Heads of the student: deployment heads (risk, TTA, risk map, embedding) and training-only
distillation heads (projections P_1..P_3 and the temporal head H)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from accident_anticipation_ros.model.config import StudentConfig


class TaskHeads(nn.Module):
    """Per-frame outputs from the normalised stride-32 tokens ``(M, N, C)`` of M frames.

    - ``risk_logit`` ``(M,)``: accident logit of the frame (from the mean token).
    - ``tta`` ``(M,)``: time to accident in seconds, ``softplus`` so never negative.
    - ``risk_map`` ``(M, h, w)``: per-token risk logits.
    - ``embedding`` ``(M, D)``: vision-language embedding (not normalised; losses normalise it).
    """

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        dim = cfg.rwkv_dim
        self.grid = cfg.grid
        self.token_risk = nn.Linear(dim, 1)
        self.risk = nn.Linear(dim, 1)
        self.tta = nn.Linear(dim, 1)
        self.embed = nn.Linear(dim, cfg.embed_dim)
        for layer in (self.token_risk, self.risk, self.tta, self.embed):
            nn.init.trunc_normal_(layer.weight, std=0.02)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        pooled = x.mean(dim=1)  # (M, C)
        risk_map = self.token_risk(x).reshape(-1, *self.grid)  # (M, h, w)
        risk_logit = self.risk(pooled).squeeze(-1)
        tta = F.softplus(self.tta(pooled).squeeze(-1))
        return risk_logit, tta, risk_map, self.embed(pooled)


class DistillHeads(nn.Module):
    """Training-only heads of TSD's distillation losses.

    - ``project(l, f)``: P_l, a 1x1 conv from student stage-l channels to the teacher's.
    - ``temporal(pooled)``: H, predicts the teacher's final embedding of the NEXT frame.
    """

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.stage_proj = nn.ModuleList(
            nn.Conv2d(width, teacher, kernel_size=1)
            for width, teacher in zip(cfg.widths, cfg.teacher_dims, strict=True)
        )
        self.temporal = nn.Sequential(
            nn.Linear(cfg.rwkv_dim, cfg.rwkv_dim), nn.GELU(), nn.Linear(cfg.rwkv_dim, cfg.teacher_embed_dim)
        )

    def forward(
        self, feats: list[torch.Tensor], tokens: torch.Tensor
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Stage features ``(BT, C_l, H_l, W_l)`` and tokens ``(..., N, C)`` -> (P_l(f_l), H(mean token))."""
        stages = tuple(proj(f) for proj, f in zip(self.stage_proj, feats, strict=True))
        return stages, self.temporal(tokens.mean(dim=-2))
