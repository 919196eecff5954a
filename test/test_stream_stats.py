"""Per-camera diagnostics statistics and their status."""

from __future__ import annotations

from accident_anticipation_ros.stream_stats import ERROR, OK, WARN, StreamStats


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
