"""The contract check of an ONNX step graph's signature: ModelInfo, and errors that name what is wrong."""

from __future__ import annotations

import json

import pytest

from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_contract import check_contract, read_model_info
from accident_anticipation_ros.runtime.onnx_signature import read_signature

toy_model = pytest.importorskip("toy_model", reason="toy_model.py builds its graphs with torch")
TOY_META, export_toy = toy_model.TOY_META, toy_model.export_toy


def test_model_info_of_the_real_export(tsd_test):
    from accident_anticipation_ros.model.config import get_config

    cfg = get_config("tsd-test")
    info = read_model_info(tsd_test.onnx)
    meta = json.loads((tsd_test.checkpoint.with_suffix(".json")).read_text())
    assert info.model_name == "tsd-test"
    assert info.model_hash == meta["weights_sha256"]
    assert (info.input_height, info.input_width) == tuple(cfg.image_size)
    assert info.risk_map_shape == (cfg.image_size[0] // 32, cfg.image_size[1] // 32)
    assert info.embedding_dim == cfg.embed_dim
    assert info.fps == 10.0 and info.mean == tuple(meta["mean"]) and info.std == tuple(meta["std"])
    assert info.config == meta["config"]
    assert len(info.state_specs) == cfg.rwkv_layers * 5  # (att_x, att_aa, att_bb, att_pp, ffn_x) per layer
    tokens = info.risk_map_shape[0] * info.risk_map_shape[1]
    assert all(shape == (1, tokens, cfg.rwkv_dim) for shape in info.state_specs.values())


@pytest.mark.parametrize("key", ["aar.model_name", "aar.fps", "aar.mean", "aar.format"])
def test_missing_metadata_is_named(tmp_path, key):
    meta = {k: v for k, v in TOY_META.items() if k != key}
    path = export_toy(tmp_path / "m.onnx", metadata=meta)
    with pytest.raises(BackendError, match=key.replace(".", r"\.")):
        read_model_info(path)


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("aar.format", "2", "unsupported aar.format"),
        ("aar.mean", "[0.5, 0.5]", "aar.mean"),
        ("aar.std", "[0.5, 0.0, 0.5]", "std > 0"),
        ("aar.fps", "ten", "malformed"),
        ("aar.input_height", "128", "'image' must be float32 \\[1, 3, 128, 96\\]"),
        ("aar.config", "[1, 2]", "JSON object"),
    ],
)
def test_bad_metadata_values(tmp_path, key, value, match):
    path = export_toy(tmp_path / "m.onnx", metadata=dict(TOY_META, **{key: value}))
    with pytest.raises(BackendError, match=match):
        read_model_info(path)


@pytest.mark.parametrize(
    "inputs, outputs, match",
    [
        (["frame", "state_in.h", "state_in.n"], None, "input 'image' is missing"),
        (["image", "hidden", "state_in.n"], None, "unexpected ONNX input 'hidden'"),
        (
            None,
            ["risk", "tta", "risk_map", "embedding", "state_out.h", "state_out.n"],
            "'risk_logit' is missing",
        ),
        (None, ["risk_logit", "tta", "risk_map", "embedding", "state_out.x", "state_out.n"], "no output"),
    ],
)
def test_contract_io_violations(tmp_path, inputs, outputs, match):
    path = export_toy(tmp_path / "m.onnx", input_names=inputs, output_names=outputs)
    with pytest.raises(BackendError, match=match):
        read_model_info(path)


def test_state_shape_mismatch(toy_onnx):
    sig = read_signature(toy_onnx)
    bad_outputs = dict(sig.outputs, **{"state_out.h": ("float32", (1, 8, 2, 4))})
    with pytest.raises(BackendError, match="state 'h' must be float32 with one static shape"):
        check_contract(type(sig)(sig.inputs, bad_outputs, sig.metadata, sig.opset), "m.onnx")


def _toy_semantics(threshold: float = 3.0):
    import numpy as np

    from accident_anticipation_ros.contract import CauseBank, DomainStats, FloatArray, ModelSemantics

    def arr(x):
        a = np.ascontiguousarray(x, dtype="<f4")
        return FloatArray(a.shape, a.tobytes())

    return ModelSemantics(
        "toy frames",
        CauseBank(("near", "far"), arr(np.eye(2, 8)), 10.0, "hand-made"),
        DomainStats("embedding", arr(np.zeros(8)), arr(np.eye(8)), threshold, 99.0, 0.0, 10),
    )


