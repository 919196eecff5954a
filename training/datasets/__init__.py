"""Dataset loaders: DAD, CCD, DADA-2000, A3D and the synthetic benchmark, all yielding ``Clip`` records.

PyTorch-free: ``list_clips`` indexes a dataset without decoding frames, ``iter_clips`` decodes them
(videos with ``cv2.VideoCapture``, frames with ``cv2.imread``). ``torch_dataset.ClipDataset`` wraps
both for training. Missing or malformed files raise :class:`DatasetError` naming the file.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path

from accident_anticipation_ros.training.datasets.base import ClipRef
from accident_anticipation_ros.training.datasets.errors import DatasetError

FORMATS = ("synthetic", "ccd", "a3d", "dada", "dad")
_MODULES = {name: f"{__name__}.{name}" for name in FORMATS}

__all__ = ["FORMATS", "ClipRef", "DatasetError", "detect_format", "iter_clips", "list_clips", "load_clip"]


def _module(fmt: str):
    if fmt not in _MODULES:
        raise DatasetError(f"unknown dataset format {fmt!r}; choose one of {', '.join(FORMATS)} or 'auto'")
    return importlib.import_module(_MODULES[fmt])


def detect_format(root: str | Path) -> str:
    """Guess the format of the dataset folder ``root`` from the files its layout requires."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: dataset folder not found")
    from accident_anticipation_ros.training.datasets import a3d, ccd, dad, dada, synthetic

    checks = (
        ("synthetic", synthetic.is_synthetic),
        ("ccd", ccd.is_ccd),
        ("a3d", a3d.is_a3d),
        ("dada", dada.is_dada),
        ("dad", dad.is_dad),
    )
    for name, check in checks:
        if check(root):
            return name
    raise DatasetError(
        f"{root}: cannot tell the dataset format (looked for synth.json, videos/Crash-1500.txt, A3D_labels.json, "
        "a DADA .xlsx/.csv annotation, videos/{training,testing}/{positive,negative}/); pass fmt="
    )


def list_clips(root: str | Path, fmt: str = "auto", split: str | None = None, **kwargs) -> list[ClipRef]:
    """Index the clips of a dataset (cheap: no frames are decoded)."""
    fmt = detect_format(root) if fmt == "auto" else fmt
    return _module(fmt).list_clips(Path(root), split=split, **kwargs)


def load_clip(ref: ClipRef, size: tuple[int, int] | None = None):
    """Decode the clip ``ref`` points to; ``size`` = (width, height) resizes every frame."""
    return _module(ref.fmt).load(ref, size=size)


def iter_clips(
    root: str | Path,
    fmt: str = "auto",
    split: str | None = None,
    size: tuple[int, int] | None = None,
    positive: bool | None = None,
    limit: int | None = None,
    **kwargs,
) -> Iterator:
    """Yield :class:`~accident_anticipation_ros.clip.Clip` records of a dataset.

    Args:
        root: Dataset folder.
        fmt: ``dad``, ``ccd``, ``dada``, ``a3d``, ``synthetic`` or ``auto`` (detect from the layout).
        split: Split name in the dataset's own terms (``training``/``testing``, ``train``/``test`` ...).
        size: ``(width, height)`` to resize frames to while decoding (saves memory on HD videos).
        positive: Only clips with (``True``) or without (``False``) an accident.
        limit: Stop after this many clips.
        **kwargs: Passed to the format's ``list_clips`` (e.g. ``annotation=`` for DADA).
    """
    refs = list_clips(root, fmt, split, **kwargs)
    if positive is not None:
        refs = [r for r in refs if r.positive == positive]
    for ref in refs[:limit] if limit is not None else refs:
        yield load_clip(ref, size)
