"""DADA-2000 (Fang et al., 2019/2021) in the layout of its release (LOTVS-DADA).

::

    DADA_dataset/<type>/<video>/images/0001.png ...   frames at 30 fps, one folder per video
    DADA_dataset/<annotation>.xlsx (or .csv)           one row per video
    DADA_dataset/{train,val,test}_file.json            optional splits: [[["<type>", "<video>"], "<n>"], ...]

Annotation columns used (names as in the release's sheet, matched case- and space-insensitively):
``video``, ``type``, ``whether an accident occurred (1/0)``, ``abnormal start frame``, ``accident frame``,
``abnormal end frame``, ``total frames``, ``weather(sunny,rainy,snowy,foggy)1-4``, ``light(day,night)1-2``,
``texts``, ``causes``. Frame numbers refer to the image file numbers (``0034.png`` is frame 34), so
``toa`` is the index of the first image numbered at or after the ``accident frame``.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

from accident_anticipation_ros.clip import Clip
from accident_anticipation_ros.training.datasets.base import (
    ClipRef,
    check_toa,
    frame_number,
    labels_from_toa,
    list_images,
    natural_key,
    read_images,
)
from accident_anticipation_ros.training.datasets.errors import DatasetError

FPS = 30.0
REQUIRED = ("video", "type", "accident frame")
SPLIT_FILES = {"train": "train_file.json", "training": "train_file.json", "val": "val_file.json",
               "validation": "val_file.json", "test": "test_file.json", "testing": "test_file.json"}  # fmt: skip
WEATHER = {1: "sunny", 2: "rainy", 3: "snowy", 4: "foggy"}
LIGHT = {1: "day", 2: "night"}


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def _rows_to_records(path: Path, rows: list[list[str]]) -> list[dict[str, str]] | None:
    """Find the header row (the one naming the required columns) and return the records below it."""
    for i, row in enumerate(rows[:10]):
        header = [_norm(c) for c in row]
        if all(r in header for r in REQUIRED):
            return [
                {header[j]: str(v).strip() for j, v in enumerate(r) if j < len(header) and header[j]}
                for r in rows[i + 1 :]
                if any(str(v).strip() for v in r)
            ]
    return None


def read_table(path: Path) -> list[dict[str, str]]:
    """Rows of a DADA annotation table (``.xlsx`` or ``.csv``) keyed by normalised column name."""
    if path.suffix.lower() == ".xlsx":
        from accident_anticipation_ros.training.datasets.xlsx import read_xlsx

        for _, rows in read_xlsx(path):
            records = _rows_to_records(path, rows)
            if records is not None:
                return records
    elif path.suffix.lower() == ".csv":
        try:
            with path.open(newline="", encoding="utf-8-sig") as f:
                rows = list(csv.reader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise DatasetError(f"{path}: not a readable CSV ({exc})") from exc
        records = _rows_to_records(path, rows)
        if records is not None:
            return records
    else:
        raise DatasetError(f"{path}: annotation must be .xlsx or .csv")
    raise DatasetError(f"{path}: no header row with the columns {', '.join(REQUIRED)}")


def find_annotation(root: Path) -> Path | None:
    """The annotation sheet: an ``.xlsx`` / ``.csv`` in ``root`` or ``root/annotation``."""
    for folder in (root, root / "annotation", root / "annotations"):
        if folder.is_dir():
            for p in sorted(folder.iterdir(), key=natural_key):
                if p.suffix.lower() in (".xlsx", ".csv") and not p.name.startswith("~$"):
                    return p
    return None


def is_dada(root: Path) -> bool:
    return find_annotation(root) is not None


def _int(record: dict[str, str], key: str, path: Path, default: int | None = None) -> int | None:
    value = record.get(key, "")
    if value == "":
        if default is not None or key not in REQUIRED:
            return default
        raise DatasetError(f"{path}: row {record} has no {key!r}")
    try:
        return int(float(value))
    except ValueError as exc:
        raise DatasetError(f"{path}: column {key!r} must be a number, got {value!r}") from exc


def frame_folder(root: Path, category: int, video: int) -> Path:
    """``root/<type>/<video>/images`` (also without ``images/``, unpadded, or under ``frames/``)."""
    for base in (root, root / "frames"):
        for vid in (f"{video:03d}", str(video), f"{video:06d}"):
            for sub in ("images", ""):
                cand = base / str(category) / vid / sub if sub else base / str(category) / vid
                if cand.is_dir() and (sub or any(cand.glob("*.png")) or any(cand.glob("*.jpg"))):
                    return cand
    return root / str(category) / f"{video:03d}" / "images"


def _split_members(root: Path, split: str) -> set[tuple[int, int]]:
    if split not in SPLIT_FILES:
        raise DatasetError(f"{root}: unknown DADA split {split!r} (use train, val or test)")
    path = root / SPLIT_FILES[split]
    if not path.is_file():
        raise DatasetError(f"{path}: split file not found")
    try:
        entries = json.loads(path.read_text())
        return {(int(e[0][0]), int(e[0][1])) for e in entries}
    except (json.JSONDecodeError, TypeError, ValueError, IndexError) as exc:
        raise DatasetError(f'{path}: expected [[["<type>", "<video>"], "<name>"], ...] ({exc})') from exc


def list_clips(
    root: str | Path, split: str | None = None, annotation: str | Path | None = None
) -> list[ClipRef]:
    """Index DADA-2000 videos; ``toa`` needs the frame file names, so each frame folder is listed (not read)."""
    root = Path(root)
    path = Path(annotation) if annotation is not None else find_annotation(root)
    if path is None:
        raise DatasetError(f"{root}: no DADA annotation (.xlsx / .csv) in {root} or {root / 'annotation'}")
    records = read_table(path)
    members = _split_members(root, split) if split is not None else None
    refs = []
    for rec in records:
        category, video = _int(rec, "type", path), _int(rec, "video", path)
        if members is not None and (category, video) not in members:
            continue
        accident = _int(rec, "accident frame", path, default=-1)
        occurred = _int(rec, "whether an accident occurred (1/0)", path, default=1 if accident > 0 else 0)
        folder = frame_folder(root, category, video)
        toa = -1.0
        if occurred and accident > 0:
            toa = float(accident - 1)  # 1-based numbering, the release's default
            if folder.is_dir():
                numbers = [frame_number(p) for p in list_images(folder)]
                if all(n is not None for n in numbers):
                    toa = float(next((i for i, n in enumerate(numbers) if n >= accident), len(numbers)))
        meta = {
            "category": category,
            "video": video,
            "accident_frame": accident,
            "abnormal_start": _int(rec, "abnormal start frame", path, default=-1),
            "abnormal_end": _int(rec, "abnormal end frame", path, default=-1),
            "total_frames": _int(rec, "total frames", path, default=-1),
            "weather": WEATHER.get(_int(rec, "weather(sunny,rainy,snowy,foggy)1-4", path, default=0), ""),
            "lighting": LIGHT.get(_int(rec, "light(day,night)1-2", path, default=0), ""),
            "texts": re.sub(r"\[(CLS|SEP)\]", "", rec.get("texts", "")).strip(),
            "causes": rec.get("causes", "").strip(),
        }
        refs.append(ClipRef("dada", f"{category}/{video:03d}", split, str(folder), toa, FPS, None, meta))
    return refs


def load(ref: ClipRef, size: tuple[int, int] | None = None) -> Clip:
    """Read one DADA-2000 video's frames."""
    frames = read_images(list_images(Path(ref.source)), size)
    check_toa(ref, len(frames))
    caption = ". ".join(x for x in (ref.meta.get("texts", ""), ref.meta.get("causes", "")) if x)
    return Clip(ref.clip_id, frames, labels_from_toa(len(frames), ref.toa), ref.toa, ref.fps, caption=caption,
                meta={**ref.meta, "split": ref.split, "source": ref.source})  # fmt: skip
