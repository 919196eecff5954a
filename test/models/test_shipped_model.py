"""The shipped demo model in models/: within its size limit, linked to its checkpoint, and the same network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.model.checkpoint import load_checkpoint
from accident_anticipation_ros.runtime.factory import create_backend

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
