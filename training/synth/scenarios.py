"""What happens in a clip: the ego car's motion and the key actor's, for positives and hard negatives.

Every scenario first draws its *shared* parameters (actor, speeds, distances, the reference time
``t_ref`` and the event lead ``tau``) from one distribution, whatever the label. Until the event starts
at ``t_ref - tau`` positives and negatives move identically. Then the label decides the manoeuvre: the
collision at ``t_ref`` (``toa``), or a hard negative (the ego brakes in time, the lead recovers, the
pedestrian stops at the curb, the crossing car stops at the line ...). Rejection sampling only ever
looks at shared parameters, so it keeps the pre-event distributions of both labels equal.

World coordinates: ``S`` is the arc length along the road (m), ``lat`` metres right of the ego lane's
centre line. The camera sits at ``S = ego.s``; ``BUMPER`` metres ahead is the ego's front bumper.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from accident_anticipation_ros.training.synth.motion import DT, bisect, bump, piecewise_motion, smoothstep
from accident_anticipation_ros.training.synth.palette import (
    BODY_COLOURS,
    BODY_WEIGHTS,
    CLOTHES_COLOURS,
    SKIN_TONES,
    VEHICLES,
    weighted_choice,
)

LANE = 3.5  # lane width (m)
BUMPER = 1.9  # camera to front bumper (m)
EGO_HALF = 0.9  # half width of the ego car (m)
SCENARIO_WEIGHTS = {"lead_brake": 0.3, "cut_in": 0.25, "crossing": 0.2, "junction": 0.25}


@dataclass
class Appearance:
    """How an actor looks (and what a caption calls it)."""

    kind: str  # "vehicle" | "pedestrian" | "cyclist"
    vtype: str = ""  # key of palette.VEHICLES for vehicles
    colour_name: str = ""
    colour: tuple[int, int, int] = (128, 128, 128)
    trousers: tuple[int, int, int] = (40, 40, 60)
    skin: tuple[int, int, int] = (210, 160, 120)
    height: float = 1.75  # pedestrians and cyclists (m)
    child: bool = False

    def noun(self) -> str:
        if self.kind == "vehicle":
            return f"{self.colour_name} {self.vtype}"
        if self.kind == "cyclist":
            return f"cyclist in {self.colour_name}"
        return f"{'child' if self.child else 'pedestrian'} in {self.colour_name}"


@dataclass
class Plan:
    """A trajectory on the fine time grid (world coordinates).

    Attributes:
        S: ``(N,)`` arc length of the actor's centre.
        lat: ``(N,)`` lateral position of the centre.
        heading: ``(N,)`` heading relative to the road direction (0 = with the ego, pi = oncoming,
            +pi/2 = crossing towards +lat).
        speed: ``(N,)`` own speed (m/s), drives walking / wheel animation.
        brake: ``(N,)`` brake lights on.
        fallen: ``(N,)`` a pedestrian / cyclist lying on the road (after an impact).
    """

    S: np.ndarray
    lat: np.ndarray
    heading: np.ndarray
    speed: np.ndarray
    brake: np.ndarray
    fallen: np.ndarray


@dataclass
class EgoPlan:
    """The ego car on the fine grid: odometer ``s``, speed ``v``, acceleration ``a``, lane offset."""

    s: np.ndarray
    v: np.ndarray
    a: np.ndarray
    lateral: np.ndarray


@dataclass
class Scenario:
    """One clip's story."""

    name: str  # lead_brake | cut_in | crossing | junction
    variant: str  # "collision" for positives, else the hard-negative variant
    positive: bool
    t: np.ndarray  # the fine time grid
    t_ref: float  # toa (s) of a positive; the matched reference time of a negative
    t_event: float  # start of the critical manoeuvre (s)
    ego: EgoPlan
    key: Plan
    look: Appearance
    side: int  # -1 left, +1 right, 0 ahead
    road: str  # urban | multilane | highway
    ego_lane_right: bool  # ego drives in the rightmost lane of its direction
    junction_S: float | None = None  # arc length of a cross road's centre
    cross_S: float | None = None  # where a pedestrian / cyclist crosses (keep it clear of other traffic)
    min_gap: float = 0.0  # closest approach of a negative (m)
    extras: dict = field(default_factory=dict)


def vehicle_look(rng: np.random.Generator, types: dict[str, float]) -> Appearance:
    name = weighted_choice(rng, BODY_WEIGHTS)
    return Appearance(
        "vehicle", vtype=weighted_choice(rng, types), colour_name=name, colour=BODY_COLOURS[name]
    )


