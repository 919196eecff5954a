"""Frames of one world of a drive: the clip renderer, narrowed to what is near the ego each frame."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.render import FrameObject, Junction, Renderer
from accident_anticipation_ros.training.synth.scenarios import LANE, Scenario
from accident_anticipation_ros.training.synth.world import Actor, Prop, World

BLOCK = 64  # frames per bucket of the actor index


class DriveRenderer(Renderer):
    """Draws the frames of one world of a drive.

    A drive's world holds kilometres of road and every road user the ego meets, so each frame gets
    the props within reach, the actors that exist then and the nearest junction not yet passed.

    Args:
        world: The world, its actors with their first frames (``Actor.k0``).
        crash: The world's accident scenario with ``t_ref`` on the world's clock (crash jolt, cracks,
            debris, flash), or any of its scenarios with ``positive=False`` (no crash effects).
        lighting: Lighting name.
        weather: Weather name.
        width: Frame width.
        height: Frame height.
        fps: Frame rate.
        rng: Random generator (camera, sky, noise ...).
        junctions: The world's junctions.
        focus: ``(N,)`` id of the actor marked ``key`` in frame ``k``'s objects, -1 for none.
    """

    def __init__(self, world: World, crash: Scenario, lighting: str, weather: str, width: int, height: int,
                 fps: float, rng: np.random.Generator, junctions: list[Junction], focus: np.ndarray):  # fmt: skip
        super().__init__(world, crash, lighting, weather, width, height, fps, rng)
        self.junctions = sorted(junctions, key=lambda j: j.S)
        self._junction_S = np.array([j.S for j in self.junctions], float)
        self._prop_S = np.array([p.S for p in world.props], float)
        self.focus = focus
        blocks: list[list[Actor]] = [[] for _ in range((len(world.ego_s) + BLOCK - 1) // BLOCK)]
        for a in world.actors:
            last = min((a.k0 + len(a.S) - 1) // BLOCK, len(blocks) - 1)
            for b in range(a.k0 // BLOCK, last + 1):
                blocks[b].append(a)
        self._blocks = blocks

    def junction_at(self, k: int) -> Junction | None:
        """The first junction whose far side is still ahead of the camera."""
        i = int(np.searchsorted(self._junction_S, float(self.world.ego_s[k]) - LANE + 1.0))
        return self.junctions[i] if i < len(self.junctions) else None

    def scene(self, k: int) -> tuple[list[Prop], list[Actor]]:
        """Props between 15 m behind and 185 m ahead (what the renderer can draw), actors alive near ``k``."""
        s_e = float(self.world.ego_s[k])
        lo, hi = np.searchsorted(self._prop_S, [s_e - 15.0, s_e + 185.0])
        return self.world.props[lo:hi], self._blocks[k // BLOCK]

    def frame(self, k: int) -> tuple[np.ndarray, list[FrameObject]]:
        """Frame ``k`` and its road users; only the focus actor is marked ``key``."""
        image, objects = super().frame(k)
        for o in objects:
            o.key = o.id == int(self.focus[k])
        return image, objects
