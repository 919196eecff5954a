"""Read an ONNX file's signature (I/O tensors, metadata, opset) without the ``onnx`` package.

The runtime must not need ``onnx`` (a training extra) nor build an inference session just to learn a
model's facts, so this module decodes the few protobuf fields it needs straight from the file:
the graph's inputs and outputs (name, element type, shape) and ``metadata_props``. The big fields
(nodes, initializers) are skipped by their length. Checking a signature against the model contract
is :mod:`~accident_anticipation_ros.runtime.onnx_contract`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.runtime.errors import BackendError

ELEM_TYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    6: "int32",
    7: "int64",
    9: "bool",
    10: "float16",
    11: "float64",
}
Shape = tuple  # of int (static) or str (symbolic)


@dataclass(frozen=True)
class OnnxSignature:
    """What a model file declares: its I/O tensors ``{name: (dtype, shape)}`` and metadata."""

    inputs: dict[str, tuple[str, Shape]]
    outputs: dict[str, tuple[str, Shape]]
    metadata: dict[str, str]
    opset: int
    external_data: tuple[str, ...] = ()  # files (relative to the model) holding initializer data


# --- minimal protobuf wire-format decoding ------------------------------------------------------


def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(buf: bytes, start: int, end: int):
    """Yield ``(field_number, wire_type, value)``; value is an int, or ``(start, end)`` for bytes."""
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise ValueError("field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
        elif wire == 2:
            length, pos = _varint(buf, pos)
            value = (pos, pos + length)
            pos += length
        elif wire == 1:
            value, pos = None, pos + 8
        elif wire == 5:
            value, pos = None, pos + 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        if pos > end:
            raise ValueError("field runs past its message")
        yield number, wire, value


def _text(buf: bytes, span: tuple[int, int]) -> str:
    return bytes(buf[span[0] : span[1]]).decode("utf-8")


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _value_info(buf: bytes, span: tuple[int, int]) -> tuple[str, str, Shape]:
    """ValueInfoProto -> (name, dtype, shape)."""
    name, dtype, shape = "", "unknown", ()
    for number, wire, value in _fields(buf, *span):
        if number == 1 and wire == 2:  # name
            name = _text(buf, value)
        elif number == 2 and wire == 2:  # TypeProto
            for t_number, t_wire, t_value in _fields(buf, *value):
                if t_number == 1 and t_wire == 2:  # tensor_type
                    dtype, shape = _tensor_type(buf, t_value)
    return name, dtype, shape


def _tensor_type(buf: bytes, span: tuple[int, int]) -> tuple[str, Shape]:
    dtype, dims = "unknown", []
    for number, wire, value in _fields(buf, *span):
        if number == 1 and wire == 0:  # elem_type
            dtype = ELEM_TYPES.get(value, f"onnx_type_{value}")
        elif number == 2 and wire == 2:  # TensorShapeProto
            for d_number, d_wire, d_value in _fields(buf, *value):
                if d_number == 1 and d_wire == 2:  # Dimension
                    dim: int | str = "?"
                    for x_number, x_wire, x_value in _fields(buf, *d_value):
                        if x_number == 1 and x_wire == 0:
                            dim = _signed(x_value)
                        elif x_number == 2 and x_wire == 2:
                            dim = _text(buf, x_value)
                    dims.append(dim)
    return dtype, tuple(dims)


def _initializer(buf: bytes, span: tuple[int, int]) -> tuple[str, str]:
    """TensorProto -> (name, external data location or "")."""
    name = location = ""
    for number, wire, value in _fields(buf, *span):
        if number == 8 and wire == 2:  # name
            name = _text(buf, value)
        elif number == 13 and wire == 2:  # external_data: StringStringEntryProto
            key = val = ""
            for e_number, e_wire, e_value in _fields(buf, *value):
                if e_number == 1 and e_wire == 2:
                    key = _text(buf, e_value)
                elif e_number == 2 and e_wire == 2:
                    val = _text(buf, e_value)
            if key == "location":
                location = val
    return name, location


def read_signature(path: str | Path) -> OnnxSignature:
    """Decode the I/O signature and metadata of an ONNX file.

    Raises:
        BackendError: the file cannot be read or is not an ONNX model.
    """
    path = Path(path)
    try:
        buf = path.read_bytes()
    except OSError as exc:
        raise BackendError(f"{path}: cannot read model file ({exc})") from exc
    metadata: dict[str, str] = {}
    inputs: dict[str, tuple[str, Shape]] = {}
    outputs: dict[str, tuple[str, Shape]] = {}
    initializers: set[str] = set()
    external: set[str] = set()
    ir_version, opset, has_graph = 0, 0, False
    try:
        for number, wire, value in _fields(buf, 0, len(buf)):
            if number == 1 and wire == 0:  # ir_version
                ir_version = value
            elif number == 8 and wire == 2:  # opset_import
                domain, version = "", 0
                for o_number, o_wire, o_value in _fields(buf, *value):
                    if o_number == 1 and o_wire == 2:
                        domain = _text(buf, o_value)
                    elif o_number == 2 and o_wire == 0:
                        version = o_value
                if domain in ("", "ai.onnx"):
                    opset = version
            elif number == 14 and wire == 2:  # metadata_props
                key = val = ""
                for m_number, m_wire, m_value in _fields(buf, *value):
                    if m_number == 1 and m_wire == 2:
                        key = _text(buf, m_value)
                    elif m_number == 2 and m_wire == 2:
                        val = _text(buf, m_value)
                metadata[key] = val
            elif number == 7 and wire == 2:  # graph
                has_graph = True
                for g_number, g_wire, g_value in _fields(buf, *value):
                    if g_number == 11 and g_wire == 2:
                        name, dtype, shape = _value_info(buf, g_value)
                        inputs[name] = (dtype, shape)
                    elif g_number == 12 and g_wire == 2:
                        name, dtype, shape = _value_info(buf, g_value)
                        outputs[name] = (dtype, shape)
                    elif g_number == 5 and g_wire == 2:
                        name, location = _initializer(buf, g_value)
                        initializers.add(name)
                        if location:
                            external.add(location)
    except (ValueError, UnicodeDecodeError, IndexError) as exc:
        raise BackendError(f"{path}: not an ONNX model (protobuf decoding failed: {exc})") from exc
    if not has_graph or ir_version == 0:
        raise BackendError(f"{path}: not an ONNX model (no graph or IR version found)")
    for name in initializers:  # IR < 4 lists initializers among the inputs
        inputs.pop(name, None)
    return OnnxSignature(
        inputs=inputs, outputs=outputs, metadata=metadata, opset=opset, external_data=tuple(sorted(external))
    )
