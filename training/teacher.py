"""The frozen MobileCLIP teacher: stage 1-3 features, final image embedding, prompt text embeddings.

Sources (``TeacherConfig.source``):

- ``open_clip``: ``open_clip.create_model(name)`` (e.g. ``MobileCLIP2-S0``, ``MobileCLIP-S1``) without
  downloading; a user's open_clip checkpoint is loaded by path, strictly, and so is Apple's own
  ml-mobileclip ``.pt`` of MobileCLIP-S1/S2 (renamed by ``training.mobileclip_v1``). Normalisation: the model's
  pretrained config (MobileCLIP: mean 0, std 1; MobileCLIP2-S3/S4/L: OpenAI's).
- ``timm``: ``timm.create_model(name)`` (``fastvit_mci0/1/2`` are MobileCLIP-S0/S1/S2's image towers);
  an open_clip checkpoint's ``visual.trunk.`` prefix is stripped, and Apple's own ml-mobileclip ``.pt``
  files (MobileCLIP v1: ``image_encoder.model.*``) are converted by timm's FastViT checkpoint filter
  (``model.backbone.mobileclip_v1_to_timm``). Image only: no text embeddings.
- ``aar``: a teacher written by ``accident-anticipation train-teacher`` (safetensors + JSON).

The image tower is a timm ``FastVit``; stages come from ``forward_intermediates`` (stages 1-3 are
indices 0-2) and the embedding from ``forward_head`` after the final conv, as ``encode_image``.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
from dataclasses import dataclass

import torch
import torch.nn as nn

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.model.backbone import is_mobileclip_v1
from accident_anticipation_ros.training.config import TeacherConfig
from accident_anticipation_ros.training.errors import TeacherError
from accident_anticipation_ros.training.weights import load_strict, read_state_dict

DEFAULT_MEAN = (0.0, 0.0, 0.0)  # MobileCLIP's own normalisation
DEFAULT_STD = (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class TeacherInfo:
    """Static facts of a teacher (what the cache and the student need to know)."""

    name: str
    image_size: tuple[int, int]
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    stage_dims: tuple[int, int, int]
    embed_dim: int
    has_text: bool
    fingerprint: str  # sha256 of (source, model, weights sha256 or "random", image size, normalisation)
    logit_scale: float | None = None  # exp of the learned CLIP logit scale (max 100); None without text


@dataclass(frozen=True)
class TeacherFeatures:
    """Teacher outputs of ``N`` frames."""

    stages: tuple[torch.Tensor, torch.Tensor, torch.Tensor]  # (N, C_l, H / 2^(l+1), W / 2^(l+1)), l = 1..3
    embedding: torch.Tensor  # (N, D) final image embedding (not normalised)


class FrozenTeacher(nn.Module):
    """A frozen image(-text) teacher; build it with :func:`build_teacher`."""

    def __init__(
        self, trunk: nn.Module, head: nn.Module, text: nn.Module | None, tokenizer, info: TeacherInfo
    ) -> None:
        super().__init__()
        self.trunk = trunk
        self.head = head  # extra projection after the trunk's head (open_clip TimmModel.head; often empty)
        self.text = text
        self.tokenizer = tokenizer
        self.info = info
        self.eval()
        self.requires_grad_(False)

    def train(self, mode: bool = True) -> FrozenTeacher:
        """Always in eval mode (frozen BatchNorm statistics)."""
        return super().train(False)

    @torch.no_grad()
    def encode_frames(self, images: torch.Tensor) -> TeacherFeatures:
        """``(N, 3, H, W)`` normalised frames at ``info.image_size`` -> stage features and embeddings."""
        H, W = self.info.image_size
        if images.ndim != 4 or tuple(images.shape[1:]) != (3, H, W):
            raise ValueError(
                f"teacher {self.info.name}: expected (N, 3, {H}, {W}) frames, got {tuple(images.shape)}"
            )
        final, stages = self.trunk.forward_intermediates(images, indices=[0, 1, 2])
        embedding = self.head(self.trunk.forward_head(final))
        return TeacherFeatures(tuple(stages), embedding)

    @torch.no_grad()
    def encode_text(self, prompts: list[str]) -> torch.Tensor:
        """Text embeddings ``(P, D)`` of ``prompts`` (not normalised)."""
        if self.text is None:
            raise TeacherError(
                f"teacher {self.info.name} has no text tower (timm image tower); use source open_clip or aar "
                "for the contrastive loss"
            )
        if not prompts:
            raise ValueError("encode_text needs at least one prompt")
        device = next(self.text.parameters()).device
        tokens = self.tokenizer(list(prompts)).to(device)
        out = self.text(tokens) if not hasattr(self.text, "encode_text") else self.text.encode_text(tokens)
        return out.float()


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (antialiased when shrinking) resize of ``(N, 3, h, w)`` to ``size``; identity when equal."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    shrink = x.shape[-2] > size[0] or x.shape[-1] > size[1]
    return torch.nn.functional.interpolate(
        x, size=size, mode="bilinear", align_corners=False, antialias=shrink
    )


def normalize(x: torch.Tensor, mean, std) -> torch.Tensor:
    """``(x - mean) / std`` per channel of ``(..., 3, H, W)`` in [0, 1]."""
    m = torch.as_tensor(mean, dtype=x.dtype, device=x.device).view(3, 1, 1)
    s = torch.as_tensor(std, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x - m) / s


def _fingerprint(*parts) -> str:
    return hashlib.sha256(
        json.dumps([list(p) if isinstance(p, tuple) else p for p in parts]).encode()
    ).hexdigest()


@contextlib.contextmanager
def _quiet_open_clip():
    logger = logging.getLogger()
    level = logger.level
    logger.setLevel(logging.ERROR)  # open_clip warns "No pretrained weights loaded" on the root logger
    try:
        yield
    finally:
        logger.setLevel(level)


def open_clip_norm(model_name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """mean/std of an open_clip model's pretrained config (MobileCLIP: 0 / 1), or MobileCLIP's default."""
    import open_clip

    for tag in open_clip.list_pretrained_tags_by_model(model_name):
        cfg = open_clip.get_pretrained_cfg(model_name, tag)
        if cfg and "mean" in cfg:
            return tuple(cfg["mean"]), tuple(cfg["std"])
    return DEFAULT_MEAN, DEFAULT_STD


# open_clip's ``resize_mode`` -> the package's equivalent frame fitting (``data.resize``)
_OPEN_CLIP_CROPS = {"shortest": "center_crop", "squash": "stretch", "longest": "letterbox"}


def teacher_crop(cfg: TeacherConfig) -> str | None:
    """How the teacher's own preprocessing fits an image to its input, as a ``data.resize`` mode; None
    where the teacher does not say (timm image towers, ``aar`` teachers).

    open_clip's MobileCLIP / MobileCLIP2 configs say ``resize_mode: shortest``: the shortest side resized
    to the input size, then a centre crop, which is ``center_crop`` here (the largest centred window of
    the input's aspect ratio, resized).
    """
    if cfg.source != "open_clip":
        return None
    import open_clip

    for tag in open_clip.list_pretrained_tags_by_model(cfg.model):
        pcfg = open_clip.get_pretrained_cfg(cfg.model, tag)
        if pcfg and pcfg.get("resize_mode") in _OPEN_CLIP_CROPS:
            return _OPEN_CLIP_CROPS[pcfg["resize_mode"]]
    return None


def teacher_norm(cfg: TeacherConfig) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The teacher's input normalisation without building it (the student uses the same)."""
    if cfg.mean is not None and cfg.std is not None:
        return tuple(cfg.mean), tuple(cfg.std)
    if cfg.source == "open_clip":
        mean, std = open_clip_norm(cfg.model)
    elif cfg.source == "timm":
        import timm.models

        pcfg = timm.models.get_pretrained_cfg(cfg.model)
        mean, std = (tuple(pcfg.mean), tuple(pcfg.std)) if pcfg is not None else (DEFAULT_MEAN, DEFAULT_STD)
    else:
        from accident_anticipation_ros.training.teacher_clip import read_teacher_spec

        spec, _ = read_teacher_spec(cfg.checkpoint)
        mean, std = spec.mean, spec.std
    return tuple(cfg.mean or mean), tuple(cfg.std or std)


def build_teacher(cfg: TeacherConfig, device: torch.device | str = "cpu") -> FrozenTeacher:
    """Build the frozen teacher of ``cfg``, loading ``cfg.checkpoint`` by path if given.

    Raises:
        TeacherError: unknown model, unreadable checkpoint, or weights that do not fit (listed).
    """
    mean, std = teacher_norm(cfg)
    weights_id = file_sha256(cfg.checkpoint) if cfg.checkpoint and cfg.source != "aar" else "random"
    if cfg.source == "open_clip":
        trunk, head, text, tokenizer, size, embed_dim, logit_scale = _open_clip(cfg)
        name = cfg.model
    elif cfg.source == "timm":
        trunk, size, embed_dim = _timm(cfg)
        head, text, tokenizer, name, logit_scale = nn.Identity(), None, None, cfg.model, None
    else:
        from accident_anticipation_ros.training.teacher_clip import load_teacher_clip

        model, meta = load_teacher_clip(cfg.checkpoint)
        spec = model.spec
        trunk, head, text, tokenizer = model.visual.trunk, nn.Identity(), model.text, model.tokenizer()
        logit_scale = _scale(model.logit_scale)
        size, embed_dim, name, weights_id = (
            spec.image.image_size,
            spec.embed_dim,
            spec.name,
            meta["weights_sha256"],
        )
    size = tuple(cfg.image_size or size)
    stage_dims = tuple(int(f["num_chs"]) for f in trunk.feature_info[:3])
    info = TeacherInfo(
        name=name,
        image_size=(int(size[0]), int(size[1])),
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        stage_dims=stage_dims,
        embed_dim=int(embed_dim),
        has_text=text is not None,
        fingerprint=_fingerprint(cfg.source, name, weights_id, size, mean, std),
        logit_scale=logit_scale,
    )
    return FrozenTeacher(trunk, head, text, tokenizer, info).to(device)


def _scale(logit_scale: torch.Tensor | None) -> float | None:
    """A CLIP model's softmax scale ``exp(logit_scale)``, clamped at 100 as CLIP training clamps it."""
    return None if logit_scale is None else float(logit_scale.detach().exp().clamp(max=100.0))


def _open_clip(cfg: TeacherConfig):
    import open_clip

    if cfg.model not in open_clip.list_models():
        known = [m for m in open_clip.list_models() if "MobileCLIP" in m]
        raise TeacherError(f"unknown open_clip model {cfg.model!r}; MobileCLIP models: {known}")
    with _quiet_open_clip():
        model = open_clip.create_model(cfg.model, pretrained=None)
    model.eval()  # before any forward: a train-mode forward would move the BatchNorm statistics
    if cfg.checkpoint:
        sd = read_state_dict(cfg.checkpoint)
        if is_mobileclip_v1(sd):  # Apple's ml-mobileclip .pt (MobileCLIP-S1/S2)
            from accident_anticipation_ros.training.mobileclip_v1 import to_open_clip

            try:
                sd = to_open_clip(sd)
            except TeacherError as err:
                raise TeacherError(f"{cfg.checkpoint}: {err}") from None
        load_strict(model, sd, f"{cfg.checkpoint} (open_clip {cfg.model})")
    visual = model.visual
    if not hasattr(visual, "trunk") or not hasattr(visual.trunk, "forward_intermediates"):
        raise TeacherError(
            f"open_clip model {cfg.model!r} has no timm image trunk with forward_intermediates"
        )
    tokenizer = open_clip.get_tokenizer(cfg.model)
    size = tuple(getattr(visual, "image_size", (256, 256)))
    with torch.no_grad():  # the embedding width, from a tiny forward (heads differ between models)
        embed_dim = int(visual(torch.zeros(1, 3, 64, 64)).shape[-1])
    scale = _scale(getattr(model, "logit_scale", None))
    # keep the text tower reachable through ``encode_text`` only (the image tower is used piecewise)
    return visual.trunk, visual.head, _TextOnly(model), tokenizer, size, embed_dim, scale


class _TextOnly(nn.Module):
    """open_clip's text path (``encode_text``) without registering the image tower twice."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        model.visual = nn.Identity()  # the trunk lives in FrozenTeacher.trunk
        self.model = model

    def encode_text(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.model.encode_text(tokens)


def _timm(cfg: TeacherConfig):
    import timm

    from accident_anticipation_ros.model.backbone import mobileclip_v1_to_timm
    from accident_anticipation_ros.model.errors import CheckpointError

    sd = None
    if cfg.checkpoint:
        sd = read_state_dict(cfg.checkpoint)
        if is_mobileclip_v1(sd):
            try:
                sd = mobileclip_v1_to_timm(sd)
            except CheckpointError as err:
                raise TeacherError(f"{cfg.checkpoint}: {err}") from None
        elif any(k.startswith("visual.trunk.") for k in sd):
            sd = {k.removeprefix("visual.trunk."): v for k, v in sd.items() if k.startswith("visual.trunk.")}
    num_classes = (
        int(sd["head.fc.weight"].shape[0]) if sd and "head.fc.weight" in sd else (cfg.embed_dim or 512)
    )
    try:
        trunk = timm.create_model(cfg.model, pretrained=False, num_classes=num_classes)
    except RuntimeError as err:
        raise TeacherError(f"cannot build timm model {cfg.model!r}: {err}") from None
    if not hasattr(trunk, "forward_intermediates"):
        raise TeacherError(f"timm model {cfg.model!r} has no forward_intermediates")
    if sd is not None:
        load_strict(trunk, sd, f"{cfg.checkpoint} (timm {cfg.model})")
    size = tuple(trunk.pretrained_cfg.get("input_size", (3, 256, 256))[1:])
    return trunk, size, num_classes
