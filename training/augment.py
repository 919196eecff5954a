"""Clip-consistent augmentation: one random resized crop, horizontal flip and colour jitter per clip.

The parameters are drawn once per clip and applied to every frame alike (the same crop box, the same
flip, the same colour factors; the contrast pivots on the clip's mean grey, not each frame's), so
motion between frames is untouched. The key-object boxes of the risk-map targets move with the
pixels. Frames are the store's uint8 ``(T, H, W, 3)`` at the student's input size; the crop is
resized back to that size. Drawn from a generator the caller seeds, so an epoch is reproducible.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from accident_anticipation_ros.training.config import AugmentConfig

_GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma, as torchvision's rgb_to_grayscale


@dataclass(frozen=True)
class ClipAugment:
    """The augmentation of one clip."""

    crop: tuple[int, int, int, int]  # (top, left, height, width) in input pixels
    flip: bool
    brightness: float  # factors (1: unchanged)
    contrast: float
    saturation: float


def sample_clip_augment(cfg: AugmentConfig, size: tuple[int, int], rng: np.random.Generator) -> ClipAugment:
    """Draw one clip's parameters; the crop as torchvision's ``RandomResizedCrop`` (area share in
    ``crop_scale``, log-uniform aspect ratio in ``crop_ratio``, 10 tries, else the whole frame)."""
    H, W = size
    crop = (0, 0, H, W)
    lo, hi = math.log(cfg.crop_ratio[0]), math.log(cfg.crop_ratio[1])
    for _ in range(10):
        area = H * W * rng.uniform(*cfg.crop_scale)
        ratio = math.exp(rng.uniform(lo, hi))
        w, h = round(math.sqrt(area * ratio)), round(math.sqrt(area / ratio))
        if 0 < w <= W and 0 < h <= H:
            crop = (int(rng.integers(0, H - h + 1)), int(rng.integers(0, W - w + 1)), h, w)
            break
    flip = bool(rng.random() < cfg.hflip)
    b, c, s = (float(rng.uniform(1 - j, 1 + j)) for j in (cfg.brightness, cfg.contrast, cfg.saturation))
    return ClipAugment(crop, flip, b, c, s)


def _grey(x: torch.Tensor) -> torch.Tensor:
    """``(T, 3, H, W)`` -> ``(T, 1, H, W)`` luma."""
    r, g, b = x.unbind(1)
    return (_GREY[0] * r + _GREY[1] * g + _GREY[2] * b).unsqueeze(1)


def augment_frames(frames: torch.Tensor, aug: ClipAugment) -> torch.Tensor:
    """``(T, H, W, 3)`` uint8 frames of one clip -> the same shape, augmented alike."""
    T, H, W, _ = frames.shape
    x = frames.permute(0, 3, 1, 2).float()  # (T, 3, H, W)
    top, left, h, w = aug.crop
    if (h, w) != (H, W):
        x = x[:, :, top : top + h, left : left + w]
        x = F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False, antialias=h > H or w > W)
    if aug.flip:
        x = x.flip(-1)
    x = (x * aug.brightness).clamp(0, 255)
    mean = _grey(x).mean()  # one pivot for the whole clip
    x = ((x - mean) * aug.contrast + mean).clamp(0, 255)
    g = _grey(x)
    x = ((x - g) * aug.saturation + g).clamp(0, 255)
    return x.round().to(torch.uint8).permute(0, 2, 3, 1).contiguous()


def augment_boxes(boxes: np.ndarray, aug: ClipAugment, size: tuple[int, int]) -> np.ndarray:
    """``(T, 4)`` input-pixel boxes ``(x0, y0, x1, y1)`` (NaN: none) moved with the pixels; a box the
    crop leaves no area of becomes NaN."""
    H, W = size
    top, left, h, w = aug.crop
    b = np.asarray(boxes, np.float64).copy()
    b[:, [0, 2]] = np.clip((b[:, [0, 2]] - left) * (W / w), 0, W)
    b[:, [1, 3]] = np.clip((b[:, [1, 3]] - top) * (H / h), 0, H)
    if aug.flip:
        b[:, [0, 2]] = W - b[:, [2, 0]]
    with np.errstate(invalid="ignore"):
        empty = (b[:, 2] <= b[:, 0]) | (b[:, 3] <= b[:, 1])
    b[empty] = np.nan
    return b.astype(np.float32)
