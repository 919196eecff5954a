"""Untrained but real exported models for the node tests (weights don't matter for the data path)."""

from __future__ import annotations

import pytest


def _export(tmp_path_factory, name: str, **overrides) -> str:
    torch = pytest.importorskip("torch")
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test", **overrides)).eval()
    out = tmp_path_factory.mktemp("models") / f"{name}.onnx"
    export_onnx(model, out, fps=10.0, mean=(0.45, 0.45, 0.45), std=(0.25, 0.25, 0.25), frames=2)
    return str(out)


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory) -> str:
    """tsd-test at 64x128: a fraction of a millisecond per frame."""
    return _export(tmp_path_factory, "tiny")


@pytest.fixture(scope="session")
def slow_onnx(tmp_path_factory) -> str:
    """tsd-test at 768x1024: tens of milliseconds per frame, slower than a 60 Hz camera on 2 cores."""
    return _export(tmp_path_factory, "slow", image_size=(768, 1024))
