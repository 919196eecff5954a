"""Scenery beside the road: trees, bushes, lamp posts, posts and buildings with windows."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from accident_anticipation_ros.training.synth.camera import NEAR, Camera
from accident_anticipation_ros.training.synth.draw import SHIFT, Canvas, Shader, _pts


def draw_tree(canvas: Canvas, cam: Camera, shader: Shader, prop, lon: float) -> None:
    h, r = prop.size
    lit, fog = shader.light(lon, prop.lat - cam.lateral) * 0.9, shader.fog(lon)
    trunk, dark, light = shader.tones(np.array([(84, 62, 44), prop.colour, prop.colour], float),
                                      np.array([1.0, 0.8, 1.05]), lit, fog)  # fmt: skip
    lat = np.array([prop.lat, prop.lat, prop.lat, prop.lat + 0.3 * r])
    u, v = cam.road_to_pixels(lat, np.array([0.0, 0.5, 0.68, 0.8]) * h, np.full(4, lon))
    scale = cam.f / lon
    canvas.line(u[0], v[0], u[1], v[1], trunk, max(1.0, 0.3 * scale))
    canvas.disc(u[2], v[2], r * scale, dark)
    canvas.disc(u[3], v[3], 0.75 * r * scale, light)


def draw_bush(canvas: Canvas, cam: Camera, shader: Shader, prop, lon: float) -> None:
    (r,) = prop.size
    col = shader.tone(prop.colour, 1.0, shader.light(lon, prop.lat - cam.lateral), shader.fog(lon))
    u, v = cam.road_to_pixels(prop.lat, 0.5 * r, lon)
    s = cam.f / lon
    canvas.ellipse(float(u), float(v), 1.3 * r * s, 0.6 * r * s, col)


def draw_lamp(
    canvas: Canvas, cam: Camera, shader: Shader, prop, lon: float, lit_on: bool, toward: float
) -> None:
    (h,) = prop.size
    col = shader.tone(prop.colour, 1.0, shader.light(lon, prop.lat - cam.lateral), shader.fog(lon))
    arm = prop.lat + toward * 1.6
    u, v = cam.road_to_pixels(
        np.array([prop.lat, prop.lat, arm, arm]), np.array([0.0, h, h - 0.1, 0.0]), np.full(4, lon)
    )
    s = cam.f / lon
    canvas.line(u[0], v[0], u[1], v[1], col, max(1.0, 0.16 * s))
    canvas.line(u[1], v[1], u[2], v[2], col, max(1.0, 0.1 * s))
    if lit_on:
        canvas.disc(u[2], v[2], max(0.8, 0.18 * s), (255, 236, 190))
        canvas.glow(u[2], v[2], max(2.0, 0.9 * s), max(2.0, 0.9 * s), (150, 120, 70))
        depth = max(0.15, float(v[3] - v[2]) / max(h * s, 1e-3))
        canvas.glow(u[3], v[3], 2.2 * s, 2.2 * s * depth, (60, 50, 30))


def draw_post(canvas: Canvas, cam: Camera, shader: Shader, prop, lon: float) -> None:
    (h,) = prop.size
    col = shader.tone(prop.colour, 1.0, shader.light(lon, prop.lat - cam.lateral), shader.fog(lon))
    u, v = cam.road_to_pixels(np.array([prop.lat, prop.lat]), np.array([0.0, h]), np.full(2, lon))
    canvas.line(u[0], v[0], u[1], v[1], col, max(1.0, 0.12 * cam.f / lon))


@lru_cache(maxsize=1024)
def _building_geometry(lat: float, width: float, depth: float, height: float, seed: int):
    """Road-coordinate geometry of a building centred at ``lon = 0``: faces, window quads, lit windows."""
    side = 1.0 if lat > 0 else -1.0
    x_back = lat + side * depth
    z0, z1 = -width / 2, width / 2
    rows, cols = int(height // 3.2), int(width // 3.0)
    zc = z0 + (np.arange(cols) + 0.5) * width / cols
    yc = 1.2 + np.arange(rows) * 3.2
    zz, yy = (a.ravel() for a in np.meshgrid(zc, yc))
    n = len(zz)
    lats = np.concatenate([[lat] * 4, [lat, x_back, x_back, lat], np.full(4 * n, lat - side * 0.05)])
    ups = np.concatenate(
        [[0, 0, height, height], [0, 0, height, height], np.repeat(yy, 4) + np.tile([0, 0, 1.5, 1.5], n)]
    )
    lons = np.concatenate([[z0, z1, z1, z0], [z0] * 4, np.repeat(zz, 4) + np.tile([-0.6, 0.6, 0.6, -0.6], n)])
    lit = np.random.default_rng(seed).random(n) < 0.35
    return lats, ups.astype(float), lons, zz, lit


def draw_building(canvas: Canvas, cam: Camera, shader: Shader, prop, lon: float, night: bool) -> None:
    """A block beside the road: its road-facing and near end faces, with a grid of windows."""
    width, depth, height = prop.size
    z0, z1 = lon - width / 2, lon + width / 2
    if z1 < NEAR:
        return
    lats, ups, lons, zz, wlit = _building_geometry(prop.lat, width, depth, height, prop.seed)
    dist = float(np.hypot(max(lon, 1.0), prop.lat))
    lit, fog = shader.light(dist, prop.lat - cam.lateral), shader.fog(dist)
    X, Y, Z = cam.road_to_camera(lats, ups, lons + lon)
    wall, end, glass, bright = shader.tones(np.array([prop.colour, prop.colour, (60, 70, 84), (235, 200, 120)], float),
                                            np.array([0.95, 0.72, 1.0, 1.0 / max(lit, 1e-3)]), lit, fog)  # fmt: skip
    canvas.poly3d(cam, X[:4], Y[:4], Z[:4], wall)
    if z0 > NEAR:
        canvas.poly3d(cam, X[4:8], Y[4:8], Z[4:8], end)
    n = len(zz)
    if n == 0 or cam.f * 1.5 / max(z0, 1.0) < 1.5 and cam.f * 1.5 / max(z1, 1.0) < 1.5:
        return
    keep = (zz + lon - 0.6) > NEAR + 0.5
    if not keep.any():
        return
    U, V = cam.project(X[8:], Y[8:], np.maximum(Z[8:], NEAR))
    polys = _pts(U, V).reshape(n, 4, 2)
    on = wlit & night
    dark, lit_w = keep & ~on, keep & on
    if dark.any():
        cv2.fillPoly(canvas.frame, list(polys[dark]), glass, cv2.LINE_8, SHIFT)
    if lit_w.any():
        cv2.fillPoly(canvas.frame, list(polys[lit_w]), bright, cv2.LINE_8, SHIFT)