def person_look(rng: np.random.Generator, kind: str) -> Appearance:
    shirt = str(rng.choice(list(CLOTHES_COLOURS)))
    child = kind == "pedestrian" and rng.random() < 0.2
    return Appearance(
        kind,
        colour_name=shirt,
        colour=CLOTHES_COLOURS[shirt],
        trousers=tuple(int(c) for c in rng.choice([(40, 44, 70), (30, 30, 34), (90, 80, 70), (60, 70, 110)])),
        skin=SKIN_TONES[int(rng.integers(len(SKIN_TONES)))],
        height=float(rng.uniform(1.15, 1.4) if child else rng.uniform(1.6, 1.9)),
        child=child,
    )


class _Ctx:
    """Shared per-clip quantities: time grid, reference time, event start, ego speed.

    ``fixed`` holds road facts imposed from outside (a continuous drive whose road already exists):
    ``side`` of a cut-in, ``parking`` / ``right_curb`` / ``left_curb`` of a crossing. A fixed fact
    replaces its random draw; without any, the draws (and so every clip) are unchanged.
    """

    def __init__(self, rng: np.random.Generator, duration: float, t_ref: float, tau: float, v0: float,
                 fixed: dict | None = None):  # fmt: skip
        self.rng = rng
        self.t = np.arange(0.0, duration + 1.0, DT)
        self.t_ref = t_ref
        self.tau = tau
        self.t_e = t_ref - tau
        self.v0 = v0
        self.fixed = fixed or {}

    def pick(self, name: str, draw):
        """The fixed value of ``name`` if there is one, else ``draw()``."""
        return self.fixed[name] if name in self.fixed else draw()

    def ego(self, brake_at: float | None = None, decel: float = 0.0, crash: bool = False) -> EgoPlan:
        """Constant speed; optionally braking from ``brake_at``; a crash stops the car at ``t_ref``."""
        segments: list[tuple[float, float, float | None]] = [(0.0, 0.0, None)]
        if brake_at is not None:
            segments.append((brake_at, -decel, None))
        if crash:
            segments = [(0.0, 0.0, None), (self.t_ref, -13.0, None)]
        v, s = piecewise_motion(self.t, self.v0, segments)
        a = np.gradient(v, DT)
        lateral = 0.12 * np.sin(2 * np.pi * self.rng.uniform(0.05, 0.15) * self.t + self.rng.uniform(0, 6.3))
        return EgoPlan(s=s, v=v, a=a, lateral=lateral)

    def idx(self, time: float) -> int:
        return int(np.clip(round(time / DT), 0, len(self.t) - 1))


def _gap_series(lead_s: np.ndarray, ego_s: np.ndarray, lead_len: float) -> np.ndarray:
    """Bumper-to-bumper gap between the ego's front and a leading vehicle's rear."""
    return lead_s - lead_len / 2 - (ego_s + BUMPER)


def _attach_after_crash(ctx: _Ctx, plan_S: np.ndarray, ego: EgoPlan, offset: float) -> np.ndarray:
    """After ``t_ref`` the struck actor moves with the ego car, ``offset`` ahead of the camera plus a bounce."""
    out = plan_S.copy()
    after = ctx.t >= ctx.t_ref
    bounce = 0.35 * (1.0 - np.exp(-(ctx.t[after] - ctx.t_ref) / 0.12))
    out[after] = ego.s[after] + offset + bounce
    return out


def _brake_to_gap(ctx: _Ctx, gap_fn, t_brake: float, g_min: float) -> tuple[float, float] | None:
    """Ego deceleration (m/s^2) from ``t_brake`` whose closest approach is ``g_min``; returns (decel, min gap)."""

    def min_gap(decel: float) -> float:
        return float(np.min(gap_fn(ctx.ego(brake_at=t_brake, decel=decel))))

    decel = bisect(min_gap, 1.0, 11.0, g_min)
    if decel is None:
        if min_gap(11.0) > 0.4:
            return 11.0, min_gap(11.0)
        return None
    return decel, g_min


def _first_brake(ctx: _Ctx, gap_fn, g_min: float, frac: float) -> tuple[EgoPlan, float] | None:
    """The ego brakes ``frac * tau`` after the event start (or earlier if needed) to keep ``g_min``."""
    for f in (frac, 0.2, 0.08):
        found = _brake_to_gap(ctx, gap_fn, ctx.t_e + f * ctx.tau, g_min)
        if found is not None:
            return ctx.ego(brake_at=ctx.t_e + f * ctx.tau, decel=found[0]), found[1]
    return None


