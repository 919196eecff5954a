"""Pedestrians (stick limbs, a box torso) and cyclists (wheels, frame, pedalling rider)."""

from __future__ import annotations

import cv2
import numpy as np

from accident_anticipation_ros.training.synth.camera import NEAR, Camera
from accident_anticipation_ros.training.synth.draw import (
    AA,
    FACE_INDEX,
    SHIFT,
    Canvas,
    Shader,
    _box_corners,
    _face,
    _p,
    _pts,
    _r,
    _transform,
    _visible_faces,
)

_PERSON = np.array([
    [-0.05, 0.5, 0.0], [0.05, 0.5, 0.0],  # 0, 1 hips
    [-0.06, 0.0, 0.0], [0.06, 0.0, 0.0],  # 2, 3 feet (z: + stride)
    [-0.12, 0.8, 0.0], [0.12, 0.8, 0.0],  # 4, 5 shoulders
    [-0.15, 0.47, 0.0], [0.15, 0.47, 0.0],  # 6, 7 hands (z: - stride)
    [0.0, 0.925, 0.0],  # 8 head centre
    [-0.06, 0.25, 0.03], [0.06, 0.25, 0.03],  # 9, 10 knees
])  # fmt: skip
_TORSO = _box_corners(-0.1, 0.1, 0.5, 0.82, -0.07, 0.07)


def draw_person(canvas: Canvas, cam: Camera, shader: Shader, look, lat: float, lon: float, heading: float,
                phase: float, fallen: bool, moving: bool) -> tuple[int, int, int, int] | None:  # fmt: skip
    """A pedestrian (limbs as lines, a box torso) standing, walking or lying on the road."""
    H = look.height
    dist = float(np.hypot(lat - cam.lateral, lon))
    if lon < NEAR + 0.2 or dist > 250:
        return None
    c, s = float(np.cos(heading)), float(np.sin(heading))
    lit, fog = shader.light(dist, lat - cam.lateral), shader.fog(dist)
    trousers, shirt, skin, hair, shirt_dark = shader.tones(
        np.array([look.trousers, look.colour, look.skin, (36, 28, 24), look.colour], float),
        np.array([1.0, 1.0, 1.0, 1.0, 0.8]),
        lit,
        fog,
    )
    canvas.start()
    if fallen:
        body = _box_corners(-0.22, 0.22, 0.0, 0.26, -H / 2, H / 2 - 0.25)
        pts = np.vstack([body, [[0.0, 0.12, H / 2 - 0.12]]])
        X, Y, Z = _transform(cam, pts, lat, lon, c, s)
        vis = _visible_faces(X, Y, Z, 1)[0]
        U, V = cam.project(X, Y, np.maximum(Z, NEAR))
        FP = _pts(U, V)
        for fi in np.nonzero(vis)[0]:
            _face(canvas, cam, X, Y, Z, FP, FACE_INDEX[fi], shirt if fi == 4 else shirt_dark)
        if Z[8] > NEAR:
            canvas.disc(U[8], V[8], cam.f * 0.11 / Z[8], skin)
        return canvas.bbox()
    stride = 0.32 * H * (np.sin(phase / 1.4 * 2 * np.pi) if moving else 0.0)
    pts = _PERSON * H
    pts[2, 2], pts[3, 2] = stride / 2, -stride / 2
    pts[6, 2], pts[7, 2] = -0.3 * stride, 0.3 * stride
    pts[9, 2] += stride / 3
    pts[10, 2] -= stride / 3
    width = 0.24 if look.child else 0.2
    torso = _TORSO * [width / 0.2 * H, H, H]
    X, Y, Z = _transform(cam, np.vstack([torso, pts]), lat, lon, c, s)
    if Z.min() < NEAR:
        return None
    U, V = cam.project(X, Y, Z)
    FP = _pts(U, V)
    u, v = U[8:], V[8:]
    scale = cam.f * H / Z[16]
    limb = max(1.0, 0.075 * scale)
    for hip, knee, foot in ((0, 9, 2), (1, 10, 3)):
        canvas.line(u[hip], v[hip], u[knee], v[knee], trousers, limb)
        canvas.line(u[knee], v[knee], u[foot], v[foot], trousers, limb * 0.9)
    vis = _visible_faces(X, Y, Z, 1)[0]
    for fi in np.nonzero(vis)[0]:
        canvas.fill(FP[FACE_INDEX[fi]], shirt if fi in (0, 1, 4) else shirt_dark)
    for sh, hand in ((4, 6), (5, 7)):
        canvas.line(u[sh], v[sh], u[hand], v[hand], shirt, limb * 0.8)
    r = max(1.0, 0.075 * scale)
    canvas.disc(u[8], v[8], r, skin)
    if r > 2.5:
        cv2.ellipse(
            canvas.frame, _p(u[8], v[8] - 0.25 * r), (_r(r), _r(0.8 * r)), 0, 180, 360, hair, -1, AA, SHIFT
        )
    return canvas.bbox()


