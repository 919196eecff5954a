"""What every loader shares: the clip index record and frame / video decoding helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accident_anticipation_ros.training.datasets.errors import DatasetError

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
VIDEO_EXTENSIONS = (".mp4", ".avi", ".mov", ".mkv")


@dataclass(frozen=True)
class ClipRef:
    """A clip in a dataset, indexed without decoding its frames.

    Attributes:
        fmt: Loader that reads it (``dad``, ``ccd``, ``dada``, ``a3d``, ``synthetic``).
        clip_id: Unique id within the dataset.
        split: Split name, or ``None`` when the dataset has no split for it.
        source: Video file, frame folder or ``.npz`` holding the frames.
        toa: Time of accident as a frame index; ``-1`` for clips without an accident.
        fps: Frame rate.
        num_frames: Frame count when known without decoding, else ``None``.
        meta: Per-clip annotation (weather, accident type, raw labels ...).
    """

    fmt: str
    clip_id: str
    split: str | None
    source: str
    toa: float
    fps: float
    num_frames: int | None = None
    meta: dict = field(default_factory=dict, compare=False)

    @property
    def positive(self) -> bool:
        return self.toa >= 0


def natural_key(path: Path | str) -> tuple:
    """Sort key that orders ``img2.png`` before ``img10.png``."""
    name = Path(path).name
    return tuple(int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", name))


def frame_number(path: Path | str) -> int | None:
    """The last run of digits in a file's stem (``0042.png`` -> 42, ``frame_7.jpg`` -> 7)."""
    digits = re.findall(r"\d+", Path(path).stem)
    return int(digits[-1]) if digits else None


def list_images(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural order; error if the folder is missing or empty."""
    if not folder.is_dir():
        raise DatasetError(f"{folder}: frame folder not found")
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS), key=natural_key)
    if not files:
        raise DatasetError(f"{folder}: no image files ({', '.join(IMAGE_EXTENSIONS)})")
    return files


def _resize(frame: np.ndarray, size: tuple[int, int] | None) -> np.ndarray:
    import cv2

    if size is None or (frame.shape[1], frame.shape[0]) == tuple(size):
        return frame
    return cv2.resize(frame, tuple(size), interpolation=cv2.INTER_AREA)


def read_images(files: list[Path], size: tuple[int, int] | None = None) -> np.ndarray:
    """Decode image files (``cv2.imread``) into ``(T, H, W, 3)`` uint8 RGB, optionally resized to (W, H)."""
    import cv2

    frames = []
    for f in files:
        img = cv2.imread(str(f), cv2.IMREAD_COLOR)
        if img is None:
            raise DatasetError(f"{f}: not a readable image")
        frames.append(_resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), size))
    shapes = {fr.shape for fr in frames}
    if len(shapes) > 1:
        raise DatasetError(
            f"{files[0].parent}: frames have different sizes {sorted(shapes)} (pass a resize size)"
        )
    return np.stack(frames)


def read_video(path: Path, size: tuple[int, int] | None = None, max_frames: int | None = None) -> np.ndarray:
    """Decode a video (``cv2.VideoCapture``) into ``(T, H, W, 3)`` uint8 RGB, optionally resized to (W, H)."""
    import cv2

    if not path.is_file():
        raise DatasetError(f"{path}: video file not found")
    cap = cv2.VideoCapture(str(path))
    try:
        if not cap.isOpened():
            raise DatasetError(f"{path}: cannot open video (unsupported or corrupt file)")
        frames = []
        while max_frames is None or len(frames) < max_frames:
            ok, img = cap.read()
            if not ok:
                break
            frames.append(_resize(cv2.cvtColor(img, cv2.COLOR_BGR2RGB), size))
    finally:
        cap.release()
    if not frames:
        raise DatasetError(f"{path}: no frames could be decoded")
    return np.stack(frames)


def video_fps(path: Path) -> float | None:
    """The frame rate a video file declares, if any."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    finally:
        cap.release()
    return float(fps) if fps and fps > 0 else None


def labels_from_toa(num_frames: int, toa: float) -> np.ndarray:
    """``(T,)`` uint8 labels: 1 from the time of accident on, all 0 for ``toa < 0``."""
    if toa < 0:
        return np.zeros(num_frames, np.uint8)
    return (np.arange(num_frames) >= toa).astype(np.uint8)


def check_toa(ref: ClipRef, num_frames: int) -> None:
    """A positive clip must contain its accident frame."""
    if ref.toa >= num_frames:
        raise DatasetError(
            f"{ref.source}: time of accident at frame {ref.toa:g} but the clip has only {num_frames} frames"
        )
