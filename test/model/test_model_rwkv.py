"""The WKV recurrence against a direct float64 evaluation of the TSD formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from accident_anticipation_ros.model.rwkv import wkv_step


def naive_wkv(k, v, w, u, mask, s0=None, d0=None):
    """Direct float64 evaluation: wkv_t = (s + m e^{u+k} v) / (d + m e^{u+k}); s_t = m(e^{-w}s + e^k v) + (1-m)s."""
    k, v, w, u = (np.asarray(a, np.float64) for a in (k, v, w, u))
    T, C = k.shape
    s = np.zeros(C) if s0 is None else np.asarray(s0, np.float64)
    d = np.zeros(C) if d0 is None else np.asarray(d0, np.float64)
    out = np.zeros((T, C))
    for t in range(T):
        m = float(mask[t])
        a = m * np.exp(u + k[t])
        num, den = s + a * v[t], d + a
        out[t] = np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)
        s = m * (np.exp(-w) * s + np.exp(k[t]) * v[t]) + (1 - m) * s
        d = m * (np.exp(-w) * d + np.exp(k[t])) + (1 - m) * d
    return out, s, d


def run_wkv(k, v, w, u, mask=None, state=None):
    T, C = k.shape
    if state is None:
        aa = bb = pp = torch.zeros(1, 1, C)
    else:
        aa, bb, pp = state
    outs = []
    for t in range(T):
        keep = None if mask is None else torch.tensor(bool(mask[t])).reshape(1, 1, 1)
        wkv, aa, bb, pp = wkv_step(k[t].reshape(1, 1, C), v[t].reshape(1, 1, C), w, u, aa, bb, pp, keep)
        outs.append(wkv.reshape(C))
    return torch.stack(outs), (aa, bb, pp)


@pytest.mark.parametrize("masked", [False, True])
def test_wkv_matches_direct_formula(masked):
    g = torch.Generator().manual_seed(0)
    T, C = 24, 16
    k = torch.randn(T, C, generator=g) * 3
    v = torch.randn(T, C, generator=g)
    w = torch.exp(torch.randn(C, generator=g))
    u = torch.randn(C, generator=g)
    mask = (torch.rand(T, generator=g) > 0.3).numpy() if masked else np.ones(T, bool)
    if masked:
        mask[:2] = False  # masked frames before anything was seen
    got, (aa, bb, pp) = run_wkv(k, v, w, u, mask if masked else None)
    ref, s, d = naive_wkv(k, v, w, u, mask)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-6)
    # s is a signed sum (cancellation): compare relative to its scale
    np.testing.assert_allclose(
        (aa * torch.exp(pp)).reshape(C).double().numpy(), s, atol=1e-5 * np.abs(s).max()
    )
    np.testing.assert_allclose((bb * torch.exp(pp)).reshape(C).double().numpy(), d, rtol=1e-5)
    if masked:
        assert torch.all(got[:2] == 0)  # nothing visible yet: wkv = 0, not NaN


def test_wkv_continues_a_non_zero_state():
    g = torch.Generator().manual_seed(1)
    T, C = 8, 8
    k, v = torch.randn(T, C, generator=g), torch.randn(T, C, generator=g)
    w, u = torch.rand(C, generator=g), torch.randn(C, generator=g)
    aa, bb, pp = (
        torch.randn(1, 1, C, generator=g),
        1 + torch.rand(1, 1, C, generator=g),
        torch.randn(1, 1, C, generator=g),
    )
    got, _ = run_wkv(k, v, w, u, state=(aa, bb, pp))
    s0, d0 = (aa * torch.exp(pp)).reshape(C), (bb * torch.exp(pp)).reshape(C)
    ref, _, _ = naive_wkv(k, v, w, u, np.ones(T), s0.numpy(), d0.numpy())
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5, atol=1e-6)


def test_large_keys_do_not_overflow():
    # e^{300} overflows float32 (max ~e^88.7) but not float64: the running max keeps float32 exact.
    C = 4
    k = torch.tensor([[0.0] * C, [300.0] * C, [-300.0] * C, [250.0] * C, [-80.0] * C])
    v = torch.arange(5 * C, dtype=torch.float32).reshape(5, C)
    w, u = torch.full((C,), 0.5), torch.zeros(C)
    got, (aa, bb, pp) = run_wkv(k, v, w, u)
    assert torch.isfinite(got).all() and torch.isfinite(aa).all() and torch.isfinite(bb).all()
    ref, _, _ = naive_wkv(k, v, w, u, np.ones(5))
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-5)
    assert math.isclose(float(pp.max()), 300.0 - 0.5 * 3, rel_tol=1e-6)  # e^{300}, decayed by w 3 times


def test_zero_state_is_a_fresh_start_even_for_tiny_keys():
    # With aa = bb = pp = 0 the first output is v, whatever k (no underflow to 0/0 for k << 0).
    C = 3
    v = torch.tensor([[1.5, -2.0, 3.0]])
    for kval in (-200.0, 0.0, 200.0):
        got, (aa, bb, pp) = run_wkv(torch.full((1, C), kval), v, torch.ones(C), torch.zeros(C))
        torch.testing.assert_close(got, v, rtol=0, atol=0)
        assert torch.all(bb > 0)  # the state is no longer empty


def test_masked_gradients_are_finite():
    C = 4
    k = torch.tensor([[90.0] * C, [-90.0] * C, [200.0] * C], requires_grad=True)
    v = torch.randn(3, C, requires_grad=True)
    w = torch.ones(C, requires_grad=True)
    u = torch.zeros(C, requires_grad=True)
    got, _ = run_wkv(k, v, w, u, mask=np.array([False, True, False]))
    got.sum().backward()
    for t in (k, v, w, u):
        assert torch.isfinite(t.grad).all()


def test_unmasked_path_equals_masked_path_with_all_kept():
    """The step graph's one-Where form gives the numbers of the general (masked) form, empty rows too."""
    gen = torch.Generator().manual_seed(4)
    B, N, C = 2, 5, 8
    k, v = torch.randn(B, N, C, generator=gen) * 30, torch.randn(B, N, C, generator=gen)
    w, u = torch.rand(C, generator=gen) + 0.1, torch.randn(C, generator=gen)
    aa, pp = torch.randn(B, N, C, generator=gen), torch.randn(B, N, C, generator=gen) * 30
    bb = torch.rand(B, N, C, generator=gen) + 1.0
    empty = torch.rand(B, N, 1, generator=gen) < 0.5  # fresh rows: aa = bb = pp = 0
    aa, bb, pp = (t.masked_fill(empty, 0.0) for t in (aa, bb, pp))
    fast = wkv_step(k, v, w, u, aa, bb, pp)
    general = wkv_step(k, v, w, u, aa, bb, pp, torch.ones(B, N, 1, dtype=torch.bool))
    for a, b in zip(fast, general, strict=True):
        assert torch.isfinite(a).all()
        assert torch.equal(a, b)
    assert torch.equal(fast[0][empty.expand(B, N, C)], v[empty.expand(B, N, C)])  # fresh: wkv = v


