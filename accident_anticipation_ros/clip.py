"""The one record every dataset loader, generator and bag reader yields."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Clip:
    """One dashcam clip with its accident annotation.

    Attributes:
        clip_id: Unique id within its dataset (e.g. ``"000123"`` or ``"train/pos_0007"``).
        frames: ``(T, H, W, 3)`` uint8 RGB frames.
        labels: ``(T,)`` uint8 per-frame labels, 1 from the time of accident on.
        toa: Time of accident as a frame index (float, may be fractional); ``-1`` for negatives.
        fps: Frames per second of ``frames``.
        caption: Clip-level description (for vision-language supervision); may be empty.
        frame_captions: Optional per-frame descriptions.
        meta: Free-form per-clip metadata (scenario, weather, per-frame objects ...).
    """

    clip_id: str
    frames: np.ndarray
    labels: np.ndarray
    toa: float
    fps: float
    caption: str = ""
    frame_captions: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    @property
    def positive(self) -> bool:
        """Whether the clip contains an accident."""
        return self.toa >= 0

    @property
    def cause(self) -> str:
        """The clip's hazard in the models' cause names: ``meta["cause"]``, else the synthetic
        scenario family (``meta["scenario"]``, e.g. ``"lead_brake"``); ``""`` when unknown."""
        return str(self.meta.get("cause") or self.meta.get("scenario") or "")

    @property
    def num_frames(self) -> int:
        return int(self.frames.shape[0])

    def __post_init__(self) -> None:
        if self.frames.ndim != 4 or self.frames.shape[-1] != 3 or self.frames.dtype != np.uint8:
            raise ValueError(
                f"clip {self.clip_id!r}: frames must be (T, H, W, 3) uint8, "
                f"got {self.frames.shape} {self.frames.dtype}"
            )
        if self.labels.shape != (self.frames.shape[0],):
            raise ValueError(
                f"clip {self.clip_id!r}: labels must be ({self.frames.shape[0]},), got {self.labels.shape}"
            )
        if self.fps <= 0:
            raise ValueError(f"clip {self.clip_id!r}: fps must be positive, got {self.fps}")
