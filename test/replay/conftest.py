"""A small evaluation bag and an untrained exported model for the replay tests."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.clip import Clip


def make_clips(n: int = 4, frames: int = 20, fps: float = 10.0) -> list[Clip]:
    rng = np.random.default_rng(3)
    clips = []
    for k in range(n):
        video = rng.integers(0, 255, (frames, 72, 96, 3), dtype=np.uint8)
        toa = 15.0 if k % 2 == 0 else -1.0
        labels = np.zeros(frames, np.uint8)
        if toa >= 0:
            labels[int(toa) :] = 1
        clips.append(Clip(f"clip{k}", video, labels, toa, fps))
    return clips


@pytest.fixture(scope="session")
def eval_bag(tmp_path_factory):
    from accident_anticipation_ros.bag.writer import write_clips_bag

    out = tmp_path_factory.mktemp("bags") / "eval"
    write_clips_bag(make_clips(), out)
    return out


@pytest.fixture(scope="session")
def eval_bag_30fps(tmp_path_factory):
    """The clips of ``eval_bag`` stamped by a 30 fps camera (the model is 10 fps)."""
    from accident_anticipation_ros.bag.writer import write_clips_bag

    out = tmp_path_factory.mktemp("bags") / "eval30"
    write_clips_bag(make_clips(fps=30.0), out)
    return out


@pytest.fixture(scope="session")
def nano_onnx(tmp_path_factory) -> str:
    torch = pytest.importorskip("torch")
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test")).eval()
    out = tmp_path_factory.mktemp("models") / "tiny.onnx"
    export_onnx(model, out, fps=10.0, mean=(0.45, 0.45, 0.45), std=(0.25, 0.25, 0.25), frames=2)
    return str(out)
