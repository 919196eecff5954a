"""Per-camera diagnostics statistics and their status."""

from __future__ import annotations

import math
import time

from accident_anticipation_ros.stream_stats import ERROR, OK, WARN, CpuPerFrame, StreamStats


def test_rates_percentiles_and_ok_status():
    stats = StreamStats()
    for i in range(100):
        stats.count("received")
        stats.processed(latency_ms=float(i + 1), step_ms=5.0, reset_reason="first_frame" if i == 0 else "")
    snap = stats.snapshot(latency_warn_ms=200)
    assert snap.level == OK and snap.received == 100 and snap.processed == 100
    assert 49 <= snap.latency_p50_ms <= 52 and 94 <= snap.latency_p95_ms <= 97
    assert snap.resets == {"first_frame": 1}
    assert stats.snapshot(200).processed == 0  # the period restarts
    assert stats.snapshot(200).totals["processed"] == 100


def test_status_levels_say_why():
    stats = StreamStats()
    assert stats.snapshot(200).message == "no images received"
    for _ in range(10):
        stats.count("received")
    stats.count("dropped", 8)
    stats.processed(300.0, 250.0)
    snap = stats.snapshot(200)
    assert snap.level == WARN and "dropping 8/10" in snap.message and "latency p95 300 ms" in snap.message
    stats.count("received")
    stats.error("bad_frames", "encoding 'x' not supported")
    assert "encoding 'x'" in stats.snapshot(200).message
    stats.count("received")
    stats.error("inference_errors", "RuntimeError: boom")
    snap = stats.snapshot(200)
    assert snap.level == ERROR and "boom" in snap.message


def test_decimated_frames_are_counted_and_a_frame_rate_warning_is_a_warn():
    stats = StreamStats()
    for i in range(30):
        stats.count("received")
        if i % 3:
            stats.count("decimated")
        else:
            stats.processed(latency_ms=1.0, step_ms=1.0)
    snap = stats.snapshot(200)
    assert snap.level == OK and snap.decimated == 20 and snap.processed == 10
    assert "20 frames decimated to the model's fps" in snap.message
    assert snap.totals["decimated"] == 20
    stats.count("received")
    stats.processed(1.0, 1.0)
    snap = stats.snapshot(200, frame_rate_warning="stream at 5.0 fps is slower than the model's 10 fps")
    assert snap.level == WARN and "slower than the model" in snap.message


def test_staleness_from_the_stamp_period_warn_after_two_periods_error_after_the_parameter():
    stats = StreamStats()
    assert stats.staleness(now_s=100.0, stale_error_after=3.0) == (OK, "")  # no frame yet
    for i in range(10):  # a 10 Hz camera: stamps 0.1 s apart, arriving on the node clock at 50 + t
        stats.arrived(stamp_s=7.0 + i * 0.1, now_s=50.0 + i * 0.1)
    assert abs(stats.expected_period() - 0.1) < 1e-9
    last = 50.9
    assert stats.staleness(last + 0.19, 3.0)[0] == OK  # within two periods
    level, message = stats.staleness(last + 0.21, 3.0)
    assert level == WARN and "expected every 0.100 s" in message
    assert stats.snapshot(200, last + 0.21, 3.0).level == WARN
    level, message = stats.staleness(last + 3.5, 3.0)
    assert level == ERROR and "stalled" in message and "stale_error_after 3 s" in message
    snap = stats.snapshot(200, last + 3.5, 3.0)
    assert snap.level == ERROR and abs(snap.since_last_frame_s - 3.5) < 1e-9
    assert abs(snap.expected_period_s - 0.1) < 1e-9
    stats.arrived(stamp_s=11.5, now_s=last + 3.6)  # the camera is back: OK at once
    assert stats.staleness(last + 3.65, 3.0) == (OK, "")
    # A jump back in stamps (a looping bag) says nothing about the period.
    stats.arrived(stamp_s=0.0, now_s=last + 3.7)
    assert abs(stats.expected_period() - 0.1) < 1e-9


def test_a_period_without_frames_is_ok_while_the_stream_is_not_overdue():
    stats = StreamStats()
    for i in range(5):  # 2 Hz camera, diagnostics faster than the frames
        stats.count("received")
        stats.arrived(i * 0.5, i * 0.5)
        stats.processed(1.0, 1.0)
    stats.snapshot(200, 2.0, 5.0)
    assert stats.snapshot(200, 2.2, 5.0).level == OK  # no frame in this period, none overdue either
    assert stats.snapshot(200, 3.1, 5.0).level == WARN


