"""Read and check an ONNX step graph against the contract, without the ``onnx`` package.

The runtime must not need ``onnx`` (a training extra) nor build an inference session just to learn a
model's facts, so this module decodes the few protobuf fields it needs straight from the file:
the graph's inputs and outputs (name, element type, shape) and ``metadata_props``. The big fields
(nodes, initializers) are skipped by their length.

Contract (see notes/contract.md): input ``image`` float32 [1, 3, H, W]; pairs ``state_in.X`` /
``state_out.X`` float32 of equal shape; outputs ``risk_logit`` [1], ``tta`` [1], ``risk_map``
[1, h, w], ``embedding`` [1, D]; metadata ``aar.*``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.errors import BackendError

STATE_IN = "state_in."
STATE_OUT = "state_out."
FORMAT_VERSION = "1"
REQUIRED_METADATA = (
    "aar.format",
    "aar.model_name",
    "aar.model_hash",
    "aar.config",
    "aar.input_height",
    "aar.input_width",
    "aar.mean",
    "aar.std",
    "aar.fps",
)
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


# --- contract check -----------------------------------------------------------------------------


def _fmt(spec: tuple[str, Shape]) -> str:
    return f"{spec[0]} {list(spec[1])}"


def _static(shape: Shape) -> bool:
    return all(isinstance(d, int) and d > 0 for d in shape)


def check_contract(sig: OnnxSignature, source: str) -> ModelInfo:
    """Check a signature against the contract and build the :class:`ModelInfo`.

    Raises:
        BackendError: naming ``source`` and the missing or malformed input, output or metadata key.
    """
    missing = [key for key in REQUIRED_METADATA if key not in sig.metadata]
    if missing:
        raise BackendError(
            f"{source}: ONNX metadata is missing {missing}; was it written by `accident-anticipation export`?"
        )
    if sig.metadata["aar.format"] != FORMAT_VERSION:
        raise BackendError(
            f"{source}: unsupported aar.format {sig.metadata['aar.format']!r} (this runtime reads "
            f"{FORMAT_VERSION!r}); re-export the model with this version"
        )
    meta = sig.metadata
    try:
        height, width = int(meta["aar.input_height"]), int(meta["aar.input_width"])
        fps = float(meta["aar.fps"])
        config = json.loads(meta["aar.config"])
        mean, std = json.loads(meta["aar.mean"]), json.loads(meta["aar.std"])
        mean = tuple(float(v) for v in mean)
        std = tuple(float(v) for v in std)
    except (ValueError, TypeError) as exc:
        raise BackendError(f"{source}: malformed aar.* metadata ({exc})") from exc
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise BackendError(
            f"{source}: aar.mean / aar.std must be 3 numbers each, std > 0; got {mean} / {std}"
        )
    if not isinstance(config, dict):
        raise BackendError(f"{source}: aar.config must be a JSON object, got {type(config).__name__}")
    if height <= 0 or width <= 0 or not fps > 0:
        raise BackendError(f"{source}: aar.input_height/width and aar.fps must be > 0")

    image = sig.inputs.get("image")
    if image is None:
        raise BackendError(f"{source}: ONNX input 'image' is missing (inputs: {sorted(sig.inputs)})")
    if image != ("float32", (1, 3, height, width)):
        raise BackendError(
            f"{source}: ONNX input 'image' must be float32 [1, 3, {height}, {width}] (from aar.input_*), "
            f"got {_fmt(image)}"
        )
    expected_out = {"risk_logit": 2, "tta": 2, "risk_map": 3, "embedding": 2}  # rank incl. batch
    for name, rank in expected_out.items():
        spec = sig.outputs.get(name)
        if spec is None:
            raise BackendError(f"{source}: ONNX output {name!r} is missing (outputs: {sorted(sig.outputs)})")
        shape = spec[1]
        ok_rank = len(shape) == rank or (name in ("risk_logit", "tta") and len(shape) == 1)
        if spec[0] != "float32" or not ok_rank or not _static(shape) or shape[0] != 1:
            raise BackendError(f"{source}: ONNX output {name!r} has unexpected type/shape {_fmt(spec)}")
    for name in ("risk_logit", "tta"):
        if sig.outputs[name][1] not in ((1,), (1, 1)):
            raise BackendError(f"{source}: ONNX output {name!r} must be [1], got {_fmt(sig.outputs[name])}")

    state_specs: dict[str, tuple[int, ...]] = {}
    for name, spec in sig.inputs.items():
        if name == "image":
            continue
        if not name.startswith(STATE_IN):
            raise BackendError(
                f"{source}: unexpected ONNX input {name!r}; only 'image' and 'state_in.*' are allowed"
            )
        key = name[len(STATE_IN) :]
        out = sig.outputs.get(STATE_OUT + key)
        if out is None:
            raise BackendError(f"{source}: state input {name!r} has no output '{STATE_OUT}{key}'")
        if spec[0] != "float32" or not _static(spec[1]) or out != spec:
            raise BackendError(
                f"{source}: state {key!r} must be float32 with one static shape in and out; "
                f"got in {_fmt(spec)}, out {_fmt(out)}"
            )
        state_specs[key] = tuple(int(d) for d in spec[1])
    orphans = [n for n in sig.outputs if n.startswith(STATE_OUT) and n[len(STATE_OUT) :] not in state_specs]
    if orphans:
        raise BackendError(f"{source}: state outputs {orphans} have no matching 'state_in.*' input")

    risk_map = sig.outputs["risk_map"][1]
    return ModelInfo(
        model_name=meta["aar.model_name"],
        model_hash=meta["aar.model_hash"],
        input_height=height,
        input_width=width,
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        fps=fps,
        config=config,
        state_specs=state_specs,
        risk_map_shape=(int(risk_map[1]), int(risk_map[2])),
        embedding_dim=int(sig.outputs["embedding"][1][1]),
    )


def read_model_info(path: str | Path) -> ModelInfo:
    """Read an ONNX step graph's :class:`ModelInfo`, checking it against the contract."""
    return check_contract(read_signature(path), str(path))
