"""Drawing primitives: the canvas, shading, glow sprites, box transforms and back-face culling.

Everything is drawn into an RGB ``uint8`` frame in the painter's order the caller decides. Each object
is transformed to the camera in one vectorised call; colours are shaded in one numpy expression.
Light sources are collected as glow sprites that the renderer adds at the end. The objects themselves
live in ``vehicles``, ``people`` and ``scenery``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from accident_anticipation_ros.training.synth.camera import NEAR, Camera, clip_polygon_near

SHIFT = 4  # sub-pixel bits for cv2 polygon / line / circle coordinates
ONE = 1 << SHIFT
LIMIT = 30000.0  # pixel coordinates are clamped to +-LIMIT (cv2 works in int32 with SHIFT bits)
AA = cv2.LINE_AA

# Faces as corner lists (see _box_corners) whose normal cross(d - a, b - a) points out of the box.
FACE_NAMES = ("rear", "front", "left", "right", "top")
FACE_INDEX = np.array([(0, 1, 2, 3), (4, 7, 6, 5), (0, 3, 7, 4), (1, 5, 6, 2), (3, 2, 6, 7)])
FACE_SHADE = np.array([0.74, 0.8, 0.86, 0.86, 1.08])


def _pts(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Pixel coordinates -> cv2 fixed-point ``int32`` points (last axis 2)."""
    p = np.stack([u, v], axis=-1) * ONE
    np.clip(p, -LIMIT * ONE, LIMIT * ONE, out=p)
    return np.rint(p, out=p).astype(np.int32)


def _p(u: float, v: float) -> tuple[int, int]:
    return int(min(max(u, -LIMIT), LIMIT) * ONE), int(min(max(v, -LIMIT), LIMIT) * ONE)


def _r(r: float) -> int:
    return max(1, int(min(r, LIMIT) * ONE))


def _box_corners(x0, x1, y0, y1, z0, z1) -> np.ndarray:
    """The 8 corners: a ring at ``z0`` (x0y0, x1y0, x1y1, x0y1), then the same ring at ``z1``."""
    ring = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    return np.array([(x, y, z) for z in (z0, z1) for x, y in ring], float)


@dataclass
class Shader:
    """Turns base colours into the colours seen at a distance under the clip's light and fog."""

    ambient: float
    night: float  # 0 (day) .. 1 (night): how much the ego's headlights matter
    fog_colour: tuple[int, int, int]
    visibility: float  # metres; fog / haze extinction length
    wet: bool = False

    def __post_init__(self) -> None:
        self._fog = np.array(self.fog_colour, float)

    def light(self, dist: float, lateral: float = 0.0) -> float:
        """Light level on an object ``dist`` metres ahead, ``lateral`` metres off the camera axis."""
        beam = np.exp(-max(dist - 6.0, 0.0) / 28.0 - (lateral / (2.0 + 0.35 * dist)) ** 2)
        return self.ambient + self.night * 0.95 * float(beam)

    def fog(self, dist: float) -> float:
        return 1.0 - float(np.exp(-max(dist, 0.0) / self.visibility))

    def tones(
        self, colours: np.ndarray, factors: np.ndarray, lit: float, fog: float
    ) -> list[tuple[int, int, int]]:
        """``(K, 3)`` base colours times ``(K,)`` factors, lit and fogged -> K colour tuples."""
        c = np.minimum(colours * (factors[:, None] * lit), 255.0)
        c = c + (self._fog - c) * fog
        return [tuple(row) for row in np.rint(c).astype(int).tolist()]

    def tone(self, colour, factor: float, lit: float, fog: float) -> tuple[int, int, int]:
        return self.tones(np.asarray([colour], float), np.array([factor]), lit, fog)[0]


