"""Fixtures of the runtime tests: the real ``tsd-test`` student (checkpoint + ONNX export) and a toy graph."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # toy_model helper

SHIPPED_ONNX = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"
MEAN = [0.485, 0.456, 0.406]
STD = [0.229, 0.224, 0.225]


@dataclass(frozen=True)
class StudentFiles:
    checkpoint: Path  # tsd-test.safetensors (+ .json)
    onnx: Path  # tsd-test.onnx, exported from it


@pytest.fixture(scope="session")
def tsd_test(tmp_path_factory) -> StudentFiles:
    """A randomly initialised ``tsd-test`` student saved as a checkpoint and exported to ONNX."""
    torch = pytest.importorskip("torch")

    from accident_anticipation_ros.model.checkpoint import save_checkpoint
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent

    folder = tmp_path_factory.mktemp("tsd_test")
    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test"))
    weights, _ = save_checkpoint(model, folder / "tsd-test", {"fps": 10.0, "mean": MEAN, "std": STD})
    onnx_path = folder / "tsd-test.onnx"
    export_onnx(weights, onnx_path, frames=2)
    return StudentFiles(weights, onnx_path)


@pytest.fixture(scope="session")
def step_onnx(request) -> Path:
    """An ONNX step graph of the runtime contract: the ``tsd_test`` export, or where torch is missing (a
    Jetson, the Python 3.10 core venv) the shipped tsd-nano, so that ONNX Runtime is tested there too."""
    if importlib.util.find_spec("torch") is None:
        return SHIPPED_ONNX
    return request.getfixturevalue("tsd_test").onnx


@pytest.fixture(scope="session")
def toy_onnx(tmp_path_factory) -> Path:
    """The contract-following toy graph of ``toy_model.py``."""
    pytest.importorskip("torch")
    from toy_model import export_toy

    return export_toy(tmp_path_factory.mktemp("toy") / "toy.onnx")


@pytest.fixture
def frames():
    """``frames(n, h, w, seed)``: n random RGB uint8 frames."""

    def make(n: int, h: int = 48, w: int = 96, seed: int = 0) -> list[np.ndarray]:
        rng = np.random.default_rng(seed)
        return [rng.integers(0, 256, (h, w, 3), dtype=np.uint8) for _ in range(n)]

    return make
