"""The stream session: every reset rule, NaN handling, and the risk filter on scripted probabilities."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from accident_anticipation_ros.runtime.backend import Backend
from accident_anticipation_ros.runtime.factory import create_backend
from accident_anticipation_ros.runtime.session import (
    LEVEL_HIGH,
    LEVEL_LOW,
    LEVEL_MEDIUM,
    RiskFilter,
    SessionConfig,
    StreamSession,
)


@pytest.fixture(scope="module")
def backend(step_onnx):
    return create_backend(step_onnx, kind="onnxruntime", threads=1)


class NonFiniteAt(Backend):
    """Fault injection: a real backend whose output ``field`` is made NaN on the given calls (1-based)."""

    name = "nan-injector"

    def __init__(self, inner: Backend, calls: set[int], field: str = "risk_logit") -> None:
        super().__init__(inner.info)
        self.inner, self.calls, self.field, self.count = inner, calls, field, 0

    def init_state(self):
        return self.inner.init_state()

    def step(self, image, state):
        out, state = self.inner.step(image, state)
        self.count += 1
        if self.count in self.calls:
            value = np.full_like(out.risk_map, np.inf) if self.field == "risk_map" else math.nan
            out = dataclasses.replace(out, **{self.field: value})
        return out, state


# --- reset rules ---------------------------------------------------------------------------------


def test_first_frame_then_continuation(backend, frames):
    session = StreamSession(backend)
    a, b = (session.step(f, t) for f, t in zip(frames(2), (10.0, 10.1), strict=True))
    assert a.state_reset and a.reset_reason == "first_frame" and a.frames_since_reset == 1
    assert not b.state_reset and b.reset_reason == "" and b.frames_since_reset == 2
    assert 0.0 <= a.probability <= 1.0 and a.valid
    assert a.risk_map.shape == backend.info.risk_map_shape and a.risk_map.dtype == np.float32
    assert np.all((a.risk_map >= 0) & (a.risk_map <= 1))
    assert a.step_ms > 0


@pytest.mark.parametrize(
    "stamps, encodings, sizes, reason",
    [
        ((0.0, 0.1, 0.7), None, None, "gap"),  # 0.6 s > max_gap 0.5
        ((0.0, 0.1, 0.05), None, None, "time_jump_back"),  # looping bag
        ((0.0, 0.1, 0.2), ("rgb8", "rgb8", "bgr8"), None, "encoding_change"),
        ((0.0, 0.1, 0.2), None, ((48, 96), (48, 96), (60, 80)), "resolution_change"),
    ],
)
def test_reset_rules(backend, frames, stamps, encodings, sizes, reason):
    session = StreamSession(backend, SessionConfig(max_gap=0.5))
    encodings = encodings or ("",) * 3
    sizes = sizes or ((48, 96),) * 3
    results = [
        session.step(frames(1, *size, seed=i)[0], stamp, enc)
        for i, (stamp, enc, size) in enumerate(zip(stamps, encodings, sizes, strict=True))
    ]
    assert [r.reset_reason for r in results] == ["first_frame", "", reason]
    assert results[2].state_reset and results[2].frames_since_reset == 1
    assert session.stats.resets[reason] == 1 and session.stats.resets["first_frame"] == 1
    assert session.stats.total_resets == 2 and session.stats.frames == 3


@pytest.mark.parametrize("align", [True, False])
def test_gap_of_exactly_max_gap_and_duplicate_stamps_do_not_reset(backend, frames, align):
    session = StreamSession(backend, SessionConfig(max_gap=0.5, align_to_model_fps=align))
    results = [session.step(f, t) for f, t in zip(frames(3), (1.0, 1.5, 1.5), strict=True)]
    assert [r.state_reset for r in results] == [True, False, False]
    # Aligned to the model's 10 fps, a duplicate stamp is not a new model period: it is skipped.
    assert [r.stepped for r in results] == [True, True, not align]


def test_manual_reset(backend, frames):
    session = StreamSession(backend)
    session.step(frames(1)[0], 0.0)
    session.reset()
    result = session.step(frames(1)[0], 0.1)
    assert result.state_reset and result.reset_reason == "manual"
    assert not session.step(frames(1)[0], 0.2).state_reset
    with pytest.raises(ValueError, match="unknown reset reason 'whim'"):
        session.reset("whim")


def test_a_reset_really_resets_the_state(backend, frames):
    clip = frames(5, seed=3)
    session = StreamSession(backend)
    carried = [session.step(f, 0.1 * i) for i, f in enumerate(clip)]
    after_gap = session.step(clip[-1], 10.0)  # gap: fresh state
    fresh = StreamSession(backend).step(clip[-1], 0.0)
    assert after_gap.reset_reason == "gap"
    assert after_gap.probability == pytest.approx(fresh.probability, abs=1e-7)
    np.testing.assert_allclose(after_gap.risk_map, fresh.risk_map, atol=1e-7)
    assert carried[-1].probability != pytest.approx(fresh.probability, abs=1e-7)  # the state mattered


def test_a_reset_also_resets_smoothing_and_alert(backend, frames):
    config = SessionConfig(alert_on=0.0, alert_off=0.0, alert_on_frames=2, rise=0.1, fall=0.1)
    session = StreamSession(backend, config)
    clip = frames(4, seed=4)
    r = [session.step(clip[0], 0.0), session.step(clip[1], 0.1), session.step(clip[2], 0.2)]
    assert [x.alert for x in r] == [False, True, True]
    reset = session.step(clip[3], 5.0)
    assert reset.reset_reason == "gap" and not reset.alert
    assert reset.probability_smoothed == reset.probability  # smoothing restarts from this frame


def test_sessions_sharing_a_backend_keep_their_own_state(backend, frames):
    clip_a, clip_b = frames(4, seed=5), frames(4, seed=6)
    alone_a = [r.probability for r in map(StreamSession(backend).step, clip_a, np.arange(4) * 0.1)]
    alone_b = [r.probability for r in map(StreamSession(backend).step, clip_b, np.arange(4) * 0.1)]
    sa, sb = StreamSession(backend), StreamSession(backend)
    inter_a, inter_b = [], []
    for i in range(4):
        inter_a.append(sa.step(clip_a[i], 0.1 * i).probability)
        inter_b.append(sb.step(clip_b[i], 0.1 * i).probability)
    assert inter_a == pytest.approx(alone_a, abs=1e-7) and inter_b == pytest.approx(alone_b, abs=1e-7)


def test_bad_input_leaves_the_session_unchanged(backend, frames):
    session = StreamSession(backend)
    session.step(frames(1)[0], 0.0)
    with pytest.raises(ValueError, match="uint8 RGB frame"):
        session.step(np.zeros((48, 96), np.uint8), 0.1)
    with pytest.raises(ValueError, match="stamp must be finite"):
        session.step(frames(1)[0], math.nan)
    result = session.step(frames(1)[0], 0.1)
    assert not result.state_reset and result.frames_since_reset == 2 and session.stats.frames == 2


def test_state_size_is_constant_over_a_long_stream(backend, frames):
    session = StreamSession(backend)
    frame = frames(1)[0]
    session.step(frame, 0.0)
    shapes = {k: v.shape for k, v in session.state.items()}
    for i in range(1, 60):
        result = session.step(frame, 0.1 * i)
    assert {k: v.shape for k, v in session.state.items()} == shapes
    assert result.frames_since_reset == 60 and session.stats.total_resets == 1


# --- non-finite outputs ---------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["risk_logit", "tta", "risk_map"])
def test_non_finite_output_is_never_published_and_resets_next_frame(backend, frames, field):
    clip = frames(6, seed=7)
    session = StreamSession(NonFiniteAt(backend, {4}, field))
    results = [session.step(f, 0.1 * i) for i, f in enumerate(clip)]
    bad, after = results[3], results[4]
    assert [r.valid for r in results] == [True, True, True, False, True, True]
    assert math.isfinite(bad.probability) and math.isfinite(bad.probability_smoothed)
    assert bad.probability == results[2].probability  # the last valid values are held
    assert bad.probability_smoothed == results[2].probability_smoothed
    assert np.all(bad.risk_map == 0.0) and not bad.state_reset
    assert after.state_reset and after.reset_reason == "non_finite_output" and after.frames_since_reset == 1
    assert session.stats.non_finite == 1 and session.stats.resets["non_finite_output"] == 1
    fresh = StreamSession(backend).step(clip[4], 0.0)
    assert after.probability == pytest.approx(fresh.probability, abs=1e-7)
    assert after.probability_smoothed == after.probability  # smoothing was restarted too


def test_non_finite_output_does_not_move_the_filter(backend, frames):
    config = SessionConfig(alert_on=0.0, alert_off=0.0, alert_on_frames=2)
    session = StreamSession(NonFiniteAt(backend, {2}), config)
    results = [session.step(f, 0.1 * i) for i, f in enumerate(frames(3, seed=8))]
    assert [r.alert for r in results] == [False, False, False]  # frame 2 did not count towards k = 2
    assert results[2].reset_reason == "non_finite_output"


# --- the risk filter on scripted probabilities ----------------------------------------------------


def test_filter_asymmetric_smoothing():
    f = RiskFilter(SessionConfig(rise=0.5, fall=0.15))
    assert f.update(0.0).probability_smoothed == 0.0  # the first value is taken as is
    assert f.update(1.0).probability_smoothed == pytest.approx(0.5)
    assert f.update(1.0).probability_smoothed == pytest.approx(0.75)
    assert f.update(0.0).probability_smoothed == pytest.approx(0.75 - 0.15 * 0.75)
    f.reset()
    assert f.update(0.9).probability_smoothed == pytest.approx(0.9)


def test_filter_levels_at_thresholds():
    f = RiskFilter(SessionConfig(rise=1.0, fall=1.0, threshold_medium=0.3, threshold_high=0.6))
    levels = [f.update(p).level for p in (0.0, 0.29, 0.3, 0.59, 0.6, 1.0, 0.1)]
    assert levels == [LEVEL_LOW, LEVEL_LOW, LEVEL_MEDIUM, LEVEL_MEDIUM, LEVEL_HIGH, LEVEL_HIGH, LEVEL_LOW]


def test_filter_alert_hysteresis():
    f = RiskFilter(SessionConfig(rise=1.0, fall=1.0, alert_on=0.5, alert_off=0.35, alert_on_frames=3))
    probs = [0.6, 0.6, 0.4, 0.5, 0.6, 0.6, 0.45, 0.36, 0.35, 0.34, 0.6, 0.6]
    alerts = [f.update(p).alert for p in probs]
    assert alerts == [False, False, False, False, False, True, True, True, True, False, False, False]


def test_filter_suppresses_a_one_frame_spike_with_default_smoothing():
    f = RiskFilter(SessionConfig())
    out = [f.update(p) for p in [0.05] * 5 + [0.99] + [0.05] * 10]
    assert not any(o.alert for o in out)
    assert max(o.probability_smoothed for o in out) < 0.6


def test_filter_sustained_risk_alerts_and_decays_slowly():
    f = RiskFilter(SessionConfig())
    rising = [f.update(0.9, tta=2.0) for _ in range(6)]
    assert [o.alert for o in rising] == [False, False, True, True, True, True]  # k = 3 frames >= 0.5
    assert rising[-1].time_to_accident == 2.0 and math.isnan(rising[0].time_to_accident)
    falling = [f.update(0.0, tta=2.0) for _ in range(10)]
    on = [o.alert for o in falling]
    assert on[:3] == [True, True, True] and not on[-1]  # fall rate 0.15: holds for a few frames
    assert all(math.isnan(o.time_to_accident) for o, a in zip(falling, on, strict=True) if not a)


def test_filter_time_to_accident_is_clipped_and_nan_tta_is_nan():
    f = RiskFilter(SessionConfig(rise=1.0, fall=1.0, alert_on_frames=1))
    assert f.update(0.9, tta=-1.0).time_to_accident == 0.0
    assert math.isnan(f.update(0.9, tta=math.nan).time_to_accident)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"max_gap": 0.0}, "max_gap"),
        ({"rise": 0.0}, "rise"),
        ({"fall": 1.5}, "fall"),
        ({"threshold_medium": 0.7, "threshold_high": 0.6}, "threshold_medium <= threshold_high"),
        ({"alert_on": 0.3, "alert_off": 0.4}, "alert_off <= alert_on"),
        ({"alert_on_frames": 0}, "alert_on_frames"),
        ({"alert_on_frames": 2.5}, "alert_on_frames"),
    ],
)
def test_config_validation(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SessionConfig(**kwargs)
