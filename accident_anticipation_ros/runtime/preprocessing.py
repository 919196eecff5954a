"""Camera frame -> model input: resize (letterbox, center crop or stretch) and normalise.

``(H, W, 3) uint8 RGB -> (1, 3, h, w) float32``, ``(x / 255 - mean) / std`` per channel, with
``cv2.INTER_AREA`` when shrinking and ``cv2.INTER_LINEAR`` when enlarging. Letterbox padding is
the mean colour, i.e. exactly 0 after normalisation. The output array is preallocated and reused:
the next call overwrites it (copy it to keep it).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from accident_anticipation_ros.contract import DEFAULT_PREPROCESS, PREPROCESS_MODES
from accident_anticipation_ros.runtime.backend import ModelInfo

MODES = PREPROCESS_MODES


@dataclass(frozen=True)
class ResizePlan:
    """Where a source frame lands in the model input.

    The source window ``src[crop_top:crop_top+crop_h, crop_left:crop_left+crop_w]`` is resized to
    ``(content_h, content_w)`` and placed at ``(pad_top, pad_left)`` of the ``(h, w)`` input.
    """

    src_size: tuple[int, int]
    crop: tuple[int, int, int, int]  # top, left, height, width (in the source)
    content: tuple[int, int, int, int]  # top, left, height, width (in the model input)

    def input_to_source(self, y: float, x: float) -> tuple[float, float]:
        """Map a point of the model input (pixels) back to source pixels."""
        ct, cl, ch, cw = self.content
        st, sl, sh, sw = self.crop
        return st + (y - ct) * sh / ch, sl + (x - cl) * sw / cw


def resize_plan(src_h: int, src_w: int, dst_h: int, dst_w: int, mode: str) -> ResizePlan:
    """How ``mode`` maps a ``src_h x src_w`` frame onto a ``dst_h x dst_w`` input."""
    if mode == "stretch":
        return ResizePlan((src_h, src_w), (0, 0, src_h, src_w), (0, 0, dst_h, dst_w))
    if mode == "letterbox":
        scale = min(dst_h / src_h, dst_w / src_w)
        ch = min(dst_h, max(1, round(src_h * scale)))
        cw = min(dst_w, max(1, round(src_w * scale)))
        top, left = (dst_h - ch) // 2, (dst_w - cw) // 2
        return ResizePlan((src_h, src_w), (0, 0, src_h, src_w), (top, left, ch, cw))
    if mode == "center_crop":
        # the largest centred source window with the input's aspect ratio
        scale = min(src_h / dst_h, src_w / dst_w)
        ch = min(src_h, max(1, round(dst_h * scale)))
        cw = min(src_w, max(1, round(dst_w * scale)))
        top, left = (src_h - ch) // 2, (src_w - cw) // 2
        return ResizePlan((src_h, src_w), (top, left, ch, cw), (0, 0, dst_h, dst_w))
    raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {MODES}")


class Preprocessor:
    """Turn RGB frames into the model's normalised input tensor.

    Args:
        spec: A :class:`ModelInfo`, or ``(height, width, mean, std)``.
        mode: ``"letterbox"`` (keep the whole frame, pad), ``"center_crop"`` (fill, crop the
            sides) or ``"stretch"`` (ignore the aspect ratio); None: the model's own
            (``ModelInfo.preprocess``, how its training fitted frames; letterbox for a tuple ``spec``).
    """

    def __init__(self, spec: ModelInfo | tuple, mode: str | None = None) -> None:
        if isinstance(spec, ModelInfo):
            height, width, mean, std = spec.input_height, spec.input_width, spec.mean, spec.std
            mode = spec.preprocess if mode is None else mode
        else:
            height, width, mean, std = spec
            mode = DEFAULT_PREPROCESS if mode is None else mode
        if mode not in MODES:
            raise ValueError(f"unknown preprocessing mode {mode!r}; expected one of {MODES}")
        mean = np.asarray(mean, np.float32).reshape(3)
        std = np.asarray(std, np.float32).reshape(3)
        if (std <= 0).any():
            raise ValueError(f"preprocessing std must be > 0, got {std.tolist()}")
        self.height, self.width, self.mode = int(height), int(width), mode
        self.mean, self.std = mean, std
        # (x / 255 - mean) / std == x * scale - offset, per channel
        self._scale = (1.0 / (255.0 * std)).reshape(3, 1, 1).astype(np.float32)
        self._offset = (mean / std).reshape(3, 1, 1).astype(np.float32)
        self._out = np.zeros((1, 3, self.height, self.width), np.float32)
        self._resized = np.empty((self.height, self.width, 3), np.uint8)  # content, per plan
        self._plan: ResizePlan | None = None

    def plan(self, src_h: int, src_w: int) -> ResizePlan:
        """The :class:`ResizePlan` for a source size (cached for the last size seen)."""
        if self._plan is None or self._plan.src_size != (src_h, src_w):
            self._plan = resize_plan(src_h, src_w, self.height, self.width, self.mode)
            self._out[...] = 0.0  # padding (the mean colour) for letterbox; rewritten otherwise
            _, _, ch, cw = self._plan.content
            self._resized = np.empty((ch, cw, 3), np.uint8)
        return self._plan

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """``(H, W, 3) uint8`` RGB -> ``(1, 3, h, w) float32`` (a reused buffer)."""
        if not isinstance(rgb, np.ndarray) or rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
            got = f"{rgb.dtype} {rgb.shape}" if isinstance(rgb, np.ndarray) else type(rgb).__name__
            raise ValueError(f"preprocessing expects an (H, W, 3) uint8 RGB frame, got {got}")
        if rgb.shape[0] < 1 or rgb.shape[1] < 1:
            raise ValueError(f"preprocessing got an empty frame of shape {rgb.shape}")
        if (
            rgb.strides[2] != 1 or rgb.strides[1] != 3
        ):  # e.g. a channel-reversed view; OpenCV needs packed pixels
            rgb = np.ascontiguousarray(rgb)
        plan = self.plan(rgb.shape[0], rgb.shape[1])
        top, left, crop_h, crop_w = plan.crop
        src = rgb[top : top + crop_h, left : left + crop_w]
        ct, cl, ch, cw = plan.content
        dst = self._resized
        if (crop_h, crop_w) == (ch, cw):
            np.copyto(dst, src)
        else:
            shrink = ch < crop_h or cw < crop_w
            cv2.resize(src, (cw, ch), dst=dst, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
        region = self._out[0, :, ct : ct + ch, cl : cl + cw]  # (3, ch, cw) view
        np.multiply(dst.transpose(2, 0, 1), self._scale, out=region)
        region -= self._offset
        return self._out
