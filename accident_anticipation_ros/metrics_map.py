"""Where the risk map points: which stride-32 cells hold an object's box, and top-cell accuracy (numpy).

The risk map is the model's ``(h, w)`` grid of per-token risk logits over the model input. A cell
*holds* an object when the object's box overlaps the cell's area (any positive overlap; boxes are
``(x0, y0, x1, y1)`` with ``x1``/``y1`` exclusive, in input pixels). The same definition builds the
training targets of the risk-map loss and scores the map here.

Top-cell accuracy: over the frames of the last ``window_s`` seconds before each accident (frames
``t`` with ``toa - window_s * fps <= t < toa`` where the colliding object is visible), the share of
frames whose argmax cell holds the colliding object. A uniformly random cell would hit with
probability ``covered cells / cells`` per frame (``chance``), at least ``1 / cells`` (``uniform``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from accident_anticipation_ros.runtime.preprocessing import resize_plan


def box_to_input(
    boxes: np.ndarray, frame_size: tuple[int, int], input_size: tuple[int, int], mode: str
) -> np.ndarray:
    """Boxes in source-frame pixels -> model-input pixels, as the preprocessing ``mode`` fits frames.

    Args:
        boxes: ``(..., 4)`` float ``(x0, y0, x1, y1)``; NaN rows (no box) stay NaN.
        frame_size: Source ``(H, W)``.
        input_size: Model input ``(h, w)``.
        mode: ``letterbox``, ``center_crop`` or ``stretch``.

    Returns:
        ``(..., 4)`` float32 boxes clipped to the input's content area; a box that falls wholly
        outside it (cropped away) becomes NaN.
    """
    plan = resize_plan(frame_size[0], frame_size[1], input_size[0], input_size[1], mode)
    top, left, ch_src, cw_src = plan.crop
    ct, cl, ch, cw = plan.content
    b = np.asarray(boxes, np.float64)
    sx, sy = cw / cw_src, ch / ch_src
    x = (b[..., 0::2] - left) * sx + cl
    y = (b[..., 1::2] - top) * sy + ct
    x, y = np.clip(x, cl, cl + cw), np.clip(y, ct, ct + ch)
    out = np.stack([x[..., 0], y[..., 0], x[..., 1], y[..., 1]], axis=-1)
    empty = (out[..., 2] <= out[..., 0]) | (out[..., 3] <= out[..., 1])
    out[empty] = np.nan
    return out.astype(np.float32)


def box_cells(boxes: np.ndarray, grid: tuple[int, int], input_size: tuple[int, int]) -> np.ndarray:
    """Which cells of the ``grid`` hold each box.

    Args:
        boxes: ``(..., 4)`` input-pixel boxes ``(x0, y0, x1, y1)``; NaN rows hold no cell.
        grid: Risk-map ``(h, w)``.
        input_size: Model input ``(H, W)``; cell ``(i, j)`` covers rows ``[i H/h, (i+1) H/h)`` and
            columns ``[j W/w, (j+1) W/w)``.

    Returns:
        ``(..., h, w)`` bool.
    """
    b = np.asarray(boxes, np.float64)
    h, w = grid
    H, W = input_size
    ys, xs = np.arange(h + 1) * (H / h), np.arange(w + 1) * (W / w)
    with np.errstate(invalid="ignore"):
        rows = (b[..., 1, None] < ys[1:]) & (b[..., 3, None] > ys[:-1])  # (..., h)
        cols = (b[..., 0, None] < xs[1:]) & (b[..., 2, None] > xs[:-1])  # (..., w)
    return rows[..., :, None] & cols[..., None, :]


def top_cell_hits(
    risk_maps: np.ndarray, cells: np.ndarray, toa: float, fps: float, window_s: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Per scored frame of one clip: whether the argmax cell holds the object, and that cell chance.

    Args:
        risk_maps: ``(T, h, w)`` risk-map logits (or probabilities: only the argmax matters).
        cells: ``(T, h, w)`` bool cells holding the colliding object (:func:`box_cells`).
        toa: Accident frame (``< 0``: a clip without accident, nothing is scored).
        fps: Frame rate.
        window_s: Seconds before ``toa`` that are scored.

    Returns:
        ``(hits, chance)``, each ``(n,)`` for the ``n`` scored frames.
    """
    maps = np.asarray(risk_maps)
    cells = np.asarray(cells, bool)
    if maps.shape != cells.shape or maps.ndim != 3:
        raise ValueError(f"risk maps {maps.shape} and cells {cells.shape} must both be (T, h, w)")
    if toa < 0:
        return np.zeros(0, bool), np.zeros(0)
    t = np.arange(len(maps))
    scored = (t >= toa - window_s * fps) & (t < toa) & cells.any(axis=(1, 2))
    flat_maps, flat_cells = (
        maps[scored].reshape(int(scored.sum()), -1),
        cells[scored].reshape(int(scored.sum()), -1),
    )
    top = flat_maps.argmax(axis=1)
    hits = flat_cells[np.arange(len(top)), top]
    return hits, flat_cells.mean(axis=1)


def top_cell_accuracy(
    risk_maps: Sequence[np.ndarray],
    cells: Sequence[np.ndarray],
    toas: Sequence[float],
    fps: Sequence[float] | float,
    window_s: float = 1.0,
) -> dict[str, float]:
    """Top-cell accuracy over clips (each ``(T, h, w)``; lengths may differ).

    Returns:
        ``{"top_cell_accuracy", "chance", "uniform", "frames"}``: the hit share over all scored
        frames, the mean per-frame chance of a random cell, ``1 / cells`` and the scored frame
        count. Accuracy and chance are NaN when no frame is scored.
    """
    if not (len(risk_maps) == len(cells) == len(toas)):
        raise ValueError(f"{len(risk_maps)} risk maps, {len(cells)} cell sets and {len(toas)} toas")
    rates = [fps] * len(toas) if np.isscalar(fps) else list(fps)
    hits, chance = [], []
    for m, c, toa, rate in zip(risk_maps, cells, toas, rates, strict=True):
        h, p = top_cell_hits(m, c, float(toa), float(rate), window_s)
        hits.append(h)
        chance.append(p)
    all_hits, all_chance = np.concatenate(hits or [np.zeros(0)]), np.concatenate(chance or [np.zeros(0)])
    n = int(all_hits.size)
    grid = np.asarray(risk_maps[0]).shape[1:] if len(risk_maps) else (1, 1)
    return {
        "top_cell_accuracy": float(all_hits.mean()) if n else float("nan"),
        "chance": float(all_chance.mean()) if n else float("nan"),
        "uniform": 1.0 / float(np.prod(grid)),
        "frames": float(n),
    }
