"""1-D motion helpers: exact piecewise-constant acceleration, root finding, smooth steps."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

DT = 0.01  # seconds; the fine time grid every trajectory is planned on


def piecewise_motion(t: np.ndarray, v0: float, segments: Sequence[tuple[float, float, float | None]]):
    """Speed and distance under piecewise-constant acceleration, exactly.

    Args:
        t: ``(N,)`` increasing times.
        v0: Speed at ``t[0]``.
        segments: ``(t_start, accel, v_limit)`` sorted by ``t_start``; the first should start at or before
            ``t[0]``. Braking stops at speed 0 (a stopped vehicle stays put); accelerating stops at
            ``v_limit`` (``None``: no limit).

    Returns:
        ``(v, s)``: speed and distance travelled since ``t[0]``, both ``(N,)``.
    """
    v = np.empty_like(t, dtype=float)
    s = np.empty_like(t, dtype=float)
    starts = [max(seg[0], t[0]) for seg in segments]
    ends = [*starts[1:], np.inf]
    v_cur, s_cur = float(v0), 0.0
    before = t < starts[0]
    v[before] = v_cur
    s[before] = v_cur * (t[before] - t[0])
    if before.any() or starts[0] > t[0]:
        s_cur = v_cur * (starts[0] - t[0])
    for (_, accel, limit), t0, t1 in zip(segments, starts, ends, strict=True):
        if accel < 0:
            limit = 0.0
        elif limit is None or accel == 0:
            limit = np.inf if accel > 0 else v_cur
        t_hit = (limit - v_cur) / accel if accel != 0 else np.inf
        t_hit = max(t_hit, 0.0) if np.isfinite(t_hit) else np.inf
        v_end_cap = limit if np.isfinite(limit) else None

        def state(dt, v_cur=v_cur, accel=accel, t_hit=t_hit, cap=v_end_cap):
            m = np.minimum(dt, t_hit)
            vv = v_cur + accel * m
            ss = v_cur * m + 0.5 * accel * m * m
            if cap is not None:
                ss = ss + cap * np.maximum(dt - t_hit, 0.0)
            return vv, ss

        mask = (t >= t0) & (t < t1)
        if mask.any():
            vv, ss = state(t[mask] - t0)
            v[mask] = vv
            s[mask] = s_cur + ss
        if np.isfinite(t1):
            v_end, s_end = state(np.array(t1 - t0))
            v_cur, s_cur = float(v_end), s_cur + float(s_end)
    return v, s


def bisect(
    fun: Callable[[float], float], lo: float, hi: float, target: float, iters: int = 40
) -> float | None:
    """``x`` in ``[lo, hi]`` with ``fun(x) == target`` for a monotonic ``fun``; ``None`` if not bracketed."""
    f_lo, f_hi = fun(lo) - target, fun(hi) - target
    if f_lo == 0:
        return lo
    if f_hi == 0:
        return hi
    if f_lo * f_hi > 0:
        return None
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        f_mid = fun(mid) - target
        if f_mid * f_lo > 0:
            lo, f_lo = mid, f_mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 for ``x <= 0``, 1 for ``x >= 1``, smooth (C1) in between."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def bump(x: np.ndarray) -> np.ndarray:
    """0 outside ``(0, 1)``, rising smoothly to 1 at ``x = 0.5`` and back."""
    return smoothstep(2.0 * x) * (1.0 - smoothstep(2.0 * x - 1.0))


def smooth_noise(
    rng: np.random.Generator, t: np.ndarray, amplitude: float, freqs=(0.3, 0.9, 2.1)
) -> np.ndarray:
    """Sum of a few random sinusoids: deterministic, smooth wobble of amplitude about ``amplitude``."""
    out = np.zeros_like(t, dtype=float)
    for f in freqs:
        out += np.sin(2 * np.pi * f * rng.uniform(0.7, 1.3) * t + rng.uniform(0, 2 * np.pi))
    return out * (amplitude / np.sqrt(len(freqs)))
