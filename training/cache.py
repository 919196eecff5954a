"""The prepared-clip cache: student-size frames and frozen-teacher outputs in safetensors shards.

Built once per split from ``training.datasets.iter_clips`` and reused while its fingerprint (data,
split, sizes, teacher weights, dtype, pooling) matches, so student epochs never decode videos or
recompute the teacher. Layout::

    <cache>/<split>/index.json              fingerprint + one entry per clip (id, shard, frames, toa, fps)
    <cache>/<split>/shard_00000.safetensors tensors keyed by clip, frame = leading axis:
        "<clip_id>/frames"      (T, H, W, 3) uint8   at the student's input size
        "<clip_id>/labels"      (T,) uint8           per-frame labels (1 from each accident on)
        "<clip_id>/box"         (T, 4) float32       the key road user's box in input pixels, NaN where
                                                     not in view (only clips with per-frame objects)
        "<clip_id>/stage{1,2,3}" (T, C_l, h_l, w_l)   teacher stage features (optional, avg-pooled by stage_pool)
        "<clip_id>/embedding"   (T, D)               teacher final image embedding (optional)

Frames are fitted like the runtime preprocessing (letterbox / center_crop / stretch, INTER_AREA when
shrinking) so that training sees what the node sees.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.metrics_map import box_to_input
from accident_anticipation_ros.model.checkpoint import read_json_object
from accident_anticipation_ros.runtime.preprocessing import resize_plan
from accident_anticipation_ros.training.datasets.synthetic import key_boxes
from accident_anticipation_ros.training.errors import CacheError

FORMAT = "aar-cache-3"  # 3: ClipEntry.event_frame / critical_frame
STAGES = ("stage1", "stage2", "stage3")


def fit_frames(
    frames: np.ndarray, size: tuple[int, int], mode: str, mean: tuple[float, ...] = (0.0, 0.0, 0.0)
) -> np.ndarray:
    """``(T, h, w, 3)`` uint8 -> ``(T, H, W, 3)`` uint8 at ``size = (H, W)`` as the runtime fits frames.

    Letterbox padding is the mean colour (0 after normalisation), as in the runtime.
    """
    H, W = size
    T, h, w = frames.shape[:3]
    plan = resize_plan(h, w, H, W, mode)
    top, left, ch_src, cw_src = plan.crop
    ct, cl, ch, cw = plan.content
    pad = np.clip(np.round(np.asarray(mean) * 255.0), 0, 255).astype(np.uint8)
    out = np.empty((T, H, W, 3), np.uint8)
    out[:] = pad
    shrink = ch < ch_src or cw < cw_src
    for i in range(T):
        src = frames[i, top : top + ch_src, left : left + cw_src]
        if (ch_src, cw_src) == (ch, cw):
            out[i, ct : ct + ch, cl : cl + cw] = src
        else:
            interp = cv2.INTER_AREA if shrink else cv2.INTER_LINEAR
            out[i, ct : ct + ch, cl : cl + cw] = cv2.resize(
                np.ascontiguousarray(src), (cw, ch), interpolation=interp
            )
    return out


def to_input(frames: torch.Tensor, mean, std) -> torch.Tensor:
    """``(..., H, W, 3)`` uint8 -> ``(..., 3, H, W)`` float32 ``(x / 255 - mean) / std``, contiguous.

    Contiguous on purpose: torch 2.14's CPU backward of a strided 1x1 conv corrupts the heap on a
    channels-last-strided input (what a bare permute gives), and the MobileOne stem has one.
    """
    x = frames.movedim(-1, -3).contiguous().float().div_(255.0)
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(3, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - m) / s


@dataclass(frozen=True)
class ClipEntry:
    """One clip of a prepared split."""

    clip_id: str
    shard: str
    num_frames: int
    toa: float
    fps: float
    has_box: bool = False
    event_frame: float = -1.0  # start of the critical manoeuvre (synthetic metadata; < 0: unknown)
    critical_frame: float = -1.0  # toa of a positive, the matched reference frame of a negative

    @property
    def positive(self) -> bool:
        return self.toa >= 0

    @property
    def has_event(self) -> bool:
        return 0 <= self.event_frame <= self.critical_frame


def event_masks(entry: ClipEntry, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(near_miss, before_onset)``, each ``(t,)`` bool over the frames ``[start, stop)``, from the
    clip's event frames (synthetic metadata); all False without them.

    - ``near_miss``: a negative's frames from its manoeuvre's onset to its reference frame
      (``event_frame <= t <= critical_frame``), where a hard negative still looks like the accident it
      was drawn beside; all False for positives.
    - ``before_onset``: an accident's frames before its manoeuvre's onset (``t < event_frame``), where
      it is still the same drive as the hard negative drawn beside it; all False for negatives.
    """
    stop = entry.num_frames if stop is None else stop
    t = np.arange(start, stop)
    none = np.zeros(len(t), bool)
    if not entry.has_event:
        return none, none
    if entry.positive:
        return none, t < entry.event_frame
    return (t >= entry.event_frame) & (t <= entry.critical_frame), none


