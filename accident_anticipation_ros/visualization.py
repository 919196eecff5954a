"""The overlay image: risk heat map, risk bar, level colour, alert banner and time to accident (ROS-free).

The heat map is drawn only for a model whose risk map was trained (``aar.risk_map_trained``); for an
untrained map the overlay writes "risk map: untrained" instead of drawing noise as if it meant something.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

# RGB colours of the three levels (low, medium, high).
LEVEL_COLORS = ((46, 204, 113), (241, 196, 15), (231, 76, 60))
LEVEL_NAMES = ("LOW", "MEDIUM", "HIGH")


def level_color(level: int) -> tuple[int, int, int]:
    return LEVEL_COLORS[max(0, min(int(level), 2))]


def cause_text(alert: bool, cause: str, cause_confidence: float, out_of_domain: bool) -> str:
    """``", cause cut_in 81%"`` while alerting with a cause, ``" (out of domain)"`` on such frames."""
    text = ""
    if alert and cause:
        text += f", cause {cause}"
        if math.isfinite(cause_confidence):
            text += f" {cause_confidence:.0%}"
    if out_of_domain:
        text += " (out of domain)"
    return text


def draw_overlay(
    rgb: np.ndarray,
    probability: float,
    probability_smoothed: float,
    level: int,
    alert: bool,
    time_to_accident: float = math.nan,
    risk_map: np.ndarray | None = None,
    camera: str = "",
    max_width: int = 640,
    min_width: int = 480,
    cause: str = "",
    cause_confidence: float = math.nan,
    out_of_domain: bool = False,
    risk_map_trained: bool = False,
) -> np.ndarray:
    """Return a new RGB image: the frame with the model's risk drawn on it.

    Args:
        rgb: ``(H, W, 3)`` uint8 frame as received.
        probability, probability_smoothed: raw and smoothed risk in [0, 1].
        level: 0, 1, 2 (low, medium, high).
        alert: whether the alert is on (draws the banner).
        time_to_accident: seconds; drawn while alerting when finite.
        risk_map: ``(h, w)`` per-token risk probabilities, blended in as a heat map when
            ``risk_map_trained``; otherwise the overlay says "risk map: untrained".
        camera: name drawn in the corner.
        max_width: frames wider than this are downscaled first.
        min_width: frames narrower than this are upscaled first, so the text stays legible.
        cause, cause_confidence: the likely cause and its probability, written in the banner while alerting.
        out_of_domain: marks the frame "OUT OF DOMAIN" under the risk text.
    """
    img = rgb
    width = min(max(img.shape[1], min(min_width, max_width)), max_width)
    if width != img.shape[1]:
        size = (width, max(1, round(img.shape[0] * width / img.shape[1])))
        shrink = width < img.shape[1]
        img = cv2.resize(img, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
    else:
        img = img.copy()
    h, w = img.shape[:2]
    untrained = risk_map is not None and risk_map.size and not risk_map_trained
    if risk_map is not None and risk_map.size and risk_map_trained:
        heat = cv2.resize(
            np.clip(risk_map, 0.0, 1.0).astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR
        )
        colored = cv2.applyColorMap((heat * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
        alpha = (0.55 * heat)[..., None]
        img = (img * (1 - alpha) + colored * alpha).astype(np.uint8)
    color = level_color(level)
    unit = max(h, w) / 480.0
    font_scale, thick = 0.55 * unit, max(1, round(unit))

    # Risk bar on the left edge: the smoothed risk fills it, a tick marks the raw risk.
    bar_w, margin = max(6, round(12 * unit)), max(4, round(8 * unit))
    top, bottom = margin, h - margin
    cv2.rectangle(img, (margin, top), (margin + bar_w, bottom), (40, 40, 40), -1)
    fill_top = bottom - round((bottom - top) * float(np.clip(probability_smoothed, 0, 1)))
    cv2.rectangle(img, (margin, fill_top), (margin + bar_w, bottom), color, -1)
    tick = bottom - round((bottom - top) * float(np.clip(probability, 0, 1)))
    cv2.line(img, (margin - 2, tick), (margin + bar_w + 2, tick), (255, 255, 255), thick)

    text = f"{camera + '  ' if camera else ''}risk {probability_smoothed:.2f} {LEVEL_NAMES[max(0, min(level, 2))]}"
    x = margin * 2 + bar_w
    _text(img, text, (x, margin + round(18 * unit)), font_scale, color, thick)
    if out_of_domain:
        _text(img, "OUT OF DOMAIN", (x, margin + round(40 * unit)), font_scale, (255, 255, 255), thick)
    if untrained:
        _text(
            img,
            "risk map: untrained",
            (x, margin + round((62 if out_of_domain else 40) * unit)),
            font_scale * 0.8,
            (200, 200, 200),
            thick,
        )
    if alert:
        banner_h = round(34 * unit)
        cv2.rectangle(img, (0, h - banner_h), (w, h), LEVEL_COLORS[2], -1)
        label = "ACCIDENT RISK"
        if math.isfinite(time_to_accident):
            label += f"  TTA {time_to_accident:.1f} s"
        if cause:
            label += f"  {cause}"
            if math.isfinite(cause_confidence):
                label += f" {cause_confidence:.0%}"
        _text(img, label, (x, h - round(10 * unit)), font_scale * 1.3, (255, 255, 255), thick + 1)
    return img


def draw_result_overlay(rgb: np.ndarray, result, camera: str = "", max_width: int = 640,
                        risk_map_trained: bool = False) -> np.ndarray:  # fmt: skip
    """:func:`draw_overlay` for a session's ``RiskResult`` (what the node and offline replay draw);
    ``risk_map_trained`` is the model's ``ModelInfo.risk_map_trained``."""
    return draw_overlay(
        rgb,
        result.probability,
        result.probability_smoothed,
        result.level,
        result.alert,
        result.time_to_accident,
        risk_map=result.risk_map,
        camera=camera,
        max_width=max_width,
        cause=result.cause,
        cause_confidence=result.cause_confidence,
        out_of_domain=result.out_of_domain,
        risk_map_trained=risk_map_trained,
    )


def _text(img: np.ndarray, text: str, org: tuple[int, int], scale: float, color, thick: int) -> None:
    """Text on a dark box, legible on any background."""
    (w, h), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
    x, y = org
    pad = max(2, thick * 2)
    x0, y0, x1, y1 = (
        max(0, x - pad),
        max(0, y - h - pad),
        min(img.shape[1], x + w + pad),
        min(img.shape[0], y + base + pad),
    )
    img[y0:y1, x0:x1] = (img[y0:y1, x0:x1] * 0.35).astype(np.uint8)
    cv2.putText(img, text, org, cv2.FONT_HERSHEY_SIMPLEX, scale, color, thick, cv2.LINE_AA)
