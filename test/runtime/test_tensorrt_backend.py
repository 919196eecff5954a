"""The TensorRT backend: its errors where TensorRT is missing, and on a machine with TensorRT and a GPU
(a Jetson) the engine run against ONNX Runtime. Each test holds on both kinds of machine.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.factory import available_kinds
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from accident_anticipation_ros.runtime.tensorrt_backend import TensorRTBackend, import_tensorrt

HAS_TENSORRT = importlib.util.find_spec("tensorrt") is not None
needs_no_tensorrt = pytest.mark.skipif(
    HAS_TENSORRT, reason="tensorrt is installed: the missing-package error cannot occur"
)
needs_tensorrt_gpu = pytest.mark.skipif(
    not available_kinds()["tensorrt"], reason="needs the tensorrt package and a CUDA GPU (a Jetson)"
)


@needs_no_tensorrt
def test_import_tensorrt_error_says_what_to_do():
    with pytest.raises(BackendError, match=r"use backend:=onnxruntime or install TensorRT 10 \(JetPack 6\)"):
        import_tensorrt()


@needs_no_tensorrt
def test_backend_without_tensorrt_says_so(toy_onnx):
    with pytest.raises(BackendError, match="tensorrt Python package is not installed"):
        TensorRTBackend(toy_onnx)


def test_backend_rejects_unknown_precision(toy_onnx):
    with pytest.raises(BackendError, match="unknown TensorRT precision 'int8'"):
        TensorRTBackend(toy_onnx, precision="int8")


@needs_tensorrt_gpu
def test_fp32_engine_equals_onnxruntime_and_is_cached(tsd_test, tmp_path):
    reference = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    with TensorRTBackend(tsd_test.onnx, precision="fp32", cache_dir=tmp_path) as backend:
        assert backend.info == reference.info
        plan = backend.plan
        rng = np.random.default_rng(0)
        h, w = backend.info.input_height, backend.info.input_width
        images = [rng.standard_normal((1, 3, h, w), dtype=np.float32) for _ in range(4)]
        state, ref_state = backend.init_state(), reference.init_state()
        outs = []
        for image in images:  # the state is carried on the device between frames
            out, state = backend.step(image, state)
            ref, ref_state = reference.step(image, ref_state)
            outs.append(out)
            assert out.is_finite()
            np.testing.assert_allclose(out.risk_logit, ref.risk_logit, rtol=1e-2, atol=1e-2)
            np.testing.assert_allclose(out.tta, ref.tta, rtol=1e-2, atol=1e-2)
            np.testing.assert_allclose(out.risk_map, ref.risk_map, rtol=1e-2, atol=1e-2)
            np.testing.assert_allclose(out.embedding, ref.embedding, rtol=1e-2, atol=1e-2)
        state = backend.reset_state(state)  # zeroed in place: the first frame gives its first answer again
        again, _ = backend.step(images[0], state)
        np.testing.assert_allclose(again.risk_logit, outs[0].risk_logit, rtol=1e-5, atol=1e-6)
    assert plan.is_file() and plan.parent == tmp_path
    built = plan.stat().st_mtime_ns
    with TensorRTBackend(tsd_test.onnx, precision="fp32", cache_dir=tmp_path) as cached:
        assert cached.plan == plan
    assert plan.stat().st_mtime_ns == built  # the current plan was loaded, not rebuilt
