"""Pinhole dashcam over a curved road: road coordinates -> camera coordinates -> pixels.

Road coordinates: ``lat`` metres to the right of the ego lane's centre line, ``up`` metres above the
road, ``lon`` metres ahead of the camera along the road. The road bends with curvature ``kappa``
(1/m): its centre line sits ``0.5 * kappa * lon**2`` to the side at distance ``lon``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

NEAR = 0.35  # metres; geometry closer than this to the camera plane is clipped


@dataclass(frozen=True)
class Camera:
    """One frame's camera.

    Attributes:
        f: Focal length in pixels.
        cx: Principal point x.
        cy: Principal point y.
        height: Camera height above the road (m).
        lateral: Camera offset from the ego lane centre (m, right positive).
        kappa: Road curvature at the camera (1/m).
        yaw: Heading relative to the road tangent (rad, right positive).
        pitch: Downward tilt (rad); positive moves the horizon up.
    """

    f: float
    cx: float
    cy: float
    height: float
    lateral: float
    kappa: float
    yaw: float
    pitch: float

    def __post_init__(self) -> None:
        # Trigonometry once per frame, not per call.
        object.__setattr__(self, "_cy", float(np.cos(self.yaw)))
        object.__setattr__(self, "_sy", float(np.sin(self.yaw)))
        object.__setattr__(self, "_cp", float(np.cos(self.pitch)))
        object.__setattr__(self, "_sp", float(np.sin(self.pitch)))

    def road_to_camera(self, lat, up, lon) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Road coordinates -> rotated camera coordinates ``(x right, y up, z forward)``."""
        x = lat + 0.5 * self.kappa * lon * lon - self.lateral
        y = up - self.height
        xr = x * self._cy - lon * self._sy
        zr = x * self._sy + lon * self._cy
        return xr, y * self._cp + zr * self._sp, zr * self._cp - y * self._sp

    def project(self, x, y, z) -> tuple[np.ndarray, np.ndarray]:
        """Camera coordinates (z > 0) -> pixel coordinates ``(u, v)``."""
        inv = self.f / np.maximum(z, 1e-6)
        return self.cx + x * inv, self.cy - y * inv

    def road_to_pixels(self, lat, up, lon) -> tuple[np.ndarray, np.ndarray]:
        """Road coordinates -> pixels (no near-plane clipping: use for points ahead only)."""
        return self.project(
            *self.road_to_camera(np.asarray(lat, float), np.asarray(up, float), np.asarray(lon, float))
        )

    def horizon_v(self) -> float:
        """Pixel row of the horizon."""
        return self.cy - self.f * np.tan(self.pitch)

    def heading_offset(self, lon) -> np.ndarray:
        """Angle of the road tangent at ``lon`` in the camera's frame (rad)."""
        return np.arctan(self.kappa * np.asarray(lon, float)) - self.yaw


def clip_polygon_near(x: np.ndarray, y: np.ndarray, z: np.ndarray, near: float = NEAR):
    """Clip a planar polygon (camera coordinates) against the plane ``z = near``.

    Returns the clipped ``(x, y, z)`` arrays, or ``None`` when nothing is in front of the camera.
    """
    inside = z >= near
    if inside.all():
        return x, y, z
    if not inside.any():
        return None
    xs, ys, zs = [], [], []
    n = len(z)
    for i in range(n):
        j = (i + 1) % n
        if inside[i]:
            xs.append(x[i])
            ys.append(y[i])
            zs.append(z[i])
        if inside[i] != inside[j]:
            t = (near - z[i]) / (z[j] - z[i])
            xs.append(x[i] + t * (x[j] - x[i]))
            ys.append(y[i] + t * (y[j] - y[i]))
            zs.append(near)
    if len(zs) < 3:
        return None
    return np.array(xs), np.array(ys), np.array(zs)
