"""Scenario physics: positives collide exactly at toa, hard negatives never collide, and before the
critical manoeuvre a positive and a negative drawn from the same seed move identically."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.synth.palette import VEHICLES
from accident_anticipation_ros.training.synth.scenarios import (
    BUILDERS,
    BUMPER,
    EGO_HALF,
    Scenario,
    sample_scenario,
)


def separation(sc: Scenario) -> np.ndarray:
    """Distance between the ego's and the key actor's footprints (<= 0: contact)."""
    k, e = sc.key, sc.ego
    if sc.look.kind == "vehicle":
        vt = VEHICLES[sc.look.vtype]
        half_lon, half_lat = (
            (vt.width / 2, vt.length / 2) if sc.name == "junction" else (vt.length / 2, vt.width / 2)
        )
    else:
        half_lon, half_lat = (0.3, 0.3) if sc.look.kind == "pedestrian" else (0.9, 0.3)
    ahead = (k.S - half_lon) - (e.s + BUMPER)
    behind = (e.s + BUMPER - 4.6) - (k.S + half_lon)
    beside = np.abs(k.lat - e.lateral) - half_lat - EGO_HALF
    return np.maximum(np.maximum(ahead, behind), beside)


def _sample(name: str, positive: bool, seed: int) -> Scenario:
    rng = np.random.default_rng(seed)
    t_ref = rng.uniform(3.0, 4.5)
    return sample_scenario(np.random.default_rng(seed + 1000), 5.0, t_ref, (1.2, 2.0), positive, name)


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_positives_collide_at_toa(name):
    for seed in range(6):
        sc = _sample(name, True, seed)
        sep = separation(sc)
        i = int(round(sc.t_ref / 0.01))
        assert sc.variant == "collision" and sc.positive
        assert abs(sep[i]) < 0.06, (seed, sep[i])
        assert sep[: i - 5].min() > 0.0  # no earlier contact


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_hard_negatives_never_collide(name):
    variants = set()
    for seed in range(12):
        sc = _sample(name, False, seed)
        variants.add(sc.variant)
        assert not sc.positive and sc.variant != "collision"
        assert separation(sc).min() > 0.25, (seed, sc.variant)
    assert len(variants) >= 2  # several kinds of hard negatives


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_same_seed_moves_identically_until_the_event(name):
    for seed in range(4):
        pos, neg = _sample(name, True, seed), _sample(name, False, seed)
        assert pos.t_event == neg.t_event and pos.t_ref == neg.t_ref
        before = pos.t < pos.t_event - 1e-9
        for a, b in ((pos.key.S, neg.key.S), (pos.key.lat, neg.key.lat), (pos.ego.s, neg.ego.s)):
            assert np.allclose(a[before], b[before])
        assert pos.look == neg.look
        # ... and they differ afterwards.
        after = pos.t > pos.t_ref
        assert not (
            np.allclose(pos.key.S[after], neg.key.S[after])
            and np.allclose(pos.ego.s[after], neg.ego.s[after])
        )
