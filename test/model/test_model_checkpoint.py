"""Checkpoints round-trip and fail loudly, naming the file and the tensor."""

from __future__ import annotations

import copy
import json

import pytest
import torch
from safetensors.torch import load_file, save_file

from accident_anticipation_ros.model.checkpoint import (
    FORMAT,
    checkpoint_paths,
    file_sha256,
    load_checkpoint,
    read_meta,
    save_checkpoint,
)
from accident_anticipation_ros.model.errors import CheckpointError

EXTRA = {
    "fps": 20.0,
    "mean": [0.5, 0.4, 0.3],
    "std": [0.2, 0.25, 0.3],
    "train": {"epochs": 3, "dataset": "synth"},
}


def frames_for(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(1, 3, 3, *model.cfg.image_size, generator=g)


@pytest.mark.parametrize("reparameterized", [False, True])
def test_round_trip(student, tmp_path, reparameterized):
    model = copy.deepcopy(student).reparameterize() if reparameterized else student
    weights, config = save_checkpoint(model, tmp_path / "ckpt" / "tsd-test", EXTRA)
    assert weights.name == "tsd-test.safetensors" and config.name == "tsd-test.json"
    loaded, meta = load_checkpoint(weights)  # by the weights path, the JSON path or the stem alike
    assert not loaded.training and loaded.reparameterized == reparameterized
    assert meta["config"] == student.cfg and meta["fps"] == 20.0 and meta["std"] == EXTRA["std"]
    assert meta["train"] == EXTRA["train"] and meta["model_hash"] == file_sha256(weights)
    assert json.loads(config.read_text())["format"] == FORMAT
    x = frames_for(student)
    with torch.no_grad():
        ref, _ = model.forward_clip(x)
        out, _ = load_checkpoint(config)[0].forward_clip(x)
    assert torch.equal(out.risk_map, ref.risk_map) and torch.equal(out.embedding, ref.embedding)


def test_defaults_and_reserved_keys(student, tmp_path):
    save_checkpoint(student, tmp_path / "m")
    meta = read_meta(tmp_path / "m")
    assert meta["fps"] == 10.0 and meta["mean"] == [0.0, 0.0, 0.0] and meta["std"] == [1.0, 1.0, 1.0]
    with pytest.raises(CheckpointError, match="reserved"):
        save_checkpoint(student, tmp_path / "m", {"config": {}})
    with pytest.raises(CheckpointError, match="'std' must be positive"):
        save_checkpoint(student, tmp_path / "m", {"std": [1, 0, 1]})


def test_paths():
    assert checkpoint_paths("a/b.v1") == checkpoint_paths("a/b.v1.json")
    assert checkpoint_paths("a/b.v1.safetensors")[0].name == "b.v1.safetensors"


@pytest.fixture
def saved(student, tmp_path):
    weights, config = save_checkpoint(student, tmp_path / "tsd-test", EXTRA)
    meta = json.loads(config.read_text())
    meta.pop("weights_sha256")  # these tests rewrite the weights on purpose
    config.write_text(json.dumps(meta))
    return weights, config


def rewrite(weights, change):
    tensors = load_file(str(weights))
    change(tensors)
    save_file(tensors, str(weights), metadata={"format": FORMAT})


def test_missing_tensor_is_named(saved):
    weights, _ = saved
    rewrite(weights, lambda t: t.pop("layers.1.att.key.weight"))
    with pytest.raises(
        CheckpointError, match=r"tsd-test\.safetensors: 1 tensor\(s\) missing .*'layers\.1\.att\.key\.weight'"
    ):
        load_checkpoint(weights)


def test_unexpected_tensor_is_named(saved):
    weights, _ = saved
    rewrite(weights, lambda t: t.update({"head.extra": torch.zeros(2)}))
    with pytest.raises(
        CheckpointError, match=r"tsd-test\.safetensors: 1 unexpected tensor\(s\).*'head\.extra'"
    ):
        load_checkpoint(weights)


def test_shape_mismatch_is_named(saved):
    weights, _ = saved
    rewrite(weights, lambda t: t.update({"heads.embed.weight": torch.zeros(3, 32)}))
    with pytest.raises(
        CheckpointError,
        match=r"tsd-test\.safetensors: tensor 'heads\.embed\.weight' has shape \(3, 32\), tsd-test expects \(16, 32\)",
    ):
        load_checkpoint(weights)


def test_truncated_file_names_file_and_tensor(saved):
    weights, _ = saved
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError, match=r"tsd-test\.safetensors: tensor '.+' needs bytes .* truncated"):
        load_checkpoint(weights)
    weights.write_bytes(data[:20])
    with pytest.raises(CheckpointError, match=r"tsd-test\.safetensors: header claims"):
        load_checkpoint(weights)


def test_config_problems_are_named(saved):
    weights, config = saved
    meta = json.loads(config.read_text())
    config.write_text(json.dumps({**meta, "config": {**meta["config"], "rwkv_layers": 3}}))
    with pytest.raises(CheckpointError, match=r"tensor\(s\) missing .*'layers\.2\."):
        load_checkpoint(weights)
    config.write_text(json.dumps({**meta, "config": {**meta["config"], "warp": 9}}))
    with pytest.raises(
        CheckpointError, match=r"tsd-test\.json: unknown student config field\(s\) \['warp'\]"
    ):
        load_checkpoint(weights)
    config.write_text("{not json")
    with pytest.raises(CheckpointError, match=r"tsd-test\.json: not valid JSON"):
        load_checkpoint(weights)
    config.unlink()
    with pytest.raises(CheckpointError, match=r"tsd-test\.json: checkpoint config file not found"):
        load_checkpoint(weights)


def test_weights_from_another_checkpoint_are_refused(student, tmp_path):
    weights, _ = save_checkpoint(student, tmp_path / "a", EXTRA)
    other = copy.deepcopy(student)
    with torch.no_grad():
        other.heads.risk.bias.add_(1.0)
    other_weights, _ = save_checkpoint(other, tmp_path / "b", EXTRA)
    weights.write_bytes(other_weights.read_bytes())
    with pytest.raises(CheckpointError, match=r"a\.safetensors: sha256 .* do not belong together"):
        load_checkpoint(weights)


def test_no_pickle_is_loaded(saved):
    weights, _ = saved
    weights.write_bytes(b"\x80\x04\x95" + b"\x00" * 64)  # a pickle's opening bytes
    with pytest.raises(CheckpointError, match=r"tsd-test\.safetensors"):
        load_checkpoint(weights)
