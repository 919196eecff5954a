"""Convolutional trunk of the student: the MobileCLIP (MCi) stem and stages 1-3, from timm's FastViT.

The trunk's parameter names are timm's (``stem.*``, ``stages.{0,1,2}.*``) so MobileCLIP / timm
``fastvit_mci0`` weights load by a prefix filter; the stride-32 embedding that feeds the RWKV layers
is timm's stage-4 ``PatchEmbed`` (``stages.3.downsample`` in ``fastvit_mci0``). Apple's own
ml-mobileclip checkpoints (MobileCLIP v1 ``.pt``: ``image_encoder.model.*``) are converted to that
layout by timm's ``fastvit.checkpoint_filter_fn`` (:func:`mobileclip_v1_to_timm`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import SimpleNamespace

import torch
import torch.nn as nn
from timm.models.fastvit import FastVitStage, PatchEmbed, convolutional_stem

from accident_anticipation_ros.model.config import StudentConfig
from accident_anticipation_ros.model.errors import CheckpointError
from accident_anticipation_ros.model.state_dict import state_dict_problems

_DOWN_PATCH, _DOWN_STRIDE, _REPMIXER_KERNEL = 7, 2, 3

MOBILECLIP_V1_PREFIX = "image_encoder.model."  # Apple ml-mobileclip: MCi(...).model is its FastViT
_MOBILECLIP_V1_STEM = MOBILECLIP_V1_PREFIX + "patch_embed.0.rbr_conv.0.conv.weight"


class Trunk(nn.Module):
    """Stem (stride 4) + RepMixer stages 1-3 (strides 4, 8, 16), as in timm ``FastVit``."""

    def __init__(self, cfg: StudentConfig) -> None:
        super().__init__()
        self.stem = convolutional_stem(3, cfg.widths[0], nn.GELU)
        stages = []
        prev = cfg.widths[0]
        for i, (width, depth) in enumerate(zip(cfg.widths, cfg.depths, strict=True)):
            stages.append(
                FastVitStage(
                    dim=prev,
                    dim_out=width,
                    depth=depth,
                    token_mixer_type="repmixer",
                    downsample=i > 0 or prev != width,
                    se_downsample=cfg.se_downsamples[i],
                    down_patch_size=_DOWN_PATCH,
                    down_stride=_DOWN_STRIDE,
                    kernel_size=_REPMIXER_KERNEL,
                    mlp_ratio=cfg.mlp_ratio,
                    drop_path_rate=[0.0] * depth,
                    lkc_use_act=cfg.lkc_use_act,
                )
            )
            prev = width
        self.stages = nn.Sequential(*stages)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        """``(B, 3, H, W)`` -> stage 1-3 features ``[(B, C, H/4, W/4), (B, 2C, H/8, ..), (B, 4C, H/16, ..)]``."""
        x = self.stem(x)
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats


def stride32_embed(cfg: StudentConfig) -> PatchEmbed:
    """The stride-2 patch embedding from stage 3 (4C) to the RWKV tokens (8C), as FastViT's stage 4."""
    return PatchEmbed(
        patch_size=_DOWN_PATCH,
        stride=_DOWN_STRIDE,
        in_chs=cfg.widths[2],
        embed_dim=cfg.rwkv_dim,
        use_se=cfg.se_downsamples[3],
        act_layer=nn.GELU,
        lkc_use_act=cfg.lkc_use_act,
    )


@dataclass(frozen=True)
class TrunkLoadReport:
    """What :func:`load_mci_trunk` loaded."""

    loaded: int  # tensors copied into the trunk
    embed_loaded: bool  # whether the stride-32 embedding came from the teacher's stage-4 downsample
    ignored: int  # image-trunk tensors of the teacher not used (stage-4 blocks, final conv, head)


def is_mobileclip_v1(state_dict: Mapping[str, torch.Tensor]) -> bool:
    """Whether ``state_dict`` is an Apple ml-mobileclip checkpoint (image tower under ``image_encoder.model.``)."""
    return any(k.startswith(MOBILECLIP_V1_PREFIX) for k in state_dict)