def _braking(v: np.ndarray) -> np.ndarray:
    """Brake lights: on while decelerating harder than 0.8 m/s^2."""
    return np.gradient(v, DT) < -0.8


# --------------------------------------------------------------------------------------- lead vehicle
def lead_brake(ctx: _Ctx, positive: bool) -> Scenario | None:
    """A vehicle ahead in the ego lane brakes hard (positive: the ego does not react and rear-ends it)."""
    rng, t = ctx.rng, ctx.t
    look = vehicle_look(rng, {"sedan": 4, "hatchback": 2, "SUV": 3, "van": 1.2, "truck": 0.8, "bus": 0.3})
    length = VEHICLES[look.vtype].length
    dv = rng.uniform(-0.6, 0.6)
    g_e = rng.uniform(7.0, 20.0)
    ego = ctx.ego()
    # Lead's arc length: constant speed v0 + dv, gap g_e at the event start.
    S_e = ego.s[ctx.idx(ctx.t_e)] + BUMPER + g_e + length / 2

    def lead(a_l: float, segments_after=()) -> tuple[np.ndarray, np.ndarray]:
        segs = [(0.0, 0.0, None), (ctx.t_e, -a_l, None), *segments_after]
        v, s = piecewise_motion(t, ctx.v0 + dv, segs)
        return v, s - (ctx.v0 + dv) * ctx.t_e + S_e  # constant speed until the event: exact s(t_e)

    def gap_at_ref(a_l: float) -> float:
        return float(_gap_series(lead(a_l)[1], ego.s, length)[ctx.idx(ctx.t_ref)])

    a_l = bisect(gap_at_ref, 2.0, 10.0, 0.0)
    if a_l is None:
        return None  # shared parameters infeasible: resample (label-independent)
    v_l, S = lead(a_l)
    variant, min_gap = "collision", 0.0
    if positive:
        ego = ctx.ego(crash=True)
        S = _attach_after_crash(ctx, S, ego, BUMPER + length / 2)
        v_l = np.where(t >= ctx.t_ref, ego.v, v_l)
    else:
        # Variants never reject: a failed one falls back to brake_recover, which is always feasible.
        variant = "ego_brakes" if rng.random() < 0.5 else "brake_recover"
        g_min = rng.uniform(1.0, 4.0)
        if variant == "ego_brakes":
            found = _first_brake(ctx, lambda e: _gap_series(S, e.s, length), g_min, rng.uniform(0.3, 0.55))
            if found is None:
                variant = "brake_recover"
            else:
                ego, min_gap = found
        if variant == "brake_recover":

            def recover(d_b: float):
                return lead(a_l, [(ctx.t_e + d_b, 2.8, ctx.v0 + dv)])

            def closest(d_b: float) -> float:
                return float(np.min(_gap_series(recover(d_b)[1], ego.s, length)))

            d_b = bisect(closest, 0.15, ctx.tau, g_min) or 0.15
            v_l, S = recover(d_b)
            min_gap = closest(d_b)
    plan = Plan(S, np.zeros_like(t), np.zeros_like(t), v_l, _braking(v_l), np.zeros(len(t), bool))
    return Scenario("lead_brake", variant, positive, t, ctx.t_ref, ctx.t_e, ego, plan, look, 0,
                    road=str(rng.choice(["urban", "multilane", "highway"])), ego_lane_right=bool(rng.random() < 0.6),
                    min_gap=min_gap)  # fmt: skip


