"""The TSD student: MCi trunk (stem + stages 1-3) -> stride-32 embedding -> N spatio-temporal RWKV
layers -> heads. Two forms of one network: ``forward_clip`` (training, a clip in parallel) and
``step`` (deployment, one frame and an explicit state)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn
from timm.models import reparameterize_model

from accident_anticipation_ros.model.backbone import Trunk, stride32_embed
from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.heads import DistillHeads, TaskHeads
from accident_anticipation_ros.model.rwkv import RWKVBlock
from accident_anticipation_ros.model.state import StudentState


@dataclass(frozen=True)
class StepOutput:
    """Deployment outputs of one frame (batch ``B``)."""

    risk_logit: torch.Tensor  # (B,)
    tta: torch.Tensor  # (B,) seconds, >= 0
    risk_map: torch.Tensor  # (B, h, w) logits
    embedding: torch.Tensor  # (B, D)


@dataclass(frozen=True)
class ClipOutput:
    """Outputs of a clip ``(B, T)``, with the training-only distillation heads.

    ``stage_proj[l]`` is ``P_{l+1}`` applied to the student's stage-``l+1`` features,
    ``(B, T, teacher_dims[l], H / 2^(l+2), W / 2^(l+2))``; ``next_embedding`` is the temporal head H's
    prediction at frame t of the teacher's final embedding at frame t + 1, ``(B, T, teacher_embed_dim)``.
    ``features`` are the mean normalised tokens ``(B, T, C)``.
    """

    risk_logit: torch.Tensor  # (B, T)
    tta: torch.Tensor  # (B, T)
    risk_map: torch.Tensor  # (B, T, h, w)
    embedding: torch.Tensor  # (B, T, D)
    stage_proj: tuple[torch.Tensor, torch.Tensor, torch.Tensor]
    next_embedding: torch.Tensor  # (B, T, teacher_embed_dim)
    features: torch.Tensor  # (B, T, C)


class TSDStudent(nn.Module):
    """The student network. Build from a :class:`StudentConfig` (see ``config.get_config``).

    Inputs are normalised RGB frames at ``cfg.image_size``. The recurrent state is explicit
    (:class:`StudentState`); ``init_state`` (all zeros) is a fresh start.
    """

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.trunk = Trunk(cfg)
        self.embed = stride32_embed(cfg)
        self.layers = nn.ModuleList(RWKVBlock(cfg, i) for i in range(cfg.rwkv_layers))
        self.norm = nn.LayerNorm(cfg.rwkv_dim)
        self.heads = TaskHeads(cfg)
        self.distill = DistillHeads(cfg)
        self.reparameterized = False

    def init_state(self, batch: int, device: torch.device | str | None = None) -> StudentState:
        """The all-zeros reset state."""
        if device is None:
            device = self.norm.weight.device
        return StudentState.zeros(self.cfg, batch, device=device)

    def _check_frames(self, frames: torch.Tensor, ndim: int, what: str) -> None:
        H, W = self.cfg.image_size
        if frames.ndim != ndim or frames.shape[-3:] != (3, H, W):
            want = "(B, T, 3, H, W)" if ndim == 5 else "(B, 3, H, W)"
            raise ValueError(
                f"{what}: expected {want} with (H, W) = {(H, W)} for {self.cfg.name}, got {tuple(frames.shape)}"
            )

    def _check_state(self, state: StudentState, batch: int) -> None:
        want = (batch, self.cfg.num_tokens, self.cfg.rwkv_dim)
        if len(state.layers) != self.cfg.rwkv_layers:
            raise ValueError(
                f"state has {len(state.layers)} layers, {self.cfg.name} has {self.cfg.rwkv_layers}"
            )
        for name, t in state.flatten().items():
            if tuple(t.shape) != want:
                raise ValueError(f"state tensor {name!r} has shape {tuple(t.shape)}, expected {want}")

    def _tokens(self, frames: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        """``(BT, 3, H, W)`` -> stage features and stride-32 tokens ``(BT, N, C)``."""
        feats = self.trunk(frames)
        x = self.embed(feats[-1])  # (BT, C, h, w)
        return feats, x.reshape(-1, self.cfg.rwkv_dim, self.cfg.num_tokens).transpose(1, 2)

    def _recur(
        self, x: torch.Tensor, state: StudentState, keep: torch.Tensor | None
    ) -> tuple[torch.Tensor, StudentState]:
        new = []
        for layer, layer_state in zip(self.layers, state.layers, strict=True):
            x, layer_state = layer(x, layer_state, keep)
            new.append(layer_state)
        return self.norm(x), StudentState(tuple(new))

    def _keep(
        self, mask: torch.Tensor | None, shape: tuple[int, ...], device: torch.device
    ) -> torch.Tensor | None:
        if mask is None:
            return None
        if tuple(mask.shape) != shape:
            raise ValueError(f"mask must be {shape} (True/1 = token kept), got {tuple(mask.shape)}")
        return mask.to(device=device, dtype=torch.bool).flatten(-2)

    def sample_mask(
        self, batch: int, frames: int, ratio: float, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Bernoulli mask ``(B, T, h, w)``, True = kept; each token is masked with probability ``ratio``."""
        h, w = self.cfg.grid
        return torch.rand((batch, frames, h, w), generator=generator, device=self.norm.weight.device) >= ratio

    def forward_clip(
        self,
        frames: torch.Tensor,
        state: StudentState | None = None,
        mask_ratio: float = 0.0,
        mask: torch.Tensor | None = None,
    ) -> tuple[ClipOutput, StudentState]:
        """Run a clip: the trunk on all ``B * T`` frames at once, the recurrence over ``T``.

        Args:
            frames: ``(B, T, 3, H, W)`` normalised frames.
            state: State before the first frame; None is a fresh start.
            mask_ratio: WKV mask ratio, applied only in training mode (``model.train()``).
            mask: Explicit WKV mask ``(B, T, h, w)`` (True = kept), applied in any mode; overrides
                ``mask_ratio``.

        Returns:
            The outputs and the state after the last frame.
        """
        self._check_frames(frames, 5, "forward_clip frames")
        B, T = frames.shape[:2]
        state = self.init_state(B, frames.device) if state is None else state
        self._check_state(state, B)
        if mask is None and self.training and mask_ratio > 0:
            mask = self.sample_mask(B, T, mask_ratio)
        keep = self._keep(mask, (B, T, *self.cfg.grid), frames.device)

        feats, x = self._tokens(frames.flatten(0, 1))
        x, state = self._recur(x.unflatten(0, (B, T)), state, keep)  # (B, T, N, C)
        risk_logit, tta, risk_map, embedding = (y.unflatten(0, (B, T)) for y in self.heads(x.flatten(0, 1)))
        stages, next_embedding = self.distill(feats, x)
        stages = tuple(s.unflatten(0, (B, T)) for s in stages)
        out = ClipOutput(risk_logit, tta, risk_map, embedding, stages, next_embedding, x.mean(dim=-2))
        return out, state

    def step(
        self, frame: torch.Tensor, state: StudentState, mask: torch.Tensor | None = None
    ) -> tuple[StepOutput, StudentState]:
        """Run one frame; ``forward_clip`` over T frames equals T calls of ``step``.

        Args:
            frame: ``(B, 3, H, W)`` normalised frame.
            state: State before this frame (``init_state(B)`` for a fresh start).
            mask: Optional explicit WKV mask ``(B, h, w)`` (training semantics; never at deployment).
        """
        self._check_frames(frame, 4, "step frame")
        B = frame.shape[0]
        self._check_state(state, B)
        keep = self._keep(mask, (B, *self.cfg.grid), frame.device)
        _, x = self._tokens(frame)
        x, state = self._recur(x.unsqueeze(1), state, None if keep is None else keep.unsqueeze(1))
        risk_logit, tta, risk_map, embedding = self.heads(x[:, 0])
        return StepOutput(risk_logit, tta, risk_map, embedding), state

    def forward(
        self,
        frames: torch.Tensor,
        state: StudentState | None = None,
        mask_ratio: float = 0.0,
        mask: torch.Tensor | None = None,
    ) -> tuple[ClipOutput, StudentState]:
        """Same as :meth:`forward_clip`."""
        return self.forward_clip(frames, state, mask_ratio, mask)

    @torch.no_grad()
    def reparameterize(self) -> TSDStudent:
        """Fuse the MobileOne / RepMixer branches of the trunk and embedding in place (deployment).

        Outputs are unchanged (up to float rounding); the model should not be trained afterwards.
        """
        if not self.reparameterized:
            reparameterize_model(self.trunk, inplace=True)
            reparameterize_model(self.embed, inplace=True)
            self.reparameterized = True
        return self

    def num_params(self, deploy: bool = False) -> int:
        """Parameter count; with ``deploy`` only what the step graph uses (no distillation heads)."""
        skip = self.distill if deploy else None
        ids = {id(p) for p in skip.parameters()} if skip is not None else set()
        return sum(p.numel() for p in self.parameters() if id(p) not in ids)
