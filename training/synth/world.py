"""The road, the scenery beside it and the ambient traffic, around a scenario's key actor.

Everything here is drawn from distributions that depend on the scenario and on its shared
(label-independent) parameters only, never on the label.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from accident_anticipation_ros.training.synth.motion import DT
from accident_anticipation_ros.training.synth.palette import mix
from accident_anticipation_ros.training.synth.scenarios import (
    LANE,
    Appearance,
    Plan,
    Scenario,
    person_look,
    vehicle_look,
)

AMBIENT_TYPES = {"sedan": 4, "hatchback": 2, "SUV": 3, "van": 1.2, "truck": 0.7, "bus": 0.3}


@dataclass
class Layout:
    """Cross-section of the road (lateral positions in metres, right positive) and its course."""

    road: str
    lanes: list[tuple[float, int]]  # (centre, direction): +1 with the ego, -1 oncoming
    left_edge: float
    right_edge: float
    markings: list[tuple[float, str]]  # (lateral, style) style: dash | solid | double_yellow | dash_yellow
    sidewalk_left: float  # width (m), 0: none
    sidewalk_right: float
    parking: bool  # a parking strip inside the right edge
    median: bool  # a concrete barrier at the left edge (highway)
    kappa0: float
    kappa_rate: float  # 1/m per second
    junction_S: float | None = None
    asphalt: tuple[int, int, int] = (82, 84, 88)
    ground: tuple[int, int, int] = (96, 118, 70)
    sidewalk: tuple[int, int, int] = (150, 148, 142)

    def kappa(self, t: np.ndarray) -> np.ndarray:
        return np.clip(self.kappa0 + self.kappa_rate * t, -1 / 160, 1 / 160)


@dataclass
class Prop:
    """A static thing beside the road."""

    kind: str  # tree | lamp | building | pole | bush | rail_post
    S: float
    lat: float
    size: tuple[float, ...]  # kind-specific dimensions
    colour: tuple[int, int, int]
    seed: int = 0  # per-prop variation (window lights ...)


@dataclass
class Actor:
    """A moving (or parked) road user, sampled at the frame times from frame ``k0`` on.

    A clip's actors span the whole clip (``k0 = 0``); a drive's exist from frame ``k0`` for
    ``len(S)`` frames, so a long drive holds each road user only while it is near the ego car.
    """

    id: int
    role: str  # key | ambient | parked
    look: Appearance
    S: np.ndarray
    lat: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    brake: np.ndarray
    fallen: np.ndarray
    phase: np.ndarray = field(default_factory=lambda: np.zeros(0))  # distance travelled (animation)
    k0: int = 0  # frame index of the first sample

    def index(self, k: int) -> int | None:
        """Index into the arrays of frame ``k``, or ``None`` when the actor does not exist then."""
        i = k - self.k0
        return i if 0 <= i < len(self.S) else None


@dataclass
class World:
    layout: Layout
    props: list[Prop]
    actors: list[Actor]
    ego_s: np.ndarray  # (T,) per frame
    ego_v: np.ndarray
    ego_a: np.ndarray
    ego_lateral: np.ndarray
    kappa: np.ndarray  # (T,)


class RoadFacts(Protocol):
    """What ``make_layout`` reads of a scenario (a continuous drive passes its own facts)."""

    road: str
    name: str
    side: int
    ego_lane_right: bool
    junction_S: float | None
    extras: dict


def make_layout(rng: np.random.Generator, sc: RoadFacts) -> Layout:
    """Road cross-section for the scenario."""
    road = sc.road
    straight = rng.random() < 0.4 or road == "urban" and sc.junction_S is not None
    kappa0 = 0.0 if straight else rng.uniform(-1 / 180, 1 / 180)
    rate = 0.0 if straight else rng.uniform(-1, 1) * 4e-4
    if sc.junction_S is not None:
        kappa0, rate = rng.uniform(-1, 1) * 3e-4, 0.0
    asphalt = tuple(int(c) for c in rng.integers(62, 100) + rng.integers(-4, 5, 3))
    if road == "urban":
        parking = bool(sc.extras.get("parking", rng.random() < 0.35))
        right_edge = sc.extras.get(
            "right_curb", LANE / 2 + (rng.uniform(2.2, 2.6) if parking else rng.uniform(0.3, 1.0))
        )
        left_edge = sc.extras.get("left_curb", -(LANE * 1.5 + rng.uniform(0.3, 0.8)))
        centre = str(rng.choice(["double_yellow", "dash", "dash_yellow"]))
        markings = [(-LANE / 2, centre)]
        if parking:
            markings.append((LANE / 2 + 0.15, "solid"))
        return Layout(road, [(0.0, 1), (-LANE, -1)], left_edge, right_edge, markings, rng.uniform(2.5, 4.0),
                      rng.uniform(2.5, 4.0), parking, False, kappa0, rate, sc.junction_S, asphalt,
                      ground=(118, 112, 100), sidewalk=mix((150, 148, 142), tuple(int(c) for c in rng.integers(110, 190, 3)), 0.25))  # fmt: skip
    if road == "multilane":
        same = [0.0, -LANE] if sc.ego_lane_right else [0.0, LANE]
        inner = min(same) - LANE / 2  # the centre line
        lanes = [(x, 1) for x in same] + [(inner - LANE / 2, -1), (inner - 1.5 * LANE, -1)]
        markings = [(float(np.mean(same)), "dash"), (inner, "double_yellow"), (inner - LANE, "dash")]
        right = max(same) + LANE / 2 + rng.uniform(0.4, 1.2)
        left = inner - 2 * LANE - rng.uniform(0.3, 0.8)
        markings += [(max(same) + LANE / 2 - 0.1, "solid"), (left + 0.2, "solid")]
        return Layout(road, lanes, left, right, markings, rng.uniform(0, 3.0) * (rng.random() < 0.6),
                      rng.uniform(2.0, 3.5) * (rng.random() < 0.6), False, False, kappa0, rate, None, asphalt,
                      ground=(92, 116, 66))  # fmt: skip
    # highway: three lanes in the ego direction, concrete barrier on the left
    if sc.name == "cut_in":
        index = int(rng.integers(1, 3)) if sc.side < 0 else int(rng.integers(0, 2))
    else:
        index = int(rng.integers(0, 3))
    centres = [(i - index) * LANE for i in range(3)]
    markings = [(c + LANE / 2, "dash") for c in centres[:-1]]
    left, right = centres[0] - LANE / 2 - 1.0, centres[-1] + LANE / 2 + rng.uniform(2.0, 3.0)
    markings += [(centres[0] - LANE / 2 + 0.15, "solid_yellow"), (centres[-1] + LANE / 2 + 0.1, "solid")]
    return Layout("highway", [(c, 1) for c in centres], left, right, markings, 0.0, 0.0, False, True, kappa0, rate,
                  None, asphalt, ground=(86, 110, 60))  # fmt: skip


def make_props(
    rng: np.random.Generator, lay: Layout, s_lo: float, s_hi: float, avoid: list[tuple[float, float]]
) -> list[Prop]:
    """Buildings, trees, bushes, lamps and posts beside the road between ``s_lo`` and ``s_hi``,
    clear of the ``(centre, radius)`` stretches in ``avoid``."""
    props: list[Prop] = []

    def free(pos: float, half: float) -> bool:
        return all(abs(pos - c) > half + r for c, r in avoid)

    facades = [(196, 180, 150), (170, 90, 70), (150, 150, 150), (220, 214, 200), (120, 100, 86), (90, 96, 110),
               (200, 170, 120), (160, 166, 170)]  # fmt: skip
    for side in (-1, 1):
        edge = lay.right_edge if side > 0 else lay.left_edge
        walk = lay.sidewalk_right if side > 0 else lay.sidewalk_left
        outer = edge + side * (walk + 0.5)
        if lay.road == "urban" or (lay.road == "multilane" and rng.random() < 0.5):
            pos = s_lo + rng.uniform(0, 10)
            while pos < s_hi:
                width = rng.uniform(8, 24)
                if free(pos + width / 2, width / 2) and rng.random() < 0.85:
                    height = rng.uniform(6, 24) if lay.road == "urban" else rng.uniform(5, 12)
                    setback = rng.uniform(0.5, 4.0) if lay.road == "urban" else rng.uniform(6, 20)
                    base = facades[int(rng.integers(len(facades)))]
                    props.append(Prop("building", pos + width / 2, outer + side * setback, (width, rng.uniform(8, 14), height),
                                      mix(base, (128, 128, 128), rng.uniform(0, 0.3)), int(rng.integers(1 << 30))))  # fmt: skip
                pos += width + rng.uniform(0.5, 8)
        # Trees and lamp posts along the edge.
        pos = s_lo + rng.uniform(0, 8)
        spacing = rng.uniform(9, 20)
        while pos < s_hi:
            if free(pos, 1.5):
                if rng.random() < 0.6:
                    lat = edge + side * (walk * rng.uniform(0.6, 0.9) if walk > 0 else rng.uniform(2, 8))
                    h = rng.uniform(4, 9)
                    green = mix((46, 92, 40), (90, 120, 40), rng.uniform(0, 1))
                    props.append(
                        Prop("tree", pos, lat, (h, rng.uniform(1.4, 2.8)), green, int(rng.integers(1 << 30)))
                    )
                elif rng.random() < 0.5:
                    props.append(Prop("bush", pos, edge + side * (walk + rng.uniform(0.5, 3)), (rng.uniform(0.6, 1.4),),
                                      mix((40, 80, 36), (70, 100, 40), rng.uniform(0, 1))))  # fmt: skip
            pos += spacing * rng.uniform(0.5, 1.5)
        pos = s_lo + rng.uniform(0, 30)
        lamp_gap = rng.uniform(25, 40)
        while pos < s_hi:
            if free(pos, 1.0) and (side > 0 or lay.road != "highway"):
                props.append(Prop("lamp", pos, edge + side * 0.4, (rng.uniform(6.5, 8.5),), (110, 112, 116)))
            pos += lamp_gap
    if lay.median:
        pos = s_lo
        while pos < s_hi:
            props.append(Prop("lamp", pos, lay.left_edge + 0.3, (9.0,), (120, 122, 126)))
            pos += 45.0
    if lay.road == "highway":
        pos = s_lo
        while pos < s_hi:
            props.append(Prop("rail_post", pos, lay.right_edge + 0.6, (0.75,), (150, 150, 150)))
            pos += 4.0
    return props


def _actor(ident: int, role: str, look: Appearance, S, lat, heading, speed, brake=None, fallen=None) -> Actor:
    n = len(S)
    return Actor(
        ident,
        role,
        look,
        np.asarray(S, float),
        np.broadcast_to(np.asarray(lat, float), (n,)).copy(),
        np.broadcast_to(np.asarray(heading, float), (n,)).copy(),
        np.broadcast_to(np.asarray(speed, float), (n,)).copy(),
        np.zeros(n, bool) if brake is None else np.asarray(brake, bool),
        np.zeros(n, bool) if fallen is None else np.asarray(fallen, bool),
    )


def _ambient(
    rng: np.random.Generator, sc: Scenario, lay: Layout, t: np.ndarray, ego_s: np.ndarray
) -> list[Actor]:
    """Ambient traffic at the frame times ``t``; keeps clear of the key actor's space and crossing."""
    actors: list[Actor] = []
    ident = 1
    v0 = float(sc.ego.v[0])
    duration = float(t[-1])
    cross = sc.cross_S
    t_lo, t_hi = sc.t_event - 1.2, sc.t_ref + 2.5

    def clear_of_crossing(S_of_t) -> bool:
        if cross is None:
            return True
        at = np.abs(S_of_t(np.linspace(t_lo, t_hi, 40)) - cross) < 9.0
        return not at.any()

    # Oncoming traffic.
    for lane, direction in lay.lanes:
        if direction > 0:
            continue
        for _ in range(int(rng.poisson(1.6 if lay.road == "urban" else 2.4))):
            u = rng.uniform(8, 16)
            S0 = rng.uniform(20, 40 + (v0 + u) * duration)

            def pos(tt, S0=S0, u=u):
                return S0 - u * tt

            if not clear_of_crossing(pos):
                continue
            look = vehicle_look(rng, AMBIENT_TYPES)
            actors.append(_actor(ident, "ambient", look, pos(t), lane + rng.uniform(-0.25, 0.25), np.pi, u))
            ident += 1
    # Same-direction traffic in the other lanes (and far ahead in the ego lane).
    key_lane = sc.side * LANE if sc.name == "cut_in" else None
    for lane, direction in lay.lanes:
        if direction < 0:
            continue
        if key_lane is not None and abs(lane - key_lane) < 0.5:
            continue
        in_ego_lane = abs(lane) < 0.5
        taken: list[float] = []
        for _ in range(int(rng.poisson(0.8 if in_ego_lane else 1.5))):
            if in_ego_lane:
                if sc.name == "lead_brake":
                    lead0 = float(sc.key.S[0] - ego_s[0])
                    g0 = lead0 + rng.uniform(14, 35)
                else:
                    g0 = rng.uniform(45, 75)
                du = rng.uniform(-0.5, 1.5)
            else:
                g0 = rng.uniform(-14, 60)
                du = rng.uniform(-1.5, 5.5) if g0 < 0 else rng.uniform(-2.0, 2.0)
            if any(abs(g0 - g) < 14 for g in taken):
                continue
            taken.append(g0)
            u = v0 + du

            def pos(tt, g0=g0, u=u):
                return ego_s[0] + g0 + u * tt

            if not in_ego_lane and not clear_of_crossing(pos):
                continue
            if in_ego_lane and cross is not None and pos(0.0) < cross + 10:
                continue
            look = vehicle_look(rng, AMBIENT_TYPES)
            actors.append(_actor(ident, "ambient", look, pos(t), lane + rng.uniform(-0.2, 0.2), 0.0, u))
            ident += 1
    # Parked cars along a parking strip.
    if lay.parking:
        pos = ego_s[0] + rng.uniform(-6, 4)
        end = ego_s[-1] + 90
        lat = LANE / 2 + 1.25
        while pos < end:
            look = vehicle_look(rng, {"sedan": 4, "hatchback": 3, "SUV": 3, "van": 1})
            near_cross = cross is not None and abs(pos - cross) < 3.4
            near_junction = lay.junction_S is not None and abs(pos - lay.junction_S) < 12
            if not near_cross and not near_junction and rng.random() < 0.8:
                actors.append(_actor(ident, "parked", look, np.full(len(t), pos), lat + rng.uniform(-0.15, 0.15),
                                     rng.uniform(-0.04, 0.04), 0.0))  # fmt: skip
                ident += 1
            pos += rng.uniform(5.2, 7.5)
    # People on the sidewalks.
    if lay.sidewalk_left > 0 or lay.sidewalk_right > 0:
        for _ in range(int(rng.poisson(2.0 if lay.road == "urban" else 0.6))):
            side = 1 if rng.random() < 0.5 and lay.sidewalk_right > 0 or lay.sidewalk_left == 0 else -1
            edge = lay.right_edge if side > 0 else lay.left_edge
            width = lay.sidewalk_right if side > 0 else lay.sidewalk_left
            lat = edge + side * rng.uniform(0.6, max(0.7, width - 0.4))
            walk = rng.uniform(0.8, 1.6) * rng.choice([-1, 1]) * (rng.random() < 0.8)
            S0 = ego_s[0] + rng.uniform(8, 30 + v0 * duration)
            if cross is not None and np.min(np.abs(S0 + walk * t - cross)) < 3.0:
                continue
            look = person_look(rng, "pedestrian")
            actors.append(
                _actor(ident, "ambient", look, S0 + walk * t, lat, 0.0 if walk >= 0 else np.pi, abs(walk))
            )
            ident += 1
    return actors


