"""One world of a drive, planned in full before its first frame is drawn.

Conditions (light, weather, road, camera) are drawn per world; the timeline of events
(``drive_events``) and the rest of the road users (``drive_traffic``) follow. A world is kept only if
no road user touches the ego car except the key actor of its accident, from toa on; otherwise it is
drawn again from the next attempt's seed (a pure function of ``(seed, world index, attempt)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from accident_anticipation_ros.training.synth.drive_config import DriveConfig, segment_seed
from accident_anticipation_ros.training.synth.drive_events import (
    ROAD_WEIGHTS,
    PlannedEvent,
    Timeline,
    plan_timeline,
)
from accident_anticipation_ros.training.synth.drive_traffic import populate
from accident_anticipation_ros.training.synth.footprint import contacts
from accident_anticipation_ros.training.synth.motion import smoothstep
from accident_anticipation_ros.training.synth.palette import (
    LIGHTING_WEIGHTS,
    WEATHER_WEIGHTS,
    weighted_choice,
)
from accident_anticipation_ros.training.synth.render import Junction
from accident_anticipation_ros.training.synth.scenarios import Scenario
from accident_anticipation_ros.training.synth.world import World, make_layout

MAX_ATTEMPTS = 20


@dataclass(frozen=True)
class RoadSpec:
    """The road facts ``world.make_layout`` reads, for a drive (no scenario owns the road)."""

    road: str
    ego_lane_right: bool
    name: str = "drive"
    side: int = 0
    junction_S: float | None = None
    extras: dict = field(default_factory=dict)


@dataclass
class DriveWorld:
    """A planned world of a drive: everything the renderer and the metadata need.

    Attributes:
        index: World (segment) index within the drive.
        attempt: Seed attempt that produced it.
        world: Road, props, actors and the ego's motion; frame ``k`` is the world's ``k``-th frame.
        events: The events on its timeline.
        lighting: Lighting name.
        weather: Weather name.
        junctions: Its junctions.
        crash: The scenario the renderer takes for crash effects (see ``DriveRenderer``).
        focus: ``(N,)`` id of the key actor of the current or next event where it exists, else -1.
        event_of: ``(N,)`` index into ``events`` of the window holding the frame, else -1.
        rng: The world's generator, continued by the renderer.
    """

    index: int
    attempt: int
    world: World
    events: list[PlannedEvent]
    lighting: str
    weather: str
    junctions: list[Junction]
    crash: Scenario
    focus: np.ndarray
    event_of: np.ndarray
    rng: np.random.Generator

    @property
    def num_frames(self) -> int:
        return len(self.world.ego_s)

    @property
    def ends_in_accident(self) -> bool:
        return bool(self.events) and self.events[-1].positive

    def key_id(self, event: int) -> int:
        """Actor id of the key actor of ``events[event]``."""
        return self.world.actors[event].id


def _lateral(rng: np.random.Generator):
    """The ego's offset in its lane as a smooth function of its odometer (it does not drift when stopped)."""
    freq, phase = rng.uniform(1 / 150, 1 / 60, 3), rng.uniform(0, 2 * np.pi, 3)

    def lateral(s: np.ndarray) -> np.ndarray:
        return 0.12 / np.sqrt(3) * np.sin(2 * np.pi * freq * np.asarray(s)[..., None] + phase).sum(-1)

    return lateral


def _curvature(rng: np.random.Generator, ego_s: np.ndarray, junctions: list[float]) -> np.ndarray:
    """Road curvature at the camera, a smooth function of the odometer, straight around junctions."""
    freq, phase = rng.uniform(1 / 900, 1 / 250, 3), rng.uniform(0, 2 * np.pi, 3)
    amplitude = rng.uniform(0.3, 1.0) / 160
    kappa = amplitude / np.sqrt(3) * np.sin(2 * np.pi * freq * ego_s[:, None] + phase).sum(-1)
    for j in junctions:  # the cross road is in view from 200 m before it
        kappa *= 1.0 - smoothstep((ego_s - (j - 250.0)) / 50.0) * smoothstep(((j + 20.0) - ego_s) / 30.0)
    return np.clip(kappa, -1 / 160, 1 / 160)


