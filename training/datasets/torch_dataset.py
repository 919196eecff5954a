"""``torch.utils.data.Dataset`` over dataset clips: frames as float tensors, labels, toa, fps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from accident_anticipation_ros.training.datasets import ClipRef, list_clips, load_clip
from accident_anticipation_ros.training.datasets.errors import DatasetError


class ClipDataset(Dataset):
    """Clips as training samples.

    Each item is a dict: ``frames`` float32 ``[T, 3, H, W]`` in [0, 1], ``labels`` float32 ``[T]``,
    ``valid`` bool ``[T]`` (False on padding), ``toa`` (frame index in the returned window, ``-1`` for
    negatives; may lie beyond the window), ``fps``, ``positive``, ``clip_id``.

    Args:
        source: A dataset folder or a list of :class:`ClipRef`.
        fmt: Dataset format for a folder (``auto`` detects it).
        split: Split of a folder.
        size: ``(width, height)`` the frames are resized to (cv2, while decoding).
        num_frames: Window length; ``None`` keeps whole clips (they must then have equal lengths to batch).
        stride: Keep every ``stride``-th frame (``fps`` and ``toa`` are scaled accordingly).
        train: Random temporal crop and horizontal flip; otherwise a deterministic window (around the
            accident for positives, from the start for negatives).
        flip_prob: Probability of a horizontal flip when ``train``.
        seed: Seed of the augmentation (combined with the item index and :meth:`set_epoch`).
    """

    def __init__(self, source: str | Path | Sequence[ClipRef], fmt: str = "auto", split: str | None = None,
                 size: tuple[int, int] = (224, 224), num_frames: int | None = None, stride: int = 1,
                 train: bool = False, flip_prob: float = 0.5, seed: int = 0):  # fmt: skip
        self.refs = list_clips(source, fmt, split) if isinstance(source, (str, Path)) else list(source)
        if not self.refs:
            raise DatasetError(f"{source}: no clips")
        if stride < 1 or (num_frames is not None and num_frames < 1):
            raise ValueError(f"stride and num_frames must be >= 1, got {stride}, {num_frames}")
        self.size, self.num_frames, self.stride = tuple(size), num_frames, stride
        self.train, self.flip_prob, self.seed = train, flip_prob, seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Change the augmentation draws (call once per epoch)."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.refs)

    def _window(self, T: int, toa: float, rng: np.random.Generator) -> int:
        L = self.num_frames
        if L is None or T <= L:
            return 0
        if self.train:
            return int(rng.integers(0, T - L + 1))
        if toa >= 0:  # keep the accident (and the time before it) in view
            return int(np.clip(np.ceil(toa) + L // 4 - L, 0, T - L))
        return 0

    def __getitem__(self, index: int) -> dict:
        ref = self.refs[index]
        clip = load_clip(ref, self.size)
        rng = np.random.default_rng([self.seed, self.epoch, index])
        frames = clip.frames[:: self.stride]
        toa = clip.toa / self.stride if clip.positive else -1.0
        fps = clip.fps / self.stride
        T = len(frames)
        start = self._window(T, toa, rng)
        L = self.num_frames or T
        frames = frames[start : start + L]
        valid = np.ones(L, bool)
        if len(frames) < L:  # pad short clips by repeating the last frame
            valid[len(frames) :] = False
            frames = np.concatenate([frames, np.repeat(frames[-1:], L - len(frames), 0)])
        if clip.positive:
            toa -= start
        labels = (np.arange(L) >= toa).astype(np.float32) if clip.positive else np.zeros(L, np.float32)
        if self.train and rng.random() < self.flip_prob:
            frames = frames[:, :, ::-1]
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float().div_(255.0)
        return {
            "frames": x,
            "labels": torch.from_numpy(labels),
            "valid": torch.from_numpy(valid),
            "toa": torch.tensor(float(toa)),
            "fps": torch.tensor(float(fps)),
            "positive": torch.tensor(clip.positive),
            "clip_id": clip.clip_id,
        }
