"""One world of a continuous drive: events on its timeline, the ego's motion and the key actors.

Events are clip scenarios (``scenarios.sample_scenario``) placed on the world's timeline. Inside an
event's *window* the ego and the key actor move exactly as in the scenario, with the collision (or a
near miss's reference time) on a frame. Between windows the ego drives on and changes speed smoothly
to the next scenario's speed, holding it for a while before the window. Key actors exist beyond their
window: before it they come from out of view (a slower car far ahead that the ego catches up with and
that then speeds up; a car in the next lane; a pedestrian on the sidewalk; a car on the cross road),
after a near miss they leave (a car in the ego lane drives away, a pedestrian finishes crossing, the
rest keep moving) and vanish once out of view. A new event is pushed later while its key actor would
touch an earlier one or the ego outside its own collision.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from accident_anticipation_ros.training.synth.drive_config import DriveConfig
from accident_anticipation_ros.training.synth.footprint import (
    CONTACT,
    actor_box,
    ego_box,
    pair_gap,
    separation,
)
from accident_anticipation_ros.training.synth.motion import DT, piecewise_motion
from accident_anticipation_ros.training.synth.palette import weighted_choice
from accident_anticipation_ros.training.synth.scenarios import (
    LANE,
    SCENARIO_WEIGHTS,
    Scenario,
    sample_scenario,
)
from accident_anticipation_ros.training.synth.world import Actor, Layout

ROAD_WEIGHTS = {"urban": 0.5, "multilane": 0.25, "highway": 0.25}
ROAD_SCENARIOS = {
    "urban": ("lead_brake", "crossing", "junction"),
    "multilane": ("lead_brake", "cut_in"),
    "highway": ("lead_brake", "cut_in"),
}
PRE_EVENT = 0.6  # s from a window's start to the earliest start of its manoeuvre
HOLD = {"lead_brake": 3.0}  # s the ego drives at the scenario's speed before its window (default 1 s)
EGO_ACCEL, EGO_DECEL, EGO_DELAY = 1.2, 2.0, 0.5  # the ego's speed changes between events
LEAD_ACCEL = 2.5  # m/s^2: a car ahead the ego catches up with speeds up at this rate
AWAY_ACCEL, AWAY_SPEED = 2.5, 22.0  # a car left in the ego lane after a near miss drives away
VIEW_FAR, VIEW_BEHIND, VIEW_SIDE = 150.0, -15.0, 60.0  # m; beyond these a road user is out of view
KEY_MARGIN = 1.0  # m two key actors keep between them
PUSH = 2.0  # s an event moves later when its key actor would meet another
MAX_PUSHES, MAX_DRAWS = 8, 40


@dataclass
class PlannedEvent:
    """One scenario placed on a world's timeline (frame indices of the world)."""

    index: int
    scenario: Scenario
    start: int  # first frame of the window
    length: int  # frames in the window
    ref_offset: int  # frames from ``start`` to toa (accident) or to the reference time (near miss)
    fps: float

    @property
    def positive(self) -> bool:
        return self.scenario.positive

    @property
    def ref(self) -> int:
        """Frame of toa (accident) or of the matched reference time (near miss)."""
        return self.start + self.ref_offset

    @property
    def end(self) -> int:
        """Last frame of the window."""
        return self.start + self.length - 1

    @property
    def v0(self) -> float:
        return float(self.scenario.ego.v[0])

    @property
    def v_end(self) -> float:
        return float(self.scenario.ego.v[self.sample(self.length - 1)])

    @property
    def hold(self) -> float:
        return HOLD.get(self.scenario.name, 1.0)

    @property
    def event_frame(self) -> float:
        """(Fractional) frame at which the critical manoeuvre starts."""
        return self.start + self.scenario.t_event * self.fps

    def sample(self, j):
        """Index into the scenario's fine time grid of window frame ``j`` (int or array)."""
        idx = np.round(np.asarray(j) / self.fps / DT).astype(int)
        return np.clip(idx, 0, len(self.scenario.t) - 1)


@dataclass
class Timeline:
    """A world's events, length, the ego's motion and the events' key actors (one per event)."""

    events: list[PlannedEvent]
    num_frames: int
    ego_s: np.ndarray  # (N,)
    ego_v: np.ndarray  # (N,)
    ego_lateral: np.ndarray  # (N,)
    keys: list[Actor]