# --------------------------------------------------------------------------------------------- cut-in
def cut_in(ctx: _Ctx, positive: bool) -> Scenario | None:
    """A vehicle in the adjacent lane changes into the ego lane (positive: too close, then brakes)."""
    rng, t = ctx.rng, ctx.t
    look = vehicle_look(rng, {"sedan": 4, "hatchback": 2, "SUV": 3, "van": 1.2, "truck": 0.6})
    length, width = VEHICLES[look.vtype].length, VEHICLES[look.vtype].width
    side = int(ctx.pick("side", lambda: rng.choice([-1, 1])))
    dv = rng.uniform(-2.0, 0.5)
    g_e = rng.uniform(1.5, 9.0)
    lat0 = side * LANE + rng.uniform(-0.3, 0.3)
    ego = ctx.ego()
    S_e = ego.s[ctx.idx(ctx.t_e)] + BUMPER + g_e + length / 2

    def actor(a: float, v_limit: float | None = None):
        v, s = piecewise_motion(t, ctx.v0 + dv, [(0.0, 0.0, None), (ctx.t_e, -a, v_limit)])
        return v, s - (ctx.v0 + dv) * ctx.t_e + S_e

    a = bisect(
        lambda acc: float(_gap_series(actor(acc)[1], ego.s, length)[ctx.idx(ctx.t_ref)]), -1.5, 8.0, 0.0
    )
    if a is None:
        return None
    v_a, S = actor(a)
    change = smoothstep((t - ctx.t_e) / (0.85 * ctx.tau))
    lat = lat0 * (1.0 - change)
    variant, min_gap = "collision", 0.0
    if positive:
        ego = ctx.ego(crash=True)
        S = _attach_after_crash(ctx, S, ego, BUMPER + length / 2)
        v_a = np.where(t >= ctx.t_ref, ego.v, v_a)
    else:
        variant = str(rng.choice(["safe_merge", "aborted", "ego_brakes"], p=[0.35, 0.35, 0.3]))
        if variant == "safe_merge":
            v_a, S = actor(-rng.uniform(1.8, 3.2), ctx.v0 + dv + 6.0)
            min_gap = float(np.min(_gap_series(S, ego.s, length)[ctx.idx(ctx.t_e) :]))
            if min_gap < 2.5:
                variant = "ego_brakes"
                v_a, S = actor(a)
        if variant == "ego_brakes":
            found = _first_brake(
                ctx, lambda e: _gap_series(S, e.s, length), rng.uniform(1.5, 4.0), rng.uniform(0.35, 0.6)
            )
            if found is None:
                variant = "aborted"  # always feasible: the lateral manoeuvre alone decides
            else:
                ego, min_gap = found
        if variant == "aborted":
            amp = rng.uniform(0.8, max(0.8, min(1.4, abs(lat0) - width / 2 - EGO_HALF - 0.3)))
            lat = lat0 - np.sign(lat0) * amp * bump((t - ctx.t_e) / (1.6 * ctx.tau))
            min_gap = float(np.min(np.abs(lat)) - width / 2 - EGO_HALF)
    heading = np.arctan2(np.gradient(lat, DT), np.maximum(v_a, 0.5))
    plan = Plan(S, lat, heading, v_a, _braking(v_a), np.zeros(len(t), bool))
    road = str(rng.choice(["multilane", "highway"]))
    right = side < 0  # the adjacent lane on the left exists when the ego drives in the right lane
    return Scenario("cut_in", variant, positive, t, ctx.t_ref, ctx.t_e, ego, plan, look, side, road=road,
                    ego_lane_right=right, min_gap=min_gap)  # fmt: skip