def _toy_props(semantics):
    from dataclasses import replace

    from accident_anticipation_ros.contract import decode_metadata, encode_metadata

    return encode_metadata(replace(decode_metadata(TOY_META), semantics=semantics))


def test_semantics_in_the_metadata_reach_the_model_info_and_a_plan_sidecar(tmp_path):
    from accident_anticipation_ros.runtime.backend import ModelInfo

    semantics = _toy_semantics()
    info = read_model_info(export_toy(tmp_path / "m.onnx", metadata=_toy_props(semantics)))
    assert info.semantics == semantics
    assert ModelInfo.from_json(json.loads(json.dumps(info.to_json()))) == info  # a TensorRT plan's sidecar
    assert ModelInfo.from_json(json.loads(json.dumps(info.to_json()))).semantics == semantics


def test_a_tampered_semantics_entry_is_refused_with_a_clear_error(tmp_path):
    props = _toy_props(_toy_semantics())
    props["aar.semantics"] = props["aar.semantics"].replace('"threshold":3.0', '"threshold":300.0')
    with pytest.raises(
        BackendError, match=r"m\.onnx: aar\.semantics does not match aar\.semantics_sha256.*refusing"
    ):
        read_model_info(export_toy(tmp_path / "m.onnx", metadata=props))
    from accident_anticipation_ros.runtime.backend import ModelInfo

    good = read_model_info(export_toy(tmp_path / "g.onnx", metadata=_toy_props(_toy_semantics()))).to_json()
    good["semantics"]["text"] = good["semantics"]["text"].replace('"near"', '"nearer"')
    with pytest.raises(BackendError, match=r"plan\.json: aar\.semantics does not match"):
        ModelInfo.from_json(good, "plan.json")


def test_semantics_of_the_wrong_width_are_refused(tmp_path):
    from dataclasses import replace

    semantics = _toy_semantics()
    wide = replace(semantics, domain=None, causes=replace(semantics.causes, vectors=_wide_vectors()))
    with pytest.raises(BackendError, match="cause vectors are 9-d, its 'embedding' output 8-d"):
        read_model_info(export_toy(tmp_path / "m.onnx", metadata=_toy_props(wide)))


def _wide_vectors():
    import numpy as np

    from accident_anticipation_ros.contract import FloatArray

    a = np.ascontiguousarray(np.eye(2, 9), dtype="<f4")
    return FloatArray(a.shape, a.tobytes())


def test_risk_map_trained_flows_from_export_to_model_info(tsd_test, tmp_path):
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info

    assert read_model_info(tsd_test.onnx).risk_map_trained is False  # no flag in the checkpoint: untrained
    export_onnx(tsd_test.checkpoint, tmp_path / "trained.onnx", frames=0, risk_map_trained=True)
    assert read_model_info(tmp_path / "trained.onnx").risk_map_trained is True


def _with_first_dim(specs: dict, first) -> dict:
    return {name: (dtype, (first, *shape[1:])) for name, (dtype, shape) in specs.items()}


def test_a_batch_axis_on_every_tensor_is_read_as_one_row_specs(toy_onnx):
    sig = read_signature(toy_onnx)
    batched = type(sig)(
        _with_first_dim(sig.inputs, "batch"), _with_first_dim(sig.outputs, "batch"), sig.metadata, sig.opset
    )
    info = check_contract(batched, "m.onnx")
    assert info.batch_axis and not check_contract(sig, "m.onnx").batch_axis
    assert info.state_specs == check_contract(sig, "m.onnx").state_specs  # one row: batch 1
    assert info.risk_map_shape == (2, 3)


def test_a_batch_axis_on_some_tensors_only_is_refused(toy_onnx):
    sig = read_signature(toy_onnx)
    inputs = _with_first_dim(sig.inputs, "batch")
    with pytest.raises(
        BackendError, match="'risk_logit' has unexpected type/shape .*first dimension 'batch'"
    ):
        check_contract(type(sig)(inputs, sig.outputs, sig.metadata, sig.opset), "m.onnx")
    outputs = dict(_with_first_dim(sig.outputs, "batch"), **{"state_out.h": sig.outputs["state_out.h"]})
    with pytest.raises(BackendError, match="state 'h' must be float32 with one static shape"):
        check_contract(type(sig)(inputs, outputs, sig.metadata, sig.opset), "m.onnx")
    other = _with_first_dim(sig.inputs, "n")  # another symbol is not the batch axis
    with pytest.raises(BackendError, match="input 'image' must be float32"):
        check_contract(type(sig)(other, sig.outputs, sig.metadata, sig.opset), "m.onnx")
