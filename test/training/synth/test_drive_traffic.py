"""Ordinary cars ahead in the ego lane of a drive (``DriveConfig.lead_traffic``): they come into view,
follow at a headway with brake lights, drive away, and keep clear of the ego and of every key actor."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.synth.drive_config import make_drive_config
from accident_anticipation_ros.training.synth.drive_events import VIEW_FAR
from accident_anticipation_ros.training.synth.drive_traffic import EXIT, KEY_CLEARANCE, lead_gap
from accident_anticipation_ros.training.synth.drive_world import plan_world
from accident_anticipation_ros.training.synth.footprint import ego_gaps, pair_gap

FPS = 10.0


@pytest.mark.parametrize("in_view", [False, True])
def test_a_lead_car_comes_follows_and_leaves_out_of_view(in_view):
    rng = np.random.default_rng(4)
    ego_v = np.full(1200, 13.0)  # two minutes at 47 km/h
    for _ in range(20):
        gap = lead_gap(rng, ego_v, FPS, in_view)
        if in_view:
            assert 9.0 < gap[0] < VIEW_FAR  # already ahead, as at a world's first frame
        else:
            assert gap[0] > VIEW_FAR  # enters from beyond the view
        assert gap.min() > 6.0  # never closer than the headway minus its breathing
        assert gap[-1] > VIEW_FAR + EXIT  # and is gone at the end
        speed = ego_v + np.gradient(gap) * FPS
        assert speed.min() >= 0.0 and (np.gradient(speed) * FPS < -0.8).any()  # it brakes now and then


def _ego_lane_cars(world):
    return [a for a in world.world.actors if a.role == "ambient" and np.all(np.abs(a.lat) < 0.5)]


def test_lead_traffic_puts_cars_in_the_ego_lane_clear_of_the_ego_and_of_key_actors():
    cfg = make_drive_config("ccd", size=64, duration=120.0, lead_traffic=3.0)
    cars = 0
    for index in range(8):
        world = plan_world(cfg, 5, index, 1200)
        if world is None:
            continue
        keys = [a for a in world.world.actors if a.role == "key"]
        for car in _ego_lane_cars(world):
            cars += 1
            assert ego_gaps(world.world, car).min() > 1.0  # a safe distance from the ego, always
            assert all(pair_gap(car, key) >= KEY_CLEARANCE for key in keys)
            assert car.speed.min() >= 0.0 and len(car.brake) == len(car.S)
            ahead = car.S - world.world.ego_s[car.k0 : car.k0 + len(car.S)]
            assert ahead.min() > 0.0  # ahead of the camera, never beside or behind it
    assert cars >= 3


def test_without_lead_traffic_the_ego_lane_holds_key_actors_only():
    cfg = make_drive_config("ccd", size=64, duration=120.0)
    assert cfg.lead_traffic == 0.0
    for index in range(4):
        world = plan_world(cfg, 5, index, 1200)
        if world is not None:
            assert _ego_lane_cars(world) == []
