"""The shipped demo model in models/: within its size limit, linked to its checkpoint, and the same network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from accident_anticipation_ros.contract import WHITENED, file_sha256
from accident_anticipation_ros.model.checkpoint import load_checkpoint
from accident_anticipation_ros.runtime.factory import create_backend
from accident_anticipation_ros.runtime.session import LEVEL_LOW, SessionConfig, StreamSession

MODELS = Path(__file__).resolve().parents[2] / "models"
STEM = MODELS / "tsd-nano"
LIMIT_BYTES = 20_000_000  # safetensors + ONNX (+ JSON) together, decimal MB


def test_shipped_files_fit_the_size_limit():
    files = [STEM.with_suffix(s) for s in (".onnx", ".safetensors", ".json")]
    assert all(f.is_file() for f in files), files
    assert sum(f.stat().st_size for f in files) <= LIMIT_BYTES


def test_onnx_names_the_checkpoint_it_was_exported_from():
    backend = create_backend(STEM.with_suffix(".onnx"), kind="onnxruntime", threads=1)
    assert backend.info.model_hash == file_sha256(STEM.with_suffix(".safetensors"))
    _, meta = load_checkpoint(STEM)
    assert backend.info.fps == pytest.approx(meta["fps"])
    assert (backend.info.input_height, backend.info.input_width) == tuple(meta["config"].image_size)


def test_onnx_computes_what_the_checkpoint_computes():
    torch.set_num_threads(1)
    model, _ = load_checkpoint(STEM)
    model.eval().reparameterize()
    backend = create_backend(STEM.with_suffix(".onnx"), kind="onnxruntime", threads=1)
    h, w = backend.info.input_height, backend.info.input_width
    rng = np.random.default_rng(0)
    state, ort_state = model.init_state(1, "cpu"), backend.init_state()
    for _ in range(4):
        image = rng.standard_normal((1, 3, h, w), dtype=np.float32)
        with torch.no_grad():
            ref, state = model.step(torch.from_numpy(image), state)
        got, ort_state = backend.step(image, ort_state)
        np.testing.assert_allclose(
            np.ravel(got.risk_logit), ref.risk_logit.numpy().ravel(), rtol=1e-4, atol=1e-4
        )
        np.testing.assert_allclose(np.ravel(got.tta), ref.tta.numpy().ravel(), rtol=1e-4, atol=1e-4)


def test_the_shipped_checkpoint_re_exports_and_leaves_the_model_as_it_was(tmp_path):
    """A trained model has BatchNorm statistics: the export must not move them (a tracer that left
    the model in training mode once did, and the parity check caught it only on trained weights)."""
    from accident_anticipation_ros.model.export import export_onnx

    model, _ = load_checkpoint(STEM)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = export_onnx(model, tmp_path / "m.onnx", fps=10.0, mean=(0.0,) * 3, std=(1.0,) * 3, frames=4)
    assert report.batch_axis and report.max_rel_error <= 1e-4
    assert not model.training and all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())


def test_shipped_semantics_are_bound_to_the_weights_and_the_same_for_every_backend():
    onnx_info = create_backend(STEM.with_suffix(".onnx"), kind="onnxruntime", threads=1).info
    torch_info = create_backend(STEM.with_suffix(".safetensors"), kind="torch", threads=1).info
    sem = onnx_info.semantics
    assert sem is not None and sem == torch_info.semantics
    assert sem.training_domain.startswith("synthetic (accident-anticipation synth synth-1.0 ccd preset")
    assert (
        sem.causes.names == ("crossing", "cut_in", "junction", "lead_brake") and sem.causes.space == WHITENED
    )
    assert sem.causes.logit_scale == pytest.approx(1 / 0.07)  # the student's contrastive temperature
    assert sem.domain.feature == "embedding" and sem.domain.percentile == 99.0 and sem.domain.frames == 16250


def _session() -> StreamSession:
    backend = create_backend(STEM.with_suffix(".onnx"), kind="onnxruntime", threads=1)
    return StreamSession(backend, SessionConfig())


def test_the_shipped_model_flags_the_real_dad_clips_out_of_domain(real_dad):
    import cv2

    clips = sorted(p for p in real_dad.iterdir() if p.is_dir())
    assert len(clips) == 3
    for clip in clips:
        session = _session()
        files = sorted(clip.glob("*.jpg"))[::2]  # 20 fps -> the model's 10 fps
        flagged = [
            session.step(cv2.cvtColor(cv2.imread(str(f)), cv2.COLOR_BGR2RGB), 0.1 * i, "rgb8").out_of_domain
            for i, f in enumerate(files)
        ]
        assert len(flagged) == 50 and np.mean(flagged) >= 0.9, (clip.name, np.mean(flagged))


def test_the_shipped_model_keeps_synthetic_test_clips_in_domain_and_names_their_causes():
    """The first six clips of the benchmark's test split (regenerated: the generator is a pure function)."""
    from accident_anticipation_ros.training.synth.config import make_config
    from accident_anticipation_ros.training.synth.generator import generate_clip

    cfg = make_config("ccd", size=128)
    flagged, hits, named = [], 0, 0
    for index in range(6):
        clip = generate_clip(cfg, 0, "test", index)
        session = _session()
        for i, rgb in enumerate(clip.frames):
            r = session.step(rgb, i / clip.fps, "rgb8")
            flagged.append(r.out_of_domain)
            if clip.positive and clip.toa - clip.fps <= i < clip.toa and r.level > LEVEL_LOW:
                named += 1
                hits += r.cause == clip.cause
    assert np.mean(flagged) <= 0.05
    assert named >= 10 and hits / named >= 0.5  # 4 causes: chance is 0.25
