"""Projection, near-plane clipping, box culling and glow sprites."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.camera import Camera, clip_polygon_near
from accident_anticipation_ros.training.synth.draw import (
    FACE_NAMES,
    Canvas,
    _transform,
    _visible_faces,
    add_glows,
)
from accident_anticipation_ros.training.synth.vehicles import vehicle_model

CAM = Camera(f=160.0, cx=112.0, cy=95.0, height=1.3, lateral=0.0, kappa=0.0, yaw=0.0, pitch=0.0)


def test_ground_points_converge_to_the_horizon():
    u, v = CAM.road_to_pixels(np.array([0.0, 0.0, 3.5]), np.zeros(3), np.array([10.0, 1000.0, 10.0]))
    assert np.isclose(u[0], 112.0) and np.isclose(v[0], 95.0 + 160 * 1.3 / 10)
    assert abs(v[1] - CAM.horizon_v()) < 0.3
    assert np.isclose(u[2], 112.0 + 160 * 3.5 / 10)  # right of the lane is right in the image


def test_curvature_bends_the_road_and_pitch_moves_the_horizon():
    curved = Camera(160.0, 112.0, 95.0, 1.3, 0.0, 1 / 200, 0.0, 0.0)
    u_far, _ = curved.road_to_pixels(0.0, 0.0, 60.0)
    assert u_far > 112 + 160 * 0.5 * 60 / 200 * 0.9  # a right-hand bend
    down = Camera(160.0, 112.0, 95.0, 1.3, 0.0, 0.0, 0.0, 0.05)
    assert down.horizon_v() < CAM.horizon_v()


def test_near_plane_clipping():
    x = np.array([-1.0, 1.0, 1.0, -1.0])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    assert clip_polygon_near(x, y, np.full(4, 5.0))[2].min() == 5.0
    assert clip_polygon_near(x, y, np.full(4, -1.0)) is None
    cx, cy, cz = clip_polygon_near(x, y, np.array([-1.0, -1.0, 3.0, 3.0]))
    assert cz.min() >= 0.35 - 1e-9 and len(cz) == 4


def _faces(name, lat, lon, heading):
    m = vehicle_model(name)
    X, Y, Z = _transform(CAM, m.points, lat, lon, np.cos(heading), np.sin(heading))
    return [{FACE_NAMES[i] for i in np.nonzero(v)[0]} for v in _visible_faces(X, Y, Z, m.nb)]


def test_back_face_culling_shows_the_sides_facing_the_camera():
    body, cabin = _faces("sedan", 0.0, 10.0, 0.0)
    assert body == {"rear", "top"} and cabin == {"rear"}  # camera above the bonnet, below the roof
    body, _ = _faces("sedan", -3.5, 10.0, 0.0)
    assert body == {"rear", "right", "top"}
    body, _ = _faces("sedan", 3.5, 12.0, np.pi)  # oncoming on the right: its front and its right side
    assert {"front", "right"} <= body and "rear" not in body
    (bus,) = _faces("bus", 0.0, 12.0, 0.0)
    assert bus == {"rear"}


def test_glow_sprites_add_light_and_clip_at_borders():
    frame = np.zeros((40, 40, 3), np.uint8)
    add_glows(frame, [(20.0, 20.0, 3.0, 3.0, (200, 100, 40)), (0.0, 39.0, 5.0, 5.0, (255, 255, 255))])
    assert frame[20, 20, 0] > 150 and frame[20, 20, 2] < frame[20, 20, 0]
    assert frame[39, 0].min() > 200
    assert frame[5, 35].max() == 0


def test_canvas_bbox_tracks_what_was_drawn():
    canvas = Canvas(np.zeros((50, 60, 3), np.uint8))
    canvas.start()
    canvas.line(10.0, 10.0, 30.0, 20.0, (255, 255, 255), 1)
    assert canvas.bbox() == (9, 9, 31, 21)
    canvas.start()
    canvas.disc(-30.0, -30.0, 2.0, (1, 1, 1))
    assert canvas.bbox() is None
