"""The TensorRT build recipe's FP32 layer selection, on a small graph and on the student's ONNX graph.

The engine build itself needs TensorRT and a GPU (see test_tensorrt_backend.py).
"""

from __future__ import annotations

import pytest

from accident_anticipation_ros.contract import STATE_IN, STATE_OUT
from accident_anticipation_ros.runtime.onnx_contract import read_model_info
from accident_anticipation_ros.runtime.trt_build import GraphLayer, select_fp32_layers


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
    names = read_model_info(tsd_test.onnx).state_specs
    state_in, state_out = {STATE_IN + n for n in names}, {STATE_OUT + n for n in names}
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


def test_profile_shapes_cover_batches_1_to_max_for_a_batch_axis():
    from accident_anticipation_ros.contract import MAX_BATCH
    from accident_anticipation_ros.runtime.errors import BackendError
    from accident_anticipation_ros.runtime.trt_build import OPT_BATCH, profile_shapes

    shapes = profile_shapes({"image": (-1, 3, 160, 160), "state_in.layer0.att_x": (-1, 25, 256)})
    assert shapes == {
        "image": ((1, 3, 160, 160), (OPT_BATCH, 3, 160, 160), (MAX_BATCH, 3, 160, 160)),
        "state_in.layer0.att_x": ((1, 25, 256), (OPT_BATCH, 25, 256), (MAX_BATCH, 25, 256)),
    }
    assert profile_shapes({"image": (1, 3, 160, 160)}) == {}  # a batch-1 export needs no profile
    assert profile_shapes({"image": (-1, 3, 8, 8)}, max_batch=2, opt_batch=4)["image"][1] == (2, 3, 8, 8)
    with pytest.raises(BackendError, match="only the batch"):
        profile_shapes({"image": (-1, 3, -1, 8)})


def test_profile_shapes_of_the_student_export(tsd_test):
    """The shapes TensorRT's parser would report for the export (its -1 is ONNX's 'batch')."""
    onnx = pytest.importorskip("onnx")
    from accident_anticipation_ros.runtime.trt_build import profile_shapes

    graph = onnx.load(str(tsd_test.onnx)).graph
    inputs = {v.name: tuple(d.dim_value or -1 for d in v.type.tensor_type.shape.dim) for v in graph.input}
    shapes = profile_shapes(inputs)
    assert set(shapes) == set(inputs) and all(lo[0] == 1 for lo, _, _ in shapes.values())
