"""The overlay drawn on frames."""

from __future__ import annotations

import math

import numpy as np

from accident_anticipation_ros.visualization import LEVEL_COLORS, cause_text, draw_overlay


def test_overlay_keeps_the_input_and_draws_level_bar_and_banner():
    rgb = np.full((240, 320, 3), 128, np.uint8)
    calm = draw_overlay(rgb, 0.1, 0.1, 0, False)
    risk_map = np.eye(4, dtype=np.float32)
    alarm = draw_overlay(
        rgb, 0.9, 0.8, 2, True, time_to_accident=1.5, risk_map=risk_map, risk_map_trained=True
    )
    assert calm.shape == alarm.shape == (360, 480, 3) and calm.dtype == np.uint8  # upscaled to 480 wide
    assert (rgb == 128).all(), "the input frame is not modified"
    # The banner fills the bottom rows with the HIGH colour when alerting only.
    assert tuple(alarm[-2, 240]) == LEVEL_COLORS[2]
    assert tuple(calm[-2, 240]) != LEVEL_COLORS[2]
    # The heat map changes pixels along the map's diagonal (risk 1) but not far from it.
    assert not np.array_equal(alarm[180:195, 225:255], calm[180:195, 225:255])


def test_wide_frames_are_downscaled_and_nan_tta_is_not_drawn():
    rgb = np.zeros((720, 1280, 3), np.uint8)
    out = draw_overlay(rgb, 0.5, 0.5, 1, True, time_to_accident=math.nan, max_width=640)
    assert out.shape == (360, 640, 3)


def test_frames_at_the_minimum_width_keep_their_size():
    rgb = np.zeros((300, 500, 3), np.uint8)
    assert draw_overlay(rgb, 0.2, 0.2, 0, False).shape == (300, 500, 3)


def test_cause_is_shown_while_alerting_and_out_of_domain_always():
    assert cause_text(True, "cut_in", 0.81, False) == ", cause cut_in 81%"
    assert cause_text(False, "cut_in", 0.81, False) == ""  # not alerting: no cause
    assert cause_text(True, "", math.nan, True) == " (out of domain)"
    rgb = np.full((240, 320, 3), 128, np.uint8)
    plain = draw_overlay(rgb, 0.9, 0.8, 2, True, time_to_accident=1.5)
    named = draw_overlay(
        rgb, 0.9, 0.8, 2, True, time_to_accident=1.5, cause="lead_brake", cause_confidence=0.9
    )
    banner = slice(360 - 34, 360)
    assert not np.array_equal(plain[banner], named[banner])  # the cause is written in the banner
    assert np.array_equal(plain[:300], named[:300])
    ood = draw_overlay(rgb, 0.9, 0.8, 2, True, time_to_accident=1.5, out_of_domain=True)
    assert not np.array_equal(plain[20:60], ood[20:60])  # "OUT OF DOMAIN" under the risk text


def test_an_untrained_risk_map_is_not_drawn_but_named():
    rgb = np.full((240, 320, 3), 128, np.uint8)
    risk_map = np.eye(4, dtype=np.float32)
    plain = draw_overlay(rgb, 0.2, 0.2, 0, False)
    untrained = draw_overlay(rgb, 0.2, 0.2, 0, False, risk_map=risk_map)
    trained = draw_overlay(rgb, 0.2, 0.2, 0, False, risk_map=risk_map, risk_map_trained=True)
    # no heat along the diagonal without a trained map; the label sits below the risk text only
    assert np.array_equal(untrained[150:, :], plain[150:, :])
    assert not np.array_equal(untrained[:150], plain[:150])
    assert not np.array_equal(trained[180:195, 225:255], plain[180:195, 225:255])
