"""Road-plane footprints: sizes by kind and heading, separation, contact with the ego car."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.footprint import CONTACT, EGO_LENGTH, box, ego_box, separation
from accident_anticipation_ros.training.synth.palette import VEHICLES
from accident_anticipation_ros.training.synth.scenarios import BUMPER, EGO_HALF, Appearance

SEDAN = Appearance("vehicle", vtype="sedan")


def test_vehicle_boxes_turn_with_the_heading_and_people_are_round():
    vt = VEHICLES["sedan"]
    s0, s1, l0, l1 = box(SEDAN, [10.0, 10.0], [0.0, 0.0], [0.0, np.pi / 2])
    assert np.allclose(s1 - s0, [vt.length, vt.width]) and np.allclose(l1 - l0, [vt.width, vt.length])
    for kind, r in (("pedestrian", 0.3), ("cyclist", 0.9)):
        s0, s1, l0, l1 = box(Appearance(kind), 5.0, 1.0, 1.2)
        assert np.allclose([s1 - s0, l1 - l0], 2 * r)
    e = ego_box(0.0, 0.1)
    assert np.allclose([e[1], e[1] - e[0], e[3] - e[2]], [BUMPER, EGO_LENGTH, 2 * EGO_HALF])


def test_separation_is_the_gap_along_the_most_separating_axis():
    half = VEHICLES["sedan"].length / 2
    ego = ego_box(np.zeros(4), np.zeros(4))
    lead = box(SEDAN, BUMPER + half + np.array([2.0, 0.0, -0.5, 0.0]), [0.0, 0.0, 0.0, 3.0], 0.0)
    gaps = separation(ego, lead)
    width = VEHICLES["sedan"].width
    assert np.allclose(gaps, [2.0, 0.0, -0.5, 3.0 - width / 2 - EGO_HALF])
    assert list(gaps <= CONTACT) == [False, True, True, False]  # touching counts as contact
