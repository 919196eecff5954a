"""Continuous-drive configuration: presets (``ccd``, ``dad``) and seeds.

A drive is minutes of one continuous dashcam stream: safe driving, near misses and accidents at
random times. The presets mirror the clip benchmark the shipped model is scored on
(``synth --preset ccd --size 128``): 128x128 frames, 10 fps (``ccd``) or 20 fps (``dad``).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

DRIVE_VERSION = "synth-drive-1.0"
AFTER_ACCIDENT = ("cut", "end")


@dataclass(frozen=True)
class DriveConfig:
    """What one synthetic continuous drive looks like.

    Attributes:
        preset: Name of the preset the config was built from.
        fps: Frame rate.
        width: Frame width in pixels.
        height: Frame height in pixels.
        duration: Seconds of driving to render; the drive stops at the first event that would not
            fit, so it is at most this long (and at least one event long).
        accident_fraction: Share of events that end in a collision; the others are near misses
            (the clip benchmark's hard negatives).
        safe_gap: Seconds of plain safe driving between one event's end and the next one's start,
            ``(low, high)`` uniform; stretched where the ego needs longer to change speed or where
            the next event's road user would meet the last one's.
        lead_in: Seconds of safe driving in a new world before its first event, ``(low, high)``.
        event_lead: Seconds between the start of the critical manoeuvre and toa, ``(low, high)``.
        aftermath: Seconds kept after a collision before the world ends.
        resolve: Seconds after a near miss's reference time that still belong to its event.
        after_accident: ``"cut"``: the next frame starts a new world (new road, light, weather,
            camera); ``"end"``: the drive ends with the first accident.
        piece_seconds: Longest stored piece (one clip file) in seconds; pieces never split an event.
        lead_traffic: Ordinary cars ahead in the ego lane, mean arrivals per minute: the ego catches
            up with one, follows it (it eases off and on, brake lights and all) and it drives away,
            never part of an event (``drive_traffic.lead_gap``). 0 (default): the ego lane holds only
            key actors, as in the clip benchmark.
    """

    preset: str = "ccd"
    fps: float = 10.0
    width: int = 128
    height: int = 128
    duration: float = 60.0
    accident_fraction: float = 0.5
    safe_gap: tuple[float, float] = (4.0, 16.0)
    lead_in: tuple[float, float] = (6.0, 10.0)
    event_lead: tuple[float, float] = (1.2, 2.0)
    aftermath: float = 2.0
    resolve: float = 2.5
    after_accident: str = "cut"
    piece_seconds: float = 30.0
    lead_traffic: float = 0.0

    def __post_init__(self) -> None:
        if self.fps <= 0:
            raise ValueError(f"fps must be positive, got {self.fps}")
        if self.width < 32 or self.height < 32:
            raise ValueError(f"frames must be at least 32x32, got {self.width}x{self.height}")
        for name in ("safe_gap", "lead_in", "event_lead"):
            low, high = getattr(self, name)
            if not 0 <= low <= high:
                raise ValueError(f"{name} must be (low, high) with 0 <= low <= high, got {(low, high)}")
        if self.event_lead[0] <= 0.3:
            raise ValueError(f"event_lead must start above 0.3 s, got {self.event_lead}")
        if not 0.0 <= self.accident_fraction <= 1.0:
            raise ValueError(f"accident_fraction must be in [0, 1], got {self.accident_fraction}")
        if self.aftermath < 0.5 or self.resolve < 1.5:
            raise ValueError(
                f"aftermath must be >= 0.5 s and resolve >= 1.5 s, got {self.aftermath}, {self.resolve}"
            )
        if self.after_accident not in AFTER_ACCIDENT:
            raise ValueError(f"after_accident must be one of {AFTER_ACCIDENT}, got {self.after_accident!r}")
        if not 0.0 <= self.lead_traffic <= 10.0:
            raise ValueError(f"lead_traffic must be in [0, 10] arrivals per minute, got {self.lead_traffic}")
        if self.piece_seconds < 5.0:
            raise ValueError(f"piece_seconds must be >= 5, got {self.piece_seconds}")
        if self.duration < self.lead_in[1] + self.event_lead[1] + max(self.aftermath, self.resolve) + 1.0:
            raise ValueError(f"duration {self.duration} s is too short for one event after the lead-in")

    def frames(self, seconds: float) -> int:
        """``seconds`` as a whole number of frames (rounded)."""
        return int(round(seconds * self.fps))


DRIVE_PRESETS: dict[str, DriveConfig] = {
    "ccd": DriveConfig(preset="ccd", fps=10.0),
    "dad": DriveConfig(preset="dad", fps=20.0),
}


def make_drive_config(preset: str = "ccd", size: int | None = None, **overrides) -> DriveConfig:
    """Build a drive config from a preset, with ``size`` (square frames) and field overrides."""
    if preset not in DRIVE_PRESETS:
        raise ValueError(f"unknown drive preset {preset!r}; choose one of {sorted(DRIVE_PRESETS)}")
    if size is not None:
        overrides.setdefault("width", size)
        overrides.setdefault("height", size)
    return replace(DRIVE_PRESETS[preset], **overrides)


def segment_seed(seed: int, segment: int, attempt: int = 0) -> np.random.SeedSequence:
    """Seed of one world of a drive, a function of ``(seed, segment, attempt)`` alone."""
    return np.random.SeedSequence(
        [seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF, zlib.crc32(b"drive"), segment, attempt]
    )
