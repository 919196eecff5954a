"""Shipping a checkpoint: float16 copy, ONNX exported from exactly those weights, hash recorded."""

from __future__ import annotations

import json

import onnx
import pytest
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


def test_ship_with_semantics_computes_them_on_the_shipped_graph_and_binds_them(tmp_path, caused_synth_root):
    import numpy as np

    from accident_anticipation_ros.contract import ModelSemantics
    from accident_anticipation_ros.model.checkpoint import read_meta, write_semantics
    from accident_anticipation_ros.runtime.factory import create_backend
    from accident_anticipation_ros.training.semantics import SemanticsSpec, evaluate_items, split_embeddings

    root = caused_synth_root
    torch.manual_seed(0)
    save_checkpoint(TSDStudent(get_config("tsd-test")).eval(), tmp_path / "trained", extra={"fps": 10.0})
    write_semantics(tmp_path / "trained", ModelSemantics("stale: bound to the unshipped weights"))
    facts = ship(
        tmp_path / "trained", tmp_path / "models/m", semantics=SemanticsSpec(str(root), percentile=90.0)
    )
    report = facts["semantics"]
    assert (report["clips"], report["frames"], report["causes"]) == (8, 128, ["cut_in", "junction"])
    assert (
        report["training_domain"].startswith("synthetic (")
        and "train split, 8 clips" in report["training_domain"]
    )

    onnx_info = create_backend(tmp_path / "models/m.onnx", kind="onnxruntime", threads=1).info
    torch_info = create_backend(tmp_path / "models/m.safetensors", kind="torch", threads=1).info
    assert (
        onnx_info.semantics == torch_info.semantics
        and onnx_info.semantics.training_domain == report["training_domain"]
    )
    assert (
        read_meta(tmp_path / "models/m")["semantics"]["training_domain"]
        != "stale: bound to the unshipped weights"
    )
    items, _ = split_embeddings(tmp_path / "models/m.onnx", root, "train", threads=1)
    result = evaluate_items(onnx_info.semantics, items)
    assert result["out_of_domain_fraction"] == pytest.approx(
        0.1, abs=0.02
    )  # the 90th percentile of these frames
    assert 0.0 <= result["cause"]["accuracy"] <= 1.0 and result["cause"]["frames"] == 40  # 4 accidents x 1 s
    assert np.isfinite(result["domain_score_median"])


def test_ship_command_line_ships_semantics_from_a_dataset(tmp_path, caused_synth_root, capsys):
    from accident_anticipation_ros.model.checkpoint import read_meta
    from accident_anticipation_ros.tools.ship import main

    torch.manual_seed(0)
    save_checkpoint(TSDStudent(get_config("tsd-test")).eval(), tmp_path / "trained", extra={"fps": 10.0})
    args = ["--checkpoint", str(tmp_path / "trained"), "--out", str(tmp_path / "models/m")]
    assert main([*args, "--semantics-data", str(caused_synth_root)]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["semantics"]["causes"] == ["cut_in", "junction"]
    assert read_meta(tmp_path / "models/m")["semantics"]["causes"]
    assert main(args) == 0 and "semantics" not in json.loads(capsys.readouterr().out)
