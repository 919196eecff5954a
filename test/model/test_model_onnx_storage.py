"""float16 storage of ONNX weights: only exact values are converted, and the graph computes the same."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from accident_anticipation_ros.model.export import export_onnx
from accident_anticipation_ros.model.onnx_storage import FP16_SUFFIX, exact_in_float16, store_exact_float16

from .conftest import make_student

NORM = {"fps": 10.0, "mean": (0.0, 0.0, 0.0), "std": (1.0, 1.0, 1.0)}


def test_exact_in_float16():
    assert exact_in_float16(np.array([0.0, 1.0, -0.5, 65504.0, 2.0**-24], np.float32))
    assert not exact_in_float16(np.array([0.1], np.float32))  # 0.1 rounds in float16
    assert not exact_in_float16(np.array([1e6], np.float32))  # overflows float16
    assert not exact_in_float16(np.array([1.0 + 2.0**-12], np.float32))  # needs 12 mantissa bits


def _two_matmuls(exact: np.ndarray, inexact: np.ndarray, tiny: np.ndarray) -> onnx.ModelProto:
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w_exact"], ["h"]),
            helper.make_node("MatMul", ["h", "w_inexact"], ["g"]),
            helper.make_node("Add", ["g", "b_tiny"], ["y"]),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 16])],
        [
            numpy_helper.from_array(a, n)
            for a, n in ((exact, "w_exact"), (inexact, "w_inexact"), (tiny, "b_tiny"))
        ],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def _run(model: onnx.ModelProto, x: np.ndarray) -> np.ndarray:
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run(None, {"x": x})[0]


def test_only_exact_initializers_become_float16_and_outputs_are_identical():
    rng = np.random.default_rng(0)
    exact = rng.standard_normal((16, 16)).astype(np.float16).astype(np.float32)
    inexact = rng.standard_normal((16, 16)).astype(np.float32)
    tiny = np.full(16, 0.5, np.float32)  # exact but below min_elements
    model = _two_matmuls(exact, inexact, tiny)
    x = rng.standard_normal((2, 16)).astype(np.float32)
    before, size_before = _run(model, x), model.ByteSize()

    report = store_exact_float16(model, min_elements=64)

    assert (report.converted, report.kept) == (1, 2)
    assert report.bytes_before - report.bytes_after == exact.nbytes // 2
    types = {i.name: i.data_type for i in model.graph.initializer}
    assert types == {"w_exact" + FP16_SUFFIX: TensorProto.FLOAT16, "w_inexact": TensorProto.FLOAT,
                     "b_tiny": TensorProto.FLOAT}  # fmt: skip
    assert model.graph.node[0].op_type == "Cast" and model.graph.node[0].output == ["w_exact"]
    onnx.checker.check_model(model, full_check=True)
    np.testing.assert_array_equal(_run(model, x), before)
    assert model.ByteSize() < size_before


def test_a_taken_name_is_an_error():
    w = np.ones((8, 8), np.float32)
    model = _two_matmuls(w, w, np.ones(16, np.float32))
    model.graph.initializer.append(numpy_helper.from_array(np.zeros(1, np.float32), "w_exact" + FP16_SUFFIX))
    with pytest.raises(ValueError, match="is taken"):
        store_exact_float16(model)


def test_float16_storage_export_of_a_half_rounded_student_is_smaller_and_identical(tmp_path):
    model = make_student()
    model = model.half().float()  # as a checkpoint shipped in float16 loads
    full = export_onnx(model, tmp_path / "full.onnx", frames=2, **NORM)
    small = export_onnx(model, tmp_path / "small.onnx", frames=4, float16_storage=True, **NORM)
    assert full.float16_initializers == 0 and small.float16_initializers > 0
    assert small.max_rel_error < 1e-4
    assert small.path.stat().st_size < 0.9 * full.path.stat().st_size  # 0.78 here; 0.53 for tsd-nano

    sessions = [
        ort.InferenceSession(str(p), providers=["CPUExecutionProvider"]) for p in (full.path, small.path)
    ]
    shape = lambda i: [d if isinstance(d, int) else 2 for d in i.shape]  # noqa: E731 - 2 rows of the batch axis
    feeds = {i.name: np.random.default_rng(1).standard_normal(shape(i)).astype(np.float32)
             for i in sessions[0].get_inputs()}  # fmt: skip
    a, b = (s.run(None, feeds) for s in sessions)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