def mobileclip_v1_to_timm(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Apple ml-mobileclip image-tower tensors -> timm ``fastvit_mci0/1/2`` names (timm's own filter).

    MobileCLIP v1 ``.pt`` files (S0 = MCi0, S1 = MCi1, S2 = MCi2) hold the image tower under
    ``image_encoder.model.*`` (``patch_embed``, a flat ``network.N`` list, ``conv_exp``, and the CLIP
    projection ``head.proj`` of shape ``(in, out)``) beside ``text_encoder.*`` and ``logit_scale``.
    timm's ``fastvit.checkpoint_filter_fn`` renames the image tower to ``stem`` / ``stages.S`` /
    ``final_conv`` and maps ``head.proj`` to ``head.fc.weight`` (transposed) with a zero ``head.fc.bias``;
    the text tower and ``logit_scale`` are dropped here.

    Raises:
        CheckpointError: the image tower is not a training-form MCi FastViT: MobileCLIP-B (a ViT,
            out of scope: it has no stages 1-3 for the student) or a reparameterized export.
    """
    from timm.models.fastvit import checkpoint_filter_fn

    image = {k: v for k, v in state_dict.items() if k.startswith(MOBILECLIP_V1_PREFIX)}
    if _MOBILECLIP_V1_STEM not in image:
        what = (
            "reparameterized (inference-mode) weights"
            if any(".reparam_conv." in k or ".lkb_reparam." in k for k in image)
            else "not an MCi FastViT (MobileCLIP-B's image tower is a ViT: out of scope, it has no stages 1-3)"
        )
        raise CheckpointError(
            f"MobileCLIP v1 checkpoint: no {_MOBILECLIP_V1_STEM!r}; the image tower is {what}"
        )
    # timm maps head.proj to head.fc only when the target model's head has a Linear ``fc`` (a CLIP head)
    clip_head = SimpleNamespace(head=SimpleNamespace(fc=nn.Linear(1, 1)))
    return checkpoint_filter_fn(image, clip_head)


def load_mci_trunk(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], embed: bool = True
) -> TrunkLoadReport:
    """Load MobileCLIP / timm ``fastvit_mci*`` weights into the student's stem + stages 1-3, strictly.

    Accepts a timm ``fastvit_mci0`` state dict (``stem.*``, ``stages.*``), an open_clip MobileCLIP
    state dict (``visual.trunk.*``; ``module.`` prefixes are stripped) or an Apple ml-mobileclip one
    (``image_encoder.model.*``, see :func:`mobileclip_v1_to_timm`). Every trunk tensor must be
    present with the same shape. With ``embed`` True, the teacher's ``stages.3.downsample`` is also
    loaded into the stride-32 embedding when all its tensors exist with matching shapes.

    Args:
        model: A ``TSDStudent`` (its ``trunk`` and ``embed`` are filled) or a bare :class:`Trunk`.
        state_dict: Teacher weights (not reparameterized).
        embed: Also try the stride-32 embedding.

    Raises:
        CheckpointError: missing, unexpected or shape-mismatched trunk tensors, listed by name.
    """
    sd = {k.removeprefix("module."): v for k, v in state_dict.items()}
    if is_mobileclip_v1(sd):
        sd = mobileclip_v1_to_timm(sd)
    if any(k.startswith("visual.trunk.") for k in sd):
        sd = {k.removeprefix("visual.trunk."): v for k, v in sd.items() if k.startswith("visual.trunk.")}
    if "stem.0.reparam_conv.weight" in sd:
        raise CheckpointError("teacher state dict is reparameterized; load the training-form weights")
    trunk = model.trunk if hasattr(model, "trunk") else model
    if any(hasattr(m, "reparam_conv") and m.reparam_conv is not None for m in trunk.modules()):
        raise CheckpointError(
            "student trunk is reparameterized; load teacher weights before reparameterize()"
        )
    want = trunk.state_dict()
    taken = {k: v for k, v in sd.items() if k.startswith(("stem.", "stages.0.", "stages.1.", "stages.2."))}
    problems = state_dict_problems(want, taken, ("student", "teacher"))
    if problems:
        hint = " (is the teacher deeper?)" if set(taken) - set(want) else ""
        raise CheckpointError(
            "teacher trunk does not fit the student stem + stages 1-3: " + "; ".join(problems) + hint
        )
    trunk.load_state_dict(taken, strict=True)

    embed_loaded = False
    if embed and hasattr(model, "embed"):
        prefix = "stages.3.downsample."
        target = model.embed.state_dict()
        source = {k.removeprefix(prefix): v for k, v in sd.items() if k.startswith(prefix)}
        if set(source) == set(target) and all(source[k].shape == target[k].shape for k in target):
            model.embed.load_state_dict(source, strict=True)
            embed_loaded = True
    used = len(taken) + (len(target) if embed_loaded else 0)
    return TrunkLoadReport(loaded=len(taken), embed_loaded=embed_loaded, ignored=len(sd) - used)
