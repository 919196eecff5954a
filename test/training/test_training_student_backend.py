"""The student backend runs any trained student as the runtime's torch backend runs a TSD checkpoint."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

META = {"fps": 10.0, "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}


def _save(tmp_path, arch: str):
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.training.checkpoint import save_student
    from accident_anticipation_ros.training.gru_student import build_student

    torch.manual_seed(0)
    weights, _ = save_student(build_student(arch, get_config("tsd-test")), tmp_path / arch, META)
    return weights


def _images(backend, n: int = 4) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    shape = (1, 3, backend.info.input_height, backend.info.input_width)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def test_equals_the_torch_backend_on_a_tsd_checkpoint_frame_by_frame(tmp_path):
    from accident_anticipation_ros.runtime.torch_backend import TorchBackend
    from accident_anticipation_ros.training.student_backend import StudentBackend

    weights = _save(tmp_path, "tsd")
    ours, runtime = StudentBackend(weights), TorchBackend(weights)
    assert ours.info == runtime.info and ours.info.state_specs == runtime.info.state_specs
    a, b = ours.init_state(), runtime.init_state()
    for image in _images(ours):
        (out_a, a), (out_b, b) = ours.step(image, a), runtime.step(image, b)
        assert out_a.risk_logit == out_b.risk_logit and out_a.tta == out_b.tta
        assert np.array_equal(out_a.risk_map, out_b.risk_map)
        assert np.array_equal(out_a.embedding, out_b.embedding)
        sa, sb = ours.state_to_numpy(a), runtime.state_to_numpy(b)
        assert sa.keys() == sb.keys() and all(np.array_equal(sa[k], sb[k]) for k in sa)


def test_runs_a_gru_student_with_its_carried_state(tmp_path):
    from accident_anticipation_ros.training.checkpoint import load_student
    from accident_anticipation_ros.training.student_backend import StudentBackend

    weights = _save(tmp_path, "gru")
    backend = StudentBackend(weights)
    dim = backend.info.config["rwkv_dim"]
    assert backend.info.state_specs == {"gru.h": (1, 1, dim)}
    state, logits = backend.init_state(), []
    images = _images(backend)
    for image in images:
        out, state = backend.step(image, state)
        logits.append(out.risk_logit)
    assert backend.state_to_numpy(state)["gru.h"].shape == (1, 1, dim)
    model, _ = load_student(weights)
    with torch.no_grad():
        clip, _ = model.forward_clip(torch.from_numpy(np.concatenate(images))[None])
    np.testing.assert_allclose(logits, clip.risk_logit[0].numpy(), rtol=1e-4, atol=1e-5)
    fresh, _ = backend.step(images[-1], backend.init_state())
    assert fresh.risk_logit != pytest.approx(logits[-1], abs=1e-6)  # the state carried something


def test_is_gru_checkpoint_tells_the_two_formats_apart(tmp_path):
    from accident_anticipation_ros.training.checkpoint import is_gru_checkpoint

    assert is_gru_checkpoint(_save(tmp_path, "gru")) and not is_gru_checkpoint(_save(tmp_path, "tsd"))
    assert not is_gru_checkpoint(tmp_path / "absent")