@pytest.mark.parametrize(
    ("grid", "window", "shift"), [((4, 6), 2, True), ((4, 6), 2, False), ((4, 4), 4, False)]
)
def test_spatial_mix_is_residual_plus_windowed_dwconv(grid, window, shift):
    """The folded kernel (+1 at the centre) equals ``x + dwconv(x)`` per (shifted) window."""
    from accident_anticipation_ros.model.rwkv import SpatialMix

    torch.manual_seed(0)
    h, w = grid
    C, ws = 6, window
    mix = SpatialMix(C, grid, window, 3, shift)
    nn_init = torch.nn.init
    nn_init.normal_(mix.conv.weight)
    nn_init.normal_(mix.conv.bias)
    x = torch.randn(2, 3, h * w, C)
    y = x.reshape(6, h, w, C).permute(0, 3, 1, 2)
    s = mix.shift
    y = torch.roll(y, (-s, -s), (2, 3))
    ref = torch.zeros_like(y)
    for i in range(0, h, ws):
        for j in range(0, w, ws):
            win = y[..., i : i + ws, j : j + ws]
            ref[..., i : i + ws, j : j + ws] = win + mix.conv(win)
    ref = torch.roll(ref, (s, s), (2, 3)).permute(0, 2, 3, 1).reshape(2, 3, h * w, C)
    assert (s > 0) == (shift and window < min(grid))
    torch.testing.assert_close(mix(x), ref, rtol=1e-5, atol=1e-5)
    assert "identity" not in mix.state_dict()  # the folded residual is not a parameter
