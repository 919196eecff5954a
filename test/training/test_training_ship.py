"""Shipping a checkpoint: float16 copy, ONNX exported from exactly those weights, hash recorded."""

from __future__ import annotations

import onnx
import torch

from accident_anticipation_ros.model.checkpoint import file_sha256, load_checkpoint, save_checkpoint
from accident_anticipation_ros.model.config import get_config
from accident_anticipation_ros.model.student import TSDStudent
from accident_anticipation_ros.training.ship import ship


def test_ship_half_precision_checkpoint_and_onnx(tmp_path):
    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test")).eval()
    save_checkpoint(model, tmp_path / "trained", extra={"fps": 20.0, "train": {"run": "x"}})
    facts = ship(tmp_path / "trained", tmp_path / "models/tsd-test", half=True)
    weights = tmp_path / "models/tsd-test.safetensors"
    assert facts["model_hash"] == file_sha256(weights)
    assert facts["onnx_float16_initializers"] > 0  # the float16 weights are stored as such in the ONNX too
    props = {p.key: p.value for p in onnx.load(str(tmp_path / "models/tsd-test.onnx")).metadata_props}
    assert props["aar.model_hash"] == file_sha256(weights) and props["aar.fps"] == "20.0"
    shipped, meta = load_checkpoint(weights)
    assert meta["train"] == {"run": "x"} and meta["shipped_from"]["float16"] is True
    assert weights.stat().st_size < 0.6 * (tmp_path / "trained.safetensors").stat().st_size
    x = torch.randn(1, 3, 3, *model.cfg.image_size)
    with torch.no_grad():
        a, _ = model.forward_clip(x)
        b, _ = shipped.forward_clip(x)
    assert next(shipped.parameters()).dtype == torch.float32
    assert torch.allclose(a.risk_logit, b.risk_logit, atol=1e-2)  # float16 rounding only
