"""Backends behind one interface: ONNX Runtime == torch on the real export, selection and errors."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys

import numpy as np
import pytest

from accident_anticipation_ros.runtime.backend import ModelInfo, create_backend, select_kind
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from accident_anticipation_ros.runtime.torch_backend import TorchBackend

FRAMES = 6


def _images(info: ModelInfo, n: int, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [
        rng.standard_normal((1, 3, info.input_height, info.input_width)).astype(np.float32) for _ in range(n)
    ]


def _run(backend, images):
    state = backend.init_state()
    outs = []
    for image in images:
        out, state = backend.step(image, state)
        outs.append(out)
    return outs


def _close(a, b, tol=1e-4):
    assert abs(a.risk_logit - b.risk_logit) <= tol * max(1.0, abs(b.risk_logit))
    assert abs(a.tta - b.tta) <= tol * max(1.0, abs(b.tta))
    np.testing.assert_allclose(a.risk_map, b.risk_map, rtol=tol, atol=tol)
    np.testing.assert_allclose(a.embedding, b.embedding, rtol=tol, atol=tol)


def test_onnxruntime_equals_torch_with_carried_state(tsd_test):
    ort_backend = create_backend(tsd_test.onnx, kind="onnxruntime", threads=1)
    torch_backend = create_backend(tsd_test.checkpoint, kind="torch")
    assert isinstance(ort_backend, OnnxRuntimeBackend) and isinstance(torch_backend, TorchBackend)
    assert ort_backend.info == torch_backend.info  # ONNX metadata and checkpoint JSON agree
    images = _images(ort_backend.info, FRAMES)
    ort_out, torch_out = _run(ort_backend, images), _run(torch_backend, images)
    for a, b in zip(ort_out, torch_out, strict=True):
        _close(a, b)
        assert a.risk_map.shape == ort_backend.info.risk_map_shape and a.risk_map.dtype == np.float32
        assert a.embedding.shape == (ort_backend.info.embedding_dim,)
    # the state matters: the last frame alone, from a reset state, gives another answer
    fresh, _ = ort_backend.step(images[-1], ort_backend.init_state())
    assert abs(fresh.risk_logit - ort_out[-1].risk_logit) > 1e-6


def test_state_round_trip_matches_torch_state(tsd_test):
    ort_backend = create_backend(tsd_test.onnx, kind="onnxruntime")
    torch_backend = create_backend(tsd_test.checkpoint, kind="torch")
    ort_state, torch_state = ort_backend.init_state(), torch_backend.init_state()
    for image in _images(ort_backend.info, 3, seed=1):
        _, ort_state = ort_backend.step(image, ort_state)
        _, torch_state = torch_backend.step(image, torch_state)
    flat = torch_backend.state_to_numpy(torch_state)
    assert set(flat) == set(ort_state)
    for name, value in flat.items():
        np.testing.assert_allclose(ort_state[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_io_binding_equals_plain_run(step_onnx):
    plain = create_backend(step_onnx, kind="onnxruntime")
    bound = create_backend(step_onnx, kind="onnxruntime", io_binding=True)
    assert "io-binding" in bound.describe()
    images = _images(plain.info, FRAMES, seed=2)
    for a, b in zip(_run(plain, images), _run(bound, images), strict=True):
        _close(a, b, tol=1e-6)


def test_io_binding_ping_pong_buffers_do_not_alias(step_onnx):
    """state_in and state_out must be distinct memory, or a graph that writes a state before reading it breaks."""
    bound = create_backend(step_onnx, kind="onnxruntime", io_binding=True)
    first, second = bound.init_state().sets
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].data_ptr() != second[name].data_ptr(), name


def test_auto_picks_onnxruntime_without_tensorrt(tsd_test):
    backend = create_backend(tsd_test.onnx)  # no tensorrt package and no GPU on this machine
    assert backend.name == "onnxruntime"
    assert select_kind(tsd_test.onnx, "auto", {"tensorrt": False, "onnxruntime": True, "torch": True}) == (
        "onnxruntime",
        tsd_test.onnx,
    )


def test_auto_selection_order(tsd_test):
    everything = {"tensorrt": True, "onnxruntime": True, "torch": True}
    assert select_kind(tsd_test.onnx, "auto", everything)[0] == "tensorrt"
    assert select_kind(tsd_test.checkpoint, "auto", everything) == ("torch", tsd_test.checkpoint)
    only_torch = {"tensorrt": False, "onnxruntime": False, "torch": True}
    assert select_kind(tsd_test.onnx, "auto", only_torch) == ("torch", tsd_test.checkpoint)
    with pytest.raises(BackendError, match="no backend can run this model"):
        select_kind(tsd_test.onnx, "auto", {"tensorrt": False, "onnxruntime": False, "torch": False})


def test_torch_backend_from_the_onnx_path_uses_the_checkpoint_beside_it(tsd_test):
    backend = create_backend(tsd_test.onnx, kind="torch")
    assert backend.name == "torch"


def test_tensorrt_requested_but_not_installed(tsd_test):
    with pytest.raises(BackendError) as err:
        create_backend(tsd_test.onnx, kind="tensorrt")
    text = str(err.value)
    assert "backend 'tensorrt' requested but the tensorrt Python package is not installed" in text
    assert "backend:=onnxruntime" in text


def test_plan_without_tensorrt(tmp_path):
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"\0" * 16)
    with pytest.raises(BackendError, match="TensorRT plan needs TensorRT and a CUDA GPU"):
        create_backend(plan)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BackendError, match="does not exist"):
        create_backend(tmp_path / "nope.onnx")
    with pytest.raises(BackendError, match="is a directory"):
        create_backend(tmp_path)


def test_not_a_model_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BackendError, match="not a model file"):
        create_backend(text)
    fake = tmp_path / "fake.onnx"
    fake.write_text("not protobuf at all")
    with pytest.raises(BackendError, match="not an ONNX model"):
        create_backend(fake)
    weights = tmp_path / "fake.safetensors"
    weights.write_bytes(b"\x01\x02")
    expected = "cannot load checkpoint" if importlib.util.find_spec("torch") else "torch is not installed"
    with pytest.raises(BackendError, match=expected):
        create_backend(weights, kind="torch")


def test_onnx_without_contract_metadata(tmp_path, toy_onnx):
    import onnx

    proto = onnx.load(str(toy_onnx))
    del proto.metadata_props[:]
    path = tmp_path / "plain.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(BackendError, match="metadata is missing"):
        create_backend(path)


def test_unknown_kind_and_option(step_onnx):
    with pytest.raises(BackendError, match="unknown backend kind 'openvino'"):
        create_backend(step_onnx, kind="openvino")
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['precision'\] for backend 'onnxruntime'"):
        create_backend(step_onnx, kind="onnxruntime", precision="fp16")
    with pytest.raises(BackendError, match="unknown option"):
        create_backend(step_onnx, colour="red")
    # with auto, options of other backends are ignored
    assert create_backend(step_onnx, precision="fp16", threads=1).name == "onnxruntime"


def test_wrong_backend_for_the_file(tsd_test, tmp_path):
    with pytest.raises(BackendError, match="ONNX Runtime needs an ONNX step graph"):
        create_backend(tsd_test.checkpoint, kind="onnxruntime")
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(tsd_test.onnx, lonely)
    with pytest.raises(BackendError, match="lonely.safetensors does not exist"):
        create_backend(lonely, kind="torch")


def test_unavailable_execution_provider(step_onnx):
    with pytest.raises(BackendError, match="execution provider 'CUDAExecutionProvider' is not available"):
        create_backend(step_onnx, kind="onnxruntime", providers=["cuda"])


def test_bad_image_is_named(step_onnx):
    backend = create_backend(step_onnx)
    state = backend.init_state()
    h, w = backend.info.input_height, backend.info.input_width
    with pytest.raises(ValueError, match=rf"input 'image' must be float32 \[1, 3, {h}, {w}\], got float64"):
        backend.step(np.zeros((1, 3, h, w)), state)
    with pytest.raises(ValueError, match=rf"got float32 \(1, 3, {h // 2}, {w}\)"):
        backend.step(np.zeros((1, 3, h // 2, w), np.float32), state)


def test_model_info_json_round_trip(step_onnx):
    info = create_backend(step_onnx).info
    assert ModelInfo.from_json(info.to_json()) == info
    with pytest.raises(BackendError, match="sidecar.json: invalid model info"):
        ModelInfo.from_json({"model_name": "x"}, "sidecar.json")


def test_runtime_path_never_imports_torch(step_onnx):
    """Backends, preprocessing and the session run an ONNX model without importing torch (or rclpy)."""
    code = f"""
import sys
import numpy as np
from accident_anticipation_ros.runtime import bench, tensorrt_backend, torch_backend  # noqa: F401 (lazy)
from accident_anticipation_ros.runtime.backend import create_backend
from accident_anticipation_ros.runtime.session import StreamSession
session = StreamSession(create_backend({str(step_onnx)!r}))
result = session.step(np.zeros((48, 96, 3), np.uint8), 0.0)
assert result.valid
heavy = sorted(m for m in ("torch", "rclpy", "onnx", "tensorrt") if m in sys.modules)
print("heavy:", heavy)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "heavy: []" in proc.stdout
