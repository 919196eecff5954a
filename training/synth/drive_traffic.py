"""The rest of a drive's world: traffic in the other lanes, parked cars, people, scenery.

Road users enter and leave out of view (far ahead, or behind the camera) and exist only while near
the ego car, so a long drive holds few at a time. Only with ``DriveConfig.lead_traffic`` does one drive
in the ego lane: an ordinary car ahead that the ego catches up with, follows at a safe headway (easing
off and on, brake lights and all) and that then drives away, never part of an event. A candidate that
would come within a margin of an event's key actor (or of the car ahead or behind it in its lane) is
left out, as the clip generator keeps its ambient traffic clear of the key actor's space.
"""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.drive_events import VIEW_BEHIND, VIEW_FAR
from accident_anticipation_ros.training.synth.footprint import pair_gap
from accident_anticipation_ros.training.synth.motion import smoothstep
from accident_anticipation_ros.training.synth.scenarios import LANE, person_look, vehicle_look
from accident_anticipation_ros.training.synth.world import AMBIENT_TYPES, Actor, Layout, make_props

KEY_CLEARANCE = 1.5  # m an ambient road user keeps from every key actor
LANE_CLEARANCE = 3.0  # m between two cars of one lane
EXIT = 10.0  # m beyond the view at which a road user is dropped
HEADWAY = {"urban": 5.0, "multilane": 4.0, "highway": 4.0}  # mean seconds between oncoming cars
SAME_HEADWAY = 6.0  # mean seconds between arrivals in a lane of the ego's direction
WALKER_SPACING = {"urban": 80.0, "multilane": 270.0, "highway": 1e9}  # mean metres per sidewalk
LEAD_TRIES = 4  # draws per ego-lane arrival before it is left out (each may meet a key actor)


class _Builder:
    """Accepts road users that keep clear of the key actors and of their lane neighbours."""

    def __init__(self, keys: list[Actor], first_id: int, fps: float, rng: np.random.Generator):
        self.keys, self.fps, self.rng = keys, fps, rng
        self.next_id = first_id
        self.actors: list[Actor] = []
        self.lanes: dict[float, list[Actor]] = {}

    def add(self, role, look, k0, S, lat, heading, speed, lane: float | None = None, brake=None) -> bool:
        n = len(S)
        lat, heading, speed = (
            np.broadcast_to(np.asarray(x, float), (n,)).copy() for x in (lat, heading, speed)
        )
        phase = self.rng.uniform(0, 10) + np.concatenate(([0.0], np.cumsum(speed[:-1] / self.fps)))
        brake = np.zeros(n, bool) if brake is None else np.asarray(brake, bool)
        a = Actor(self.next_id, role, look, np.asarray(S, float), lat, heading, speed, brake,
                  np.zeros(n, bool), phase, k0=int(k0))  # fmt: skip
        if any(pair_gap(a, key) < KEY_CLEARANCE for key in self.keys):
            return False
        neighbours = self.lanes.setdefault(lane, []) if lane is not None else []
        if any(pair_gap(a, b) < LANE_CLEARANCE for b in neighbours):
            return False
        neighbours.append(a)
        self.actors.append(a)
        self.next_id += 1
        return True


