"""Contact sheet (PNG) and animation (GIF) of a few clips, the accident frame marked in red."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from accident_anticipation_ros.clip import Clip

RED = (220, 30, 30)


def _mark(frame: np.ndarray, colour=RED, width: int = 3) -> np.ndarray:
    out = frame.copy()
    cv2.rectangle(out, (0, 0), (out.shape[1] - 1, out.shape[0] - 1), colour, width)
    return out


def _label(img: np.ndarray, text: str, scale: float, colour=(235, 235, 235)) -> None:
    cv2.putText(
        img, text, (3, int(12 * scale) + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, (0, 0, 0), 2, cv2.LINE_AA
    )
    cv2.putText(
        img, text, (3, int(12 * scale) + 2), cv2.FONT_HERSHEY_SIMPLEX, 0.35 * scale, colour, 1, cv2.LINE_AA
    )


def contact_sheet(clips: Sequence[Clip], columns: int = 8, thumb: int = 160) -> np.ndarray:
    """One row per clip: ``columns`` frames spread over the clip, the first frame at/after ``toa`` marked.

    Returns an RGB ``uint8`` image with the clip caption under each row.
    """
    rows = []
    for clip in clips:
        T = clip.num_frames
        idx = np.linspace(0, T - 1, columns).round().astype(int)
        if clip.positive:
            acc = min(T - 1, int(np.ceil(clip.toa)))
            idx[np.argmin(np.abs(idx - acc))] = acc  # make sure the accident frame is shown
            idx = np.sort(idx)
        tiles = []
        for i in idx:
            h, w = clip.frames.shape[1:3]
            tile = cv2.resize(
                clip.frames[i], (thumb, int(round(thumb * h / w))), interpolation=cv2.INTER_AREA
            )
            if clip.positive and i == min(T - 1, int(np.ceil(clip.toa))):
                tile = _mark(tile)
            _label(tile, f"t={i / clip.fps:.1f}s", thumb / 160)
            tiles.append(tile)
        strip = np.concatenate(tiles, axis=1)
        label = f"ACCIDENT at frame {clip.toa:.1f}" if clip.positive else "no accident"
        text = f"{clip.clip_id} [{label}] {clip.caption}"
        lines = textwrap.wrap(text, width=int(strip.shape[1] / 6.2))[:2]
        band = np.full((14 * len(lines) + 6, strip.shape[1], 3), 24, np.uint8)
        for j, line in enumerate(lines):
            colour = (255, 120, 110) if clip.positive else (170, 220, 170)
            cv2.putText(band, line, (4, 14 + 14 * j), cv2.FONT_HERSHEY_SIMPLEX, 0.38, colour, 1, cv2.LINE_AA)
        rows.append(np.concatenate([strip, band], axis=0))
    return np.concatenate(rows, axis=0)


def write_png(path: str | Path, image: np.ndarray) -> None:
    """Write an RGB image as PNG."""
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f"could not write {path}")


def write_gif(path: str | Path, clips: Sequence[Clip], size: int = 160, step: int = 1, hold: int = 3) -> None:
    """Clips side by side as an animated GIF; frames from ``toa`` on get a red border."""
    from PIL import Image

    T = min(c.num_frames for c in clips)
    fps = clips[0].fps / step
    frames = []
    for k in range(0, T, step):
        tiles = []
        for clip in clips:
            f = cv2.resize(clip.frames[k], (size, size), interpolation=cv2.INTER_AREA)
            if clip.positive and k >= clip.toa:
                f = _mark(f, width=4)
            tiles.append(f)
        frames.append(
            Image.fromarray(np.concatenate(tiles, axis=1)).convert(
                "P", palette=Image.Palette.ADAPTIVE, colors=128
            )
        )
    frames += [frames[-1]] * hold
    frames[0].save(
        path, save_all=True, append_images=frames[1:], duration=int(1000 / fps), loop=0, optimize=True
    )


def pick_clips(root: str | Path, count: int = 6) -> list[Clip]:
    """Up to ``count`` clips of a written benchmark, alternating accidents and hard negatives."""
    from accident_anticipation_ros.training.datasets.synthetic import list_clips, load

    refs = list_clips(root)
    order = {"test": 0, "val": 1, "train": 2}
    refs.sort(key=lambda r: (order.get(r.split or "", 3), r.clip_id))
    pos = [r for r in refs if r.positive]
    neg = [r for r in refs if not r.positive]
    chosen = []
    while len(chosen) < count and (pos or neg):
        for pool in (pos, neg):
            if pool and len(chosen) < count:
                chosen.append(pool.pop(0))
    return [load(r) for r in chosen]


def write_previews(root: str | Path, rows: int = 6, columns: int = 7, thumb: int = 128,
                   gif_clips: int = 4, gif_size: int = 128) -> tuple[Path, Path]:  # fmt: skip
    """``DIR/preview.png`` (contact sheet) and ``DIR/preview.gif`` (animation) of a written benchmark."""
    root = Path(root)
    clips = pick_clips(root, max(rows, gif_clips))
    png, gif = root / "preview.png", root / "preview.gif"
    write_png(png, contact_sheet(clips[:rows], columns=columns, thumb=thumb))
    step = max(1, int(round(clips[0].fps / 10)))
    write_gif(gif, clips[:gif_clips], size=gif_size, step=step)
    return png, gif
