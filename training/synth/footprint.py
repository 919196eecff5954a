"""Road-plane footprints and the contact test of the generator.

A footprint is an axis-aligned box in road coordinates (``S`` along the road, ``lat`` across). The
scenarios place a collision where the ego's front bumper (``BUMPER`` ahead of the camera) reaches
the near edge of the struck road user: a vehicle's rear or side, a pedestrian's 0.3 m or a cyclist's
0.9 m radius. ``separation`` is the gap between two boxes along the axis that separates them most:
positive means apart, zero touching (``<= CONTACT``), negative overlapping.
"""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.palette import VEHICLES
from accident_anticipation_ros.training.synth.scenarios import BUMPER, EGO_HALF, Appearance
from accident_anticipation_ros.training.synth.world import Actor, World

EGO_LENGTH = 4.5  # the ego car from its front bumper to its rear (m)
PERSON_RADIUS = {"pedestrian": 0.3, "cyclist": 0.9}  # as the crossing scenario places them
CONTACT = 1e-6  # m; a separation this small is contact (the scenarios place toa to ~1e-9 m)

Box = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # (S_lo, S_hi, lat_lo, lat_hi), each (N,)


def box(look: Appearance, S, lat, heading) -> Box:
    """Footprint of a road user centred at ``(S, lat)`` with ``heading`` (arrays or scalars)."""
    S, lat, heading = (np.asarray(x, float) for x in (S, lat, heading))
    if look.kind == "vehicle":
        vt = VEHICLES[look.vtype]
        c, s = np.abs(np.cos(heading)), np.abs(np.sin(heading))
        half_S = c * vt.length / 2 + s * vt.width / 2
        half_lat = s * vt.length / 2 + c * vt.width / 2
    else:
        half_S = half_lat = np.full_like(S, PERSON_RADIUS[look.kind])
    return S - half_S, S + half_S, lat - half_lat, lat + half_lat


def ego_box(ego_s, ego_lateral) -> Box:
    """Footprint of the ego car (camera at ``ego_s``, front bumper ``BUMPER`` ahead)."""
    front = np.asarray(ego_s, float) + BUMPER
    lat = np.asarray(ego_lateral, float)
    return front - EGO_LENGTH, front, lat - EGO_HALF, lat + EGO_HALF


def separation(a: Box, b: Box) -> np.ndarray:
    """Gap between boxes ``a`` and ``b`` (m) along their most separating axis; <= 0 is contact."""
    return np.maximum.reduce([a[0] - b[1], b[0] - a[1], a[2] - b[3], b[2] - a[3]])


def actor_box(a: Actor, lo: int = 0, hi: int | None = None) -> Box:
    """Footprint of actor ``a`` over its samples ``lo:hi``."""
    return box(a.look, a.S[lo:hi], a.lat[lo:hi], a.heading[lo:hi])


def ego_gaps(world: World, a: Actor) -> np.ndarray:
    """``(len(a.S),)`` separation between the ego and ``a`` over the frames ``a`` exists in."""
    k = slice(a.k0, a.k0 + len(a.S))
    return separation(ego_box(world.ego_s[k], world.ego_lateral[k]), actor_box(a))


def pair_gap(a: Actor, b: Actor) -> float:
    """Smallest separation of two actors over the frames both exist in (``inf`` if none)."""
    lo, hi = max(a.k0, b.k0), min(a.k0 + len(a.S), b.k0 + len(b.S))
    if hi <= lo:
        return float("inf")
    gaps = separation(actor_box(a, lo - a.k0, hi - a.k0), actor_box(b, lo - b.k0, hi - b.k0))
    return float(gaps.min())


def contacts(world: World) -> list[tuple[int, int]]:
    """``(actor id, frame)`` of every frame in which an actor touches or overlaps the ego car."""
    out = []
    for a in world.actors:
        for i in np.flatnonzero(ego_gaps(world, a) <= CONTACT):
            out.append((a.id, a.k0 + int(i)))
    return out
