"""Reading an ONNX file's signature and metadata without the onnx package."""

from __future__ import annotations

import pytest

from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_signature import read_signature

onnx = pytest.importorskip("onnx")  # the reference reader (a training extra)


def _onnx_io(values) -> dict:
    out = {}
    for v in values:
        dims = tuple(
            d.dim_value if d.HasField("dim_value") else d.dim_param for d in v.type.tensor_type.shape.dim
        )
        out[v.name] = (onnx.helper.tensor_dtype_to_np_dtype(v.type.tensor_type.elem_type).name, dims)
    return out


def test_signature_matches_the_onnx_package(tsd_test):
    sig = read_signature(tsd_test.onnx)
    proto = onnx.load(str(tsd_test.onnx))
    assert sig.inputs == _onnx_io(proto.graph.input)
    assert sig.outputs == _onnx_io(proto.graph.output)
    assert sig.metadata == {p.key: p.value for p in proto.metadata_props}
    assert sig.opset == 17
    assert sig.external_data == ()


def test_external_data_files_are_listed(tmp_path, toy_onnx):
    proto = onnx.load(str(toy_onnx))
    path = tmp_path / "ext.onnx"
    onnx.save(proto, str(path), save_as_external_data=True, location="ext.onnx.data", size_threshold=0)
    sig = read_signature(path)
    assert sig.external_data == ("ext.onnx.data",)
    assert sig.inputs == read_signature(toy_onnx).inputs


@pytest.mark.parametrize(
    "content, match",
    [
        (b"", "not an ONNX model"),
        (b"hello, this is text and not a protobuf", "not an ONNX model"),
        (bytes(range(256)) * 4, "not an ONNX model"),
    ],
)
def test_not_a_model(tmp_path, content, match):
    path = tmp_path / "bad.onnx"
    path.write_bytes(content)
    with pytest.raises(BackendError, match=match) as err:
        read_signature(path)
    assert str(path) in str(err.value)


def test_truncated_model(tmp_path, toy_onnx):
    path = tmp_path / "cut.onnx"
    path.write_bytes(toy_onnx.read_bytes()[:-100])
    with pytest.raises(BackendError, match="not an ONNX model"):
        read_signature(path)
