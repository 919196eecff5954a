"""The frame-rate alignment rule on stamps alone: which frames step, the average rate, no drift."""

from __future__ import annotations

import math

import numpy as np
import pytest

from accident_anticipation_ros.runtime.frame_rate import (
    MIN_INTERVALS,
    FrameRateAligner,
    FrameRateReport,
)
from accident_anticipation_ros.stamps import NS_PER_S, frame_stamps_ns, ns_to_seconds

START_NS = 1_700_000_000 * NS_PER_S + 123_456_789  # a real clock's epoch stamps, not 0.0


def camera_stamps(fps: float, n: int, jitter: float = 0.0, seed: int = 0) -> list[float]:
    """Stamps (s) of ``n`` frames of a camera clock at ``fps``, each moved by up to ``jitter`` seconds."""
    rng = np.random.default_rng(seed)
    base = [ns_to_seconds(ns) for ns in frame_stamps_ns(START_NS, fps, n)]
    return [t + float(rng.uniform(-jitter, jitter)) for t in base]


def stepped_indices(stamps: list[float], model_fps: float = 10.0, enabled: bool = True) -> list[int]:
    aligner = FrameRateAligner(model_fps, enabled=enabled, max_interval=0.5)
    steps = []
    for i, t in enumerate(stamps):
        if aligner.due(t):
            aligner.stepped(t)
            steps.append(i)
        else:
            aligner.skipped(t)
    return steps


def test_30_fps_steps_exactly_every_third_frame():
    assert stepped_indices(camera_stamps(30.0, 300)) == list(range(0, 300, 3))


@pytest.mark.parametrize("seed", range(5))
def test_30_fps_with_jitter_still_steps_every_third_frame(seed):
    # +-6 ms on a 33 ms interval (a USB camera's stamps): the rule tolerates 0.4 of an interval.
    assert stepped_indices(camera_stamps(30.0, 300, jitter=0.006, seed=seed)) == list(range(0, 300, 3))


def test_15_fps_steps_two_frames_in_three():
    steps = stepped_indices(camera_stamps(15.0, 30))
    assert steps == [0, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18, 20, 21, 23, 24, 26, 27, 29]


@pytest.mark.parametrize("fps", [15.0, 25.0, 29.97, 30.0, 60.0, 12.0])
@pytest.mark.parametrize("jitter", [0.0, 0.004])
def test_the_average_step_rate_is_the_models_without_drift(fps, jitter):
    """Ten minutes of stream: after every second the steps so far are 10 per second, within one step."""
    n = int(600 * fps)
    stamps = camera_stamps(fps, n, jitter=jitter, seed=1)
    steps = np.zeros(n, bool)
    steps[stepped_indices(stamps)] = True
    elapsed = np.asarray(stamps) - stamps[0]
    expected = elapsed * 10.0  # model steps due by each frame's time
    counted = np.cumsum(steps)
    assert np.max(np.abs(counted - 1 - expected)) <= 1.0 + 1e-6  # no drift over 6000 model periods
    assert abs(counted[-1] - 6000) <= 1


@pytest.mark.parametrize("fps", [10.0, 9.0, 5.0, 2.0])
def test_a_stream_at_or_below_the_model_fps_is_stepped_on_every_frame(fps):
    assert stepped_indices(camera_stamps(fps, 200, jitter=0.002)) == list(range(200))


def test_a_lost_frame_keeps_the_grid_and_a_long_gap_re_anchors_it():
    stamps = camera_stamps(30.0, 30)
    del stamps[3]  # the frame at 0.1 s is lost: the next one (0.133 s) steps, the grid stays
    assert stepped_indices(stamps) == [0, 3, 5, 8, 11, 14, 17, 20, 23, 26]
    late = camera_stamps(30.0, 12)[:4] + [t + 0.3 for t in camera_stamps(30.0, 12)[4:]]
    # 0.4 s of nothing (below max_gap: no reset): the frame after it steps and re-anchors the grid
    assert stepped_indices(late) == [0, 3, 4, 7, 10]


def test_disabled_every_frame_is_due_and_the_rate_is_still_measured():
    aligner = FrameRateAligner(10.0, enabled=False)
    for t in camera_stamps(30.0, 20):
        assert aligner.due(t)
        aligner.stepped(t)
    report = aligner.report
    assert report.stream_fps == pytest.approx(30.0, rel=1e-6) and report.intervals == 16
    assert report.fast_unaligned and not report.slow
    assert "align_to_model_fps is off" in report.warning() and "30.0 fps" in report.warning()


def test_the_report_measures_the_stream_and_says_when_it_is_slow():
    aligner = FrameRateAligner(10.0, max_interval=0.5)
    assert math.isnan(aligner.report.stream_fps) and aligner.report.warning() == ""
    stamps = camera_stamps(5.0, MIN_INTERVALS + 1)
    for i, t in enumerate(stamps):
        aligner.stepped(t)
        assert aligner.report.slow == (i >= MIN_INTERVALS)  # only once measured over a window
    assert aligner.report.stream_fps == pytest.approx(5.0, rel=1e-6)
    assert "slower than the model's 10 fps" in aligner.report.warning()
    # Intervals across a gap longer than max_interval or a jump back are no rate samples.
    aligner.stepped(stamps[-1] + 3.0)
    aligner.stepped(stamps[-1] - 10.0)
    assert aligner.report.intervals == MIN_INTERVALS


def test_report_tolerance_bounds():
    assert not FrameRateReport(9.1, 10.0, True, MIN_INTERVALS).slow
    assert FrameRateReport(8.9, 10.0, True, MIN_INTERVALS).slow
    assert not FrameRateReport(10.9, 10.0, False, MIN_INTERVALS).fast_unaligned
    assert FrameRateReport(11.1, 10.0, False, MIN_INTERVALS).fast_unaligned
    assert not FrameRateReport(30.0, 10.0, True, MIN_INTERVALS).warning()  # aligned: decimated, fine
    assert not FrameRateReport(2.0, 10.0, True, MIN_INTERVALS - 1).slow  # not measured yet


@pytest.mark.parametrize("fps", [0.0, -1.0, math.nan, math.inf])
def test_bad_model_fps(fps):
    with pytest.raises(ValueError, match="model fps"):
        FrameRateAligner(fps)


def test_frames_dropped_before_the_aligner_keep_the_measured_rate_the_cameras():
    """The node's slot drops frames when the worker lags: an interval over dropped frames is divided."""
    aligner = FrameRateAligner(10.0, max_interval=0.5)
    stamps = camera_stamps(30.0, 60)
    for i in range(0, 60, 3):  # only every third frame arrives, two dropped before each
        assert aligner.due(stamps[i])
        aligner.stepped(stamps[i], dropped=2 if i else 0)
    assert aligner.report.stream_fps == pytest.approx(30.0, rel=1e-6) and not aligner.report.slow
    counted = FrameRateAligner(10.0, max_interval=0.5)
    for i in range(0, 60, 3):
        counted.stepped(stamps[i])  # the same stamps without the drop counts: a 10 fps stream
    assert counted.report.stream_fps == pytest.approx(10.0, rel=1e-6)
