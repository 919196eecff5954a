"""The ONNX step graph follows the contract and matches PyTorch in ONNX Runtime."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from accident_anticipation_ros.model.checkpoint import file_sha256, save_checkpoint
from accident_anticipation_ros.model.errors import ExportError
from accident_anticipation_ros.model.export import export_onnx, rel_error, verify_onnx
from accident_anticipation_ros.model.state import state_names

from .conftest import make_student

NORM = {"fps": 10.0, "mean": (0.1, 0.2, 0.3), "std": (0.5, 0.6, 0.7)}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = make_student()
    path = tmp_path_factory.mktemp("onnx") / "tsd-test.onnx"
    report = export_onnx(model, path, frames=8, **NORM)
    return model, path, report


def test_export_report_and_model_untouched(exported):
    model, path, report = exported
    assert path.is_file() and report.path == path
    assert report.max_rel_error < 1e-4 and report.frames_checked == 8
    assert set(report.per_output) >= {"risk_logit", "tta", "risk_map", "embedding", "state_out.layer1.att_pp"}
    assert not model.reparameterized  # a copy was reparameterized
    assert report.batch_axis  # the parity check ran a batch of 3 rows too


def _dims(value) -> list:
    return [d.dim_param or d.dim_value for d in value.type.tensor_type.shape.dim]


def test_graph_follows_contract(exported):
    model, path, report = exported
    cfg = model.cfg
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.opset_import[0].version >= 17
    inputs = {v.name: _dims(v) for v in proto.graph.input}
    outputs = {v.name: _dims(v) for v in proto.graph.output}
    h, w = cfg.grid
    state = ["batch", h * w, cfg.rwkv_dim]  # every tensor's first dimension is the batch axis
    assert inputs == {
        "image": ["batch", 3, *cfg.image_size],
        **{f"state_in.{n}": state for n in state_names(cfg)},
    }
    assert outputs == {
        "risk_logit": ["batch"],
        "tta": ["batch"],
        "risk_map": ["batch", h, w],
        "embedding": ["batch", cfg.embed_dim],
        **{f"state_out.{n}": state for n in state_names(cfg)},
    }
    meta = {p.key: p.value for p in proto.metadata_props}
    assert meta["aar.format"] == "1" and meta["aar.model_name"] == "tsd-test"
    assert meta["aar.model_hash"] == report.model_hash and len(meta["aar.model_hash"]) == 64
    assert json.loads(meta["aar.config"]) == cfg.to_dict()
    assert (meta["aar.input_height"], meta["aar.input_width"]) == ("128", "192")
    assert json.loads(meta["aar.mean"]) == [0.1, 0.2, 0.3] and json.loads(meta["aar.std"]) == [0.5, 0.6, 0.7]
    assert meta["aar.fps"] == "10.0"
    ops = {n.op_type for n in proto.graph.node}
    assert not ops & {"Loop", "If", "Scan", "NonZero", "Identity", "Range"}  # no loops (Shape: the batch)


def test_static_batch_export_is_the_batch_1_graph_of_older_files(tmp_path):
    model = make_student()
    path = tmp_path / "static.onnx"
    report = export_onnx(model, path, frames=2, batch_axis=False, **NORM)
    assert not report.batch_axis and report.max_rel_error < 1e-4
    proto = onnx.load(str(path))
    assert _dims(proto.graph.input[0]) == [1, 3, *model.cfg.image_size]
    assert all(_dims(v)[0] == 1 for v in list(proto.graph.input) + list(proto.graph.output))
    ops = {n.op_type for n in proto.graph.node}
    assert not ops & {"Shape", "Loop", "If", "Scan", "NonZero", "Identity", "Range"}  # static, no loops


def test_batched_rows_match_batch_1_pytorch_steps(exported):
    """verify_onnx's batch check: 3 rows of random frames and states, each against its own step."""
    model, path, _ = exported
    deployed = make_student().reparameterize()
    errors = verify_onnx(path, deployed, frames=1, batch=3)
    assert max(errors.values()) < 1e-4
    other = make_student(seed=99).reparameterize()
    assert max(verify_onnx(path, other, frames=1, batch=3).values()) > 1e-2


def test_onnx_from_zero_state_matches_training_form_model(exported):
    model, path, _ = exported
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feeds = {i.name: np.zeros([1, *i.shape[1:]], np.float32) for i in session.get_inputs()}  # zeros = reset
    names = [o.name for o in session.get_outputs()]
    state = model.init_state(1)
    g = torch.Generator().manual_seed(7)
    got_all, ref_all = [], []
    for _ in range(5):
        image = torch.randn(1, 3, *model.cfg.image_size, generator=g)
        with torch.no_grad():
            ref, state = model.step(image, state)  # not reparameterized
        got = dict(zip(names, session.run(names, {**feeds, "image": image.numpy()}), strict=True))
        reference = {key: getattr(ref, key).numpy() for key in ("risk_logit", "tta", "risk_map", "embedding")}
        reference.update({f"state_out.{k}": v.numpy() for k, v in state.flatten().items()})
        got_all.append({k: got[k] for k in reference})
        ref_all.append(reference)
        feeds = {
            f"state_in.{k.removeprefix('state_out.')}": v
            for k, v in got.items()
            if k.startswith("state_out.")
        }
    for key in ref_all[0]:  # relative to each output's scale over all frames
        a, b = np.stack([f[key] for f in got_all]), np.stack([f[key] for f in ref_all])
        assert rel_error(a, b) < 1e-4, key


def test_parity_check_detects_a_different_model(exported):
    _, path, _ = exported
    other = make_student(seed=99)
    errors = verify_onnx(path, other.reparameterize(), frames=2)
    assert max(errors.values()) > 1e-2


def test_parity_failure_removes_the_file(tmp_path):
    model = make_student()
    out = tmp_path / "bad.onnx"
    with pytest.raises(ExportError, match=r"bad\.onnx: ONNX Runtime differs from PyTorch .* file removed"):
        export_onnx(model, out, frames=2, tolerance=-1.0, **NORM)
    assert not out.exists()


def test_model_in_memory_needs_input_metadata(tmp_path):
    with pytest.raises(ExportError, match=r"\['fps', 'mean', 'std'\]"):
        export_onnx(make_student(), tmp_path / "x.onnx")


def test_cli_exports_a_checkpoint(tmp_path, capsys):
    from accident_anticipation_ros.tools.export import main

    model = make_student(seed=2)
    weights, _ = save_checkpoint(
        model, tmp_path / "tsd-test", {"fps": 20.0, "mean": [0, 0, 0], "std": [1, 1, 1]}
    )
    out = tmp_path / "out" / "model.onnx"
    assert main(["--checkpoint", str(weights), "--out", str(out), "--frames", "3"]) == 0
    assert "max rel error" in capsys.readouterr().out
    meta = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert meta["aar.model_hash"] == file_sha256(weights) and meta["aar.fps"] == "20.0"
    assert main(["--checkpoint", str(tmp_path / "missing"), "--out", str(out)]) == 1
    assert "missing.json: checkpoint config file not found" in capsys.readouterr().err
