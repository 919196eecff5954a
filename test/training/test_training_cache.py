"""The prepared-clip cache fits frames as the runtime does: the training-side input of a frame equals
the runtime ``Preprocessor``'s for the mode the model records (``train.resize`` -> ``aar.preprocess``)."""

from __future__ import annotations

import json

import numpy as np
import onnx
import pytest
import torch

from accident_anticipation_ros.contract import META_PREPROCESS, PREPROCESS_MODES
from accident_anticipation_ros.parameters import NodeParams
from accident_anticipation_ros.runtime.preprocessing import Preprocessor
from accident_anticipation_ros.training.cache import fit_frames, to_input


@pytest.fixture(scope="module")
def center_crop_student(tmp_path_factory):
    """A tsd-test checkpoint trained (as its JSON says) on centre crops, and its ONNX export."""
    from accident_anticipation_ros.model.config import get_config
    from accident_anticipation_ros.model.export import export_onnx
    from accident_anticipation_ros.model.student import TSDStudent
    from accident_anticipation_ros.training.checkpoint import save_student

    torch.manual_seed(0)
    model = TSDStudent(get_config("tsd-test", image_size=(64, 64), window_size=2)).eval()
    stem = tmp_path_factory.mktemp("cc") / "tsd-test"
    meta = {"fps": 10.0, "mean": [0.0] * 3, "std": [1.0] * 3, "train": {"resize": "center_crop"}}
    save_student(model, stem, meta)
    onnx_path = stem.with_suffix(".onnx")
    export_onnx(stem, onnx_path, frames=0)
    return stem, onnx_path


def test_the_crop_mode_travels_from_the_checkpoint_to_every_backend(center_crop_student):
    from accident_anticipation_ros.runtime.backend import ModelInfo
    from accident_anticipation_ros.runtime.onnx_contract import read_model_info
    from accident_anticipation_ros.runtime.torch_backend import TorchBackend

    stem, onnx_path = center_crop_student
    props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    assert props[META_PREPROCESS] == "center_crop"
    info = read_model_info(onnx_path)
    assert info.preprocess == "center_crop"
    assert (
        ModelInfo.from_json(json.loads(json.dumps(info.to_json()))).preprocess == "center_crop"
    )  # plan sidecar
    assert TorchBackend(f"{stem}.safetensors").info.preprocess == "center_crop"
    assert Preprocessor(info).mode == "center_crop"  # what the node's default (preprocess: model) builds
    assert (
        NodeParams().preprocess == "model"
        and Preprocessor(info, NodeParams().preprocess_mode).mode == "center_crop"
    )
    assert (
        Preprocessor(info, NodeParams(preprocess="letterbox").preprocess_mode).mode == "letterbox"
    )  # an override


def test_the_shipped_demo_model_stays_letterbox():
    """A model without ``aar.preprocess`` (the shipped demo, exported before it existed) is letterboxed."""
    from pathlib import Path

    from accident_anticipation_ros.runtime.onnx_contract import read_model_info

    path = Path(__file__).resolve().parents[2] / "models" / "tsd-nano.onnx"
    props = {p.key for p in onnx.load(str(path), load_external_data=False).metadata_props}
    assert META_PREPROCESS not in props
    assert (
        read_model_info(path).preprocess == "letterbox"
        and Preprocessor(read_model_info(path)).mode == "letterbox"
    )


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
@pytest.mark.parametrize("shape", [(48, 80), (80, 48), (200, 300)])
def test_training_and_runtime_preprocessing_agree(mode, shape):
    """``fit_frames`` + ``to_input`` (cache, evaluate) equal the runtime ``Preprocessor`` of a model whose
    ``preprocess`` is ``mode``, pixel for pixel: the node sees at inference what the student trained on."""
    from accident_anticipation_ros.runtime.backend import ModelInfo

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (3, *shape, 3), dtype=np.uint8)
    mean, std = (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)  # MobileCLIP's normalisation
    info = ModelInfo("m", "0" * 64, 64, 96, mean, std, 10.0, preprocess=mode)
    train = to_input(torch.from_numpy(fit_frames(frames, (64, 96), mode, mean)), mean, std).numpy()
    pre = Preprocessor(info)
    for t in range(len(frames)):
        np.testing.assert_allclose(pre(frames[t])[0], train[t], rtol=0, atol=1e-6)
