"""A small MobileCLIP-architecture CLIP model (for ``train-teacher`` on synthetic frames), and its files.

Image tower: timm FastViT shaped like MCi (RepMixer stages 1-3, attention stage 4, conditional
positional encoding, MobileOne stem), at reduced width/depth, or a named timm model such as
``fastvit_mci0``. Text tower: open_clip's ``TextTransformer`` (causal, argmax pooling) with its
offline BPE tokenizer. Parameter names follow open_clip's ``CustomTextCLIP`` (``visual.trunk.*``,
``text.*``, ``logit_scale``), so ``load_mci_trunk`` and open_clip conventions apply.

Files: ``<name>.safetensors`` (weights, metadata ``{"format": "aar-teacher-1"}``) + ``<name>.json``
(the :class:`TeacherSpec` and training info). Loaded by path, strictly, never unpickled.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.model.checkpoint import read_json_object
from accident_anticipation_ros.training.errors import TeacherError
from accident_anticipation_ros.training.weights import load_strict
from accident_anticipation_ros.training.yaml_config import build, to_dict

FORMAT = "aar-teacher-1"


@dataclass(frozen=True)
class ImageTowerSpec:
    """MCi-shaped FastViT: ``widths``/``depths`` of stages 1-4, or ``timm_model`` (e.g. ``fastvit_mci0``)."""

    timm_model: str | None = None
    widths: tuple[int, int, int, int] = (32, 64, 128, 256)
    depths: tuple[int, int, int, int] = (1, 1, 2, 1)
    mlp_ratio: float = 3.0
    image_size: tuple[int, int] = (128, 128)

    def __post_init__(self) -> None:
        if any(w <= 0 for w in self.widths) or any(d <= 0 for d in self.depths):
            raise ValueError(f"widths and depths must be positive, got {self.widths}, {self.depths}")
        if any(b % a for a, b in zip(self.widths, self.widths[1:], strict=False)):
            raise ValueError(
                f"each width must divide the next (grouped patch-embedding convs), got {self.widths}"
            )
        if self.widths[3] % 32:
            raise ValueError(f"widths[3] must be a multiple of 32 (attention head dim), got {self.widths[3]}")
        if any(s % 32 for s in self.image_size):
            raise ValueError(f"image_size sides must be multiples of 32, got {self.image_size}")


@dataclass(frozen=True)
class TextTowerSpec:
    """open_clip text transformer size (vocabulary: open_clip's 49408-token BPE)."""

    context_length: int = 32
    width: int = 128
    heads: int = 4
    layers: int = 3

    def __post_init__(self) -> None:
        if self.width % self.heads:
            raise ValueError(f"width {self.width} must be a multiple of heads {self.heads}")
        if self.context_length < 4:
            raise ValueError(f"context_length must be >= 4, got {self.context_length}")


@dataclass(frozen=True)
class TeacherSpec:
    """Everything needed to rebuild a small CLIP teacher (saved in its JSON)."""

    name: str = "teacher"
    embed_dim: int = 256
    image: ImageTowerSpec = field(default_factory=ImageTowerSpec)
    text: TextTowerSpec = field(default_factory=TextTowerSpec)
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)

    @property
    def stage_dims(self) -> tuple[int, int, int]:
        if self.image.timm_model:
            import timm

            return tuple(int(f["num_chs"]) for f in timm.create_model(self.image.timm_model).feature_info[:3])
        return tuple(self.image.widths[:3])


def mci_fastvit(spec: ImageTowerSpec, num_classes: int) -> nn.Module:
    """An MCi-shaped timm ``FastVit`` (or the named timm model) whose head outputs ``num_classes``."""
    import timm
    from timm.models.fastvit import FastVit, RepConditionalPosEnc

    if spec.timm_model:
        return timm.create_model(spec.timm_model, pretrained=False, num_classes=num_classes)
    return FastVit(
        layers=spec.depths,
        embed_dims=spec.widths,
        mlp_ratios=(spec.mlp_ratio,) * 4,
        se_downsamples=(False, False, True, True),
        pos_embs=(None, None, None, partial(RepConditionalPosEnc, spatial_shape=(7, 7))),
        token_mixers=("repmixer", "repmixer", "repmixer", "attention"),
        lkc_use_act=True,
        num_classes=num_classes,
    )


