"""Planned worlds of a drive: toa exactness, near misses without contact, the ego's motion, entries and exits.

No frames are drawn here: the checks run on the world state the renderer would draw.
"""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.synth.drive_config import make_drive_config
from accident_anticipation_ros.training.synth.drive_events import VIEW_BEHIND, VIEW_FAR, VIEW_SIDE
from accident_anticipation_ros.training.synth.drive_world import plan_world
from accident_anticipation_ros.training.synth.footprint import CONTACT, contacts, ego_gaps

CFG = {preset: make_drive_config(preset, size=48, duration=120.0) for preset in ("ccd", "dad")}
SEEDS = range(12)


def worlds(preset: str):
    cfg = CFG[preset]
    return [plan_world(cfg, seed, 0, cfg.frames(cfg.duration)) for seed in SEEDS]


@pytest.fixture(scope="module", params=["ccd", "dad"])
def planned(request):
    return request.param, worlds(request.param)


def test_the_collision_happens_exactly_at_toa(planned):
    preset, found = planned
    accidents = 0
    for dw in found:
        for e, ev in enumerate(dw.events):
            if not ev.positive:
                continue
            accidents += 1
            key = dw.world.actors[e]
            gaps = ego_gaps(dw.world, key)
            i = ev.ref - key.k0
            assert gaps[i] <= CONTACT, (preset, ev.scenario.name, gaps[i])  # touching at toa ...
            assert (gaps[:i] > CONTACT).all(), (preset, ev.scenario.name)  # ... and never before
            assert gaps[i - 1] > 0.02, (preset, ev.scenario.name, gaps[i - 1])  # a frame earlier: apart
            assert ev.event_frame < ev.ref and ev.scenario.variant == "collision"
    assert accidents >= 6, accidents  # enough of them to mean something


def test_nothing_else_ever_touches_the_ego(planned):
    _, found = planned
    for dw in found:
        allowed = set()
        if dw.ends_in_accident:
            last = dw.events[-1]
            allowed = {(dw.key_id(len(dw.events) - 1), k) for k in range(last.ref, last.end + 1)}
        assert set(contacts(dw.world)) <= allowed, dw.index
        for e, ev in enumerate(dw.events[:-1] if dw.ends_in_accident else dw.events):
            assert not ev.positive and ev.scenario.variant != "collision"
            assert (ego_gaps(dw.world, dw.world.actors[e]) > CONTACT).all()


def test_a_world_ends_with_its_accident_and_events_do_not_overlap(planned):
    preset, found = planned
    near_misses = 0
    for dw in found:
        ends = [ev.end for ev in dw.events]
        starts = [ev.start for ev in dw.events]
        assert all(b > a for a, b in zip(ends, starts[1:], strict=False))
        near_misses += sum(not ev.positive for ev in dw.events)
        if dw.ends_in_accident:
            assert dw.num_frames == dw.events[-1].end + 1
        else:
            assert dw.num_frames == CFG[preset].frames(CFG[preset].duration)  # safe driving to the end
        for ev in dw.events:
            assert ev.ref == ev.start + ev.ref_offset and ev.start <= ev.ref <= ev.end
    assert near_misses >= 3


def test_the_ego_drives_on_smoothly(planned):
    preset, found = planned
    fps = CFG[preset].fps
    for dw in found:
        w = dw.world
        assert (np.diff(w.ego_s) >= 0).all() and (w.ego_v >= 0).all()
        # speed is continuous; only an accident's crash stop is harder than a hard brake
        step = np.abs(np.diff(w.ego_v)) * fps
        limit = np.where(
            np.arange(len(step)) >= (dw.events[-1].ref - 1 if dw.ends_in_accident else len(step)), 14, 11.5
        )
        assert (step <= limit).all(), float(step.max())
        assert np.abs(w.ego_lateral).max() < 0.25 and np.abs(w.kappa).max() <= 1 / 160 + 1e-12


def test_key_actors_enter_and_leave_out_of_view(planned):
    _, found = planned
    for dw in found:
        w = dw.world
        for e, ev in enumerate(dw.events):
            a = w.actors[e]
            assert a.role == "key" and a.index(ev.start) is not None and a.index(ev.end) is not None
            for i, k in ((0, a.k0), (len(a.S) - 1, a.k0 + len(a.S) - 1)):
                lon = a.S[i] - w.ego_s[k]
                out = lon > VIEW_FAR or lon < VIEW_BEHIND or abs(a.lat[i] - w.ego_lateral[k]) > VIEW_SIDE
                at_edge = k in (0, dw.num_frames - 1) or (ev.positive and i == len(a.S) - 1)
                assert out or at_edge, (ev.scenario.name, i, lon)


def test_same_seed_same_world_and_seeds_differ():
    cfg = CFG["ccd"]
    a, b, c = (plan_world(cfg, seed, 0, 600) for seed in (3, 3, 4))
    assert [(ev.scenario.name, ev.start, ev.ref) for ev in a.events] == [
        (ev.scenario.name, ev.start, ev.ref) for ev in b.events
    ]
    assert np.array_equal(a.world.ego_s, b.world.ego_s) and len(a.world.actors) == len(b.world.actors)
    assert not np.array_equal(a.world.ego_s[: len(c.world.ego_s)], c.world.ego_s[: len(a.world.ego_s)])