# ------------------------------------------------------------------------------ crossing person / bike
def crossing(ctx: _Ctx, positive: bool) -> Scenario | None:
    """A pedestrian or cyclist crosses the road in front of the ego car (positive: it is hit)."""
    rng, t = ctx.rng, ctx.t
    side = 1 if rng.random() < 0.65 else -1
    kind = "pedestrian" if (side > 0 and rng.random() < 0.75) else "cyclist"
    look = person_look(rng, kind)
    parking = bool(ctx.pick("parking", lambda: rng.random() < 0.4))  # parked cars inside the right curb
    right_curb = ctx.pick(
        "right_curb", lambda: LANE / 2 + (rng.uniform(2.2, 2.6) if parking else rng.uniform(0.3, 1.1))
    )
    left_curb = ctx.pick("left_curb", lambda: -(LANE / 2 + LANE + rng.uniform(0.3, 0.8)))
    curb = right_curb if side > 0 else left_curb
    if side > 0 and parking:
        x_e = right_curb - rng.uniform(0.4, 1.2)  # between two parked cars when the event starts
        stop = LANE / 2 + rng.uniform(0.3, 0.6)  # where a hard negative stops: at the lane's edge
    else:
        x_e = curb + side * rng.uniform(0.4, 1.6)  # on the sidewalk when the event starts
        stop = curb - side * rng.uniform(0.0, 0.4)
    x_hit = rng.uniform(-0.5, 0.5)
    walk = ctx.tau - 0.15
    speed = abs(x_e - x_hit) / walk
    lo, hi = (1.0, 3.2) if kind == "pedestrian" else (2.5, 7.0)
    if not lo <= speed <= hi:
        return None
    along = rng.uniform(-1.2, 1.2) if rng.random() < 0.6 and not (side > 0 and parking) else 0.0
    ego = ctx.ego()
    radius = 0.3 if kind == "pedestrian" else 0.9
    S_hit = ego.s[ctx.idx(ctx.t_ref)] + BUMPER + radius
    before = t < ctx.t_e
    S = np.where(before, S_hit + along * (t - ctx.t_e), S_hit)
    direction = -side  # moving towards -lat from the right side
    ramp = smoothstep((t - ctx.t_e) / 0.3) * 0.15  # smoothed start: 0.15 s of distance lost

    def crossing_lat(factor: float) -> np.ndarray:
        travelled = np.maximum(t - ctx.t_e - ramp, 0.0) * speed * factor
        return x_e + direction * travelled

    lat = crossing_lat(1.0)
    moving = ~before
    fallen = np.zeros(len(t), bool)
    variant, min_gap = "collision", 0.0
    if positive:
        ego = ctx.ego(crash=True)
        after = t >= ctx.t_ref
        S = np.where(after, ego.s + BUMPER + radius + 2.5 * (1 - np.exp(-(t - ctx.t_ref) / 0.35)), S)
        lat = np.where(
            after, lat[ctx.idx(ctx.t_ref)] + direction * 0.4 * (1 - np.exp(-(t - ctx.t_ref) / 0.3)), lat
        )
        fallen = t >= ctx.t_ref + 0.12
        moving = moving & ~fallen
    else:
        variant = str(rng.choice(["stops_at_curb", "ego_yields", "crosses_ahead"], p=[0.45, 0.35, 0.2]))
        if variant == "ego_yields":
            path = np.abs(lat - x_hit) < 2.0  # the person is in front of the car

            def gap_fn(e: EgoPlan) -> np.ndarray:
                return np.where(path, S - radius - (e.s + BUMPER), np.inf)

            found = _first_brake(ctx, gap_fn, rng.uniform(1.5, 4.0), rng.uniform(0.25, 0.5))
            if found is None:
                variant = "stops_at_curb"
            else:
                ego, min_gap = found
        if variant == "crosses_ahead":
            lat = crossing_lat(1.8)
            min_gap = float(np.abs(lat[ctx.idx(ctx.t_ref)] - x_hit))
        if variant == "stops_at_curb":
            lat = np.where(direction * (lat - stop) > 0, stop, lat)
            # Ease into the stop: the last 0.4 m are walked at decreasing speed.
            dist = np.abs(lat - stop)
            lat = np.where(dist < 0.4, stop - direction * 0.4 * (dist / 0.4) ** 2, lat)
            moving = moving & (dist > 0.02)
            min_gap = float(abs(stop - x_hit))
    heading = np.where(before, 0.0 if along >= 0 else np.pi, direction * np.pi / 2)
    own_speed = np.where(before, abs(along), np.where(moving, speed, 0.0))
    plan = Plan(S, lat, heading, own_speed, np.zeros(len(t), bool), fallen)
    return Scenario("crossing", variant, positive, t, ctx.t_ref, ctx.t_e, ego, plan, look, side, road="urban",
                    ego_lane_right=True, cross_S=S_hit, min_gap=min_gap,
                    extras={"right_curb": right_curb, "left_curb": left_curb, "parking": parking and side > 0})  # fmt: skip