def fingerprint(parts: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


class ClipStore:
    """Read access to a prepared split (frames and, when stored, teacher targets)."""

    def __init__(self, split_dir: str | Path) -> None:
        self.dir = Path(split_dir)
        index = self.dir / "index.json"
        meta = read_json_object(index, CacheError, "prepared split not found (build it with prepare_split)")
        if meta.get("format") != FORMAT or not meta.get("complete"):
            raise CacheError(f"{index}: not a complete {FORMAT} index (interrupted build?)")
        self.meta = meta
        self.entries = [ClipEntry(**e) for e in meta["clips"]]
        # whether any clip has event frames (event_masks can mark them)
        self.has_events = any(e.has_event for e in self.entries)
        self.has_teacher = bool(meta["teacher"])
        self.image_size = tuple(meta["image_size"])
        self._files: dict[str, Any] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def _open(self, shard: str):
        f = self._files.get(shard)
        if f is None:
            path = self.dir / shard
            if not path.is_file():
                raise CacheError(f"{path}: cache shard missing; delete {self.dir} to rebuild")
            f = self._files[shard] = safe_open(str(path), framework="pt")
        return f

    def _get(self, i: int, name: str, start: int, stop: int) -> torch.Tensor:
        e = self.entries[i]
        return self._open(e.shard).get_slice(f"{e.clip_id}/{name}")[start:stop]

    def frames(self, i: int, start: int = 0, stop: int | None = None) -> torch.Tensor:
        """``(t, H, W, 3)`` uint8 frames ``[start, stop)`` of clip ``i``."""
        return self._get(i, "frames", start, self.entries[i].num_frames if stop is None else stop)

    def labels(self, i: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """``(t,)`` uint8 per-frame labels of frames ``[start, stop)`` of clip ``i``."""
        stop = self.entries[i].num_frames if stop is None else stop
        return self._get(i, "labels", start, stop).numpy()

    def boxes(self, i: int, start: int = 0, stop: int | None = None) -> np.ndarray:
        """``(t, 4)`` float32 key-object boxes in input pixels (NaN: none) of frames ``[start, stop)``."""
        stop = self.entries[i].num_frames if stop is None else stop
        if not self.entries[i].has_box:
            return np.full((stop - start, 4), np.nan, np.float32)
        return self._get(i, "box", start, stop).numpy()

    def teacher(
        self, i: int, start: int = 0, stop: int | None = None
    ) -> tuple[tuple[torch.Tensor, ...], torch.Tensor]:
        """Teacher stage features ``3 x (t, C, h, w)`` and embeddings ``(t, D)`` of frames ``[start, stop)``."""
        if not self.has_teacher:
            raise CacheError(f"{self.dir}: this prepared split has no teacher outputs")
        stop = self.entries[i].num_frames if stop is None else stop
        return tuple(self._get(i, s, start, stop) for s in STAGES), self._get(i, "embedding", start, stop)


class _ShardWriter:
    def __init__(self, folder: Path, limit_bytes: int) -> None:
        self.folder, self.limit = folder, limit_bytes
        self.index, self.size, self.tensors = 0, 0, {}

    @property
    def name(self) -> str:
        return f"shard_{self.index:05d}.safetensors"

    def add(self, key: str, tensor: torch.Tensor) -> None:
        self.tensors[key] = tensor.contiguous()
        self.size += tensor.numel() * tensor.element_size()

    def maybe_flush(self) -> None:
        if self.size >= self.limit:
            self.flush()

    def flush(self) -> None:
        if self.tensors:
            tmp = self.folder / (self.name + ".tmp")
            save_file(self.tensors, str(tmp), metadata={"format": FORMAT})
            os.replace(tmp, self.folder / self.name)
            self.index, self.size, self.tensors = self.index + 1, 0, {}


@torch.no_grad()
def teacher_targets(
    teacher, frames: np.ndarray, resize: str, stage_pool, dtype: torch.dtype, batch_size: int
):
    """Teacher stage features (avg-pooled) and embeddings of ``(T, h, w, 3)`` uint8 frames, on the CPU."""
    info = teacher.info
    fitted = fit_frames(frames, info.image_size, resize, info.mean)
    device = next(teacher.trunk.parameters()).device
    stages: list[list[torch.Tensor]] = [[], [], []]
    embeds = []
    for s in range(0, len(fitted), batch_size):
        x = to_input(torch.from_numpy(fitted[s : s + batch_size]).to(device), info.mean, info.std)
        out = teacher.encode_frames(x)
        for l, (feat, pool) in enumerate(zip(out.stages, stage_pool, strict=True)):
            feat = F.avg_pool2d(feat, pool) if pool > 1 else feat
            stages[l].append(feat.to("cpu", dtype))
        embeds.append(out.embedding.to("cpu", dtype))
    return [torch.cat(s) for s in stages], torch.cat(embeds)


def _event_frames(clip: Clip) -> tuple[float, float]:
    """``(event_frame, critical_frame)`` from a synthetic clip's metadata, ``(-1, -1)`` without them
    (``ClipEntry.has_event`` decides whether a pair is usable)."""
    try:
        return float(clip.meta["event_frame"]), float(clip.meta["critical_frame"])
    except (KeyError, TypeError, ValueError):
        return -1.0, -1.0


def prepare_split(
    clips: Iterable[Clip],
    split_dir: str | Path,
    *,
    image_size: tuple[int, int],
    resize: str,
    mean: tuple[float, ...],
    fingerprint_parts: dict[str, Any],
    teacher=None,
    stage_pool: tuple[int, int, int] = (1, 1, 1),
    dtype: str = "float16",
    shard_mb: int = 256,
    teacher_batch: int = 32,
    progress: bool = False,
) -> ClipStore:
    """Fit every clip's frames to ``image_size`` (and run ``teacher``), write shards and the index.

    An existing split with the same fingerprint is reused as is; a different one is replaced.
    """
    folder = Path(split_dir)
    key = fingerprint(
        {**fingerprint_parts, "format": FORMAT, "image_size": list(image_size), "resize": resize}
    )
    teacher_key = None
    if teacher is not None:
        teacher_key = fingerprint(
            {"teacher": teacher.info.fingerprint, "stage_pool": list(stage_pool), "dtype": dtype}
        )
    index = folder / "index.json"
    if index.is_file():
        try:
            old = json.loads(index.read_text())
        except (UnicodeDecodeError, json.JSONDecodeError):
            old = {}
        # frames must match; teacher outputs only when they are needed (a store with them serves both)
        if (
            old.get("fingerprint") == key
            and old.get("complete")
            and teacher_key in (None, old.get("teacher_key"))
        ):
            return ClipStore(folder)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    torch_dtype = {"float16": torch.float16, "float32": torch.float32}[dtype]
    writer = _ShardWriter(folder, shard_mb << 20)
    entries = []
    seen: set[str] = set()
    if progress:
        from tqdm import tqdm

        clips = tqdm(clips, desc=f"prepare {folder.name}", unit="clip")
    for clip in clips:
        if clip.clip_id in seen:
            raise CacheError(f"{folder}: duplicate clip id {clip.clip_id!r} in the dataset split")
        seen.add(clip.clip_id)
        writer.add(
            f"{clip.clip_id}/frames", torch.from_numpy(fit_frames(clip.frames, image_size, resize, mean))
        )
        writer.add(f"{clip.clip_id}/labels", torch.from_numpy(np.asarray(clip.labels, np.uint8)))
        boxes = key_boxes(clip)
        if boxes is not None:
            fitted = box_to_input(boxes, clip.frames.shape[1:3], image_size, resize)
            writer.add(f"{clip.clip_id}/box", torch.from_numpy(fitted))
        if teacher is not None:
            stages, embedding = teacher_targets(
                teacher, clip.frames, resize, stage_pool, torch_dtype, teacher_batch
            )
            for name, feat in zip(STAGES, stages, strict=True):
                writer.add(f"{clip.clip_id}/{name}", feat)
            writer.add(f"{clip.clip_id}/embedding", embedding)
        entries.append(
            ClipEntry(
                clip.clip_id,
                writer.name,
                clip.num_frames,
                float(clip.toa),
                float(clip.fps),
                boxes is not None,
                *_event_frames(clip),
            ).__dict__  # fmt: skip
        )
        writer.maybe_flush()
    writer.flush()
    if not entries:
        raise CacheError(f"{folder}: the dataset split has no clips")
    meta = {
        "format": FORMAT,
        "fingerprint": key,
        "teacher_key": teacher_key,
        "parts": fingerprint_parts,
        "image_size": list(image_size),
        "resize": resize,
        "teacher": teacher.info.__dict__ if teacher is not None else None,
        "stage_pool": list(stage_pool),
        "dtype": dtype,
        "clips": entries,
        "complete": True,
    }
    tmp = index.with_name("index.json.tmp")
    tmp.write_text(json.dumps(meta, indent=1) + "\n")
    os.replace(tmp, index)
    return ClipStore(folder)