_BIKE = np.array([
    [0.0, 0.34, -0.55], [0.0, 0.34, 0.55],  # 0, 1 hubs
    [0.0, 0.32, 0.0], [0.0, 0.92, -0.18], [0.0, 1.02, 0.42],  # 2 crank, 3 seat, 4 bar
    [0.0, 1.45, 0.12], [0.0, 1.64, 0.2],  # 5 shoulder, 6 head
    [0.12, 0.32, 0.0], [-0.12, 0.32, 0.0],  # 7, 8 pedals (+ crank offsets)
    [0.12, 0.7, 0.2], [-0.12, 0.7, 0.2],  # 9, 10 knees
])  # fmt: skip


def draw_cyclist(canvas: Canvas, cam: Camera, shader: Shader, look, lat: float, lon: float, heading: float,
                 phase: float, fallen: bool, lights_on: bool) -> tuple[int, int, int, int] | None:  # fmt: skip
    """A cyclist: two wheels, a frame and a rider pedalling (or bike and rider on the ground)."""
    dist = float(np.hypot(lat - cam.lateral, lon))
    if lon < NEAR + 0.6 or dist > 250:
        return None
    c, s = float(np.cos(heading)), float(np.sin(heading))
    lit, fog = shader.light(dist, lat - cam.lateral), shader.fog(dist)
    frame_c, rider, legs, skin, helmet = shader.tones(
        np.array([(50, 52, 60), look.colour, look.trousers, look.skin, (40, 90, 200)], float),
        np.ones(5),
        lit,
        fog,
    )
    canvas.start()
    if fallen:
        pts = np.array([[0.0, 0.05, -0.55], [0.0, 0.05, 0.55], [0.6, 0.12, -0.6], [0.6, 0.12, 0.8]])
        X, Y, Z = _transform(cam, pts, lat, lon, c, s)
        if Z.min() < NEAR:
            return None
        U, V = cam.project(X, Y, Z)
        thick = max(1.0, cam.f * 0.06 / Z.mean())
        canvas.line(U[0], V[0], U[1], V[1], frame_c, thick)
        canvas.line(U[2], V[2], U[3], V[3], rider, thick * 3)
        return canvas.bbox()
    crank = phase / 2.0 * 2 * np.pi
    pts = _BIKE.copy()
    pedal = np.array([0.0, 0.17 * np.cos(crank), 0.17 * np.sin(crank)])
    pts[7] += pedal
    pts[8] -= pedal
    pts[9, 2] += 0.1 * np.sin(crank)
    pts[10, 2] -= 0.1 * np.sin(crank)
    X, Y, Z = _transform(cam, pts, lat, lon, c, s)
    if Z.min() < NEAR:
        return None
    u, v = cam.project(X, Y, Z)
    ang = np.arctan2(X[2], Z[2])
    side_view = abs(np.sin(float(cam.heading_offset(lon)) + heading - ang))
    thick = max(1.0, cam.f * 0.04 / Z[2])
    for i in (0, 1):
        r = cam.f * 0.34 / Z[i]
        canvas.ellipse(
            u[i], v[i], max(0.8, r * (0.1 + 0.9 * side_view)), r, frame_c, max(1, min(255, int(thick)))
        )
    for i, j in ((0, 3), (3, 2), (2, 0), (3, 4), (4, 1), (2, 4)):
        canvas.line(u[i], v[i], u[j], v[j], frame_c, thick)
    scale = cam.f * 1.7 / Z[6]
    limb = max(1.0, 0.07 * scale)
    for knee, ped in ((9, 7), (10, 8)):
        canvas.line(u[3], v[3], u[knee], v[knee], legs, limb)
        canvas.line(u[knee], v[knee], u[ped], v[ped], legs, limb * 0.9)
    canvas.line(u[3], v[3], u[5], v[5], rider, limb * 2.0)
    canvas.line(u[5], v[5], u[4], v[4], rider, limb * 0.8)
    canvas.disc(u[6], v[6], max(1.0, 0.07 * scale), skin)
    if 0.07 * scale > 2:
        canvas.disc(u[6], v[6] - 0.03 * scale, 0.075 * scale, helmet)
    if lights_on:
        r = cam.f * 0.34 / Z[1]
        canvas.glow(u[1], v[1] - r, max(1.5, 0.6 * r), max(1.5, 0.6 * r), (255, 240, 200))
        canvas.glow(u[0], v[0] - r, max(1.0, 0.4 * r), max(1.0, 0.4 * r), (200, 20, 20))
    return canvas.bbox()
