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
