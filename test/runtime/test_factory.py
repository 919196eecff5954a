"""Backend selection and creation: file formats, availability (injected, so it holds on any machine), options."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.factory import KINDS, create_backend, model_format, select_kind
from accident_anticipation_ros.runtime.onnxruntime_backend import OnnxRuntimeBackend
from accident_anticipation_ros.runtime.torch_backend import TorchBackend

EVERYTHING = {"tensorrt": True, "onnxruntime": True, "torch": True}
NO_TENSORRT = {"tensorrt": False, "onnxruntime": True, "torch": True}


def test_auto_without_tensorrt_creates_onnxruntime(tsd_test):
    backend = create_backend(tsd_test.onnx, available=NO_TENSORRT)
    assert isinstance(backend, OnnxRuntimeBackend)
    assert select_kind(tsd_test.onnx, "auto", NO_TENSORRT) == ("onnxruntime", tsd_test.onnx)


def test_auto_selection_order(tsd_test):
    assert select_kind(tsd_test.onnx, "auto", EVERYTHING)[0] == "tensorrt"
    assert select_kind(tsd_test.checkpoint, "auto", EVERYTHING) == ("torch", tsd_test.checkpoint)
    only_torch = {"tensorrt": False, "onnxruntime": False, "torch": True}
    assert select_kind(tsd_test.onnx, "auto", only_torch) == ("torch", tsd_test.checkpoint)
    with pytest.raises(BackendError, match="no backend can run this model"):
        select_kind(tsd_test.onnx, "auto", {"tensorrt": False, "onnxruntime": False, "torch": False})
    with pytest.raises(BackendError, match="backend 'torch' requested but torch is not installed"):
        select_kind(tsd_test.checkpoint, "auto", {"tensorrt": True, "onnxruntime": True, "torch": False})


def test_aliases_resolve(tsd_test):
    assert select_kind(tsd_test.onnx, "ort", EVERYTHING) == ("onnxruntime", tsd_test.onnx)
    assert select_kind(tsd_test.onnx, "trt", EVERYTHING) == ("tensorrt", tsd_test.onnx)
    assert select_kind(tsd_test.onnx, "pytorch", EVERYTHING) == ("torch", tsd_test.checkpoint)


def test_torch_backend_from_the_onnx_path_uses_the_checkpoint_beside_it(tsd_test):
    backend = create_backend(tsd_test.onnx, kind="torch")
    assert isinstance(backend, TorchBackend)


@pytest.mark.parametrize("kind", KINDS)
def test_explicit_kind_not_available(tsd_test, kind):
    path = tsd_test.checkpoint if kind == "torch" else tsd_test.onnx
    with pytest.raises(BackendError, match=f"backend {kind!r} requested but") as err:
        create_backend(path, kind=kind, available=dict(EVERYTHING, **{kind: False}))
    assert "backend:=" in str(err.value)  # says what to use instead


@pytest.mark.parametrize("kind", KINDS)
def test_explicit_kind_looks_up_its_package(tsd_test, kind):
    """Without an injected availability, an explicit kind is refused exactly when its package is missing."""
    path = tsd_test.checkpoint if kind == "torch" else tsd_test.onnx
    if importlib.util.find_spec(kind) is not None:
        assert select_kind(path, kind)[0] == kind
    else:
        with pytest.raises(BackendError, match=f"backend {kind!r} requested but"):
            select_kind(path, kind)


def test_plan_needs_tensorrt(tmp_path):
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"\0" * 16)
    assert model_format(plan) == "plan"
    with pytest.raises(BackendError, match="TensorRT plan needs TensorRT and a CUDA GPU"):
        create_backend(plan, available=NO_TENSORRT)
    assert select_kind(plan, "auto", EVERYTHING) == ("tensorrt", plan)
    with pytest.raises(BackendError, match="ONNX Runtime needs an ONNX step graph '.onnx', got a plan file"):
        select_kind(plan, "onnxruntime", EVERYTHING)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(BackendError, match="does not exist"):
        create_backend(tmp_path / "nope.onnx")
    with pytest.raises(BackendError, match="is a directory"):
        create_backend(tmp_path)


def test_not_a_model_file(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(BackendError, match="not a model file"):
        create_backend(text)
    fake = tmp_path / "fake.onnx"
    fake.write_text("not protobuf at all")
    with pytest.raises(BackendError, match="not an ONNX model"):
        create_backend(fake, available=NO_TENSORRT)
    weights = tmp_path / "fake.safetensors"
    weights.write_bytes(b"\x01\x02")
    expected = "cannot load checkpoint" if importlib.util.find_spec("torch") else "torch is not installed"
    with pytest.raises(BackendError, match=expected):
        create_backend(weights, kind="torch")


def test_onnx_without_contract_metadata(tmp_path, toy_onnx):
    import onnx

    proto = onnx.load(str(toy_onnx))
    del proto.metadata_props[:]
    path = tmp_path / "plain.onnx"
    onnx.save(proto, str(path))
    with pytest.raises(BackendError, match="metadata is missing"):
        create_backend(path, available=NO_TENSORRT)


def test_unknown_kind_and_option(tsd_test):
    with pytest.raises(BackendError, match="unknown backend kind 'openvino'"):
        create_backend(tsd_test.onnx, kind="openvino")
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['precision'\] for backend 'onnxruntime'"):
        create_backend(tsd_test.onnx, kind="onnxruntime", precision="fp16")
    with pytest.raises(BackendError, match=r"unknown option\(s\) \['colour'\]"):
        create_backend(tsd_test.onnx, colour="red", available=NO_TENSORRT)
    # with auto, options of other backends are ignored
    backend = create_backend(tsd_test.onnx, precision="fp16", threads=1, available=NO_TENSORRT)
    assert isinstance(backend, OnnxRuntimeBackend) and backend.threads == 1


def test_wrong_backend_for_the_file(tsd_test, tmp_path):
    with pytest.raises(BackendError, match="ONNX Runtime needs an ONNX step graph"):
        create_backend(tsd_test.checkpoint, kind="onnxruntime")
    with pytest.raises(BackendError, match="TensorRT needs the ONNX export or a plan, not a checkpoint"):
        create_backend(tsd_test.checkpoint, kind="tensorrt")
    lonely = tmp_path / "lonely.onnx"
    shutil.copy(tsd_test.onnx, lonely)
    with pytest.raises(BackendError, match="lonely.safetensors does not exist"):
        create_backend(lonely, kind="torch")
