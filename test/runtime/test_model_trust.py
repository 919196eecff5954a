"""A model file is checked against its recorded sha256 (parameter or sidecar) before it is loaded."""

from __future__ import annotations

import hashlib

import pytest

from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.model_trust import (
    ModelHashMismatch,
    sidecar_path,
    verify_model_file,
    write_sidecar,
)


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"an onnx graph")
    return path


def test_without_a_recorded_hash_the_file_is_loaded_unchecked(model):
    got = verify_model_file(model)
    assert got.sha256 == hashlib.sha256(b"an onnx graph").hexdigest() and not got.verified


def test_the_sidecar_in_sha256sum_format_is_checked(model):
    assert write_sidecar(model) == sidecar_path(model) == model.with_name("m.onnx.sha256")
    assert sidecar_path(model).read_text().endswith("  m.onnx\n")
    assert verify_model_file(model).verified
    model.write_bytes(b"a replaced graph")
    with pytest.raises(
        ModelHashMismatch, match=r"m\.onnx has sha256 [0-9a-f]{64}, but sidecar .*m\.onnx\.sha256"
    ):
        verify_model_file(model)


def test_the_parameter_wins_over_the_sidecar_and_must_be_a_digest(model):
    write_sidecar(model)
    with pytest.raises(ModelHashMismatch, match="parameter model_sha256 records " + "0" * 64):
        verify_model_file(model, "0" * 64)
    digest = hashlib.sha256(b"an onnx graph").hexdigest()
    assert verify_model_file(model, digest.upper()).source == "parameter model_sha256"
    with pytest.raises(BackendError, match="64 hex digits"):
        verify_model_file(model, "abc")


def test_a_bad_sidecar_or_a_missing_file_is_a_clear_error(model, tmp_path):
    sidecar_path(model).write_text("not a digest\n")
    with pytest.raises(BackendError, match="not a sha256 sidecar"):
        verify_model_file(model)
    with pytest.raises(BackendError, match="does not exist"):
        verify_model_file(tmp_path / "gone.onnx")
