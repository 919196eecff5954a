"""Named colours, vehicle types, lighting and weather: everything the captions can name."""

from __future__ import annotations

from dataclasses import dataclass

# RGB colours with the word a caption uses for them.
BODY_COLOURS: dict[str, tuple[int, int, int]] = {
    "white": (228, 228, 224),
    "black": (28, 29, 32),
    "silver": (168, 172, 176),
    "grey": (105, 108, 112),
    "red": (178, 30, 32),
    "dark red": (110, 20, 28),
    "blue": (36, 78, 170),
    "dark blue": (24, 36, 82),
    "green": (40, 110, 60),
    "yellow": (222, 186, 40),
    "orange": (222, 110, 30),
    "brown": (110, 72, 44),
    "beige": (200, 184, 150),
}
# Frequencies roughly like real traffic (many white, black, grey and silver cars).
BODY_WEIGHTS: dict[str, float] = {
    "white": 4, "black": 3, "silver": 3, "grey": 3, "red": 1.5, "dark red": 0.7, "blue": 1.5,
    "dark blue": 1, "green": 0.6, "yellow": 0.4, "orange": 0.4, "brown": 0.5, "beige": 0.5,
}  # fmt: skip

CLOTHES_COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (190, 40, 40),
    "blue": (40, 70, 160),
    "yellow": (225, 200, 50),
    "white": (225, 225, 220),
    "black": (30, 30, 34),
    "green": (50, 130, 60),
    "orange": (230, 120, 30),
    "pink": (220, 120, 160),
    "grey": (120, 120, 125),
    "purple": (110, 60, 140),
}
SKIN_TONES: tuple[tuple[int, int, int], ...] = (
    (238, 200, 170),
    (210, 160, 120),
    (160, 110, 75),
    (100, 66, 44),
)


@dataclass(frozen=True)
class VehicleType:
    """Box model of a vehicle: body and cabin (all metres)."""

    name: str
    length: float
    width: float
    height: float
    cabin_start: float  # fraction of the length (from the rear) where the cabin begins
    cabin_end: float
    body_height: float  # top of the lower body box
    clearance: float = 0.28


VEHICLES: dict[str, VehicleType] = {
    "sedan": VehicleType("sedan", 4.6, 1.80, 1.45, 0.18, 0.70, 0.92),
    "hatchback": VehicleType("hatchback", 4.0, 1.75, 1.50, 0.04, 0.68, 0.95),
    "SUV": VehicleType("SUV", 4.8, 1.92, 1.78, 0.06, 0.72, 1.10, 0.34),
    "van": VehicleType("van", 5.1, 2.00, 2.15, 0.02, 0.82, 1.15, 0.30),
    "truck": VehicleType("truck", 7.6, 2.40, 3.25, 0.00, 0.76, 3.25, 0.45),
    "bus": VehicleType("bus", 11.0, 2.50, 3.10, 0.00, 1.00, 3.10, 0.35),
}
VEHICLE_WEIGHTS: dict[str, float] = {
    "sedan": 4,
    "hatchback": 2,
    "SUV": 3,
    "van": 1.2,
    "truck": 0.8,
    "bus": 0.4,
}


@dataclass(frozen=True)
class Lighting:
    """Global light of a clip."""

    name: str
    sky_top: tuple[int, int, int]
    sky_horizon: tuple[int, int, int]
    ambient: float  # multiplies object colours
    lights_on: bool  # vehicles drive with headlights / tail lights glowing
    street_lamps: bool


LIGHTINGS: dict[str, Lighting] = {
    "day": Lighting("day", (92, 146, 214), (200, 222, 240), 1.0, False, False),
    "dusk": Lighting("dusk", (52, 58, 112), (236, 148, 96), 0.62, True, True),
    "night": Lighting("night", (6, 8, 18), (30, 34, 52), 0.24, True, True),
}
LIGHTING_WEIGHTS: dict[str, float] = {"day": 0.5, "dusk": 0.2, "night": 0.3}

WEATHERS: tuple[str, ...] = ("clear", "rain", "fog")
WEATHER_WEIGHTS: dict[str, float] = {"clear": 0.55, "rain": 0.25, "fog": 0.2}


def weighted_choice(rng, weights: dict[str, float]) -> str:
    """A key of ``weights`` drawn with probability proportional to its weight."""
    keys = list(weights)
    p = [weights[k] for k in keys]
    total = sum(p)
    return keys[int(rng.choice(len(keys), p=[x / total for x in p]))]


def shade(colour, factor: float) -> tuple[int, int, int]:
    """``colour`` scaled by ``factor`` and clipped to 0..255."""
    return tuple(int(min(255, max(0, c * factor))) for c in colour)


def mix(a, b, t: float) -> tuple[int, int, int]:
    """Linear blend ``(1 - t) * a + t * b``."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))
