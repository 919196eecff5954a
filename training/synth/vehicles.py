"""Vehicles as shaded boxes (body and cabin, or cargo box and cab) with glass, lights and wheels."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import numpy as np

from accident_anticipation_ros.training.synth.camera import NEAR, Camera
from accident_anticipation_ros.training.synth.draw import (
    FACE_INDEX,
    FACE_NAMES,
    FACE_SHADE,
    Canvas,
    Shader,
    _box_corners,
    _face,
    _pts,
    _transform,
    _visible_faces,
)
from accident_anticipation_ros.training.synth.palette import VEHICLES

# Detail kinds and the palette row they are shaded with.
GLASS, TAIL, HEAD, PLATE, DARK, SEAM = range(6)


@dataclass(frozen=True)
class VehicleModel:
    """Local geometry of a vehicle type (metres; rear at z = -L/2, front at +L/2), as one point array."""

    points: np.ndarray  # (N, 3): box corners, detail quads, wheels, tail, head, shadow
    nb: int  # number of boxes (corners are points[: nb * 8])
    box_kind: tuple[str, ...]  # body | cabin
    details: tuple[tuple[int, int, int, int], ...]  # (box, face index, kind, first point)
    wheel_at: int  # 4 wheel centres
    wheel_side: tuple[int, ...]  # -1 left / +1 right
    radius: float
    tail_at: int  # 2 tail lights
    head_at: int  # 2 head lights
    shadow_at: int  # 4 footprint corners


def _face_rect(
    corners: np.ndarray, face: str, h: tuple[float, float], v: tuple[float, float], out: float = 0.02
):
    """A rectangle on a face of a box: ``h`` fractions along its horizontal axis, ``v`` along y."""
    lo, hi = corners.min(0), corners.max(0)
    y0, y1 = lo[1] + v[0] * (hi[1] - lo[1]), lo[1] + v[1] * (hi[1] - lo[1])
    if face in ("rear", "front"):
        z = lo[2] - out if face == "rear" else hi[2] + out
        x0, x1 = lo[0] + h[0] * (hi[0] - lo[0]), lo[0] + h[1] * (hi[0] - lo[0])
        return np.array([[x0, y0, z], [x1, y0, z], [x1, y1, z], [x0, y1, z]])
    x = lo[0] - out if face == "left" else hi[0] + out
    z0, z1 = lo[2] + h[0] * (hi[2] - lo[2]), lo[2] + h[1] * (hi[2] - lo[2])
    return np.array([[x, y0, z0], [x, y0, z1], [x, y1, z1], [x, y1, z0]])


@cache
def vehicle_model(name: str) -> VehicleModel:
    """Box model of ``palette.VEHICLES[name]``: a body and a cabin (a cargo box and a cab for trucks)."""
    vt = VEHICLES[name]
    L, W, H, c, bh = vt.length, vt.width, vt.height, vt.clearance, vt.body_height
    half = L / 2
    det: list[tuple[int, str, int, np.ndarray]] = []
    if name == "truck":
        cab_len = 2.0
        cargo = _box_corners(-W / 2, W / 2, c + 0.15, H, -half, half - cab_len - 0.15)
        cab = _box_corners(-W / 2 + 0.05, W / 2 - 0.05, c, 2.75, half - cab_len, half)
        boxes, kinds = [cargo, cab], ("body", "body")
        det += [(1, "front", GLASS, _face_rect(cab, "front", (0.08, 0.92), (0.55, 0.92)))]
        det += [(1, f, GLASS, _face_rect(cab, f, (0.45, 0.92), (0.55, 0.9))) for f in ("left", "right")]
        det += [
            (0, "rear", DARK, _face_rect(cargo, "rear", (0.0, 1.0), (0.0, 0.05))),
            (0, "rear", SEAM, _face_rect(cargo, "rear", (0.49, 0.51), (0.05, 0.98))),
            (0, "rear", TAIL, _face_rect(cargo, "rear", (0.03, 0.15), (0.06, 0.12))),
            (0, "rear", TAIL, _face_rect(cargo, "rear", (0.85, 0.97), (0.06, 0.12))),
            (1, "front", HEAD, _face_rect(cab, "front", (0.06, 0.22), (0.12, 0.22))),
            (1, "front", HEAD, _face_rect(cab, "front", (0.78, 0.94), (0.12, 0.22))),
        ]
        tail = [[-W / 2 + 0.25, c + 0.35, -half], [W / 2 - 0.25, c + 0.35, -half]]
        head = [[-W / 2 + 0.3, c + 0.45, half], [W / 2 - 0.3, c + 0.45, half]]
    elif name == "bus":
        body = _box_corners(-W / 2, W / 2, c, H, -half, half)
        boxes, kinds = [body], ("body",)
        det += [
            (0, "front", GLASS, _face_rect(body, "front", (0.05, 0.95), (0.35, 0.92))),
            (0, "rear", GLASS, _face_rect(body, "rear", (0.1, 0.9), (0.62, 0.88))),
            (0, "left", GLASS, _face_rect(body, "left", (0.03, 0.97), (0.45, 0.86))),
            (0, "right", GLASS, _face_rect(body, "right", (0.03, 0.97), (0.45, 0.86))),
            (0, "rear", TAIL, _face_rect(body, "rear", (0.03, 0.14), (0.12, 0.22))),
            (0, "rear", TAIL, _face_rect(body, "rear", (0.86, 0.97), (0.12, 0.22))),
            (0, "front", HEAD, _face_rect(body, "front", (0.05, 0.2), (0.06, 0.13))),
            (0, "front", HEAD, _face_rect(body, "front", (0.8, 0.95), (0.06, 0.13))),
            (0, "rear", PLATE, _face_rect(body, "rear", (0.4, 0.6), (0.05, 0.1))),
        ]
        tail = [[-W / 2 + 0.2, c + 0.55, -half], [W / 2 - 0.2, c + 0.55, -half]]
        head = [[-W / 2 + 0.35, c + 0.3, half], [W / 2 - 0.35, c + 0.3, half]]
    else:
        body = _box_corners(-W / 2, W / 2, c, bh, -half, half)
        cw = W / 2 * 0.86
        cabin = _box_corners(-cw, cw, bh, H, -half + vt.cabin_start * L, -half + vt.cabin_end * L)
        boxes, kinds = [body, cabin], ("body", "cabin")
        det += [
            (1, "rear", GLASS, _face_rect(cabin, "rear", (0.07, 0.93), (0.1, 0.88))),
            (1, "front", GLASS, _face_rect(cabin, "front", (0.06, 0.94), (0.08, 0.9))),
            (1, "left", GLASS, _face_rect(cabin, "left", (0.06, 0.94), (0.12, 0.86))),
            (1, "right", GLASS, _face_rect(cabin, "right", (0.06, 0.94), (0.12, 0.86))),
            (0, "rear", TAIL, _face_rect(body, "rear", (0.02, 0.2), (0.55, 0.85))),
            (0, "rear", TAIL, _face_rect(body, "rear", (0.8, 0.98), (0.55, 0.85))),
            (0, "rear", PLATE, _face_rect(body, "rear", (0.38, 0.62), (0.2, 0.42))),
            (0, "rear", DARK, _face_rect(body, "rear", (0.0, 1.0), (0.0, 0.16))),
            (0, "front", DARK, _face_rect(body, "front", (0.3, 0.7), (0.3, 0.62))),
            (0, "front", HEAD, _face_rect(body, "front", (0.04, 0.24), (0.55, 0.8))),
            (0, "front", HEAD, _face_rect(body, "front", (0.76, 0.96), (0.55, 0.8))),
            (0, "front", DARK, _face_rect(body, "front", (0.0, 1.0), (0.0, 0.16))),
        ]
        yl = c + 0.7 * (bh - c)
        tail = [[-W / 2 + 0.2, yl, -half], [W / 2 - 0.2, yl, -half]]
        head = [[-W / 2 + 0.25, yl, half], [W / 2 - 0.25, yl, half]]
    r = 0.36 if name in ("truck", "bus") else 0.33
    axle = half - (0.95 if name not in ("truck", "bus") else 1.6)
    xs = W / 2 - 0.12
    wheels = [[-xs, r, -axle], [xs, r, -axle], [-xs, r, axle], [xs, r, axle]]
    shadow = _box_corners(-W / 2 - 0.12, W / 2 + 0.12, 0.01, 0.01, -half - 0.1, half + 0.15)[[0, 1, 5, 4]]
    parts = [np.concatenate(boxes)]
    details = []
    at = len(boxes) * 8
    for box, face, kind, quad in det:
        details.append((box, FACE_NAMES.index(face), kind, at))
        parts.append(quad)
        at += 4
    wheel_at = at
    tail_at, head_at, shadow_at = at + 4, at + 6, at + 8
    parts += [np.array(wheels), np.array(tail), np.array(head), shadow]
    return VehicleModel(np.concatenate(parts), len(boxes), kinds, tuple(details), wheel_at, (-1, 1, -1, 1), r, tail_at,
                        head_at, shadow_at)  # fmt: skip


_FIXED = np.array([[44, 54, 66], [150, 20, 22], [210, 210, 200], [226, 222, 200], [34, 35, 38],
                   [18, 18, 20], [120, 122, 126], [16, 16, 18]], float)  # fmt: skip
# glass, dim tail, dim head, plate, dark trim, tyre, rim, shadow
_FIXED_F = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0])


def draw_vehicle(canvas: Canvas, cam: Camera, shader: Shader, name: str, colour, lat: float, lon: float,
                 heading: float, brake: bool, lights_on: bool) -> tuple[int, int, int, int] | None:  # fmt: skip
    """Draw a vehicle centred at ``(lat, lon)`` on the road; return its bounding box."""
    m = vehicle_model(name)
    c, s = float(np.cos(heading)), float(np.sin(heading))
    X, Y, Z = _transform(cam, m.points, lat, lon, c, s)
    nb8 = m.nb * 8
    zmax = Z[:nb8].max()
    if zmax < NEAR or Z[:nb8].min() > 400:
        return None
    U, V = cam.project(X, Y, np.maximum(Z, NEAR))
    if U[:nb8].max() < -canvas.w or U[:nb8].min() > 2 * canvas.w:
        return None
    FP = _pts(U, V)
    canvas.start()
    visible = _visible_faces(X, Y, Z, m.nb)
    dist = float(np.hypot(lat - cam.lateral, lon))
    far = cam.f * VEHICLES[name].width / max(float(Z[:nb8].min()), NEAR) < 7.0  # a few pixels: no details
    lit, fog = shader.light(dist, lat - cam.lateral), shader.fog(dist)
    body = np.asarray(colour, float)
    tones = shader.tones(
        np.vstack([np.repeat(body[None], 7, 0), _FIXED]),
        np.concatenate([FACE_SHADE, [0.98, 0.55], _FIXED_F]),
        lit,
        fog,
    )
    face_c, cabin_top, seam = tones[:5], tones[5], tones[6]
    glass, tail_dim, head_dim, plate, dark, tyre, rim, shadow = tones[7:]
    if shader.night < 0.5 and not far:
        _face(canvas, cam, X, Y, Z, FP, np.arange(m.shadow_at, m.shadow_at + 4), shadow)
    # Wheels: the far side before the body, the near side after it.
    ang = np.arctan2(X[:nb8].mean(), Z[:nb8].mean())
    side_view = abs(np.sin(float(cam.heading_offset(lon)) + heading - ang))
    side_vis = {-1: bool(visible[0, 2]), 1: bool(visible[0, 3])}

    def wheel(i: int) -> None:
        j = m.wheel_at + i
        if Z[j] < NEAR:
            return
        r = cam.f * m.radius / Z[j]
        a = r * (0.38 + 0.62 * side_view)
        canvas.ellipse(U[j], V[j], a, r, tyre)
        if r > 3 and side_view > 0.5 and side_vis[m.wheel_side[i]]:
            canvas.ellipse(U[j], V[j], a * 0.5, r * 0.5, rim)

    near = [i for i in range(4) if side_vis[m.wheel_side[i]] and side_view > 0.3] if not far else []
    for i in range(4 if not far else 0):
        if i not in near:
            wheel(i)
    zb = Z[:nb8].reshape(m.nb, 8).mean(1)
    for b in np.argsort(-zb):
        cabin = m.box_kind[b] == "cabin"
        for fi in np.nonzero(visible[b])[0]:
            colour_f = cabin_top if (cabin and fi == 4) else face_c[fi]
            _face(canvas, cam, X, Y, Z, FP, FACE_INDEX[fi] + b * 8, colour_f)
        for box, fi, kind, at in m.details:
            if box != b or not visible[b, fi] or (far and kind not in (TAIL, HEAD)):
                continue
            if kind == GLASS:
                col = glass
            elif kind == TAIL:
                col = (255, 48, 40) if brake else ((190, 30, 28) if lights_on else tail_dim)
            elif kind == HEAD:
                col = (255, 250, 228) if lights_on else head_dim
            elif kind == PLATE:
                col = plate
            elif kind == SEAM:
                col = seam
            else:
                col = dark
            _face(canvas, cam, X, Y, Z, FP, np.arange(at, at + 4), col)
        if b == 0:
            for i in near:
                wheel(i)
    if lights_on or brake:
        rear_vis, front_vis = bool(visible[0, 0]), bool(visible[-1, 1])
        for i in range(2):
            j = m.tail_at + i
            if rear_vis and Z[j] > NEAR:
                r = max(1.2, cam.f * (0.42 if brake else 0.28) / Z[j])
                col = (230, 36, 26) if brake else (120, 16, 12)
                canvas.glow(U[j], V[j], r, r, col)
                if shader.wet:
                    canvas.glow(U[j], V[j] + 3 * r, 0.5 * r, 3 * r, (col[0] // 2, col[1] // 2, col[2] // 2))
            j = m.head_at + i
            if lights_on and front_vis and Z[j] > NEAR:
                r = max(1.5, cam.f * 0.5 / Z[j])
                canvas.glow(U[j], V[j], r, r, (255, 245, 215))
                canvas.disc(U[j], V[j], max(0.8, 0.3 * r), (255, 252, 240))
                if shader.wet:
                    canvas.glow(U[j], V[j] + 4 * r, 0.5 * r, 4 * r, (140, 135, 110))
    return canvas.bbox()