def _focus(events: list[PlannedEvent], keys, n: int) -> tuple[np.ndarray, np.ndarray]:
    focus, event_of = np.full(n, -1, np.int32), np.full(n, -1, np.int32)
    k = np.arange(n)
    ends = np.array([ev.end for ev in events])
    nxt = np.searchsorted(ends, k)  # the current or next event of each frame
    for e, (ev, a) in enumerate(zip(events, keys, strict=True)):
        alive = (nxt == e) & (k >= a.k0) & (k < a.k0 + len(a.S))
        focus[alive] = a.id
        event_of[ev.start : ev.end + 1] = e
    return focus, event_of


def _attempt(
    cfg: DriveConfig, seed: int, index: int, attempt: int, budget: int
) -> tuple[DriveWorld | None, list]:
    rng = np.random.default_rng(segment_seed(seed, index, attempt))
    lighting = weighted_choice(rng, LIGHTING_WEIGHTS)
    weather = weighted_choice(rng, WEATHER_WEIGHTS)
    road = weighted_choice(rng, ROAD_WEIGHTS)
    layout = make_layout(rng, RoadSpec(road, ego_lane_right=bool(rng.random() < 0.6)))
    lateral = _lateral(rng)
    tl: Timeline | None = plan_timeline(rng, cfg, layout, budget, lateral)
    if tl is None:
        return None, []
    offsets = [float(tl.ego_s[ev.start]) for ev in tl.events]
    junctions = [
        Junction(off + ev.scenario.junction_S, ev.scenario.extras["stop_line"], ev.scenario.side)
        for ev, off in zip(tl.events, offsets, strict=True)
        if ev.scenario.junction_S is not None
    ]
    crossings = [
        off + ev.scenario.cross_S
        for ev, off in zip(tl.events, offsets, strict=True)
        if ev.scenario.cross_S is not None and ev.scenario.name == "crossing"
    ]
    junction_S = [j.S for j in junctions]
    ambient, props = populate(rng, layout, tl.ego_s, tl.ego_v, cfg.fps, tl.keys, len(tl.keys) + 1, junction_S,
                              crossings, cfg.lead_traffic)  # fmt: skip
    kappa = _curvature(rng, tl.ego_s, junction_S)
    ego_a = np.gradient(tl.ego_v) * cfg.fps if tl.num_frames > 1 else np.zeros(tl.num_frames)
    world = World(layout, props, tl.keys + ambient, tl.ego_s, tl.ego_v, ego_a, tl.ego_lateral, kappa)
    last = tl.events[-1]
    allowed = {(tl.keys[-1].id, k) for k in range(last.ref, last.end + 1)} if last.positive else set()
    bad = [c for c in contacts(world) if c not in allowed]
    if bad:
        return None, bad
    crash = (
        replace(last.scenario, t_ref=last.ref / cfg.fps)
        if last.positive
        else replace(tl.events[0].scenario, positive=False)
    )
    focus, event_of = _focus(tl.events, tl.keys, tl.num_frames)
    return DriveWorld(
        index, attempt, world, tl.events, lighting, weather, junctions, crash, focus, event_of, rng
    ), []


def plan_world(cfg: DriveConfig, seed: int, index: int, budget: int) -> DriveWorld | None:
    """Plan world ``index`` of a drive in at most ``budget`` frames; ``None`` when no event fits.

    Raises:
        RuntimeError: Every attempt left a road user touching the ego car outside its accident.
    """
    found: list = []
    for attempt in range(MAX_ATTEMPTS):
        world, found = _attempt(cfg, seed, index, attempt, budget)
        if world is not None:
            return world
        if not found:
            return None
    raise RuntimeError(f"world {index}: road users touch the ego car in every attempt, e.g. {found[:3]}")
