"""Templated natural-language captions, per clip and per frame.

Before the critical manoeuvre starts the frame captions of positives and hard negatives use the same
templates (they describe what is visible, not what will happen); afterwards they describe the
manoeuvre and, from the time of accident on, the collision.
"""

from __future__ import annotations

import re

import numpy as np

from accident_anticipation_ros.training.synth.palette import VEHICLES
from accident_anticipation_ros.training.synth.scenarios import BUMPER, Scenario

CLIP = {
    ("lead_brake", "collision"): "a {noun} ahead brakes suddenly; the ego car does not stop in time and rear-ends it",
    ("lead_brake", "ego_brakes"): "a {noun} ahead brakes suddenly; the ego car brakes in time, no collision",
    ("lead_brake", "brake_recover"): "a {noun} ahead brakes hard, then speeds up again; no collision",
    ("cut_in", "collision"): "a {noun} cuts in from the {side} lane too close and brakes; the ego car crashes into it",
    ("cut_in", "safe_merge"): "a {noun} changes into the ego lane from the {side} and speeds away; no collision",
    ("cut_in", "aborted"): "a {noun} drifts toward the ego lane from the {side}, then returns; a close pass, no collision",
    ("cut_in", "ego_brakes"): "a {noun} cuts in from the {side} lane; the ego car brakes and keeps its distance",
    ("crossing", "collision"): "a {noun} crosses the road from the {side}; the ego car hits the {who}",
    ("crossing", "stops_at_curb"): "a {noun} heads for the road from the {side} and stops at the edge; no collision",
    ("crossing", "ego_yields"): "a {noun} crosses the road from the {side}; the ego car stops in time",
    ("crossing", "crosses_ahead"): "a {noun} dashes across from the {side} just ahead of the ego car; a near miss",
    ("junction", "collision"): "a {noun} enters the junction from the {side} without stopping; side impact with the ego car",
    ("junction", "stops_at_line"): "a {noun} approaches the junction from the {side} and stops at the line; no collision",
    ("junction", "passes_ahead"): "a {noun} speeds through the junction from the {side} just ahead of the ego car; a near miss",
    ("junction", "ego_yields"): "a {noun} crosses the junction from the {side}; the ego car brakes and lets it pass",
}  # fmt: skip

CRUISE = {
    "lead_brake": "a {noun} drives {gap:.0f} m ahead in the same lane",
    "cut_in": "a {noun} drives {gap:.0f} m ahead in the {side} lane",
    "crossing": "a {noun} is at the {side} side of the road {gap:.0f} m ahead",
    "junction": "a junction is {gap:.0f} m ahead; a {noun} approaches it from the {side}",
}
EVENT = {
    ("lead_brake", "collision"): "the {noun} brakes hard {gap:.0f} m ahead and the gap closes fast{ttc}",
    ("lead_brake", "ego_brakes"): "the {noun} brakes hard {gap:.0f} m ahead{ego}",
    ("lead_brake", "brake_recover"): "the {noun} brakes {gap:.0f} m ahead{ego}",
    ("cut_in", "collision"): "the {noun} swerves into the ego lane {gap:.0f} m ahead{ttc}",
    ("cut_in", "ego_brakes"): "the {noun} swerves into the ego lane {gap:.0f} m ahead{ego}",
    ("cut_in", "safe_merge"): "the {noun} changes into the ego lane {gap:.0f} m ahead and accelerates",
    ("cut_in", "aborted"): "the {noun} drifts toward the ego lane {gap:.0f} m ahead",
    ("crossing", "collision"): "the {noun} moves into the road {gap:.0f} m ahead{ttc}",
    ("crossing", "stops_at_curb"): "the {noun} moves toward the road {gap:.0f} m ahead",
    ("crossing", "ego_yields"): "the {noun} moves into the road {gap:.0f} m ahead{ego}",
    ("crossing", "crosses_ahead"): "the {noun} dashes into the road {gap:.0f} m ahead",
    ("junction", "collision"): "the {noun} keeps going toward the junction {gap:.0f} m ahead{ttc}",
    ("junction", "stops_at_line"): "the {noun} slows down before the junction {gap:.0f} m ahead",
    ("junction", "passes_ahead"): "the {noun} accelerates into the junction {gap:.0f} m ahead",
    ("junction", "ego_yields"): "the {noun} keeps going toward the junction {gap:.0f} m ahead{ego}",
}
AFTER = {
    "collision": "the ego car has collided with the {noun}",
    "ego_brakes": "the ego car has slowed down behind the {noun}; no collision",
    "brake_recover": "the {noun} drives on; no collision",
    "safe_merge": "the {noun} drives on ahead; no collision",
    "aborted": "the {noun} stays in its lane; no collision",
    "stops_at_curb": "the {noun} waits at the edge of the road; no collision",
    "ego_yields": "the ego car waits for the {noun}; no collision",
    "crosses_ahead": "the {noun} has crossed in front of the ego car; no collision",
    "stops_at_line": "the {noun} waits at the stop line; no collision",
    "passes_ahead": "the {noun} has passed in front of the ego car; no collision",
}


def _words(sc: Scenario) -> dict[str, str]:
    side = {-1: "left", 1: "right", 0: "front"}[sc.side]
    who = {"pedestrian": "child" if sc.look.child else "pedestrian", "cyclist": "cyclist"}.get(
        sc.look.kind, "car"
    )
    return {"noun": sc.look.noun(), "side": side, "who": who}


def _articles(text: str) -> str:
    """``a orange`` -> ``an orange``."""
    return re.sub(r"\b([Aa]) (?=[aeiouAEIOU])", r"\1n ", text)


def condition(lighting: str, weather: str) -> str:
    """``"night, rain"`` style prefix."""
    return f"{lighting}, {weather}"


def clip_caption(sc: Scenario, lighting: str, weather: str) -> str:
    """One sentence for the whole clip."""
    return _articles(f"{condition(lighting, weather)}: " + CLIP[(sc.name, sc.variant)].format(**_words(sc)))


def frame_captions(sc: Scenario, key_S: np.ndarray, ego_s: np.ndarray, ego_v: np.ndarray, ego_a: np.ndarray,
                   fps: float, lighting: str, weather: str) -> list[str]:  # fmt: skip
    """A caption per frame: cruise, the manoeuvre, and the outcome."""
    words = _words(sc)
    half = VEHICLES[sc.look.vtype].length / 2 if sc.look.kind == "vehicle" and sc.name != "junction" else 0.0
    cond = condition(lighting, weather)
    out = []
    for k in range(len(ego_s)):
        t = k / fps
        gap = max(0.0, float(key_S[k] - ego_s[k] - BUMPER - half))
        kmh = ego_v[k] * 3.6
        if t < sc.t_event:
            text = CRUISE[sc.name].format(gap=gap, **words)
            out.append(f"{cond}: the ego car drives at {kmh:.0f} km/h; {text}")
            continue
        if t < sc.t_ref or (not sc.positive and t < sc.t_ref + 0.5):
            ttc_text = f"; collision in {sc.t_ref - t:.1f} s" if sc.positive else ""
            ego_text = "; the ego car brakes" if ego_a[k] < -1.0 else ""
            text = EVENT[(sc.name, sc.variant)].format(gap=gap, ttc=ttc_text, ego=ego_text, **words)
            out.append(f"{cond}: {text}")
            continue
        out.append(f"{cond}: " + AFTER[sc.variant].format(**words))
    return [_articles(c) for c in out]