def road_facts(rng: np.random.Generator, layout: Layout, name: str) -> dict:
    """What a scenario must take from the world's road (``scenarios._Ctx.fixed``)."""
    if name == "cut_in":
        sides = [s for s in (-1, 1) if any(d > 0 and abs(c - s * LANE) < 0.5 for c, d in layout.lanes)]
        return {"side": int(rng.choice(sides))}
    if name == "crossing":
        return {"parking": layout.parking, "right_curb": layout.right_edge, "left_curb": layout.left_edge}
    return {}


def _speed_change(v_from: float, v_to: float, n: int, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance and speed over ``n`` frames after a frame at ``v_from``, changing to ``v_to``."""
    t = np.arange(n + 1) / fps
    if v_to > v_from:
        segments = [(0.0, 0.0, None), (EGO_DELAY, EGO_ACCEL, v_to)]
    elif v_to < v_from:
        segments = [
            (0.0, 0.0, None),
            (EGO_DELAY, -EGO_DECEL, None),
            (EGO_DELAY + (v_from - v_to) / EGO_DECEL, 0.0, None),
        ]
    else:
        segments = [(0.0, 0.0, None)]
    v, s = piecewise_motion(t, v_from, segments)
    return s[1:], v[1:]


def change_frames(v_from: float, v_to: float, hold: float, fps: float) -> int:
    """Frames the ego needs to change from ``v_from`` to ``v_to`` and then hold it ``hold`` s."""
    rate = EGO_ACCEL if v_to > v_from else EGO_DECEL
    return int(math.ceil((EGO_DELAY + abs(v_to - v_from) / rate + hold) * fps)) + 1


def ego_motion(
    events: list[PlannedEvent], n: int, fps: float, tail_speed: float
) -> tuple[np.ndarray, np.ndarray]:
    """``(N,)`` odometer and speed of the ego: scenario motion in windows, speed changes between."""
    s, v = np.empty(n), np.empty(n)
    first = events[0].v0 if events else tail_speed
    k, s_prev, v_prev = 0, -first / fps, first  # a virtual frame -1 at the first speed
    for ev in events:
        stretch = min(ev.start, n - 1) - k + 1
        if stretch > 0:
            ds, vv = _speed_change(v_prev, ev.v0, stretch, fps)
            s[k : k + stretch], v[k : k + stretch] = s_prev + ds, vv
        if ev.start >= n:
            return s, np.maximum(v, 0.0)
        hi = min(ev.end + 1, n)
        idx = ev.sample(np.arange(hi - ev.start))
        s[ev.start : hi] = s[ev.start] + ev.scenario.ego.s[idx]
        v[ev.start : hi] = ev.scenario.ego.v[idx]
        k, s_prev, v_prev = hi, s[hi - 1], v[hi - 1]
    if k < n:
        ds, vv = _speed_change(v_prev, tail_speed, n - k, fps)
        s[k:], v[k:] = s_prev + ds, vv
    return s, np.maximum(v, 0.0)  # a stop is exactly 0 m/s, not -1e-15


def _out_of_view(S, lat, ego_s, ego_lat) -> np.ndarray:
    lon = S - ego_s
    return (lon > VIEW_FAR) | (lon < VIEW_BEHIND) | (np.abs(lat - ego_lat) > VIEW_SIDE)


def _velocity(plan_x: np.ndarray, i: int) -> float:
    i = min(max(i, 1), len(plan_x) - 1)
    return float(plan_x[i] - plan_x[i - 1]) / DT


def _before(ev: PlannedEvent, S0, lat0, ego_s, ego_lat, fps):
    """``(k_in, S, lat, heading, speed)``: the key actor in the frames ``k_in .. ev.start - 1``.

    ``k_in`` is the last frame before the window at which it is out of view (0 if it never is), so
    it comes into the picture the way road users do, from far ahead, behind or the side.
    """
    sc, plan = ev.scenario, ev.scenario.key
    u = (ev.start - np.arange(ev.start)) / fps  # seconds before the window
    v0 = _velocity(plan.S, 1)
    if sc.name == "lead_brake":
        # Constant speed for `hold` s; before that slower, speeding up at LEAD_ACCEL from standstill.
        h = ev.hold
        x = np.maximum(u - h, 0.0)
        ramp = np.minimum(x, v0 / LEAD_ACCEL)
        back = v0 * np.minimum(u, h) + v0 * ramp - 0.5 * LEAD_ACCEL * ramp**2
        S = S0 - back
        lat = np.full(len(u), lat0)
        speed = np.maximum(v0 - LEAD_ACCEL * x, 0.0)
    else:
        S = S0 - v0 * u
        lat = lat0 - _velocity(plan.lat, 1) * u
        speed = np.full(len(u), float(plan.speed[0]))
    out = np.flatnonzero(_out_of_view(S, lat, ego_s[: ev.start], ego_lat[: ev.start]))
    k_in = int(out[-1]) if len(out) else 0
    n = len(u)
    heading = np.full(n, float(plan.heading[0]))
    return k_in, S[k_in:], lat[k_in:], heading[k_in:], speed[k_in:]


def _after(ev: PlannedEvent, layout: Layout, S_end, lat_end, head_end, ego_s, ego_lat, fps):
    """Samples of the key actor in the frames after a near miss's window until it is out of view."""
    sc, plan = ev.scenario, ev.scenario.key
    i_end = int(ev.sample(ev.length - 1))
    n = len(ego_s) - ev.end - 1
    if n <= 0:
        return (np.zeros(0),) * 4
    t = np.arange(1, n + 1) / fps
    vS, vlat = _velocity(plan.S, i_end), _velocity(plan.lat, i_end)
    heading = np.full(n, head_end)
    if sc.look.kind == "vehicle" and sc.name in ("lead_brake", "cut_in") and abs(lat_end) < LANE / 2:
        v, s = piecewise_motion(np.concatenate(([0.0], t)), vS, [(0.0, AWAY_ACCEL, max(vS, AWAY_SPEED))])
        S, lat, speed = S_end + s[1:], np.full(n, lat_end), v[1:]
        heading[:] = 0.0
    elif sc.name == "crossing":
        far = layout.left_edge - 1.0 if vlat < 0 else layout.right_edge + 1.0
        lat = np.clip(lat_end + vlat * t, min(far, lat_end), max(far, lat_end))
        moving = np.abs(lat - far) > 1e-9
        S, speed = np.full(n, S_end), np.where(moving, abs(vlat), 0.0)
        heading = np.where(moving, head_end, 0.0)
    else:
        S, lat, speed = S_end + vS * t, lat_end + vlat * t, np.full(n, float(plan.speed[i_end]))
    out = np.flatnonzero(_out_of_view(S, lat, ego_s[ev.end + 1 :], ego_lat[ev.end + 1 :]))
    stop = int(out[0]) + 1 if len(out) else n
    return S[:stop], lat[:stop], heading[:stop], speed[:stop]


def key_actor(
    ev: PlannedEvent, ident: int, layout: Layout, ego_s, ego_lat, fps: float, phase0: float
) -> Actor:
    """The event's key actor over its whole life in the world (frames up to ``len(ego_s) - 1``)."""
    plan = ev.scenario.key
    hi = min(ev.end + 1, len(ego_s))
    idx = ev.sample(np.arange(hi - ev.start))
    S = ego_s[ev.start] + plan.S[idx]
    k_in, S_b, lat_b, head_b, speed_b = _before(ev, S[0], float(plan.lat[idx[0]]), ego_s, ego_lat, fps)
    parts = [
        (S_b, lat_b, head_b, speed_b, np.zeros(len(S_b), bool), np.zeros(len(S_b), bool)),
        (S, plan.lat[idx], plan.heading[idx], plan.speed[idx], plan.brake[idx], plan.fallen[idx]),
    ]
    if not ev.positive and hi == ev.end + 1:
        after = _after(
            ev, layout, S[-1], float(plan.lat[idx[-1]]), float(plan.heading[idx[-1]]), ego_s, ego_lat, fps
        )
        parts.append((*after, np.zeros(len(after[0]), bool), np.zeros(len(after[0]), bool)))
    S, lat, heading, speed, brake, fallen = (np.concatenate(x) for x in zip(*parts, strict=True))
    phase = phase0 + np.concatenate(([0.0], np.cumsum(speed[:-1] / fps)))
    return Actor(ident, "key", ev.scenario.look, S, lat, heading, speed, brake, fallen, phase, k0=k_in)


def conflicts(events: list[PlannedEvent], keys: list[Actor], ego_s, ego_lat) -> list[str]:
    """Where key actors touch the ego outside their own collision, or come too close to each other."""
    found = []
    for ev, a in zip(events, keys, strict=True):
        k = slice(a.k0, a.k0 + len(a.S))
        gaps = separation(ego_box(ego_s[k], ego_lat[k]), actor_box(a))
        frames = np.arange(a.k0, a.k0 + len(a.S))
        touch = (gaps <= CONTACT) & ~(ev.positive & (frames >= ev.ref))
        if touch.any():
            found.append(f"event {ev.index} ({ev.scenario.name}) touches the ego at frame {frames[touch][0]}")
    for i, a in enumerate(keys):
        for j in range(i):
            if pair_gap(a, keys[j]) < KEY_MARGIN:
                found.append(f"events {j} and {i} meet")
    return found


def plan_timeline(rng: np.random.Generator, cfg: DriveConfig, layout: Layout, budget: int,
                  lateral: Callable[[np.ndarray], np.ndarray], first_id: int = 1) -> Timeline | None:  # fmt: skip
    """Place events on a world's timeline until an accident (the world ends) or ``budget`` frames.

    Args:
        rng: The world's generator.
        cfg: Drive configuration.
        layout: The world's road.
        budget: Most frames the world may have.
        lateral: The ego's lane offset as a function of its odometer.
        first_id: Actor id of the first event's key actor (the others follow).

    Returns:
        The timeline (a near miss's world runs on in safe driving to ``budget`` frames), or ``None``
        when not even one event fits in ``budget`` frames.
    """
    fps = cfg.fps
    names = ROAD_SCENARIOS[layout.road]
    weights = {name: SCENARIO_WEIGHTS[name] for name in names}
    tail_speed = float(rng.uniform(9.0, 15.0))
    ref_offset = int(math.ceil((cfg.event_lead[1] + PRE_EVENT) * fps - 1e-9))
    phases: list[float] = []
    events: list[PlannedEvent] = []
    n, draws = budget, 0
    while draws < MAX_DRAWS:
        draws += 1
        positive = bool(rng.random() < cfg.accident_fraction)
        name = weighted_choice(rng, weights)
        length = ref_offset + cfg.frames(cfg.aftermath if positive else cfg.resolve) + 1
        sc = sample_scenario(rng, (length - 1) / fps, ref_offset / fps, cfg.event_lead, positive, name,
                             road_facts(rng, layout, name))  # fmt: skip
        ev = PlannedEvent(len(events), sc, 0, length, ref_offset, fps)
        if events:
            prev = events[-1]
            gap = max(cfg.frames(rng.uniform(*cfg.safe_gap)), change_frames(prev.v_end, ev.v0, ev.hold, fps))
            ev.start = prev.end + 1 + gap
        else:
            ev.start = max(cfg.frames(rng.uniform(*cfg.lead_in)), cfg.frames(ev.hold) + 1)
        phase0 = float(rng.uniform(0, 10))
        for _ in range(MAX_PUSHES):
            if ev.end >= budget:
                break
            trial = [*events, ev]
            s, _ = ego_motion(trial, ev.end + 1, fps, tail_speed)
            lat = lateral(s)
            ids = range(first_id, first_id + len(trial))
            trial_keys = [
                key_actor(e, i, layout, s, lat, fps, p)
                for e, i, p in zip(trial, ids, [*phases, phase0], strict=True)
            ]
            if not conflicts(trial, trial_keys, s, lat):
                break
            ev.start += cfg.frames(PUSH)
        else:
            continue  # still meets another road user: draw another event
        if ev.end >= budget:
            break
        events.append(ev)
        phases.append(phase0)
        draws = 0
        if positive:
            n = ev.end + 1
            break
    if not events:
        return None
    s, v = ego_motion(events, n, fps, tail_speed)
    lat = lateral(s)
    ids = range(first_id, first_id + len(events))
    keys = [key_actor(e, i, layout, s, lat, fps, p) for e, i, p in zip(events, ids, phases, strict=True)]
    return Timeline(events, n, s, v, lat, keys)
