"""The ONNX Runtime backend: equal to torch on the real export with a carried state, IO binding, providers."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.runtime.backend import ModelInfo
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
    ort_backend = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    torch_backend = TorchBackend(tsd_test.checkpoint)
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
    ort_backend = OnnxRuntimeBackend(tsd_test.onnx)
    torch_backend = TorchBackend(tsd_test.checkpoint)
    ort_state, torch_state = ort_backend.init_state(), torch_backend.init_state()
    for image in _images(ort_backend.info, 3, seed=1):
        _, ort_state = ort_backend.step(image, ort_state)
        _, torch_state = torch_backend.step(image, torch_state)
    flat = torch_backend.state_to_numpy(torch_state)
    assert set(flat) == set(ort_state)
    for name, value in flat.items():
        np.testing.assert_allclose(ort_state[name], value, rtol=1e-4, atol=1e-5, err_msg=name)


def test_io_binding_equals_plain_run(tsd_test):
    plain = OnnxRuntimeBackend(tsd_test.onnx)
    bound = OnnxRuntimeBackend(tsd_test.onnx, io_binding=True)
    assert "io-binding" in bound.describe()
    images = _images(plain.info, FRAMES, seed=2)
    for a, b in zip(_run(plain, images), _run(bound, images), strict=True):
        _close(a, b, tol=1e-6)


def test_io_binding_ping_pong_buffers_do_not_alias(tsd_test):
    """state_in and state_out must be distinct memory, or a graph that writes a state before reading it breaks."""
    bound = OnnxRuntimeBackend(tsd_test.onnx, io_binding=True)
    first, second = bound.init_state().sets
    assert first.keys() == second.keys()
    for name in first:
        assert first[name].data_ptr() != second[name].data_ptr(), name


def test_unavailable_execution_provider(tsd_test):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime build has the CUDA execution provider")
    with pytest.raises(BackendError, match="execution provider 'CUDAExecutionProvider' is not available"):
        OnnxRuntimeBackend(tsd_test.onnx, providers=["cuda"])


@pytest.mark.parametrize("spinning", [False, True])
def test_idle_thread_spinning_is_off_unless_asked_for(tsd_test, spinning):
    backend = OnnxRuntimeBackend(tsd_test.onnx, **({"allow_spinning": True} if spinning else {}))
    want = "1" if spinning else "0"
    for pool in ("intra_op", "inter_op"):
        assert backend.session_options.get_session_config_entry(f"session.{pool}.allow_spinning") == want
    assert ("no spinning" in backend.describe()) is not spinning
