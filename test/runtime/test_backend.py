"""The backend interface and its values: ModelInfo's JSON form, the image check every backend shares."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from accident_anticipation_ros.runtime.backend import ModelInfo, StepOutput
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_contract import read_model_info
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend


def test_bad_image_is_named(step_onnx):
    backend = OnnxRuntimeBackend(step_onnx)
    state = backend.init_state()
    h, w = backend.info.input_height, backend.info.input_width
    with pytest.raises(ValueError, match=rf"input 'image' must be float32 \[1, 3, {h}, {w}\], got float64"):
        backend.step(np.zeros((1, 3, h, w)), state)
    with pytest.raises(ValueError, match=rf"got float32 \(1, 3, {h // 2}, {w}\)"):
        backend.step(np.zeros((1, 3, h // 2, w), np.float32), state)
    with pytest.raises(ValueError, match="got list"):
        backend.step([0.0], state)


def test_model_info_json_round_trip(step_onnx):
    info = read_model_info(step_onnx)
    assert ModelInfo.from_json(info.to_json()) == info
    with pytest.raises(BackendError, match="sidecar.json: invalid model info"):
        ModelInfo.from_json({"model_name": "x"}, "sidecar.json")
    with pytest.raises(BackendError, match="expected 3 values, got 2"):
        ModelInfo.from_json(dict(info.to_json(), mean=[0.5, 0.5]))


@pytest.mark.parametrize("field", ["risk_logit", "tta", "risk_map", "embedding"])
def test_step_output_finite_check_sees_every_field(field):
    values = {
        "risk_logit": 0.5,
        "tta": 2.0,
        "risk_map": np.zeros((2, 3), np.float32),
        "embedding": np.ones(4),
    }
    assert StepOutput(**values).is_finite()
    bad = np.full_like(values[field], np.nan) if isinstance(values[field], np.ndarray) else float("nan")
    assert not StepOutput(**dict(values, **{field: bad})).is_finite()


def test_runtime_path_never_imports_torch(step_onnx):
    """Selection, backends, preprocessing and the session run an ONNX model without torch (or rclpy)."""
    code = f"""
import sys
import numpy as np
from accident_anticipation_ros.runtime import bench, tensorrt_backend, torch_backend, trt_build, trt_cache  # noqa: F401
from accident_anticipation_ros.runtime.factory import create_backend, select_kind
from accident_anticipation_ros.runtime.session import StreamSession
from pathlib import Path
select_kind(Path({str(step_onnx)!r}))  # this machine's availability lookup
session = StreamSession(create_backend({str(step_onnx)!r}, kind="onnxruntime"))
result = session.step(np.zeros((48, 96, 3), np.uint8), 0.0)
assert result.valid
heavy = sorted(m for m in ("torch", "rclpy", "onnx", "tensorrt") if m in sys.modules)
print("heavy:", heavy)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