def _lane_traffic(b: _Builder, lay: Layout, lane: float, direction: int, ego_s, ego_v) -> None:
    """Cars in one lane (not the ego's): some in view at the first frame, then arrivals."""
    rng, fps, n = b.rng, b.fps, len(ego_s)
    headway = HEADWAY[lay.road] if direction < 0 else SAME_HEADWAY
    spawns: list[tuple[int, float | None]] = [
        (0, float(rng.uniform(VIEW_BEHIND, VIEW_FAR)))
        for _ in range(int(rng.poisson(4.0 if direction < 0 else 2.0)))
    ]
    k = 0
    while True:
        k += max(1, int(round(rng.exponential(headway) * fps)))
        if k >= n:
            break
        spawns.append((k, None))
    for k_s, lon0 in spawns:
        u = float(rng.uniform(8, 16) if direction < 0 else rng.uniform(9, 20))
        look = vehicle_look(rng, AMBIENT_TYPES)
        lat = lane + rng.uniform(-0.25, 0.25) if direction < 0 else lane + rng.uniform(-0.2, 0.2)
        if lon0 is None:  # enter out of view: ahead, or from behind when faster than the ego
            lon0 = VIEW_FAR + 5.0 if direction < 0 or u < ego_v[k_s] else VIEW_BEHIND - 5.0
        S = ego_s[k_s] + lon0 + direction * u * np.arange(n - k_s) / fps
        lon = S - ego_s[k_s:]
        gone = np.flatnonzero((lon > VIEW_FAR + EXIT) | (lon < VIEW_BEHIND - EXIT))
        stop = int(gone[0]) + 1 if len(gone) else n - k_s
        b.add("ambient", look, k_s, S[:stop], lat, 0.0 if direction > 0 else np.pi, u, lane=lane)


def lead_gap(rng: np.random.Generator, ego_v: np.ndarray, fps: float, in_view: bool) -> np.ndarray:
    """Gap (m, camera to the car's centre) of an ordinary car ahead in the ego lane, frame by frame.

    It is in view already (``in_view``: at 1-4 headways, as at the start of a world) or comes into
    view far ahead, slower than the ego; the gap closes to a following headway of 1.2-2.5 s, breathes
    there (the car eases off and on: brake lights without danger) for 3-15 s, then the car drives
    away out of view. Its speed is ``ego_v + d(gap)/dt`` (it may dip below 0 where the ego stops: the
    caller rejects such a draw).
    """
    n = len(ego_v)
    t = np.arange(n) / fps
    v_ref = float(np.median(ego_v[: max(1, min(n, int(10 * fps)))]))
    headway = float(rng.uniform(1.2, 2.5))
    follow = max(9.0, headway * v_ref) + 2.5
    start = follow * float(rng.uniform(1.0, 4.0)) if in_view else VIEW_FAR + 5.0
    t_close = max(start - follow, 1.0) / float(rng.uniform(3.0, 7.0))  # the ego closes in at 3-7 m/s
    t_hold = float(rng.uniform(3.0, 15.0))
    out = VIEW_FAR + EXIT + 5.0
    t_away = (out - follow) / float(rng.uniform(4.0, 9.0))  # then the car pulls away at 4-9 m/s
    gap = start - (start - follow) * smoothstep(t / t_close)
    breathe = float(rng.uniform(1.5, 5.0)) * np.sin(2 * np.pi * (t - t_close) / float(rng.uniform(5.0, 10.0)))
    gap = gap + breathe * smoothstep((t - t_close) / 2.0) * smoothstep((t_close + t_hold - t) / 2.0)
    return gap + (out - follow) * smoothstep((t - t_close - t_hold) / t_away)


def _ego_lane(b: _Builder, ego_s, ego_v, per_minute: float) -> None:
    """Ordinary cars ahead in the ego lane (``lead_gap``): one in view at the world's first frame with
    probability ``min(1, per_minute / 3)``, then arrivals ``per_minute`` on average."""
    rng, fps, n = b.rng, b.fps, len(ego_s)
    starts = [0] if rng.random() < min(1.0, per_minute / 3.0) else []
    k = 0
    while True:
        k += max(1, int(round(rng.exponential(60.0 / per_minute) * fps)))
        if k >= n:
            break
        starts.append(k)
    for k in starts:
        for _ in range(LEAD_TRIES):
            gap = lead_gap(rng, ego_v[k:], fps, in_view=k == 0)
            gone = np.flatnonzero(np.diff((gap > VIEW_FAR + EXIT).astype(np.int8)) > 0)
            S = (ego_s[k:] + gap)[: int(gone[0]) + 2 if len(gone) else n - k]
            if len(S) < 2:
                break
            speed = np.gradient(S) * fps
            if speed.min() < 0.0:
                continue  # the ego stops while the car is ahead: this draw would roll backwards
            brake = np.gradient(speed) * fps < -0.8
            look = vehicle_look(rng, AMBIENT_TYPES)
            if b.add("ambient", look, k, S, rng.uniform(-0.2, 0.2), 0.0, speed, lane=0.0, brake=brake):
                break


