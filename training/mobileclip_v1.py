"""Apple's own MobileCLIP v1 checkpoints (ml-mobileclip ``mobileclip_s0/s1/s2/b.pt``) in open_clip's layout.

An ml-mobileclip ``.pt`` holds (top level or under ``state_dict``) ``image_encoder.model.*`` (the MCi
image tower, a FastViT), ``text_encoder.*`` (a pre-norm text transformer) and ``logit_scale``. open_clip's
``MobileCLIP-S1`` / ``MobileCLIP-S2`` are the same networks under other names (``visual.trunk.*``,
``text.*``): the image tower is renamed by timm's FastViT checkpoint filter
(``model.backbone.mobileclip_v1_to_timm``), the text tower here, tensor for tensor:

====================================================  ==========================================
ml-mobileclip ``text_encoder.``                        open_clip ``text.``
====================================================  ==========================================
``embedding_layer.weight``                             ``token_embedding.weight``
``positional_embedding.pos_embed.pos_embed`` (1,1,L,D)  ``positional_embedding`` (L, D)
``transformer.i.pre_norm_mha.0`` (LayerNorm)           ``transformer.resblocks.i.ln_1``
``transformer.i.pre_norm_mha.1.qkv_proj``              ``transformer.resblocks.i.attn.in_proj_*``
``transformer.i.pre_norm_mha.1.out_proj``              ``transformer.resblocks.i.attn.out_proj``
``transformer.i.pre_norm_ffn.0`` / ``.1`` / ``.4``     ``ln_2`` / ``mlp.c_fc`` / ``mlp.c_proj``
``final_layer_norm``                                   ``ln_final``
``projection_layer`` (D, E)                            ``text_projection`` (D, E)
====================================================  ==========================================

Both pool the highest token id (EOT), use exact GELU, and q/k/v rows in the same order. MobileCLIP-S0's
text tower (``mct``: RepMixer blocks around the transformer) has no open_clip counterpart and
MobileCLIP-B's image tower is a ViT: S0 loads with ``teacher.source: timm`` (image tower only), B not
at all (no stages 1-3 to distil).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import torch

from accident_anticipation_ros.model.backbone import mobileclip_v1_to_timm
from accident_anticipation_ros.training.errors import TeacherError

TEXT_PREFIX = "text_encoder."

_BLOCK = {
    "pre_norm_mha.0.weight": "ln_1.weight",
    "pre_norm_mha.0.bias": "ln_1.bias",
    "pre_norm_mha.1.qkv_proj.weight": "attn.in_proj_weight",
    "pre_norm_mha.1.qkv_proj.bias": "attn.in_proj_bias",
    "pre_norm_mha.1.out_proj.weight": "attn.out_proj.weight",
    "pre_norm_mha.1.out_proj.bias": "attn.out_proj.bias",
    "pre_norm_ffn.0.weight": "ln_2.weight",
    "pre_norm_ffn.0.bias": "ln_2.bias",
    "pre_norm_ffn.1.weight": "mlp.c_fc.weight",
    "pre_norm_ffn.1.bias": "mlp.c_fc.bias",
    "pre_norm_ffn.4.weight": "mlp.c_proj.weight",
    "pre_norm_ffn.4.bias": "mlp.c_proj.bias",
}
_TOP = {
    "embedding_layer.weight": "token_embedding.weight",
    "positional_embedding.pos_embed.pos_embed": "positional_embedding",
    "final_layer_norm.weight": "ln_final.weight",
    "final_layer_norm.bias": "ln_final.bias",
    "projection_layer": "text_projection",
}


def text_to_open_clip(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``text_encoder.*`` of an ml-mobileclip checkpoint -> open_clip ``text.*`` (TextTransformer).

    Raises:
        TeacherError: a tensor this mapping does not know (e.g. MobileCLIP-S0's RepMixer text blocks).
    """
    out, unknown = {}, []
    for key, value in state_dict.items():
        if not key.startswith(TEXT_PREFIX):
            continue
        name = key.removeprefix(TEXT_PREFIX)
        block = re.fullmatch(r"transformer\.(\d+)\.(.+)", name)
        if name in _TOP:
            if name == "positional_embedding.pos_embed.pos_embed":
                value = value.reshape(value.shape[-2], value.shape[-1])  # (1, 1, L, D) -> (L, D)
            out["text." + _TOP[name]] = value
        elif block and block.group(2) in _BLOCK:
            out[f"text.transformer.resblocks.{block.group(1)}.{_BLOCK[block.group(2)]}"] = value
        else:
            unknown.append(key)
    if unknown:
        raise TeacherError(
            f"MobileCLIP v1 text tower: {len(unknown)} tensor(s) with no open_clip counterpart, first "
            f"{unknown[0]!r} (MobileCLIP-S0's 'mct' text tower is not in open_clip: use teacher.source "
            "timm with model fastvit_mci0 for its image tower)"
        )
    return out


def to_open_clip(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A whole ml-mobileclip checkpoint -> an open_clip ``CustomTextCLIP`` state dict (MobileCLIP-S1/S2)."""
    from accident_anticipation_ros.model.errors import CheckpointError

    try:
        image = mobileclip_v1_to_timm(state_dict)
    except CheckpointError as err:
        raise TeacherError(str(err)) from None
    out = {f"visual.trunk.{k}": v for k, v in image.items()}
    out.update(text_to_open_clip(state_dict))
    if "logit_scale" in state_dict:
        out["logit_scale"] = state_dict["logit_scale"].reshape(())
    return out