# ------------------------------------------------------------------------------------------- junction
def junction(ctx: _Ctx, positive: bool) -> Scenario | None:
    """A car crosses a junction from a side road (positive: it does not stop, side impact)."""
    rng, t = ctx.rng, ctx.t
    look = vehicle_look(rng, {"sedan": 4, "hatchback": 2, "SUV": 3, "van": 1.2, "truck": 0.5})
    vt = VEHICLES[look.vtype]
    side = int(rng.choice([-1, 1]))  # the side road it comes from
    direction = -side
    w0 = rng.uniform(5.0, 11.0)
    x_hit = rng.uniform(-1.0, 1.0)
    stop_line = side * (LANE * 1.5 + 1.2)  # the side road's stop line, outside the ego road's far edge
    stop_x = stop_line + side * (vt.length / 2 + 0.3)
    d_stop = w0 * ctx.tau - abs(stop_x - x_hit)  # distance left to the stop position at the event start
    if d_stop < w0 * w0 / (2 * 7.5):
        return None  # could not stop at the line: resample (label-independent)
    ego = ctx.ego()
    S_lane = ego.s[ctx.idx(ctx.t_ref)] + BUMPER + vt.width / 2
    junction_S = S_lane + (LANE / 2 if side < 0 else -LANE / 2)
    lat = x_hit + direction * w0 * (t - ctx.t_ref)
    v = np.full(len(t), w0)
    heading = np.full(len(t), direction * np.pi / 2)
    S = np.full(len(t), S_lane)
    variant, min_gap = "collision", 0.0
    if positive:
        ego = ctx.ego(crash=True)
        after = t >= ctx.t_ref
        push = ego.s - ego.s[ctx.idx(ctx.t_ref)]
        S = np.where(after, S_lane + push, S)
        lat = np.where(after, x_hit + direction * w0 * 0.25 * (1 - np.exp(-(t - ctx.t_ref) / 0.25)), lat)
        heading = np.where(after, heading + side * 0.5 * (1 - np.exp(-(t - ctx.t_ref) / 0.3)), heading)
        v = np.where(after, 0.0, v)
    else:
        variant = str(rng.choice(["stops_at_line", "passes_ahead", "ego_yields"], p=[0.45, 0.25, 0.3]))
        if variant == "passes_ahead":
            margin = rng.uniform(0.6, 2.0)
            extra = EGO_HALF + 0.3 + margin + vt.length / 2 - direction * x_hit
            acc = 2 * extra / ctx.tau**2
            if acc > 6.0:
                variant = "stops_at_line"
            else:
                vv, ss = piecewise_motion(t, w0, [(0.0, 0.0, None), (ctx.t_e, acc, w0 + 8.0)])
                lat = x_hit - direction * w0 * ctx.tau + direction * (ss - w0 * ctx.t_e)
                v = vv
                min_gap = margin
        if variant == "ego_yields":
            path = np.abs(lat - x_hit) < vt.length / 2 + 2.5

            def gap_fn(e: EgoPlan) -> np.ndarray:
                return np.where(path, S_lane - vt.width / 2 - (e.s + BUMPER), np.inf)

            found = _first_brake(ctx, gap_fn, rng.uniform(1.5, 4.0), rng.uniform(0.2, 0.45))
            if found is None:
                variant = "stops_at_line"
            else:
                ego, min_gap = found
        if variant == "stops_at_line":
            decel = w0 * w0 / (2 * d_stop)
            vv, ss = piecewise_motion(t, w0, [(0.0, 0.0, None), (ctx.t_e, -decel, None)])
            lat = x_hit - direction * w0 * ctx.tau + direction * (ss - w0 * ctx.t_e)
            v = vv
            min_gap = float(abs(stop_x - x_hit))
    plan = Plan(S, lat, heading, v, _braking(v), np.zeros(len(t), bool))
    return Scenario("junction", variant, positive, t, ctx.t_ref, ctx.t_e, ego, plan, look, side, road="urban",
                    ego_lane_right=True, junction_S=junction_S, cross_S=S_lane, min_gap=min_gap,
                    extras={"stop_line": stop_line})  # fmt: skip


BUILDERS = {"lead_brake": lead_brake, "cut_in": cut_in, "crossing": crossing, "junction": junction}


def sample_scenario(
    rng: np.random.Generator,
    duration: float,
    t_ref: float,
    event_lead: tuple[float, float],
    positive: bool,
    name: str | None = None,
    fixed: dict | None = None,
) -> Scenario:
    """Draw a scenario (shared parameters are resampled until feasible, whatever the label).

    ``fixed``: road facts a continuous drive imposes (see ``_Ctx``); ``None`` for clips.
    """
    name = name or weighted_choice(rng, SCENARIO_WEIGHTS)
    speeds = {
        "lead_brake": (9.0, 17.0),
        "cut_in": (10.0, 18.0),
        "crossing": (7.0, 12.0),
        "junction": (8.0, 14.0),
    }
    for _ in range(200):
        tau = float(rng.uniform(*event_lead))
        v0 = float(rng.uniform(*speeds[name]))
        ctx = _Ctx(rng, duration, t_ref, tau, v0, fixed)
        scenario = BUILDERS[name](ctx, positive)
        if scenario is not None:
            return scenario
    raise RuntimeError(f"could not sample a feasible {name} scenario")  # pragma: no cover
