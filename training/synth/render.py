"""Frame composition: background, road, scenery and actors in painter's order, light, weather, hood.

Per clip the renderer precomputes what does not move (sky and ground gradients with a margin for the
camera's pitch, the ego car's hood, light pools, sensor-noise tiles); per frame it draws the road and
the objects with OpenCV and adds glow, rain, crash effects and noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from accident_anticipation_ros.training.synth.camera import NEAR, Camera
from accident_anticipation_ros.training.synth.draw import ONE, SHIFT, Canvas, Shader, _p, _pts, add_glows
from accident_anticipation_ros.training.synth.motion import smooth_noise
from accident_anticipation_ros.training.synth.palette import LIGHTINGS, VEHICLES, mix, shade
from accident_anticipation_ros.training.synth.people import draw_cyclist, draw_person
from accident_anticipation_ros.training.synth.scenarios import BUMPER, LANE, Scenario
from accident_anticipation_ros.training.synth.scenery import (
    draw_building,
    draw_bush,
    draw_lamp,
    draw_post,
    draw_tree,
)
from accident_anticipation_ros.training.synth.vehicles import draw_vehicle
from accident_anticipation_ros.training.synth.world import Actor, Prop, World

AA = cv2.LINE_AA
FOG_COLOURS = {"day": (196, 200, 204), "dusk": (150, 128, 126), "night": (34, 36, 44)}


@dataclass(frozen=True)
class Junction:
    """A cross road: arc length of its centre, lateral position of its stop line, side (-1 / +1)."""

    S: float
    stop_line: float
    side: int


@dataclass
class FrameObject:
    """One road user in one frame (the per-frame metadata)."""

    id: int
    cls: str
    box: tuple[int, int, int, int]
    distance: float
    ttc: float | None
    key: bool

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "cls": self.cls,
            "box": list(self.box),
            "distance": round(float(self.distance), 2),
            "ttc": None if self.ttc is None else round(float(self.ttc), 2),
            "key": self.key,
        }


class Renderer:
    """Draws the frames of one clip."""

    def __init__(self, world: World, sc: Scenario, lighting: str, weather: str, width: int, height: int, fps: float,
                 rng: np.random.Generator):  # fmt: skip
        self.world, self.sc, self.rng = world, sc, rng
        self.W, self.H, self.fps = width, height, fps
        self.light = LIGHTINGS[lighting]
        self.lighting, self.weather = lighting, weather
        n = len(world.ego_s)
        self.t = np.arange(n) / fps
        # Intrinsics and mounting.
        hfov = np.deg2rad(rng.uniform(62, 76))
        self.f = width / 2 / np.tan(hfov / 2)
        self.tan_half = float(np.tan(hfov / 2))
        self.cam_h = rng.uniform(1.2, 1.45)
        # A level camera whose principal point sits on the horizon (a dashcam crop): verticals stay vertical.
        horizon = rng.uniform(0.38, 0.47) * height
        self.cy = horizon
        self.pitch0 = 0.0
        # Shake: road roughness, braking dive, and the crash jolt.
        rough = rng.uniform(0.0012, 0.004)
        pitch = self.pitch0 + smooth_noise(rng, self.t, rough, (1.3, 2.9, 5.3))
        pitch += 0.0045 * np.maximum(-world.ego_a, 0) - 0.002 * np.maximum(world.ego_a, 0)
        yaw = smooth_noise(rng, self.t, rough * 0.7, (0.7, 1.9, 4.1))
        yaw += np.gradient(world.ego_lateral) * fps / np.maximum(world.ego_v, 3.0)
        roll = np.zeros(n)
        if sc.positive:
            dt = self.t - sc.t_ref
            jolt = np.where(dt >= 0, np.exp(-np.maximum(dt, 0) / 0.35), 0.0)
            pitch = pitch + 0.05 * jolt * np.sin(2 * np.pi * 5.0 * np.maximum(dt, 0) + 0.3)
            yaw = yaw + 0.04 * jolt * np.sin(2 * np.pi * 3.7 * np.maximum(dt, 0)) * (
                1 if sc.side >= 0 else -1
            )
            roll = 4.0 * jolt * np.sin(2 * np.pi * 2.9 * np.maximum(dt, 0) + 1.0) * (sc.side or 1)
        self.pitch, self.yaw, self.roll = pitch, yaw, roll
        # Light and weather.
        night = {"day": 0.0, "dusk": 0.35, "night": 1.0}[lighting]
        ambient = self.light.ambient * (0.78 if weather == "rain" else 0.88 if weather == "fog" else 1.0)
        if weather == "fog":
            vis = rng.uniform(28, 65)
        elif weather == "rain":
            vis = rng.uniform(110, 220)
        else:
            vis = rng.uniform(350, 900)
        fog_colour = FOG_COLOURS[lighting]
        if weather == "rain":
            fog_colour = shade(fog_colour, 0.85)
        self.shader = Shader(ambient, night, fog_colour, vis, wet=weather == "rain")
        self.lights_on = self.light.lights_on or (weather != "clear" and rng.random() < 0.6)
        self.margin = int(0.12 * height) + 6
        self.horizon0 = horizon
        self.asphalt = shade(world.layout.asphalt, ambient * (0.72 if weather == "rain" else 1.0))
        self._background()
        self._road_setup()
        self._hood()
        self._noise()
        self._pools()
        self._rain_setup()
        self._crash_setup()

    # ---------------------------------------------------------------------------- per-clip precomputing
    def _background(self) -> None:
        H, W, M, rng = self.H, self.W, self.margin, self.rng
        total = H + 2 * M
        hz = M + self.horizon0
        rows = np.arange(total, dtype=np.float32)[:, None]
        light = self.light
        top, bottom = np.array(light.sky_top, np.float32), np.array(light.sky_horizon, np.float32)
        fogc = np.array(self.shader.fog_colour, np.float32)
        if self.weather == "fog":
            top, bottom = top * 0.25 + fogc * 0.75, fogc
        elif self.weather == "rain":
            grey = np.array(shade((150, 154, 160), light.ambient), np.float32)
            top, bottom = top * 0.35 + grey * 0.65, bottom * 0.4 + grey * 0.6
        ts = np.clip((hz - rows) / max(hz, 1.0), 0, 1) ** 0.7
        sky = bottom * (1 - ts) + top * ts
        ground = np.array(shade(self.world.layout.ground, self.shader.ambient), np.float32)
        haze = np.array(bottom, np.float32) * 0.5 + fogc * 0.5
        tg = np.clip((rows - hz) / (total - hz), 0, 1) ** 0.5
        g = haze * (1 - tg) + ground * tg
        col = np.where(rows < hz, sky, g)  # (total, 3)
        img = np.repeat(col[:, None, :], W, axis=1)
        img = np.clip(img, 0, 255).astype(np.uint8)
        # Far silhouettes at the horizon: a skyline in town, hills elsewhere.
        sil = mix(tuple(int(c) for c in bottom), (20, 22, 30), 0.35 if self.weather != "fog" else 0.08)
        if self.world.layout.road == "urban" or rng.random() < 0.3:
            x = 0
            while x < W:
                w = int(rng.integers(max(2, W // 40), max(3, W // 12)))
                h = rng.uniform(0.01, 0.07) * H
                cv2.rectangle(img, (x, int(hz - h)), (x + w, int(hz) + 1), sil, -1)
                x += w
        else:
            xs = np.linspace(0, W, 12)
            ys = hz - (rng.uniform(0.0, 0.05, 12) * H)
            poly = np.concatenate([np.stack([xs, ys], 1), [[W, hz + 1], [0, hz + 1]]])
            cv2.fillPoly(img, [np.round(poly).astype(np.int32)], sil, cv2.LINE_AA)
        if self.weather == "clear":
            if self.lighting == "night":
                for _ in range(int(rng.integers(10, 40))):
                    p = (int(rng.integers(0, W)), int(rng.integers(0, int(hz * 0.8))))
                    img[p[1], p[0]] = (200, 200, 210)
            else:
                cloud = (250, 250, 252) if self.lighting == "day" else (236, 150, 150)
                layer = np.zeros_like(img)
                for _ in range(int(rng.integers(2, 7))):
                    c = (int(rng.integers(0, W)), int(rng.uniform(0.1, 0.9) * hz))
                    ax = (int(rng.uniform(0.08, 0.25) * W), int(rng.uniform(0.015, 0.05) * H))
                    cv2.ellipse(layer, c, ax, 0, 0, 360, (1, 1, 1), -1)
                mask = cv2.GaussianBlur(layer[:, :, 0].astype(np.float32), (0, 0), max(1.0, W / 60))[
                    ..., None
                ]
                a = np.clip(mask * 0.6, 0, 0.6)
                img = (img * (1 - a) + np.array(cloud, np.float32) * a).astype(np.uint8)
        self.base = img

    def _hood(self) -> None:
        H, W, rng = self.H, self.W, self.rng
        edge, centre = rng.uniform(0.05, 0.09), rng.uniform(0.1, 0.15)
        xs = np.linspace(0, W, 17)
        ys = H * (1 - edge) - H * (centre - edge) * (1 - ((xs - W / 2) / (W / 2)) ** 2)
        poly = np.concatenate([np.stack([xs, ys], 1), [[W, H], [0, H]]])
        mask = np.zeros((H, W), np.uint8)
        cv2.fillPoly(mask, [np.round(poly * ONE).astype(np.int32)], 255, cv2.LINE_AA, SHIFT)
        paint = [(30, 30, 34), (200, 200, 204), (120, 20, 24), (30, 50, 110), (90, 92, 96), (20, 24, 40)]
        base = paint[int(rng.integers(len(paint)))]
        img = np.zeros((H, W, 3), np.float32)
        img[:] = shade(base, self.shader.ambient * 0.85)
        # A soft reflection of the sky along the hood's edge.
        refl = np.array(shade(self.light.sky_horizon, self.shader.ambient), np.float32)
        vv = np.arange(H, dtype=np.float32)[:, None]
        top = ys.min()
        band = np.exp(-np.maximum(vv - top, 0) / (0.03 * H))[..., None] * 0.35
        img = img * (1 - band) + refl * band
        self.hood_rows = int(np.floor(top)) - 1
        alpha = (mask.astype(np.float32) / 255.0)[..., None]
        # The anti-aliased edge is baked into the hood image; the mask covers every touched pixel.
        self.hood_img = np.clip(img[self.hood_rows :], 0, 255).astype(np.uint8)
        self.hood_mask = (alpha[self.hood_rows :, :, 0] > 0.5).astype(np.uint8)

    def _noise(self) -> None:
        # Daylight dashcam video is clean (and compresses well); sensor noise grows as light fades.
        sigma = {"day": 0.0, "dusk": 1.5, "night": 3.5}[self.lighting] * self.rng.uniform(0.7, 1.3)
        pad = 16
        self.noise_pos = self.noise_neg = None
        if sigma == 0:
            return
        noise = self.rng.normal(0, sigma, (self.H + pad, self.W + pad, 1)).astype(np.float32)
        noise = noise + self.rng.normal(0, sigma * 0.4, (self.H + pad, self.W + pad, 3)).astype(np.float32)
        self.noise_pos = np.clip(noise, 0, 255).astype(np.uint8)
        self.noise_neg = np.clip(-noise, 0, 255).astype(np.uint8)

    def _pools(self) -> None:
        """The ego's headlight pool on the road (additive), used at dusk and night."""
        self.pool = None
        if self.shader.night <= 0:
            return
        H, W = self.H, self.W
        pool = np.zeros((H, W, 3), np.uint8)
        hz = self.horizon0
        pts = np.array(
            [
                [0.42 * W, hz + 0.12 * (H - hz)],
                [0.58 * W, hz + 0.12 * (H - hz)],
                [1.05 * W, H],
                [-0.05 * W, H],
            ]
        )
        cv2.fillPoly(
            pool, [np.round(pts).astype(np.int32)], shade((112, 104, 84), self.shader.night), cv2.LINE_AA
        )
        self.pool = cv2.GaussianBlur(pool, (0, 0), W / 14)

    def _rain_setup(self) -> None:
        rng = self.rng
        self.rain = None
        if self.weather != "rain":
            return
        n = int(rng.uniform(40, 110) * (self.W * self.H) / 224**2)
        slant = rng.uniform(-0.35, 0.35)
        level = 70 if self.lighting == "day" else 45 if self.lighting == "dusk" else 30
        drops = rng.uniform(0, 1, (int(rng.integers(6, 18)), 3)) * [self.W, self.H, 1]
        layer = np.zeros((self.H, self.W, 3), np.uint8)
        seed = int(rng.integers(1 << 31))
        self.rain = {"n": n, "slant": slant, "level": level, "drops": drops, "layer": layer, "seed": seed}

    def _crash_setup(self) -> None:
        self.crack = None
        if not self.sc.positive:
            return
        rng, W, H = self.rng, self.W, self.H
        side = self.sc.side if self.sc.name in ("cut_in", "junction") else int(rng.choice([-1, 0, 1]))
        origin = np.array(
            [W / 2 + side * 0.22 * W + rng.uniform(-0.05, 0.05) * W, rng.uniform(0.45, 0.65) * H]
        )
        crack = np.zeros((H, W, 3), np.uint8)
        for _ in range(int(rng.integers(7, 13))):
            ang = rng.uniform(0, 2 * np.pi)
            p = origin.copy()
            length = rng.uniform(0.15, 0.5) * W
            steps = 6
            pts = [p.copy()]
            for _ in range(steps):
                ang += rng.uniform(-0.35, 0.35)
                p = p + length / steps * np.array([np.cos(ang), np.sin(ang)])
                pts.append(p.copy())
            cv2.polylines(
                crack, [np.round(np.array(pts)).astype(np.int32)], False, (150, 150, 155), 1, cv2.LINE_AA
            )
        for r in rng.uniform(0.03, 0.1, 2) * W:
            cv2.ellipse(crack, tuple(np.round(origin).astype(int)), (int(r), int(r * 0.9)), 0, 0, 360, (110, 110, 115), 1,
                        cv2.LINE_AA)  # fmt: skip
        self.crack = crack
        n = 30
        self.debris = {
            "origin": origin,
            "vel": rng.normal(0, 1, (n, 2)) * W * 0.9 + [0, -0.4 * W],
            "size": rng.uniform(0.004, 0.012, n) * W,
            "colour": [
                tuple(int(c) for c in rng.choice([(40, 40, 44), (200, 205, 210), (120, 120, 124)]))
                for _ in range(n)
            ],
        }

    # ------------------------------------------------------------------------------------ per frame
    def camera(self, k: int) -> Camera:
        w = self.world
        return Camera(self.f, self.W / 2, self.cy, self.cam_h, float(w.ego_lateral[k]), float(w.kappa[k]),
                      float(self.yaw[k]), float(self.pitch[k]))  # fmt: skip

    def junction_at(self, k: int) -> Junction | None:
        """The junction drawn in frame ``k``: a clip has at most one, the layout's."""
        lay = self.world.layout
        if lay.junction_S is None:
            return None
        return Junction(lay.junction_S, self.sc.extras.get("stop_line", LANE * 1.5 + 1.2) * (self.sc.side or 1),
                        self.sc.side)  # fmt: skip

    def scene(self, k: int) -> tuple[list[Prop], list[Actor]]:
        """Props and actors that may be in view in frame ``k`` (a clip: all of them)."""
        return self.world.props, self.world.actors

    def _road(self, canvas: Canvas, cam: Camera, k: int) -> None:
        sh = self.shader
        s_e = float(self.world.ego_s[k])
        frame = canvas.frame
        junction = self.junction_at(k)
        # Every long strip (asphalt, sidewalks, lines, barriers) is projected in one call on a shared grid.
        strips = self._strips
        zs = self._zs
        lat = strips[:, 0:2].T.reshape(2, -1, 1)  # (2, S, 1)
        up = strips[:, 2:4].T.reshape(2, -1, 1)
        u, v = cam.road_to_pixels(np.broadcast_to(lat, (2, len(strips), len(zs))),
                                  np.broadcast_to(up, (2, len(strips), len(zs))),
                                  np.broadcast_to(zs, (2, len(strips), len(zs))))  # fmt: skip
        pts = _pts(u, v)  # (2, S, Z, 2)
        polys = {}
        for i, (name, z_hi) in enumerate(self._strip_meta):
            n = int(np.searchsorted(zs, z_hi))
            polys[name] = polys.get(name, []) + [np.concatenate([pts[0, i, :n], pts[1, i, :n][::-1]])]
        colours = self._strip_colours
        for name in ("walk", "asphalt", "tracks", "white", "yellow", "concrete", "concrete_top", "rail"):
            if name in polys:
                cv2.fillPoly(
                    frame,
                    polys[name],
                    colours[name],
                    AA if name in ("white", "yellow") else cv2.LINE_8,
                    SHIFT,
                )
        # Dashed lines: world-fixed dashes.
        dash_polys = {"white": [], "yellow": []}
        for lat_m, colour_name, period, length in self._dashed:
            k0 = np.floor((s_e + 1.0 - length) / period)
            starts = (k0 + np.arange(int(110 / period) + 2)) * period
            z0 = np.maximum(starts - s_e, 1.0)
            z1 = starts + length - s_e
            keep = (z1 > 1.0) & (z0 < 110.0)
            if junction is not None:
                keep &= np.abs(starts + length / 2 - junction.S) > 8.0
            z0, z1 = z0[keep], z1[keep]
            if len(z0):
                lat4 = np.array([lat_m - 0.07, lat_m + 0.07, lat_m + 0.07, lat_m - 0.07])
                zz = np.stack([z0, z0, z1, z1], 1)
                du, dv = cam.road_to_pixels(np.broadcast_to(lat4, zz.shape), np.zeros_like(zz), zz)
                dash_polys[colour_name].extend(list(_pts(du, dv)))
        for name, dp in dash_polys.items():
            if dp:
                cv2.fillPoly(frame, dp, colours[name], AA, SHIFT)
        if junction is not None:
            self._junction(cam, frame, s_e, junction)
        # Fog over the ground: blend each row by its depth.
        if sh.visibility < 150:
            hz = cam.horizon_v()
            start = int(max(0, np.floor(hz)))
            if start < self.H:
                rows = np.arange(start, self.H, dtype=np.float32) + 0.5
                depth = self.f * self.cam_h / np.maximum(rows - hz, 0.3)
                a = (1.0 - np.exp(-depth / sh.visibility))[:, None, None].astype(np.float32)
                sub = frame[start:].astype(np.float32)
                frame[start:] = (sub * (1 - a) + np.array(sh.fog_colour, np.float32) * a).astype(np.uint8)

    def _road_setup(self) -> None:
        """The road's strips (lat0, lat1, up0, up1), their colours and the dashed lines, once per clip."""
        lay, sh = self.world.layout, self.shader
        self._zs = np.geomspace(1.0, 200.0, 24)
        strips, meta = [], []

        def add(name, lat0, lat1, up0=0.0, up1=0.0, z_hi=200.0):
            strips.append((lat0, lat1, up0, up1))
            meta.append((name, z_hi))

        if lay.sidewalk_right > 0:
            add("walk", lay.right_edge, lay.right_edge + lay.sidewalk_right)
        if lay.sidewalk_left > 0:
            add("walk", lay.left_edge - lay.sidewalk_left, lay.left_edge)
        add("asphalt", lay.left_edge, lay.right_edge)
        add("tracks", -1.1, -0.6, z_hi=120.0)
        add("tracks", 0.6, 1.1, z_hi=120.0)
        dashed = []
        for lat, style in lay.markings:
            colour = "yellow" if "yellow" in style else "white"
            if style in ("solid", "solid_yellow"):
                add(colour, lat - 0.07, lat + 0.07, z_hi=120.0)
            elif style == "double_yellow":
                add(colour, lat - 0.2, lat - 0.07, z_hi=120.0)
                add(colour, lat + 0.07, lat + 0.2, z_hi=120.0)
            else:
                period = 9.0 if lay.road == "urban" else 12.0
                dashed.append((lat, colour, period, 3.0))
        if lay.median:
            add("concrete", lay.left_edge, lay.left_edge, 0.0, 0.85)
            add("concrete_top", lay.left_edge - 0.01, lay.left_edge - 0.01, 0.8, 0.85)
        if lay.road == "highway":
            add("rail", lay.right_edge + 0.6, lay.right_edge + 0.6, 0.5, 0.78)
        self._strips = np.array(strips, float)
        self._strip_meta = meta
        self._dashed = dashed
        paint = min(1.0, sh.ambient * 1.15 + 0.1 * sh.night)
        concrete = shade((170, 168, 160), sh.ambient)
        self._strip_colours = {
            "walk": shade(lay.sidewalk, sh.ambient * (0.8 if sh.wet else 1.0)),
            "asphalt": self.asphalt,
            "tracks": shade(self.asphalt, 0.9),
            "white": shade((236, 236, 230), paint),
            "yellow": shade((232, 190, 50), paint),
            "concrete": concrete,
            "concrete_top": shade(concrete, 1.15),
            "rail": shade((180, 182, 186), sh.ambient),
        }

    def _junction(self, cam: Camera, frame: np.ndarray, s_e: float, junction: Junction) -> None:
        lay = self.world.layout
        white, yellow = self._strip_colours["white"], self._strip_colours["yellow"]
        zc = junction.S - s_e
        za, zb = zc - LANE, zc + LANE
        if zb < 1.0:
            return
        za = max(za, 1.0)

        def fill(polys, colour, aa=False):
            polys = [p for p in polys if p is not None]
            if polys:
                cv2.fillPoly(frame, polys, colour, AA if aa else cv2.LINE_8, SHIFT)

        lats = np.array([-90.0, -40.0, -15.0, -5.0, 0.0, 5.0, 15.0, 40.0, 90.0])
        u0, v0 = cam.road_to_pixels(lats, np.zeros_like(lats), np.full_like(lats, za))
        u1, v1 = cam.road_to_pixels(lats[::-1], np.zeros_like(lats), np.full_like(lats, zb))
        fill([_pts(np.concatenate([u0, u1]), np.concatenate([v0, v1]))], self.asphalt)
        # The cross road's centre line, the stop lines and a zebra crossing before the junction.
        polys = []
        for x in np.arange(-60.0, 60.0, 4.5):
            if abs(x) < abs(lay.left_edge) + 1:
                continue
            polys.append(self._quad(cam, x, x + 2.0, zc - 0.07, zc + 0.07))
        fill(polys, yellow, aa=True)
        stop = junction.stop_line
        lane_lo, lane_hi = (zc - LANE, zc) if junction.side < 0 else (zc, zc + LANE)
        fill([self._quad(cam, stop - 0.2, stop + 0.2, lane_lo, lane_hi)], white, aa=True)
        fill([self._quad(cam, -LANE / 2, LANE / 2 - 0.1, za - 1.4, za - 1.0)], white, aa=True)
        xs = np.arange(lay.left_edge + 0.3, lay.right_edge - 0.4, 1.0)
        fill([self._quad(cam, x, x + 0.5, za - 4.6, za - 1.8) for x in xs], white, aa=True)

    @staticmethod
    def _quad(cam: Camera, lat0, lat1, z0, z1):
        if z1 < 1.0:
            return None
        z0 = max(z0, 1.0)
        u, v = cam.road_to_pixels(np.array([lat0, lat1, lat1, lat0]), np.zeros(4), np.array([z0, z0, z1, z1]))
        return _pts(u, v)

    def _objects(self, canvas: Canvas, cam: Camera, k: int) -> list[FrameObject]:
        w, sh = self.world, self.shader
        s_e = float(w.ego_s[k])
        night = self.lighting != "day"
        buildings, items = [], []
        view = self.tan_half
        cam_lat = cam.lateral
        props, actors = self.scene(k)
        for p in props:
            lon = p.S - s_e
            if p.kind == "building":
                half = p.size[0] / 2
                if (
                    lon + half > NEAR
                    and lon - half < 170
                    and abs(p.lat - cam_lat) < (lon + half) * view + 2.0
                ):
                    buildings.append((lon, p))
            elif 0.8 < lon < 120 and abs(p.lat - cam_lat) < lon * view + 2.0:
                items.append((lon, 0, p))
        for a in actors:
            i = a.index(k)
            if i is None:
                continue
            lon = float(a.S[i] - s_e)
            if -14.0 < lon < 260 and abs(a.lat[i] - cam_lat) < max(lon, 0.0) * view + 7.0:
                items.append((lon, 1, (a, i)))
        for lon, p in sorted(buildings, key=lambda x: -x[0]):
            draw_building(canvas, cam, sh, p, lon, night)
        items.sort(key=lambda x: -x[0])
        out: list[FrameObject] = []
        for lon, is_actor, obj in items:
            if not is_actor:
                if obj.kind == "tree":
                    draw_tree(canvas, cam, sh, obj, lon)
                elif obj.kind == "bush":
                    draw_bush(canvas, cam, sh, obj, lon)
                elif obj.kind == "lamp":
                    toward = -1.0 if obj.lat > 0 else 1.0
                    draw_lamp(canvas, cam, sh, obj, lon, self.light.street_lamps, toward)
                else:
                    draw_post(canvas, cam, sh, obj, lon)
                continue
            actor, i = obj
            box = self._draw_actor(canvas, cam, actor, i, lon)
            if box is not None:
                out.append(self._describe(actor, k, i, lon, box))
        return out

    def _draw_actor(self, canvas: Canvas, cam: Camera, a: Actor, i: int, lon: float):
        """Draw actor ``a`` at its sample ``i``; return its box or ``None``."""
        look = a.look
        lat, heading = float(a.lat[i]), float(a.heading[i])
        if look.kind == "vehicle":
            lights = self.lights_on and a.role != "parked"
            return draw_vehicle(canvas, cam, self.shader, look.vtype, look.colour, lat, lon, heading, bool(a.brake[i]),
                                lights)  # fmt: skip
        if look.kind == "cyclist":
            return draw_cyclist(canvas, cam, self.shader, look, lat, lon, heading, float(a.phase[i]), bool(a.fallen[i]),
                                self.lights_on)  # fmt: skip
        return draw_person(canvas, cam, self.shader, look, lat, lon, heading, float(a.phase[i]), bool(a.fallen[i]),
                           bool(a.speed[i] > 0.05))  # fmt: skip

    def _describe(self, a: Actor, k: int, i: int, lon: float, box) -> FrameObject:
        w = self.world
        lat = float(a.lat[i] - w.ego_lateral[k])
        dist = float(np.hypot(lat, lon))
        # Time to collision: for road users in the ego car's corridor that get closer along the road.
        ttc = None
        if i > 0 and abs(lat) < 2.5:
            prev = float(a.S[i - 1] - w.ego_s[k - 1])
            closing = (prev - lon) * self.fps
            if closing > 0.3 and 0.0 < lon < 120:
                half = 0.3
                if a.look.kind == "vehicle":
                    vt, h = VEHICLES[a.look.vtype], float(a.heading[i])
                    half = abs(np.cos(h)) * vt.length / 2 + abs(np.sin(h)) * vt.width / 2
                ttc = max(0.0, (lon - half - BUMPER) / closing)
        cls = a.look.vtype.lower() if a.look.kind == "vehicle" else a.look.kind
        return FrameObject(a.id, cls, box, dist, ttc, a.role == "key")

    def _effects(self, frame: np.ndarray, glows: list, k: int) -> np.ndarray:
        H, W = self.H, self.W
        if self.pool is not None:
            cv2.add(frame, self.pool, dst=frame)
        add_glows(frame, glows)
        if self.rain is not None:
            r = self.rain
            layer = r["layer"]
            layer[:] = 0
            rng = np.random.default_rng(r["seed"] + k)
            xs = rng.uniform(-0.1 * W, 1.1 * W, r["n"])
            ys = rng.uniform(0, H, r["n"])
            ln = rng.uniform(0.04, 0.1, r["n"]) * H
            c = r["level"]
            for x, y, l in zip(xs, ys, ln, strict=True):
                cv2.line(layer, _p(x, y), _p(x + r["slant"] * l, y + l), (c, c, c + 5), 1, cv2.LINE_AA, SHIFT)
            for x, y, s in r["drops"]:
                yy = (y + k * 0.6 * s) % H
                cv2.circle(layer, (int(x), int(yy)), max(1, int(0.006 * W * (1 + 2 * s))), (c // 2, c // 2, c // 2 + 3), -1,
                           cv2.LINE_AA)  # fmt: skip
            cv2.add(frame, layer, dst=frame)
        if self.sc.positive:
            dt = self.t[k] - self.sc.t_ref
            if 0 <= dt < 0.8:
                d = self.debris
                pos = d["origin"] + d["vel"] * dt + np.array([0, 1.2 * W]) * dt * dt
                for (x, y), s, c in zip(pos, d["size"], d["colour"], strict=True):
                    cv2.rectangle(frame, (int(x - s), int(y - s)), (int(x + s), int(y + s * 0.6)), c, -1)
            if dt >= 0.04 and self.crack is not None:
                cv2.add(frame, self.crack, dst=frame)
            if 0 <= dt < 1.0 / self.fps + 1e-9:
                cv2.addWeighted(frame, 0.55, np.full_like(frame, 255), 0.45, 0, dst=frame)
        # The ego car's hood.
        r0 = self.hood_rows
        cv2.copyTo(self.hood_img, self.hood_mask, frame[r0:])
        if abs(self.roll[k]) > 0.05:
            m = cv2.getRotationMatrix2D(
                (W / 2, H / 2), float(self.roll[k]), 1.0 + abs(float(self.roll[k])) * 0.012
            )
            frame = cv2.warpAffine(frame, m, (W, H), borderMode=cv2.BORDER_REFLECT)
        # Sensor noise, from a tile shifted every frame.
        if self.noise_pos is None:
            return frame
        dx, dy = (k * 7) % 16, (k * 11) % 16
        cv2.add(frame, self.noise_pos[dy : dy + H, dx : dx + W], dst=frame)
        cv2.subtract(frame, self.noise_neg[dy : dy + H, dx : dx + W], dst=frame)
        return frame

    def frame(self, k: int) -> tuple[np.ndarray, list[FrameObject]]:
        """Frame ``k`` as ``(H, W, 3)`` uint8 RGB and the road users drawn in it."""
        cam = self.camera(k)
        off = int(round(self.margin + self.horizon0 - cam.horizon_v()))
        off = int(np.clip(off, 0, 2 * self.margin))
        canvas = Canvas(self.base[off : off + self.H].copy())
        self._road(canvas, cam, k)
        objects = self._objects(canvas, cam, k)
        return self._effects(canvas.frame, canvas.glows, k), objects
