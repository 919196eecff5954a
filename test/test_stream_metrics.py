"""Streaming metrics on hand-made streams: exact window cuts, counts and shares."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.metrics import evaluate
from accident_anticipation_ros.stream_metrics import (
    ACCIDENT,
    NEAR_MISS,
    SAFE,
    StreamEvent,
    StreamTruth,
    WindowSpec,
    alerts_per_hour,
    event_windows,
    last_second_frames,
    lead_shares,
    rising_edges,
    stream_window_metrics,
    top_cell_hits,
)

FPS = 10.0


def _truth() -> StreamTruth:
    """400 frames: accident 0 (window 100..129, toa 120, aftermath to 139), near miss 1 (window 200..219,
    critical 210), accident 2 (window 300..329, toa 320, aftermath to the end)."""
    n = 400
    event = np.full(n, -1)
    label = np.zeros(n, np.uint8)
    event[100:130] = 0
    label[120:140] = 1
    event[200:220] = 1
    event[300:330] = 2
    label[320:] = 1
    events = (StreamEvent(0, ACCIDENT, 120), StreamEvent(1, NEAR_MISS, 210), StreamEvent(2, ACCIDENT, 320))
    return StreamTruth(FPS, event, label, events)


def test_windows_are_cut_around_toa_and_safe_ones_keep_the_margin():
    truth = _truth()
    spec = WindowSpec(before=2.0, after=1.0, margin=1.0, positive_share=0.5)
    cut = event_windows(truth, spec)
    by_kind = {k: [w for w in cut.windows if w.kind == k] for k in (ACCIDENT, NEAR_MISS, SAFE)}
    assert [(w.start, w.end, w.toa) for w in by_kind[ACCIDENT]] == [(100, 130, 20), (300, 330, 20)]
    assert [(w.start, w.end) for w in by_kind[NEAR_MISS]] == [(190, 220)]
    # safe frames: 0..99, 140..189, 220..299 (the near-miss window 190..219 is an event window too);
    # 1 s margin: 0..89, 150..179, 230..289 -> candidates 0, 30, 60 | 150 | 230, 260 (6)
    assert cut.safe_candidates == 6
    # 2 accidents at share 0.5: 2 negatives, one is the near miss -> 1 safe window, linspace(0, 5, 1) -> index 0
    assert [(w.start, w.end) for w in by_kind[SAFE]] == [(0, 30)]
    assert cut.skipped == 0
    many = event_windows(truth, WindowSpec(before=2.0, after=1.0, margin=1.0, positive_share=0.25))
    # 6 negatives wanted, 1 near miss -> 5 safe of 6 candidates: linspace(0, 5, 5) rounds to 0, 1, 2, 4, 5
    assert [w.start for w in many.windows if w.kind == SAFE] == [0, 30, 60, 230, 260]


def test_window_metrics_equal_evaluate_on_the_cut_scores():
    truth = _truth()
    cut = event_windows(truth, WindowSpec(before=2.0, after=1.0, margin=1.0))
    p = np.random.default_rng(0).random(truth.num_frames)
    got = stream_window_metrics(p, cut.windows, FPS)
    want = evaluate(
        [p[w.start : w.end] for w in cut.windows],
        [int(w.positive) for w in cut.windows],
        [w.toa for w in cut.windows],
        FPS,
    )
    assert got == want


def test_an_event_too_close_to_the_stream_start_is_skipped():
    truth = _truth()
    cut = event_windows(truth, WindowSpec(before=12.5, after=1.0, margin=0.0))
    assert cut.skipped == 1  # accident 0: 120 - 125 < 0; the near miss starts at 210 - 125 = 85
    assert [(w.event, w.start) for w in cut.windows] == [(1, 85), (2, 195)]


def test_alerts_per_hour_counts_onsets_in_safe_driving_only():
    truth = _truth()
    cut = event_windows(truth, WindowSpec(before=2.0, after=1.0, margin=1.0))
    alert = np.zeros(truth.num_frames, bool)
    alert[10:15] = True  # onset 10: safe, but inside the safe window 0..29 -> not counted
    alert[50:60] = True  # onset 50: counted
    alert[95:125] = True  # onset 95: safe frame before the accident window (100) -> counted
    alert[145:150] = True  # onset 145: safe driving after the aftermath -> counted
    alert[205:210] = True  # onset 205: near-miss window -> not counted
    alert[330:340] = True  # aftermath -> not counted
    assert rising_edges(alert).tolist() == [10, 50, 95, 145, 205, 330]
    out = alerts_per_hour(alert, truth, cut.windows)
    # safe frames outside the windows: 30..99 (70) + 140..189 (50) + 220..299 (80) = 200 frames = 20 s
    assert out["alerts"] == 3
    assert out["safe_hours"] == pytest.approx(20.0 / 3600.0)
    assert out["alerts_per_hour"] == pytest.approx(3 / (20.0 / 3600.0))
    # alert on safe frames: 50..59 (10) + 95..99 (5) + 145..149 (5) = 20 of 200
    assert out["alerting_share"] == pytest.approx(0.1)
    stuck = np.ones(truth.num_frames, bool)  # on from the first frame: no onset in safe driving
    assert alerts_per_hour(stuck, truth, cut.windows)["alerts"] == 0
    assert alerts_per_hour(stuck, truth, cut.windows)["alerting_share"] == 1.0


def test_lead_shares_need_the_alert_on_at_the_lead_and_a_recent_onset():
    truth = _truth()
    alert = np.zeros(truth.num_frames, bool)
    alert[108:121] = True  # accident 0 (toa 120): on from 1.2 s before -> >= 0.5 s and >= 1 s, not 2 s
    alert[250:330] = True  # accident 2 (toa 320): on since 7 s before: older than the 5 s horizon
    shares = lead_shares(alert, truth, leads=(0.5, 1.0, 2.0), horizon=5.0)
    assert shares == {0.5: 0.5, 1.0: 0.5, 2.0: 0.0}
    assert lead_shares(alert, truth, leads=(2.0,), horizon=8.0) == {2.0: 0.5}  # accident 2 now counts
    with pytest.raises(ValueError, match="no accident"):
        lead_shares(alert, StreamTruth(FPS, truth.event, truth.label, (truth.events[1],)))


def test_top_cell_hits_and_last_second():
    truth = _truth()
    frames = last_second_frames(truth, 1.0)
    assert frames.tolist() == list(range(110, 120)) + list(range(310, 320))
    maps = np.zeros((3, 2, 2))
    maps[0, 0, 1] = 1.0  # top right
    maps[1, 1, 0] = 1.0  # bottom left
    maps[2, 0, 0] = 1.0
    boxes = np.array([[60, 0, 100, 40], [60, 0, 100, 40], [-10, -10, -5, -5]])  # 100x100 image

    def cell(y, x):
        return None if y < 0 or x < 0 else (int(y // 50), int(x // 50))

    assert top_cell_hits(maps, boxes, cell) == (1, 3)
