"""Student checkpoints of any training arch: TSD students use ``model.checkpoint`` (the node's format);
GRU ablation students use the same safetensors + JSON layout with ``"format": "aar-gru-student-1"``."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.model.checkpoint import (
    checkpoint_paths,
    load_checkpoint,
    read_json_object,
    save_checkpoint,
)
from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.errors import CheckpointError
from accident_anticipation_ros.model.student import TSDStudent
from accident_anticipation_ros.training.gru_student import GRUStudent

GRU_FORMAT = "aar-gru-student-1"


def save_student(model: TSDStudent, path: str | os.PathLike, extra: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` + ``<path>.json`` (``extra``: fps, mean, std, train info)."""
    if not isinstance(model, GRUStudent):
        return save_checkpoint(model, path, extra=extra)
    weights, config = checkpoint_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    save_file(
        {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()},
        str(weights),
        metadata={"format": GRU_FORMAT},
    )
    meta = {"format": GRU_FORMAT, "model_name": model.cfg.name, "config": model.cfg.to_dict(), **extra}
    meta["weights_sha256"] = file_sha256(weights)
    config.write_text(json.dumps(meta, indent=2) + "\n")
    return weights, config


def is_gru_checkpoint(path: str | os.PathLike) -> bool:
    """Whether ``path`` (x, x.safetensors or x.json) is a GRU ablation student (it has no ONNX export)."""
    config = checkpoint_paths(path)[1]
    return config.is_file() and read_json_object(config).get("format") == GRU_FORMAT


def load_student(
    path: str | os.PathLike, device: torch.device | str = "cpu"
) -> tuple[TSDStudent, dict[str, Any]]:
    """Load a TSD (``aar-student-1``) or GRU ablation student; ``meta['config']`` is a StudentConfig."""
    weights, config = checkpoint_paths(path)
    meta = read_json_object(config)
    if meta.get("format") != GRU_FORMAT:
        return load_checkpoint(path, device)
    if not weights.is_file():
        raise CheckpointError(f"{weights}: checkpoint weights file not found")
    cfg = StudentConfig.from_dict(meta["config"], source=str(config))
    model = GRUStudent(cfg)
    sd = load_file(str(weights))
    try:
        model.load_state_dict(sd, strict=True)
    except RuntimeError as err:
        raise CheckpointError(f"{weights}: does not fit GRUStudent {cfg.name}: {err}") from None
    return model.to(device).eval(), dict(meta, config=cfg, model_hash=file_sha256(weights))
