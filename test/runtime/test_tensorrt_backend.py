"""The TensorRT backend's pure parts: engine cache key, plan naming, sidecar, FP32 layer selection, errors.

The engine build and execution need TensorRT and a GPU, which this machine lacks; they are unverified.
"""

from __future__ import annotations

import dataclasses

import pytest

from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_contract import read_model_info
from accident_anticipation_ros.runtime.tensorrt_backend import (
    EngineKey,
    GraphLayer,
    TensorRTBackend,
    cached_plan_is_current,
    file_sha256,
    import_tensorrt,
    plan_path,
    read_sidecar,
    select_fp32_layers,
    sidecar_path,
    write_sidecar,
)

KEY = EngineKey(onnx_sha256="ab" * 32, tensorrt_version="10.3.0", gpu="Orin sm_87", precision="fp16")


@pytest.mark.parametrize(
    "field, value",
    [
        ("onnx_sha256", "cd" * 32),
        ("tensorrt_version", "10.3.1"),
        ("gpu", "NVIDIA H100 sm_90"),
        ("precision", "fp32"),
    ],
)
def test_key_changes_with_each_component(field, value):
    other = dataclasses.replace(KEY, **{field: value})
    assert other.digest != KEY.digest
    assert dataclasses.replace(KEY).digest == KEY.digest  # deterministic


def test_key_flags_name_the_fp32_state_policy():
    assert KEY.flags == "fp16+obey-constraints+fp32-state"
    assert dataclasses.replace(KEY, precision="fp32").flags == "fp32"


def test_plan_path_naming(tmp_path):
    path = plan_path(tmp_path, "tsd-nano", KEY)
    assert path == tmp_path / f"tsd-nano-fp16-{KEY.digest}.plan"
    assert sidecar_path(path) == tmp_path / f"tsd-nano-fp16-{KEY.digest}.json"
    assert plan_path(tmp_path, "../evil name", KEY).parent == tmp_path  # no path escapes from the name
    assert plan_path("~/engines", "m", KEY).parts[:2] != ("~", "engines")  # ~ is expanded


def test_sidecar_round_trip_and_staleness(tmp_path, toy_onnx):
    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path, info.model_name, KEY)
    assert not cached_plan_is_current(plan, KEY)
    plan.write_bytes(b"engine")
    assert not cached_plan_is_current(plan, KEY)  # no sidecar yet
    write_sidecar(plan, info, KEY)
    got, key = read_sidecar(plan)
    assert got == info and key["digest"] == KEY.digest and key["tensorrt_version"] == "10.3.0"
    assert cached_plan_is_current(plan, KEY)
    assert not cached_plan_is_current(plan, dataclasses.replace(KEY, tensorrt_version="10.4.0"))


def test_plan_without_sidecar_is_refused(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"engine")
    with pytest.raises(BackendError, match="no sidecar model.json"):
        read_sidecar(plan)
    sidecar_path(plan).write_text("{broken")
    with pytest.raises(BackendError, match="unreadable plan sidecar"):
        read_sidecar(plan)


def test_onnx_hash_covers_external_data(tmp_path, toy_onnx):
    onnx = pytest.importorskip("onnx")
    path = tmp_path / "ext.onnx"
    onnx.save(
        onnx.load(str(toy_onnx)), str(path), save_as_external_data=True, location="ext.data", size_threshold=0
    )
    data = tmp_path / "ext.data"
    before = file_sha256(path, (data,))
    assert before != file_sha256(path)
    raw = bytearray(data.read_bytes())
    raw[0] ^= 1
    data.write_bytes(bytes(raw))
    assert file_sha256(path, (data,)) != before


def test_fp32_selection_on_a_small_graph():
    #  image -conv-> f ; state_in.s -mul-> a ; (a, f) -add-> s2 -> state_out.s
    #  f -exp-> e (trunk exp, not on the state path) ; (s2) -exp-> g -head-> risk
    layers = [
        GraphLayer(("image",), ("f",)),  # 0 conv (trunk)
        GraphLayer(("state_in.s",), ("a",)),  # 1 touches the state
        GraphLayer(("a", "f"), ("s2",)),  # 2 state update
        GraphLayer(("s2",), ("state_out.s",)),  # 3 writes the state
        GraphLayer(("f",), ("e",), "exp"),  # 4 exp off the state path
        GraphLayer(("s2",), ("g",), "exp"),  # 5 exp downstream of the state
        GraphLayer(("g", "e"), ("risk_logit",)),  # 6 head
        GraphLayer(("a",), ("k",), "matmul"),  # 7 projection between state in and out
        GraphLayer(("k", "s2"), ("t",)),  # 8 element-wise between state in and out
        GraphLayer(("t",), ("state_out.t",)),  # 9 writes a second state
    ]
    assert select_fp32_layers(layers, {"state_in.s"}, {"state_out.s", "state_out.t"}) == [1, 2, 3, 5, 8, 9]


def _onnx_layers(path) -> tuple[list[GraphLayer], list[str]]:
    onnx = pytest.importorskip("onnx")
    graph = onnx.load(str(path)).graph
    kinds = {"Exp": "exp", "MatMul": "matmul", "Gemm": "matmul", "Conv": "matmul"}
    layers = [GraphLayer(tuple(n.input), tuple(n.output), kinds.get(n.op_type, "other")) for n in graph.node]
    return layers, [n.op_type for n in graph.node]


def test_fp32_selection_on_the_student_graph(tsd_test):
    layers, ops = _onnx_layers(tsd_test.onnx)
    state_in = {f"state_in.{n}" for n in read_model_info(tsd_test.onnx).state_specs}
    state_out = {n.replace("state_in.", "state_out.") for n in state_in}
    chosen = set(select_fp32_layers(layers, state_in, state_out))
    exps = {i for i, op in enumerate(ops) if op == "Exp"}
    assert exps and exps <= chosen  # every WKV exponential runs in FP32
    writers = {i for i, layer in enumerate(layers) if state_out.intersection(layer.outputs)}
    assert writers <= chosen
    # the convolutional trunk (stem, stages 1-3, stride-32 embedding: every conv before the first
    # layer that reads the state) stays in reduced precision
    first = min(i for i, layer in enumerate(layers) if state_in.intersection(layer.inputs))
    trunk = [i for i, op in enumerate(ops[:first]) if op == "Conv"]
    assert len(trunk) > 10 and not chosen.intersection(trunk)
    # projections that do not touch the state stay in reduced precision
    products = [i for i, op in enumerate(ops) if op in ("MatMul", "Gemm", "Conv") and i >= first]
    assert any(i not in chosen for i in products)


def test_import_tensorrt_error_says_what_to_do():
    with pytest.raises(BackendError, match=r"use backend:=onnxruntime or install TensorRT 10 \(JetPack 6\)"):
        import_tensorrt()


def test_backend_rejects_unknown_precision_and_missing_tensorrt(toy_onnx):
    with pytest.raises(BackendError, match="unknown TensorRT precision 'int8'"):
        TensorRTBackend(toy_onnx, precision="int8")
    with pytest.raises(BackendError, match="tensorrt Python package is not installed"):
        TensorRTBackend(toy_onnx)


def test_model_info_survives_the_sidecar_exactly(tmp_path, tsd_test):
    info = read_model_info(tsd_test.onnx)
    plan = tmp_path / "x.plan"
    write_sidecar(plan, info, None)
    assert read_sidecar(plan) == (info, None)
    assert isinstance(read_sidecar(plan)[0], ModelInfo)
