"""DelayedBackend: the inner backend's outputs, at least the delay per step; create_backend wraps on request."""

from __future__ import annotations

import time

import numpy as np
import pytest

from accident_anticipation_ros.runtime.delayed_backend import DelayedBackend
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.factory import create_backend
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend


def test_same_outputs_as_the_inner_backend_and_at_least_the_delay(tsd_test):
    plain = create_backend(tsd_test.onnx, "onnxruntime")
    delayed = create_backend(tsd_test.onnx, "onnxruntime", step_delay_ms=30.0)
    assert isinstance(delayed, DelayedBackend) and isinstance(delayed.inner, OnnxRuntimeBackend)
    assert delayed.info == plain.info and delayed.name == "onnxruntime"
    assert "30 ms step delay" in delayed.describe()
    rng = np.random.default_rng(0)
    images = rng.standard_normal((3, 1, 3, plain.info.input_height, plain.info.input_width)).astype(
        np.float32
    )
    sa, sb = plain.init_state(), delayed.init_state()
    for image in images:
        started = time.monotonic()
        b, sb = delayed.step(image, sb)
        assert time.monotonic() - started >= 0.030  # a sleep never returns early
        a, sa = plain.step(image, sa)
        assert (a.risk_logit, a.tta) == (b.risk_logit, b.tta)
        np.testing.assert_array_equal(a.risk_map, b.risk_map)
    delayed.close()


def test_no_delay_means_no_wrapper_and_bad_delays_are_errors(tsd_test):
    assert isinstance(create_backend(tsd_test.onnx, "onnxruntime", step_delay_ms=0.0), OnnxRuntimeBackend)
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(BackendError, match="step_delay_ms must be a finite number >= 0"):
            create_backend(tsd_test.onnx, "onnxruntime", step_delay_ms=bad)
    with pytest.raises(ValueError, match="step delay"):
        DelayedBackend(create_backend(tsd_test.onnx, "onnxruntime"), -5.0)
