"""Several cameras in one model call: ``Backend.step_batch`` and ``session.step_sessions``.

Every camera's results must equal a run of its own (one camera, ``step``), with its state carried
over many frames, a reset of one camera in the middle and cameras with different frame counts.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from accident_anticipation_ros.runtime.backend import Backend
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from accident_anticipation_ros.runtime.session import (
    FrameRequest,
    SessionConfig,
    StreamSession,
    step_sessions,
)

SHIPPED_ONNX = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"
FRAMES = {0: 14, 1: 9, 2: 5}  # frames per camera: the batch shrinks from 3 rows to 2 to 1
RESET = (1, 4)  # camera 1 is reset before its frame 4
RTOL, ATOL = 1e-5, 1e-6


def _images(backend: Backend, camera: int, n: int) -> list[np.ndarray]:
    rng = np.random.default_rng(100 + camera)
    shape = (1, 3, backend.info.input_height, backend.info.input_width)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _alone(backend: Backend, images: list[np.ndarray], reset_at: int | None) -> list:
    state, outs = backend.init_state(), []
    for i, image in enumerate(images):
        if i == reset_at:
            state = backend.reset_state(state)
        out, state = backend.step(image, state)
        outs.append(out)
    return outs


def _batched(backend: Backend, images: dict[int, list[np.ndarray]]) -> dict[int, list]:
    states = {c: backend.init_state() for c in images}
    outs: dict[int, list] = {c: [] for c in images}
    for i in range(max(len(v) for v in images.values())):
        cams = [c for c in images if i < len(images[c])]
        for c in cams:
            if (c, i) == RESET:
                states[c] = backend.reset_state(states[c])
        got, new = backend.step_batch([images[c][i] for c in cams], [states[c] for c in cams])
        for c, out, state in zip(cams, got, new, strict=True):
            outs[c].append(out)
            states[c] = state
    return outs


def _assert_equal_runs(backend: Backend) -> None:
    images = {c: _images(backend, c, n) for c, n in FRAMES.items()}
    batched = _batched(backend, images)
    for c in FRAMES:
        alone = _alone(backend, images[c], RESET[1] if c == RESET[0] else None)
        assert len(batched[c]) == len(alone) == FRAMES[c]
        for a, b in zip(batched[c], alone, strict=True):
            np.testing.assert_allclose(a.risk_logit, b.risk_logit, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(a.tta, b.tta, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(a.risk_map, b.risk_map, rtol=RTOL, atol=ATOL)
            np.testing.assert_allclose(a.embedding, b.embedding, rtol=RTOL, atol=ATOL)
    # the cameras really differ (a mix-up of rows would not go unnoticed)
    assert not np.allclose(batched[0][3].risk_map, batched[1][3].risk_map)


def test_onnxruntime_batched_rows_equal_one_camera_runs(tsd_test):
    backend = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    assert backend.info.batch_axis and backend.batched
    assert "batched streams" in backend.describe()
    _assert_equal_runs(backend)


def test_torch_batched_rows_equal_one_camera_runs(tsd_test):
    pytest.importorskip("torch")
    from accident_anticipation_ros.runtime.torch_backend import TorchBackend

    backend = TorchBackend(tsd_test.checkpoint, threads=1)
    assert backend.batched
    _assert_equal_runs(backend)


@pytest.fixture(scope="module")
def static_onnx(tsd_test, tmp_path_factory):
    """The tsd_test checkpoint exported as older files are: a static batch of 1."""
    pytest.importorskip("torch")
    from accident_anticipation_ros.model.export import export_onnx

    path = tmp_path_factory.mktemp("static") / "tsd-test-b1.onnx"
    export_onnx(tsd_test.checkpoint, path, frames=1, batch_axis=False)
    return path


def test_a_batch_1_export_steps_the_cameras_one_by_one(static_onnx, tsd_test):
    backend = OnnxRuntimeBackend(static_onnx, threads=1)
    assert not backend.info.batch_axis and not backend.batched
    assert "batch-1 export: streams one by one" in backend.describe()
    _assert_equal_runs(backend)
    # and it gives what the batch-axis export gives
    other = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    image = _images(backend, 0, 1)
    a = backend.step_batch(image * 2, [backend.init_state(), backend.init_state()])[0]
    b = other.step_batch(image * 2, [other.init_state(), other.init_state()])[0]
    np.testing.assert_allclose(a[1].embedding, b[1].embedding, rtol=RTOL, atol=ATOL)


def test_the_shipped_model_steps_two_cameras_in_one_call():
    backend = OnnxRuntimeBackend(SHIPPED_ONNX, threads=1)
    image = _images(backend, 0, 1)[0]
    outs, states = backend.step_batch([image, image], [backend.init_state(), backend.init_state()])
    assert len(outs) == len(states) == 2 and outs[0].risk_logit == outs[1].risk_logit
    assert backend.batched == backend.info.batch_axis  # whatever export is shipped


def test_step_batch_needs_one_state_per_image(tsd_test):
    backend = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    image = _images(backend, 0, 1)[0]
    with pytest.raises(ValueError, match="2 images but 1 states"):
        backend.step_batch([image, image], [backend.init_state()])
    with pytest.raises(ValueError, match="must be float32"):
        backend.step_batch([image, image[:, :, :8]], [backend.init_state(), backend.init_state()])


def test_delayed_backend_sleeps_once_per_batch(tsd_test):
    from accident_anticipation_ros.runtime.delayed_backend import DelayedBackend

    inner = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    backend = DelayedBackend(inner, 0.0)
    assert backend.batched
    image = _images(inner, 0, 1)[0]
    outs, _ = backend.step_batch([image] * 3, [backend.init_state() for _ in range(3)])
    assert len(outs) == 3


def _sessions_run(backend, streams, batched: bool):
    """Per camera results: all cameras through step_sessions in rounds, or each session alone."""
    config = SessionConfig(max_gap=0.5)
    sessions = {c: StreamSession(backend, config) for c in streams}
    results = {c: [] for c in streams}
    if not batched:
        for c, frames in streams.items():
            for rgb, stamp in frames:
                if (c, stamp) == MANUAL_RESET:
                    sessions[c].reset()
                results[c].append(sessions[c].step(rgb, stamp, "rgb8"))
        return results, sessions, []
    rounds = []
    for i in range(max(len(f) for f in streams.values())):
        requests = []
        for c, frames in streams.items():
            if i < len(frames):
                rgb, stamp = frames[i]
                if (c, stamp) == MANUAL_RESET:
                    sessions[c].reset()
                requests.append(FrameRequest(sessions[c], rgb, stamp, "rgb8"))
        batch = step_sessions(requests)
        rounds.append((batch.rows, batch.batched))
        for r, result in zip(requests, batch.results, strict=True):
            results[next(c for c in sessions if sessions[c] is r.session)].append(result)
    return results, sessions, rounds


MANUAL_RESET = ("b", 100.0 + 6 / 10)


def test_step_sessions_equals_each_session_on_its_own(tsd_test, frames):
    """Three cameras of different lengths and rates: a 30 fps one (decimated to the 10 fps model),
    a gap (reset) in one, a manual reset in another; every result equals a session of its own."""
    backend = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    streams = {
        "a": [(f, 100.0 + i / 30) for i, f in enumerate(frames(30, seed=1))],  # 1 s at 30 fps
        "b": [(f, 100.0 + i / 10) for i, f in enumerate(frames(12, seed=2))],
        "c": [(f, 100.0 + i / 10 + (1.0 if i >= 4 else 0.0)) for i, f in enumerate(frames(7, seed=3))],
    }
    alone, _, _ = _sessions_run(backend, streams, batched=False)
    together, sessions, rounds = _sessions_run(backend, streams, batched=True)
    for c in streams:
        assert [r.stepped for r in together[c]] == [r.stepped for r in alone[c]]
        assert [r.reset_reason for r in together[c]] == [r.reset_reason for r in alone[c]]
        np.testing.assert_allclose(
            [r.probability for r in together[c]], [r.probability for r in alone[c]], rtol=RTOL, atol=ATOL
        )
        np.testing.assert_allclose(
            np.stack([r.risk_map for r in together[c]]),
            np.stack([r.risk_map for r in alone[c]]),
            rtol=RTOL,
            atol=ATOL,
        )
    assert [r.reset_reason for r in together["c"]][4] == "gap"
    assert [r.reset_reason for r in together["b"]][6] == "manual"
    assert sessions["a"].stats.decimated == 20 and sessions["a"].stats.frames == 10
    assert any(rows == 3 and batched for rows, batched in rounds)
    assert all(batched == (rows >= 2) for rows, batched in rounds)
    for c, s in sessions.items():  # every stepped frame of a round of 2+ rows counts as batched
        assert 0 < s.stats.batched <= s.stats.frames, c


def test_step_sessions_returns_a_bad_frame_error_and_steps_the_others(tsd_test, frames):
    backend = OnnxRuntimeBackend(tsd_test.onnx, threads=1)
    good, bad = StreamSession(backend), StreamSession(backend)
    rgb = frames(1)[0]
    batch = step_sessions([FrameRequest(good, rgb, 1.0), FrameRequest(bad, rgb[:, :, :2], 1.0)])
    assert isinstance(batch.results[1], ValueError) and batch.results[0].stepped
    assert batch.rows == 1 and not batch.batched
    assert bad.state is None and bad.stats.frames == 0  # left unchanged
    with pytest.raises(ValueError, match="once per call"):
        step_sessions([FrameRequest(good, rgb, 2.0), FrameRequest(good, rgb, 2.1)])
    other = StreamSession(OnnxRuntimeBackend(tsd_test.onnx, threads=1))
    with pytest.raises(ValueError, match="share one backend"):
        step_sessions([FrameRequest(good, rgb, 2.0), FrameRequest(other, rgb, 2.0)])