class ImageTower(nn.Module):
    """``visual.trunk`` as in open_clip's ``TimmModel`` with the trunk's own head as projection."""

    def __init__(self, spec: ImageTowerSpec, embed_dim: int) -> None:
        super().__init__()
        self.trunk = mci_fastvit(spec, embed_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk(x)


class TeacherCLIP(nn.Module):
    """Image + text towers and a learned temperature (CLIP)."""

    def __init__(self, spec: TeacherSpec) -> None:
        super().__init__()
        from open_clip.model import CLIPTextCfg, _build_text_tower

        self.spec = spec
        self.visual = ImageTower(spec.image, spec.embed_dim)
        text_cfg = CLIPTextCfg(
            context_length=spec.text.context_length,
            width=spec.text.width,
            heads=spec.text.heads,
            layers=spec.text.layers,
        )
        self.text = _build_text_tower(spec.embed_dim, text_cfg)
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1 / 0.07)))

    def tokenizer(self):
        """open_clip's offline BPE tokenizer at this model's context length."""
        from open_clip.tokenizer import SimpleTokenizer

        return SimpleTokenizer(context_length=self.spec.text.context_length)

    def encode_image(self, images: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        x = self.visual(images)  # (N, D)
        return F.normalize(x, dim=-1) if normalize else x

    def encode_text(self, tokens: torch.Tensor, normalize: bool = False) -> torch.Tensor:
        x = self.text(tokens)  # (N, D)
        return F.normalize(x, dim=-1) if normalize else x

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Normalised image and text embeddings and the logit scale (``exp``, clamped at 100)."""
        return (
            self.encode_image(images, normalize=True),
            self.encode_text(tokens, normalize=True),
            self.logit_scale.exp().clamp(max=100.0),
        )


def teacher_paths(path: str | os.PathLike) -> tuple[Path, Path]:
    """``(weights, json)`` for ``x``, ``x.safetensors`` or ``x.json``."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".safetensors", ".json") else p
    return stem.parent / f"{stem.name}.safetensors", stem.parent / f"{stem.name}.json"


def save_teacher_clip(
    model: TeacherCLIP, path: str | os.PathLike, extra: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Write ``<path>.safetensors`` + ``<path>.json`` (spec, weights sha256, ``extra`` such as training info)."""
    from safetensors.torch import save_file

    weights, config = teacher_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    tmp = weights.with_name(weights.name + ".tmp")
    save_file(tensors, str(tmp), metadata={"format": FORMAT})
    os.replace(tmp, weights)
    meta = {
        "format": FORMAT,
        "spec": to_dict(model.spec),
        "weights_sha256": file_sha256(weights),
        **(extra or {}),
    }
    config.write_text(json.dumps(meta, indent=2) + "\n")
    return weights, config


def read_teacher_spec(path: str | os.PathLike) -> tuple[TeacherSpec, dict[str, Any]]:
    """The :class:`TeacherSpec` and full JSON of a teacher checkpoint."""
    _, config = teacher_paths(path)
    meta = read_json_object(config, TeacherError, "teacher config file not found")
    if meta.get("format") != FORMAT:
        raise TeacherError(f"{config}: 'format' must be {FORMAT!r} (a train-teacher checkpoint)")
    try:
        spec = build(TeacherSpec, meta.get("spec"), str(config), "spec")
    except ValueError as err:
        raise TeacherError(str(err)) from None
    return spec, meta


def load_teacher_clip(path: str | os.PathLike) -> tuple[TeacherCLIP, dict[str, Any]]:
    """Load a teacher written by :func:`save_teacher_clip` (strict, eval mode)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights, _ = teacher_paths(path)
    spec, meta = read_teacher_spec(path)
    if not weights.is_file():
        raise TeacherError(f"{weights}: teacher weights file not found")
    digest = file_sha256(weights)
    if meta.get("weights_sha256") not in (None, digest):
        raise TeacherError(
            f"{weights}: sha256 differs from the JSON's weights_sha256; the files do not belong together"
        )
    try:
        sd = load_file(str(weights))
    except (SafetensorError, OSError) as err:
        raise TeacherError(f"{weights}: cannot read safetensors file ({err})") from None
    model = TeacherCLIP(spec)
    load_strict(model, sd, str(weights))
    return model.eval(), dict(meta, weights_sha256=digest)
