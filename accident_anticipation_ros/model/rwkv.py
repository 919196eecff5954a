"""Spatio-temporal RWKV layer (stage 4 of the student): one recurrence per stride-32 token over time.

A layer: LayerNorm -> window partition and in-window spatial mixing (LayerNorm is per token, so its
order with the partition does not matter) -> temporal mixing (token shift + masked RWKV-4 WKV + a
per-head norm of the WKV output) -> residual -> LayerNorm -> channel mixing (token shift) -> residual.
Every module takes ``(B, T, N, C)`` tokens and an explicit state and returns the new state; the step
form is the same code with ``T = 1`` (no loop, no concatenation in the exported graph).
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.state import LayerState

_EMPTY_PP = -1e38  # stands for log(0) = -inf (finite: friendlier to TensorRT); exp(_EMPTY_PP - p) = 0


def wkv_step(
    k: torch.Tensor,
    v: torch.Tensor,
    w: torch.Tensor,
    u: torch.Tensor,
    aa: torch.Tensor,
    bb: torch.Tensor,
    pp: torch.Tensor,
    keep: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """One step of the masked RWKV-4 WKV in its numerically stable running-max form.

    With ``s = aa * exp(pp)`` and ``d = bb * exp(pp)`` (true numerator and denominator)::

        wkv_t = (s_{t-1} + m_t e^{u+k_t} v_t) / (d_{t-1} + m_t e^{u+k_t})
        s_t   = m_t (e^{-w} s_{t-1} + e^{k_t} v_t) + (1 - m_t) s_{t-1}      (d_t likewise)

    ``bb == 0`` marks an empty history (the all-zeros reset state): there ``pp`` is ignored, so the
    first frame gives ``wkv = v`` whatever ``k`` is, without overflow or underflow.

    Args:
        k, v: ``(B, N, C)`` key and value of this frame.
        w: ``(C,)`` positive decay per channel.
        u: ``(C,)`` bonus of the current token.
        aa, bb, pp: ``(B, N, C)`` state.
        keep: ``(B, N, 1)`` bool, ``m_t`` (False masks the token out); None means all kept.

    Returns:
        ``(wkv, aa, bb, pp)``, all ``(B, N, C)``.
    """
    if keep is None:
        # An empty history becomes pp = -BIG: then e^{pp - p} = 0 below, which gives exactly the
        # numbers of the general form (p = u + k, resp. p = k, and e1 multiplying aa = bb = 0) with
        # one Where instead of two (the step graph's path).
        pp = pp.masked_fill(bb == 0, _EMPTY_PP)
        ww = u + k
        p = torch.maximum(pp, ww)
        e1 = torch.exp(pp - p)
        e2 = torch.exp(ww - p)
        wkv = (e1 * aa + e2 * v) / (e1 * bb + e2)
        ww = pp - w
        p = torch.maximum(ww, k)
        e1 = torch.exp(ww - p)
        e2 = torch.exp(k - p)
        return wkv, e1 * aa + e2 * v, e1 * bb + e2, p

    empty = bb == 0
    ww = u + k
    pp_out = torch.where(empty, ww, pp)  # empty history: p = ww, and e1 multiplies aa = bb = 0
    ww = torch.where(keep, ww, torch.full_like(ww, -math.inf))  # masked: no e^{u+k} term, p = pp
    p = torch.maximum(pp_out, ww)
    e1 = torch.exp(pp_out - p)
    e2 = torch.exp(ww - p)
    den = e1 * bb + e2
    wkv = (e1 * aa + e2 * v) / torch.where(den > 0, den, torch.ones_like(den))  # masked and empty: 0

    ww = torch.where(empty, k, pp - w)
    p = torch.maximum(ww, k)
    e1 = torch.exp(ww - p)
    e2 = torch.exp(k - p)
    new_aa, new_bb = e1 * aa + e2 * v, e1 * bb + e2
    return wkv, torch.where(keep, new_aa, aa), torch.where(keep, new_bb, bb), torch.where(keep, p, pp)


def _token_shift(x: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """``(B, T, N, C)`` -> the previous frame's tokens, ``last`` ``(B, N, C)`` before the first."""
    if x.shape[1] == 1:
        return last.unsqueeze(1)
    return torch.cat([last.unsqueeze(1), x[:, :-1]], dim=1)


def _last(x: torch.Tensor) -> torch.Tensor:
    """``(B, T, N, C)`` -> the last frame ``(B, N, C)`` (a Squeeze, not a Gather, when ``T = 1``).

    The state outputs ``att_x`` / ``ffn_x`` stay separate nodes computed after the module has read
    its state input (CPU IO binding of the runtime may currently bind state_in and state_out to one
    buffer; returning the mixed tokens themselves would overwrite the input before it is read).
    """
    return x.squeeze(1) if x.shape[1] == 1 else x[:, -1]


