"""A tiny torch module that follows the ONNX step contract, and its export (test helper).

It stands in for the student where a test checks the runtime's plumbing on graphs it shapes itself
(a wrong input name, missing metadata, an extra state); parity with the real student is tested on
the real ``tsd-test`` export.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import torch
from torch import nn

from accident_anticipation_ros.contract import (
    IMAGE,
    OUTPUTS,
    STATE_IN,
    STATE_OUT,
    ModelMetadata,
    encode_metadata,
)

TOY_META = encode_metadata(
    ModelMetadata(
        model_name="toy",
        model_hash="0" * 64,
        config={"name": "toy", "dim": 8},
        input_height=64,
        input_width=96,
        mean=(0.485, 0.456, 0.406),
        std=(0.229, 0.224, 0.225),
        fps=10.0,
    )
)


class ToyStep(nn.Module):
    """image (1, 3, 64, 96) + states ``h`` (1, 8, 2, 3) and ``n`` (1, 1) -> contract outputs."""

    def __init__(self, dim: int = 8) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.patch = nn.Conv2d(3, dim, 32, 32)  # stride-32 tokens
        self.head = nn.Conv2d(dim, 1, 1)

    def forward(self, image, h, n):
        feat = self.patch(image)  # (1, C, 2, 3)
        h = 0.8 * h + feat  # leaky running sum: the recurrent state
        n = n + 1.0  # frame counter
        risk_map = self.head(h)[:, 0]  # (1, 2, 3)
        risk_logit = risk_map.mean(dim=(1, 2)) + 0.01 * n[:, 0]  # (1,)
        tta = nn.functional.softplus(risk_map.amax(dim=(1, 2)))  # (1,)
        embedding = nn.functional.normalize(h.mean(dim=(2, 3)), dim=-1)  # (1, C)
        return risk_logit, tta, risk_map, embedding, h, n


STATE_SHAPES = {"h": (1, 8, 2, 3), "n": (1, 1)}


def export_toy(
    path: Path,
    metadata: dict[str, str] | None = None,
    input_names: list[str] | None = None,
    output_names: list[str] | None = None,
) -> Path:
    """Export :class:`ToyStep` to ``path`` with ``metadata`` (default: a valid contract)."""
    import onnx

    model = ToyStep().eval()
    args = (torch.zeros(1, 3, 64, 96), torch.zeros(STATE_SHAPES["h"]), torch.zeros(STATE_SHAPES["n"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            args,
            str(path),
            input_names=input_names or [IMAGE] + [STATE_IN + name for name in STATE_SHAPES],
            output_names=output_names or [*OUTPUTS] + [STATE_OUT + name for name in STATE_SHAPES],
            opset_version=17,
            dynamo=False,
        )
    proto = onnx.load(str(path))
    for key, value in (TOY_META if metadata is None else metadata).items():
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.save(proto, str(path))
    return path