def _parked(b: _Builder, lay: Layout, ego_s, keep_clear: list[tuple[float, float]]) -> None:
    """Parked cars along the parking strip, clear of crossings and junctions."""
    rng = b.rng
    pos, end = ego_s[0] + rng.uniform(-6, 4), ego_s[-1] + VIEW_FAR
    lat = LANE / 2 + 1.25
    while pos < end:
        look = vehicle_look(rng, {"sedan": 4, "hatchback": 3, "SUV": 3, "van": 1})
        near = any(abs(pos - c) < r for c, r in keep_clear)
        if not near and rng.random() < 0.8:
            k0 = int(np.searchsorted(ego_s, pos - VIEW_FAR - 5.0))
            k1 = int(np.searchsorted(ego_s, pos - VIEW_BEHIND + 5.0, side="right"))
            if k1 > k0:
                b.add("parked", look, k0, np.full(k1 - k0, pos), lat + rng.uniform(-0.15, 0.15),
                      rng.uniform(-0.04, 0.04), 0.0)  # fmt: skip
        pos += rng.uniform(5.2, 7.5)


def _walkers(b: _Builder, lay: Layout, ego_s, crossings: list[float]) -> None:
    """People walking (or standing) on the sidewalks."""
    rng, fps, n = b.rng, b.fps, len(ego_s)
    t = np.arange(n) / fps
    for side in (-1, 1):
        width = lay.sidewalk_right if side > 0 else lay.sidewalk_left
        if width <= 0:
            continue
        edge = lay.right_edge if side > 0 else lay.left_edge
        spacing = WALKER_SPACING[lay.road]
        pos = ego_s[0] - 20 + rng.exponential(spacing)
        while pos < ego_s[-1] + VIEW_FAR:
            walk = rng.uniform(0.8, 1.6) * rng.choice([-1, 1]) * (rng.random() < 0.8)
            lat = edge + side * rng.uniform(0.6, max(0.7, width - 0.4))
            look = person_look(rng, "pedestrian")
            S = pos + walk * t
            near = np.flatnonzero((S - ego_s < VIEW_FAR + 5.0) & (S - ego_s > VIEW_BEHIND - 5.0))
            pos += rng.exponential(spacing)
            if not len(near):
                continue
            k0, k1 = int(near[0]), int(near[-1]) + 1
            if any(np.min(np.abs(S[k0:k1] - c)) < 3.0 for c in crossings):
                continue
            b.add("ambient", look, k0, S[k0:k1], lat, 0.0 if walk >= 0 else np.pi, abs(walk))


def populate(rng: np.random.Generator, lay: Layout, ego_s: np.ndarray, ego_v: np.ndarray, fps: float,
             keys: list[Actor], first_id: int, junctions: list[float], crossings: list[float],
             lead_traffic: float = 0.0):  # fmt: skip
    """Ambient road users and props of a world around its ego motion and key actors.

    ``lead_traffic``: mean arrivals per minute of ordinary cars ahead in the ego lane (0: none, and
    the world's random stream is the same as without the option).

    Returns:
        ``(actors, props)``: the ambient road users (ids from ``first_id``) and the props sorted by
        arc length.
    """
    b = _Builder(keys, first_id, fps, rng)
    for lane, direction in lay.lanes:
        if abs(lane) > 0.5:
            _lane_traffic(b, lay, lane, direction, ego_s, ego_v)
    if lead_traffic > 0:
        _ego_lane(b, ego_s, ego_v, lead_traffic)
    if lay.parking:
        _parked(b, lay, ego_s, [(c, 3.4) for c in crossings] + [(j, 12.0) for j in junctions])
    _walkers(b, lay, ego_s, crossings)
    props = make_props(rng, lay, float(ego_s[0]) - 30, float(ego_s[-1]) + 170, [(j, 14.0) for j in junctions])
    props.sort(key=lambda p: p.S)
    return b.actors, props
