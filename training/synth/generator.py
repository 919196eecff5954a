"""One synthetic clip from ``(config, seed, split, index)``: story, world, frames, captions, metadata."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.synth.captions import clip_caption, frame_captions
from accident_anticipation_ros.training.synth.config import (
    GENERATOR_VERSION,
    SynthConfig,
    clip_id,
    clip_seed,
    is_positive,
)
from accident_anticipation_ros.training.synth.palette import (
    LIGHTING_WEIGHTS,
    WEATHER_WEIGHTS,
    weighted_choice,
)
from accident_anticipation_ros.training.synth.render import Renderer
from accident_anticipation_ros.training.synth.scenarios import sample_scenario
from accident_anticipation_ros.training.synth.world import build_world


def generate_clip(
    cfg: SynthConfig,
    seed: int,
    split: str,
    index: int,
    positive: bool | None = None,
    scenario: str | None = None,
) -> Clip:
    """Generate clip ``index`` of ``split``; a pure function of its arguments.

    Args:
        cfg: Preset and frame format.
        seed: Dataset seed.
        split: Split name (part of the clip's seed).
        index: Clip index within the split.
        positive: Force the label (default: the config's positive fraction decides).
        scenario: Force a scenario (``lead_brake``, ``cut_in``, ``crossing``, ``junction``).

    Returns:
        A :class:`Clip` whose ``meta`` holds the scenario, its variant, lighting, weather, the
        critical frame (``toa`` of a positive, the matched reference frame of a negative) and the
        per-frame road users (``objects``: class, box, distance, time to collision).
    """
    rng = np.random.default_rng(clip_seed(seed, split, index))
    if positive is None:
        positive = is_positive(seed, split, index, cfg.positive_fraction)
    # Label-independent draws first: the reference time and the conditions.
    toa = round(float(rng.uniform(*cfg.toa_range)), 3)
    lighting = weighted_choice(rng, LIGHTING_WEIGHTS)
    weather = weighted_choice(rng, WEATHER_WEIGHTS)
    sc = sample_scenario(rng, cfg.duration, toa / cfg.fps, cfg.event_lead, positive, scenario)
    world = build_world(rng, sc, cfg.num_frames, cfg.fps)
    renderer = Renderer(world, sc, lighting, weather, cfg.width, cfg.height, cfg.fps, rng)
    T = cfg.num_frames
    frames = np.empty((T, cfg.height, cfg.width, 3), np.uint8)
    objects = []
    for k in range(T):
        frames[k], objs = renderer.frame(k)
        objects.append([o.as_dict() for o in objs])
    labels = (np.arange(T) >= toa).astype(np.uint8) if positive else np.zeros(T, np.uint8)
    key = world.actors[0]
    captions = frame_captions(sc, key.S, world.ego_s, world.ego_v, world.ego_a, cfg.fps, lighting, weather)
    meta = {
        "generator": GENERATOR_VERSION,
        "seed": [int(seed), split, int(index)],
        "scenario": sc.name,
        "variant": sc.variant,
        "lighting": lighting,
        "weather": weather,
        "road": world.layout.road,
        "side": {-1: "left", 0: "front", 1: "right"}[sc.side],
        "key_actor": {
            "kind": sc.look.kind,
            "type": sc.look.vtype or sc.look.kind,
            "colour": sc.look.colour_name,
            "noun": sc.look.noun(),
        },  # fmt: skip
        "critical_frame": toa,
        "event_frame": round(sc.t_event * cfg.fps, 3),
        "min_gap": round(float(sc.min_gap), 3),
        "ego_speed_kmh": [round(float(v) * 3.6, 1) for v in world.ego_v],
        "objects": objects,
    }
    return Clip(
        clip_id=clip_id(split, index),
        frames=frames,
        labels=labels,
        toa=toa if positive else -1.0,
        fps=cfg.fps,
        caption=clip_caption(sc, lighting, weather),
        frame_captions=captions,
        meta=meta,
    )
