"""Generator configuration: presets (``ccd``, ``dad``), clip seeds and label assignment."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

GENERATOR_VERSION = "synth-1.0"
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SynthConfig:
    """What one synthetic benchmark looks like.

    Attributes:
        preset: Name of the preset the config was built from.
        num_frames: Frames per clip.
        fps: Frame rate.
        width: Frame width in pixels.
        height: Frame height in pixels.
        toa_range: Time of accident of positives, ``(low, high)`` frame indices (floats, uniform).
        event_lead: Seconds between the start of the critical manoeuvre and ``toa``, ``(low, high)``.
        positive_fraction: Share of positive clips.
    """

    preset: str = "ccd"
    num_frames: int = 50
    fps: float = 10.0
    width: int = 224
    height: int = 224
    toa_range: tuple[float, float] = (30.0, 45.0)
    event_lead: tuple[float, float] = (1.2, 2.0)
    positive_fraction: float = 0.5

    def __post_init__(self) -> None:
        if self.num_frames < 8:
            raise ValueError(f"num_frames must be >= 8, got {self.num_frames}")
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.width < 32 or self.height < 32:
            raise ValueError(f"frames must be at least 32x32, got {self.width}x{self.height}")
        low, high = self.toa_range
        if not 0 < low <= high < self.num_frames - 1:
            raise ValueError(f"toa_range {self.toa_range} must lie inside (0, {self.num_frames - 1})")
        if low / self.fps < self.event_lead[1] + 0.2:
            raise ValueError(
                f"toa_range starts at {low / self.fps:.2f} s, too early for an event lead of "
                f"{self.event_lead[1]} s"
            )
        if not 0.0 <= self.positive_fraction <= 1.0:
            raise ValueError(f"positive_fraction must be in [0, 1], got {self.positive_fraction}")

    @property
    def duration(self) -> float:
        """Clip length in seconds."""
        return self.num_frames / self.fps


PRESETS: dict[str, SynthConfig] = {
    # Car Crash Dataset: 50 frames at 10 fps, accident in the second half.
    "ccd": SynthConfig(preset="ccd", num_frames=50, fps=10.0, toa_range=(30.0, 45.0)),
    # Dashcam Accident Dataset: 100 frames at 20 fps, accident near frame 90.
    "dad": SynthConfig(preset="dad", num_frames=100, fps=20.0, toa_range=(88.0, 92.0)),
}


def make_config(preset: str = "ccd", size: int | None = None, **overrides) -> SynthConfig:
    """Build a config from a preset, with ``size`` (square frames) and field overrides."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}")
    if size is not None:
        overrides.setdefault("width", size)
        overrides.setdefault("height", size)
    return replace(PRESETS[preset], **overrides)


def clip_seed(seed: int, split: str, index: int) -> np.random.SeedSequence:
    """Seed of one clip, a function of ``(seed, split, index)`` alone (not of the clip count or order)."""
    if index < 0:
        raise ValueError(f"clip index must be >= 0, got {index}")
    return np.random.SeedSequence(
        [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, zlib.crc32(split.encode()), index]
    )


def is_positive(seed: int, split: str, index: int, fraction: float) -> bool:
    """Label of clip ``index``: a golden-ratio sequence, so any prefix of clips is close to ``fraction``."""
    phase = (zlib.crc32(f"{seed}/{split}".encode()) & 0xFFFF) / 65536.0
    return ((index + 1) * 0.6180339887498949 + phase) % 1.0 < fraction


def clip_id(split: str, index: int) -> str:
    """File stem and clip id of clip ``index`` of ``split``, e.g. ``"train_00012"``."""
    return f"{split}_{index:05d}"


def split_counts(total: int, fractions: tuple[float, ...]) -> dict[str, int]:
    """Clips per split for ``total`` clips; the rounding remainder goes to the first split."""
    if len(fractions) != len(SPLITS):
        raise ValueError(f"need {len(SPLITS)} split fractions ({', '.join(SPLITS)}), got {fractions}")
    if any(f < 0 for f in fractions) or sum(fractions) <= 0:
        raise ValueError(f"split fractions must be >= 0 and not all zero, got {fractions}")
    norm = [f / sum(fractions) for f in fractions]
    counts = [int(round(total * f)) for f in norm[1:]]
    first = total - sum(counts)
    if first < 0:
        counts[-1] += first
        first = 0
    return dict(zip(SPLITS, [first, *counts], strict=True))
