"""Exact piecewise motion, root finding and smooth steps."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.motion import bisect, bump, piecewise_motion, smoothstep


def test_braking_stops_at_zero_and_stays():
    t = np.linspace(0, 5, 501)
    v, s = piecewise_motion(t, 10.0, [(0.0, 0.0, None), (1.0, -5.0, None)])
    # 1 s at 10 m/s, then 2 s of braking to a stop: 10 + 10 * 2 / 2 = 20 m, then standing.
    assert np.allclose(v[t <= 1.0], 10.0)
    assert np.isclose(v[-1], 0.0) and (v >= 0).all()
    assert np.isclose(s[-1], 20.0, atol=1e-9)
    assert np.isclose(np.interp(2.0, t, s), 10 + 10 * 1 - 2.5)


def test_acceleration_saturates_at_the_limit():
    t = np.linspace(0, 4, 401)
    v, s = piecewise_motion(t, 5.0, [(0.0, 2.0, 9.0)])
    assert np.isclose(v.max(), 9.0) and np.isclose(v[-1], 9.0)
    # 2 s to reach 9 m/s (14 m), then 2 s at 9 m/s.
    assert np.isclose(s[-1], 14.0 + 18.0)


def test_segments_starting_later_keep_constant_speed_before():
    t = np.linspace(0, 2, 201)
    v, s = piecewise_motion(t, 3.0, [(1.0, 1.0, None)])
    assert np.allclose(v[t < 1.0], 3.0)
    assert np.isclose(s[-1], 3.0 + 3.0 + 0.5)


def test_bisect_finds_roots_and_reports_unbracketed():
    root = bisect(lambda x: x**3, 0.0, 3.0, 8.0)
    assert abs(root - 2.0) < 1e-6
    assert bisect(lambda x: x, 0.0, 1.0, 5.0) is None


def test_smoothstep_and_bump_shapes():
    x = np.linspace(-1, 2, 31)
    s = smoothstep(x)
    assert s[0] == 0 and s[-1] == 1 and (np.diff(s) >= 0).all()
    b = bump(np.array([-0.5, 0.0, 0.5, 1.0, 1.5]))
    assert np.allclose(b, [0, 0, 1, 0, 0])