class Canvas:
    """The frame being drawn, the glow sprites collected, and the extent of the current object."""

    def __init__(self, frame: np.ndarray):
        self.frame = frame
        self.h, self.w = frame.shape[:2]
        self.glows: list[tuple[float, float, float, float, tuple[int, int, int]]] = []
        self.lo = [np.inf, np.inf]
        self.hi = [-np.inf, -np.inf]

    def start(self) -> None:
        self.lo = [np.inf, np.inf]
        self.hi = [-np.inf, -np.inf]

    def _grow(self, x0: float, y0: float, x1: float, y1: float) -> None:
        lo, hi = self.lo, self.hi
        if x0 < lo[0]:
            lo[0] = x0
        if y0 < lo[1]:
            lo[1] = y0
        if x1 > hi[0]:
            hi[0] = x1
        if y1 > hi[1]:
            hi[1] = y1

    def bbox(self) -> tuple[int, int, int, int] | None:
        """Bounding box of what was drawn since ``start``, clipped to the frame; ``None`` if off-frame."""
        x0, y0 = max(0.0, self.lo[0]), max(0.0, self.lo[1])
        x1, y1 = min(self.w - 1.0, self.hi[0]), min(self.h - 1.0, self.hi[1])
        if x1 - x0 < 1 or y1 - y0 < 1:
            return None
        return int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))

    def fill(self, pts: np.ndarray, colour, aa: bool = False) -> None:
        """Fill a convex polygon given as fixed-point points ``(n, 2)``."""
        mn, mx = pts.min(0), pts.max(0)
        if mx[0] < 0 or mx[1] < 0 or mn[0] > self.w * ONE or mn[1] > self.h * ONE:
            return
        self._grow(mn[0] / ONE, mn[1] / ONE, mx[0] / ONE, mx[1] / ONE)
        cv2.fillConvexPoly(self.frame, pts, colour, AA if aa else cv2.LINE_8, SHIFT)

    def poly3d(self, cam: Camera, x, y, z, colour) -> None:
        """Fill a planar polygon given in camera coordinates, clipped at the near plane."""
        clipped = clip_polygon_near(x, y, z)
        if clipped is not None:
            self.fill(_pts(*cam.project(*clipped)), colour)

    def line(self, u0, v0, u1, v1, colour, thickness: float) -> None:
        t = max(1, min(255, int(round(thickness))))
        self._grow(min(u0, u1) - t / 2, min(v0, v1) - t / 2, max(u0, u1) + t / 2, max(v0, v1) + t / 2)
        cv2.line(self.frame, _p(u0, v0), _p(u1, v1), colour, t, AA, SHIFT)

    def disc(self, u, v, r, colour) -> None:
        self._grow(u - r, v - r, u + r, v + r)
        cv2.circle(self.frame, _p(u, v), _r(r), colour, -1, AA, SHIFT)

    def ellipse(self, u, v, a, b, colour, thickness: int = -1) -> None:
        self._grow(u - a, v - b, u + a, v + b)
        cv2.ellipse(self.frame, _p(u, v), (_r(a), _r(b)), 0, 0, 360, colour, thickness, AA, SHIFT)

    def glow(self, u: float, v: float, rx: float, ry: float, colour) -> None:
        """Queue an additive light sprite (Gaussian blob of radii ``rx``, ``ry``)."""
        rx, ry = min(rx, 0.12 * self.w), min(ry, 0.25 * self.h)
        if -3 * rx < u < self.w + 3 * rx and -3 * ry < v < self.h + 3 * ry:
            self.glows.append((u, v, rx, ry, colour))


@lru_cache(maxsize=4096)
def _sprite(rx: int, ry: int, colour: tuple[int, int, int]) -> np.ndarray:
    ax = np.arange(-3 * rx, 3 * rx + 1, dtype=np.float32) / max(rx, 1)
    ay = np.arange(-3 * ry, 3 * ry + 1, dtype=np.float32) / max(ry, 1)
    g = np.exp(-0.5 * (ay[:, None] ** 2 + ax[None, :] ** 2))[..., None]
    return np.rint(g * np.array(colour, np.float32)).astype(np.uint8)


def add_glows(frame: np.ndarray, glows) -> None:
    """Add the queued light sprites to ``frame`` (saturating)."""
    H, W = frame.shape[:2]
    for u, v, rx, ry, colour in glows:
        q = tuple(int(c) // 8 * 8 for c in colour)
        spr = _sprite(max(1, int(round(rx))), max(1, int(round(ry))), q)
        h, w = spr.shape[:2]
        x0, y0 = int(round(u)) - w // 2, int(round(v)) - h // 2
        xa, ya, xb, yb = max(x0, 0), max(y0, 0), min(x0 + w, W), min(y0 + h, H)
        if xa >= xb or ya >= yb:
            continue
        roi = frame[ya:yb, xa:xb]
        cv2.add(roi, spr[ya - y0 : yb - y0, xa - x0 : xb - x0], dst=roi)


def _transform(cam: Camera, p: np.ndarray, lat: float, lon: float, c: float, s: float):
    """Local points ``(N, 3)`` (x right, y up, z forward) of an object at ``(lat, lon)``, heading (c, s)."""
    x, y, z = p[:, 0], p[:, 1], p[:, 2]
    return cam.road_to_camera(lat + x * c + z * s, y, lon - x * s + z * c)


def _visible_faces(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, nb: int) -> np.ndarray:
    """Back-face culling of ``nb`` boxes whose corners are the first ``nb * 8`` points -> ``(nb, 5)``."""
    n8 = nb * 8
    x, y, z = (c[:n8].reshape(nb, 8)[:, FACE_INDEX] for c in (X, Y, Z))  # (nb, 5, 4) each
    ax, ay, az = x[..., 0], y[..., 0], z[..., 0]
    dx, dy, dz = x[..., 3] - ax, y[..., 3] - ay, z[..., 3] - az
    bx, by, bz = x[..., 1] - ax, y[..., 1] - ay, z[..., 1] - az
    # normal = (d - a) x (b - a); visible when it points towards the camera at the origin
    return (dy * bz - dz * by) * ax + (dz * bx - dx * bz) * ay + (dx * by - dy * bx) * az < 0


def _face(canvas: Canvas, cam: Camera, X, Y, Z, FP, idx, colour) -> None:
    if Z[idx].min() >= NEAR:
        canvas.fill(FP[idx], colour)
    else:
        canvas.poly3d(cam, X[idx], Y[idx], Z[idx], colour)