def build_world(rng: np.random.Generator, sc: Scenario, num_frames: int, fps: float) -> World:
    """Sample the world around ``sc`` and resample every trajectory at the frame times."""
    t = np.arange(num_frames) / fps
    idx = np.clip(np.round(t / DT).astype(int), 0, len(sc.t) - 1)
    ego_s, ego_v, ego_a = sc.ego.s[idx], sc.ego.v[idx], sc.ego.a[idx]
    lay = make_layout(rng, sc)
    avoid = []
    if lay.junction_S is not None:
        avoid.append((lay.junction_S, 14.0))
    props = make_props(rng, lay, ego_s[0] - 30, ego_s[-1] + 170, avoid)
    key: Plan = sc.key
    actors = [
        _actor(
            0,
            "key",
            sc.look,
            key.S[idx],
            key.lat[idx],
            key.heading[idx],
            key.speed[idx],
            key.brake[idx],
            key.fallen[idx],
        )
    ]
    actors += _ambient(rng, sc, lay, t, ego_s)
    for a in actors:
        # Distance travelled drives the walking cycle and wheel spin.
        a.phase = np.concatenate(([rng.uniform(0, 10)], np.cumsum(a.speed[:-1] / fps) + rng.uniform(0, 10)))
    return World(lay, props, actors, ego_s, ego_v, ego_a, sc.ego.lateral[idx], lay.kappa(t))