def test_staleness_follows_the_clock_it_is_given_not_the_wall_clock():
    stats = StreamStats()
    stats.arrived(1.0, now_s=1000.0)
    stats.arrived(1.1, now_s=1000.1)
    time.sleep(0.3)  # wall time passes; the given (simulated) clock does not
    assert stats.staleness(1000.15, 1.0) == (OK, "")
    assert stats.staleness(1002.0, 1.0)[0] == ERROR


def test_out_of_domain_share_of_the_period_warns_above_the_parameter():
    stats = StreamStats()
    for i in range(10):
        stats.count("received")
        stats.processed(10.0, 5.0, out_of_domain=i < 6)
    snap = stats.snapshot(200, ood_warn_fraction=0.5)
    assert snap.out_of_domain == 6 and snap.out_of_domain_fraction == 0.6
    assert snap.level == WARN and "6/10 frames out of the model's training domain (60% > 50%)" in snap.message
    for i in range(10):
        stats.count("received")
        stats.processed(10.0, 5.0, out_of_domain=i < 5)
    snap = stats.snapshot(200, ood_warn_fraction=0.5)
    assert snap.level == OK and snap.out_of_domain_fraction == 0.5 and snap.totals["out_of_domain"] == 11
    assert stats.snapshot(200).out_of_domain_fraction == 0.0  # nothing processed in the period


def test_cpu_per_frame_divides_the_period_cpu_by_the_period_frames():
    ticks = iter([10.0, 10.5, 10.5, 11.7])
    meter = CpuPerFrame(clock=lambda: next(ticks))
    assert meter.sample(100) == 5.0  # 0.5 s over 100 frames
    assert math.isnan(meter.sample(100))  # no frame this period
    assert abs(meter.sample(400) - 4.0) < 1e-9  # 1.2 s over 300 frames


def test_cpu_per_frame_sees_this_process_burning_cpu():
    meter = CpuPerFrame()
    end = time.process_time() + 0.05
    while time.process_time() < end:
        pass
    assert meter.sample(10) >= 4.0  # >= 50 ms over 10 frames


def test_totals_survive_snapshots():
    stats = StreamStats()
    stats.processed(1.0, 1.0)
    stats.snapshot(200)
    assert stats.total("processed") == 1 and stats.total("dropped") == 0


def _arrive(stats: StreamStats, stamps) -> list[int]:
    return [stats.arrived(t, t) for t in stamps]


def test_frames_missing_by_stamp_are_counted_from_the_stream_s_own_period():
    stats = StreamStats(max_gap=0.5)
    kept = [i for i in range(40) if i not in (2, 20, 21, 22, 30)]  # frame 2: before the period is known
    missing = _arrive(stats, [10.0 + i / 30 for i in kept])  # a 30 fps camera by its stamps
    assert sum(missing) == 4 and missing[kept.index(23)] == 3 and missing[kept.index(31)] == 1
    assert stats.total("missing_by_stamp") == 4 and stats.snapshot(200).totals["missing_by_stamp"] == 4
    assert abs(stats.expected_period() - 1 / 30) < 1e-9  # the median: a few holes do not stretch it
    assert _arrive(stats, [12.0]) == [0]  # longer than max_gap: a reset there, not a count
    assert stats.total("missing_by_stamp") == 4


def test_jitter_under_half_a_period_and_stamps_going_back_count_nothing():
    stats = StreamStats(max_gap=0.5)
    jitter = [0.0, 0.04, -0.045, 0.03, -0.02, 0.045, -0.04, 0.0] * 5  # up to 0.45 periods late or early
    assert sum(_arrive(stats, [5.0 + (i + j) / 10 for i, j in enumerate(jitter)])) == 0
    assert sum(_arrive(stats, [1.0, 1.1, 1.2])) == 0  # a looping bag: back to an earlier stamp


def test_a_camera_that_halves_its_rate_is_followed_after_half_the_period_window():
    stats = StreamStats(period_window=32, max_gap=0.5)
    fast = [i / 30 for i in range(60)]
    slow = [fast[-1] + (i + 1) / 15 for i in range(100)]  # auto exposure at night: 30 -> 15 fps
    counted = _arrive(stats, fast + slow)
    assert 0 < sum(counted) <= 16 and not any(counted[-80:])
    assert abs(stats.expected_period() - 1 / 15) < 1e-9