def _mix(prev: torch.Tensor, delta: torch.Tensor, mu: torch.Tensor) -> torch.Tensor:
    """``mu * X_t + (1 - mu) * X_{t-1}`` as ``X_{t-1} + mu * (X_t - X_{t-1})``; ``delta`` is shared
    by all token shifts of a module (two elementwise ops per mix instead of three)."""
    return prev + delta * mu


def _layer_ratios(layer_id: int, num_layers: int) -> tuple[float, float]:
    ratio_0_to_1 = layer_id / (num_layers - 1) if num_layers > 1 else 0.0
    ratio_1_to_almost0 = 1.0 - layer_id / num_layers
    return ratio_0_to_1, ratio_1_to_almost0


class SpatialMix(nn.Module):
    """Spatial context inside each window: ``x + dwconv(x)``, windows zero-padded at their borders.

    A cheap, ONNX/TensorRT-friendly stand-in for Vision-RWKV's Q-shift. With ``shift`` the windows are
    cyclically shifted by half a window first (Swin-style), so neighbouring windows exchange context.
    A window covering the whole grid is a plain depthwise conv over it (no partition, no shift). The
    residual is folded into the kernel (``+1`` at its centre), so the exported graph has one Conv and
    no Add (the sum is constant-folded; parameters are unchanged).
    """

    def __init__(self, dim: int, grid: tuple[int, int], window: int, kernel: int, shift: bool) -> None:
        super().__init__()
        self.grid = grid
        self.window = window
        self.shift = window // 2 if shift and window < min(grid) else 0
        self.conv = nn.Conv2d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        nn.init.trunc_normal_(self.conv.weight, std=0.02)
        nn.init.zeros_(self.conv.bias)
        identity = torch.zeros(1, 1, kernel, kernel)
        identity[..., kernel // 2, kernel // 2] = 1.0
        self.register_buffer("identity", identity, persistent=False)  # the residual as a kernel

    def _conv(self, y: torch.Tensor) -> torch.Tensor:
        """``y + dwconv(y)`` of ``(M, C, H, W)`` maps in one convolution."""
        c = self.conv
        return F.conv2d(y, c.weight + self.identity, c.bias, padding=c.padding, groups=c.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, N, C = x.shape
        BT = B * T
        h, w = self.grid
        ws = self.window
        y = x.reshape(BT, h, w, C).permute(0, 3, 1, 2)  # (BT, C, h, w)
        if self.shift:
            y = torch.roll(y, shifts=(-self.shift, -self.shift), dims=(2, 3))
        if ws < h or ws < w:  # window partition -> (BT * nW, C, ws, ws)
            y = y.reshape(BT, C, h // ws, ws, w // ws, ws).permute(0, 2, 4, 1, 3, 5)
            y = self._conv(y.reshape(-1, C, ws, ws))
            y = y.reshape(BT, h // ws, w // ws, C, ws, ws).permute(0, 3, 1, 4, 2, 5)
            y = y.reshape(BT, C, h, w)
        else:
            y = self._conv(y)
        if self.shift:
            y = torch.roll(y, shifts=(self.shift, self.shift), dims=(2, 3))
        return y.permute(0, 2, 3, 1).reshape(x.shape)


class HeadNorm(nn.Module):
    """LayerNorm per head of the WKV output (RWKV-5's ``ln_x``), with a per-channel affine."""

    def __init__(self, dim: int, num_heads: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.head_dim = dim // num_heads  # a Python int: the ONNX export keeps a dynamic batch axis
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        x = x.reshape(*shape[:-1], self.num_heads, self.head_dim)
        x = F.layer_norm(x, (self.head_dim,), eps=self.eps).reshape(shape)
        return x * self.weight + self.bias


class TimeMix(nn.Module):
    """Temporal mixing: token shift over time, masked WKV, ``out = W_o(sigmoid(R) * norm(wkv))``."""

    def __init__(self, dim: int, num_heads: int, layer_id: int, num_layers: int) -> None:
        super().__init__()
        r01, r10 = _layer_ratios(layer_id, num_layers)
        ramp = torch.arange(dim, dtype=torch.float32) / dim
        self.mix_k = nn.Parameter(ramp.pow(r10))
        self.mix_v = nn.Parameter(ramp.pow(r10) + 0.3 * r01)
        self.mix_r = nn.Parameter(ramp.pow(0.5 * r10))
        h = torch.arange(dim, dtype=torch.float32) / max(dim - 1, 1)
        self.time_decay = nn.Parameter(-5.0 + 8.0 * h.pow(0.7 + 1.3 * r01))  # w = exp(time_decay)
        zigzag = torch.tensor([((i + 1) % 3 - 1) * 0.5 for i in range(dim)])
        self.time_first = nn.Parameter(torch.full((dim,), math.log(0.3)) + zigzag)  # u
        self.key = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(dim, dim, bias=False)
        self.receptance = nn.Linear(dim, dim, bias=False)
        self.norm = HeadNorm(dim, num_heads)
        self.output = nn.Linear(dim, dim, bias=False)

    def forward(
        self,
        x: torch.Tensor,
        last: torch.Tensor,
        aa: torch.Tensor,
        bb: torch.Tensor,
        pp: torch.Tensor,
        keep: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        """``x`` ``(B, T, N, C)``, state ``(B, N, C)`` each, ``keep`` ``(B, T, N)`` bool or None."""
        prev = _token_shift(x, last)
        delta = x - prev  # shared by the three token shifts
        k = self.key(_mix(prev, delta, self.mix_k))
        v = self.value(_mix(prev, delta, self.mix_v))
        r = self.receptance(_mix(prev, delta, self.mix_r))
        w = torch.exp(self.time_decay)
        if x.shape[1] == 1:  # the step graph: Squeeze, no per-frame Gather
            m = None if keep is None else keep[:, 0, :, None]
            wkv, aa, bb, pp = wkv_step(k.squeeze(1), v.squeeze(1), w, self.time_first, aa, bb, pp, m)
            wkv = wkv.unsqueeze(1)
        else:
            outs = []
            for t in range(x.shape[1]):  # the recurrence
                m = None if keep is None else keep[:, t, :, None]
                wkv, aa, bb, pp = wkv_step(k[:, t], v[:, t], w, self.time_first, aa, bb, pp, m)
                outs.append(wkv)
            wkv = torch.stack(outs, dim=1)  # (B, T, N, C)
        out = self.output(torch.sigmoid(r) * self.norm(wkv))
        return out, (_last(x), aa, bb, pp)


class ChannelMix(nn.Module):
    """Channel mixing with token shift: ``sigmoid(R') * W'_o(relu(K')^2)``."""

    def __init__(self, dim: int, hidden: int, layer_id: int, num_layers: int) -> None:
        super().__init__()
        _, r10 = _layer_ratios(layer_id, num_layers)
        ramp = torch.arange(dim, dtype=torch.float32) / dim
        self.mix_k = nn.Parameter(ramp.pow(r10))
        self.mix_r = nn.Parameter(ramp.pow(r10))
        self.key = nn.Linear(dim, hidden, bias=False)
        self.receptance = nn.Linear(dim, dim, bias=False)
        self.value = nn.Linear(hidden, dim, bias=False)

    def forward(self, x: torch.Tensor, last: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prev = _token_shift(x, last)
        delta = x - prev
        k = torch.square(torch.relu(self.key(_mix(prev, delta, self.mix_k))))
        r = torch.sigmoid(self.receptance(_mix(prev, delta, self.mix_r)))
        return r * self.value(k), _last(x)


class RWKVBlock(nn.Module):
    """One spatio-temporal RWKV layer on windowed stride-32 tokens."""

    def __init__(self, cfg: StudentConfig, layer_id: int) -> None:
        super().__init__()
        dim = cfg.rwkv_dim
        shift = cfg.shift_windows and layer_id % 2 == 1
        self.ln1 = nn.LayerNorm(dim)
        self.spatial = SpatialMix(dim, cfg.grid, cfg.window_size, cfg.spatial_kernel, shift)
        self.att = TimeMix(dim, cfg.num_heads, layer_id, cfg.rwkv_layers)
        self.ln2 = nn.LayerNorm(dim)
        self.ffn = ChannelMix(dim, int(dim * cfg.rwkv_ffn_ratio), layer_id, cfg.rwkv_layers)

    def forward(
        self, x: torch.Tensor, state: LayerState, keep: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, LayerState]:
        """``x`` ``(B, T, N, C)`` -> ``(B, T, N, C)`` and the state after frame ``T - 1``."""
        xa = self.spatial(self.ln1(x))
        dx, (att_x, aa, bb, pp) = self.att(xa, state.att_x, state.att_aa, state.att_bb, state.att_pp, keep)
        x = x + dx
        dx, ffn_x = self.ffn(self.ln2(x), state.ffn_x)
        x = x + dx
        return x, LayerState(att_x=att_x, att_aa=aa, att_bb=bb, att_pp=pp, ffn_x=ffn_x)
