"""The session aligned to the model's fps: 30/15/5 fps streams into the 10 fps tsd-test, resets, the switch."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from accident_anticipation_ros.runtime.factory import create_backend
from accident_anticipation_ros.runtime.session import SessionConfig, StreamSession
from accident_anticipation_ros.stamps import NS_PER_S, frame_stamps_ns, ns_to_seconds

START_NS = 1_700_000_000 * NS_PER_S + 987_654_321


@pytest.fixture(scope="module")
def backend(tsd_test):
    engine = create_backend(tsd_test.onnx, kind="onnxruntime", threads=1)
    assert engine.info.fps == 10.0  # the model's metadata: what the stream is aligned to
    return engine


def clock(fps: float, n: int, jitter: float = 0.0, seed: int = 0, start_ns: int = START_NS) -> list[float]:
    """Stamps (s) of a camera clock at ``fps``, each moved by up to ``jitter`` seconds."""
    rng = np.random.default_rng(seed)
    return [
        ns_to_seconds(ns) + float(rng.uniform(-jitter, jitter)) for ns in frame_stamps_ns(start_ns, fps, n)
    ]


def numbers(result) -> dict:
    """Everything a step computed (not the stamps or the timing)."""
    return {**result.message_fields(), "risk_map": result.risk_map, "valid": result.valid}


def assert_same_numbers(got: list, expected: list) -> None:
    assert len(got) == len(expected)
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_equal(numbers(a), numbers(b))  # identical, NaN time_to_accident included


class NanOnCall:
    """Fault injection: the real backend with a NaN risk logit on step call ``call`` (1-based)."""

    def __init__(self, inner, call: int) -> None:
        self.inner, self.call, self.count = inner, call, 0

    def __getattr__(self, name: str):
        return getattr(self.inner, name)

    def step(self, image, state):
        out, state = self.inner.step(image, state)
        self.count += 1
        return (dataclasses.replace(out, risk_logit=math.nan) if self.count == self.call else out), state


@pytest.mark.parametrize("jitter", [0.0, 0.006])
def test_30_fps_steps_every_third_frame_with_the_numbers_of_a_10_fps_stream(backend, frames, jitter):
    clip, stamps = frames(30, seed=11), clock(30.0, 30, jitter=jitter, seed=2)
    session = StreamSession(backend)
    results = [session.step(f, t, "rgb8") for f, t in zip(clip, stamps, strict=True)]
    assert [r.stepped for r in results] == [i % 3 == 0 for i in range(30)]
    assert session.stats.frames == 10 and session.stats.decimated == 20 and session.stats.total_resets == 1
    # The same frames from a 10 fps camera: the same session rule, the same numbers.
    ten = StreamSession(backend)
    reference = [ten.step(clip[i], t, "rgb8") for i, t in zip(range(0, 30, 3), clock(10.0, 10), strict=True)]
    assert all(r.stepped for r in reference)
    assert_same_numbers([r for r in results if r.stepped], reference)
    # Every result names its frame and the frame its values come from; skipped ones hold the values.
    for i, r in enumerate(results):
        assert r.stamp == stamps[i] and r.source_stamp == stamps[i - i % 3]
        assert r.frames_since_reset == i // 3 + 1 and r.state_reset == (i == 0)
        np.testing.assert_equal(
            numbers(r) | {"state_reset": False, "reset_reason": ""},
            numbers(results[i - i % 3]) | {"state_reset": False, "reset_reason": ""},
        )
    assert session.frame_rate.stream_fps == pytest.approx(30.0, rel=0.05) and not session.frame_rate.warning()


def test_15_fps_steps_two_frames_in_three_ten_per_second(backend, frames):
    clip, stamps = frames(45, seed=12), clock(15.0, 45)  # 3 s
    session = StreamSession(backend)
    results = [session.step(f, t) for f, t in zip(clip, stamps, strict=True)]
    stepped = [i for i, r in enumerate(results) if r.stepped]
    assert stepped == [i for i in range(45) if i % 3 != 1]  # 0, 2, 3, 5, 6, ...: 30 steps in 3 s
    assert session.stats.frames == 30 and session.stats.decimated == 15
    ten = StreamSession(backend)
    reference = [ten.step(clip[i], t) for i, t in zip(stepped, clock(10.0, 30), strict=True)]
    assert_same_numbers([results[i] for i in stepped], reference)


def test_5_fps_is_stepped_every_frame_and_reported_slow(backend, frames):
    session = StreamSession(backend)
    results = [session.step(f, t) for f, t in zip(frames(12, seed=13), clock(5.0, 12), strict=True)]
    assert all(r.stepped for r in results) and session.stats.decimated == 0
    assert [r.frames_since_reset for r in results] == list(range(1, 13))  # 0.2 s apart: no gap reset
    report = session.frame_rate
    assert report.slow and report.stream_fps == pytest.approx(5.0, rel=1e-6) and report.model_fps == 10.0
    assert "5.0 fps is slower than the model's 10 fps" in report.warning()


def test_the_switch_off_steps_every_frame_and_warns_about_a_fast_stream(backend, frames):
    clip, stamps = frames(12, seed=14), clock(30.0, 12)
    session = StreamSession(backend, SessionConfig(align_to_model_fps=False))
    results = [session.step(f, t) for f, t in zip(clip, stamps, strict=True)]
    assert all(r.stepped for r in results) and session.stats.frames == 12 and session.stats.decimated == 0
    assert [r.frames_since_reset for r in results] == list(range(1, 13))
    assert all(session.due(t + 1e-3) for t in stamps)
    assert "align_to_model_fps is off" in session.frame_rate.warning()
    aligned = StreamSession(backend)
    first_two = [aligned.step(f, t) for f, t in zip(clip[:2], stamps[:2], strict=True)]
    assert_same_numbers(results[:1], first_two[:1])
    assert not first_two[1].stepped and results[1].probability != first_two[1].probability


def test_gaps_are_measured_between_received_frames_not_steps(backend, frames):
    # max_gap 0.05 s: above the 33 ms camera interval, below the 100 ms between steps.
    session = StreamSession(backend, SessionConfig(max_gap=0.05))
    stamps = clock(30.0, 12)
    stamps = stamps[:7] + [t + 0.04 for t in stamps[7:]]  # frame 7 arrives 73 ms after frame 6: a gap
    results = [session.step(f, t) for f, t in zip(frames(12, seed=15), stamps, strict=True)]
    assert [r.reset_reason for r in results] == ["first_frame"] + [""] * 6 + ["gap"] + [""] * 4
    # The frame after the reset is stepped and re-anchors the grid: then every third frame again.
    assert [i for i, r in enumerate(results) if r.stepped] == [0, 3, 6, 7, 10]


@pytest.mark.parametrize("cause", ["time_jump_back", "manual", "non_finite_output"])
def test_the_frame_after_a_reset_is_stepped_even_where_it_would_be_skipped(backend, frames, cause):
    engine = NanOnCall(backend, call=2) if cause == "non_finite_output" else backend
    session = StreamSession(engine)
    stamps = clock(30.0, 5)  # steps 0 and 3; frame 4 would be skipped
    if cause == "time_jump_back":
        stamps[4] = stamps[3] - 5.0 + 1 / 30  # a looping bag, back to a stamp no grid point is near
    clip = frames(5, seed=16)
    results = [session.step(f, t) for f, t in zip(clip[:4], stamps[:4], strict=True)]
    if cause == "manual":
        assert not session.due(stamps[4])  # 33 ms after a step: skipped, until the reset
        session.reset()
    assert session.due(stamps[4])
    last = session.step(clip[4], stamps[4])
    assert [r.stepped for r in results] == [True, False, False, True]
    assert last.stepped and last.state_reset and last.reset_reason == cause and last.frames_since_reset == 1
    fresh = StreamSession(backend).step(clip[4], 0.0)
    assert last.probability == fresh.probability  # a real reset: a fresh state
    assert not session.due(stamps[4] + 1 / 30)  # the grid restarted at the reset frame


def test_a_resolution_change_on_a_skipped_frame_resets_on_the_next_stepped_one(backend, frames):
    session = StreamSession(backend)
    small, large = frames(2, 48, 96, seed=17), frames(3, 60, 80, seed=18)
    stamps = clock(30.0, 5)
    results = [session.step(f, t) for f, t in zip(small + large, stamps, strict=True)]
    assert [r.stepped for r in results] == [True, False, False, True, False]
    assert [r.reset_reason for r in results] == ["first_frame", "", "", "resolution_change", ""]


def test_due_is_pure_and_skip_refuses_a_due_frame(backend, frames):
    session = StreamSession(backend)
    t = clock(30.0, 3)
    session.step(frames(1)[0], t[0])
    assert session.due(t[1]) is False and session.due(t[1]) is False and session.stats.decimated == 0
    skipped = session.skip(t[1])
    assert not skipped.stepped and skipped.stamp == t[1] and skipped.source_stamp == t[0]
    assert session.stats.decimated == 1 and session.stats.frames == 1
    with pytest.raises(ValueError, match="is due: step it"):
        session.skip(t[0] + 0.1)
    with pytest.raises(ValueError, match="stamp must be finite"):
        session.due(math.nan)
    # A skipped frame's pixels are not looked at (the pipeline does not even convert it).
    assert not session.step(np.zeros((2, 2), np.uint8), t[2]).stepped


@pytest.mark.parametrize(
    "fps, align", [(30.0, True), (29.97, True), (15.0, True), (25.0, True), (30.0, False)]
)
def test_the_step_schedule_tells_the_sessions_stepped_frames_from_stamps_alone(backend, frames, fps, align):
    """What the replay and evaluate-bag predict (StepSchedule) is what the session does, over jitter,
    lost frames, gaps over max_gap and stamps going back."""
    from accident_anticipation_ros.runtime.frame_rate import stepped_mask

    rng = np.random.default_rng(int(fps * 100) + align)
    stamps = clock(fps, 120, jitter=0.004, seed=int(fps))
    stamps = [t for i, t in enumerate(stamps) if rng.random() > 0.1 or i == 0]  # lost frames
    stamps = stamps[:40] + [t + 0.8 for t in stamps[40:]]  # a gap over max_gap (0.5 s)
    stamps = stamps[:70] + [t - 3.0 for t in stamps[70:]]  # a looping bag
    session = StreamSession(backend, SessionConfig(max_gap=0.5, align_to_model_fps=align))
    clip = frames(len(stamps), seed=17)
    stepped = [session.step(f, t).stepped for f, t in zip(clip, stamps, strict=True)]
    assert stepped_mask(stamps, backend.info.fps, align, max_gap=0.5) == stepped
    assert (sum(stepped) < len(stamps)) == (align and fps > 10.0)
