"""Check an ONNX step graph's signature against the model contract and build its :class:`ModelInfo`.

The contract itself (names, shapes, state layout, ``aar.*`` metadata) is
:mod:`accident_anticipation_ros.contract`; the signature comes from
:mod:`~accident_anticipation_ros.runtime.onnx_signature` (no ``onnx`` package needed).
"""

from __future__ import annotations

from pathlib import Path

from accident_anticipation_ros.contract import (
    BATCH_DIM,
    EMBEDDING,
    IMAGE,
    OUTPUT_RANKS,
    RISK_MAP,
    STATE_IN,
    STATE_OUT,
    ContractError,
    decode_metadata,
    image_shape,
)
from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_signature import OnnxSignature, Shape, read_signature
from accident_anticipation_ros.runtime.semantics import check_semantics_dims


def _fmt(spec: tuple[str, Shape]) -> str:
    return f"{spec[0]} {list(spec[1])}"


def _static(shape: Shape) -> bool:
    return all(isinstance(d, int) and d > 0 for d in shape)


def check_contract(sig: OnnxSignature, source: str) -> ModelInfo:
    """Check a signature against the contract and build the :class:`ModelInfo`.

    Every input and output has the same first dimension: 1, or :data:`BATCH_DIM` (a batch axis:
    ``ModelInfo.batch_axis``; the state specs are then those of one row, batch 1).

    Raises:
        BackendError: naming ``source`` and the missing or malformed input, output or metadata key.
    """
    try:
        meta = decode_metadata(sig.metadata)
    except ContractError as exc:
        raise BackendError(f"{source}: {exc}") from exc
    height, width = meta.input_height, meta.input_width

    image = sig.inputs.get(IMAGE)
    if image is None:
        raise BackendError(f"{source}: ONNX input {IMAGE!r} is missing (inputs: {sorted(sig.inputs)})")
    batch_axis = bool(image[1]) and image[1][0] == BATCH_DIM
    if image != ("float32", image_shape(height, width)) and not (
        batch_axis and image == ("float32", (BATCH_DIM, *image_shape(height, width)[1:]))
    ):
        raise BackendError(
            f"{source}: ONNX input {IMAGE!r} must be float32 {list(image_shape(height, width))} "
            f"or with a first dimension {BATCH_DIM!r} (from aar.input_*), got {_fmt(image)}"
        )
    first = BATCH_DIM if batch_axis else 1

    def row(spec: tuple[str, Shape]) -> tuple[str, Shape] | None:
        """``spec`` with its batch dimension replaced by 1, or None if that dimension is not ``first``."""
        shape = spec[1]
        if not shape or shape[0] != first:
            return None
        return spec[0], (1, *shape[1:])

    outputs = {}
    for name, rank in OUTPUT_RANKS.items():
        spec = sig.outputs.get(name)
        if spec is None:
            raise BackendError(f"{source}: ONNX output {name!r} is missing (outputs: {sorted(sig.outputs)})")
        one = row(spec)
        shape = one[1] if one else ()
        ok_rank = len(shape) == rank or (rank == 1 and len(shape) == 2)  # a scalar may come as [1, 1]
        if one is None or spec[0] != "float32" or not ok_rank or not _static(shape):
            raise BackendError(
                f"{source}: ONNX output {name!r} has unexpected type/shape {_fmt(spec)} (first dimension "
                f"{first!r} like {IMAGE!r})"
            )
        outputs[name] = one
    for name in (n for n, rank in OUTPUT_RANKS.items() if rank == 1):
        if outputs[name][1] not in ((1,), (1, 1)):
            raise BackendError(f"{source}: ONNX output {name!r} must be [1], got {_fmt(sig.outputs[name])}")

    state_specs: dict[str, tuple[int, ...]] = {}
    for name, spec in sig.inputs.items():
        if name == IMAGE:
            continue
        if not name.startswith(STATE_IN):
            raise BackendError(
                f"{source}: unexpected ONNX input {name!r}; only {IMAGE!r} and '{STATE_IN}*' are allowed"
            )
        key = name[len(STATE_IN) :]
        out = sig.outputs.get(STATE_OUT + key)
        if out is None:
            raise BackendError(f"{source}: state input {name!r} has no output '{STATE_OUT}{key}'")
        one = row(spec)
        if one is None or spec[0] != "float32" or not _static(one[1]) or out != spec:
            raise BackendError(
                f"{source}: state {key!r} must be float32 with one static shape in and out (first "
                f"dimension {first!r} like {IMAGE!r}); got in {_fmt(spec)}, out {_fmt(out)}"
            )
        state_specs[key] = tuple(int(d) for d in one[1])
    orphans = [n for n in sig.outputs if n.startswith(STATE_OUT) and n[len(STATE_OUT) :] not in state_specs]
    if orphans:
        raise BackendError(f"{source}: state outputs {orphans} have no matching '{STATE_IN}*' input")

    risk_map = outputs[RISK_MAP][1]
    check_semantics_dims(meta.semantics, int(outputs[EMBEDDING][1][1]), source)
    return ModelInfo(
        model_name=meta.model_name,
        model_hash=meta.model_hash,
        input_height=height,
        input_width=width,
        mean=meta.mean,
        std=meta.std,
        fps=meta.fps,
        config=meta.config,
        state_specs=state_specs,
        risk_map_shape=(int(risk_map[1]), int(risk_map[2])),
        embedding_dim=int(outputs[EMBEDDING][1][1]),
        semantics=meta.semantics,
        risk_map_trained=meta.risk_map_trained,
        batch_axis=batch_axis,
        preprocess=meta.preprocess,
    )


def read_model_info(path: str | Path) -> ModelInfo:
    """Read an ONNX step graph's :class:`ModelInfo`, checking it against the contract."""
    return check_contract(read_signature(path), str(path))
