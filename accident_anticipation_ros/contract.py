"""The model contract: the ONNX step graph's tensor names, shapes, state layout, metadata and hashes.

Written once here (standard library only) and imported by the export (``model/export.py``), the
verifier, the signature check (``runtime/onnx_contract.py``) and every backend.

The step graph runs one frame of batch 1 with an explicit recurrent state::

    input   image             float32 [1, 3, H, W]  preprocessed RGB, (x / 255 - mean) / std
            state_in.<name>   float32 [1, N, C]     recurrent state; all zeros is the reset state
    output  risk_logit        float32 [1]           accident logit of the frame
            tta               float32 [1]           predicted time to accident, seconds (>= 0)
            risk_map          float32 [1, h, w]     per-token risk logits at stride 32
            embedding         float32 [1, D]        vision-language embedding
            state_out.<name>  float32 [1, N, C]     the next state: same names and shapes as state_in

State names are ``layer<i>.<field>`` for each RWKV layer ``i`` and each field of
:data:`STATE_FIELDS`, in that order; ``N = h * w`` tokens, ``C`` the RWKV width. A runtime treats
the state as opaque pairs ``state_in.X`` / ``state_out.X`` of one static shape.

Metadata (``metadata_props``, every value a string): :data:`METADATA_KEYS`, encoded by
:func:`encode_metadata` and decoded by :func:`decode_metadata`. ``aar.format`` is
:data:`FORMAT_VERSION`; ``aar.model_hash`` is the model hash: :func:`file_sha256` of the
checkpoint's weights file (``<name>.safetensors``), or for a model that exists only in memory
``model.checkpoint.state_dict_sha256``. ``aar.risk_map_trained`` (optional, not in
:data:`METADATA_KEYS`: ``"true"``, or absent / ``"false"`` for an untrained map; the encoding writes
it only when true) says whether a loss trained the risk-map head; an untrained map is not drawn. :func:`file_sha256` over an ONNX file and its external data
is also the ONNX part of the TensorRT engine cache key.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

FORMAT_VERSION = "1"

IMAGE = "image"
RISK_LOGIT = "risk_logit"
TTA = "tta"
RISK_MAP = "risk_map"
EMBEDDING = "embedding"
OUTPUTS = (RISK_LOGIT, TTA, RISK_MAP, EMBEDDING)  # in graph order, before the state outputs
OUTPUT_RANKS = {RISK_LOGIT: 1, TTA: 1, RISK_MAP: 3, EMBEDDING: 2}  # including the batch axis

STATE_IN = "state_in."
STATE_OUT = "state_out."
STATE_FIELDS = ("att_x", "att_aa", "att_bb", "att_pp", "ffn_x")  # per RWKV layer, in graph order

META_FORMAT = "aar.format"
META_MODEL_NAME = "aar.model_name"
META_MODEL_HASH = "aar.model_hash"
META_CONFIG = "aar.config"
META_INPUT_HEIGHT = "aar.input_height"
META_INPUT_WIDTH = "aar.input_width"
META_MEAN = "aar.mean"
META_STD = "aar.std"
META_FPS = "aar.fps"
META_RISK_MAP_TRAINED = "aar.risk_map_trained"  # optional; absent means untrained
METADATA_KEYS = (
    META_FORMAT,
    META_MODEL_NAME,
    META_MODEL_HASH,
    META_CONFIG,
    META_INPUT_HEIGHT,
    META_INPUT_WIDTH,
    META_MEAN,
    META_STD,
    META_FPS,
)


class ContractError(ValueError):
    """Metadata that breaks the contract; the message names the key."""


def image_shape(height: int, width: int) -> tuple[int, int, int, int]:
    """Shape of the ``image`` input: ``(1, 3, H, W)``."""
    return 1, 3, int(height), int(width)


def state_name(layer: int, field: str) -> str:
    """Flat state name of one field of one RWKV layer, e.g. ``"layer0.att_x"``."""
    return f"layer{layer}.{field}"


def state_names(num_layers: int) -> list[str]:
    """Flat state names of a student with ``num_layers`` RWKV layers, in graph order."""
    return [state_name(i, field) for i in range(num_layers) for field in STATE_FIELDS]


@dataclass(frozen=True)
class ModelMetadata:
    """The values of the ``aar.*`` metadata.

    Attributes:
        model_name: Config name, e.g. ``"tsd-nano"``.
        model_hash: sha256 hex of the weights the graph was exported from (see the module doc).
        config: The StudentConfig as a dict.
        input_height: Height H of the ``image`` input.
        input_width: Width W of the ``image`` input.
        mean: Per-channel RGB mean used in ``(x / 255 - mean) / std``.
        std: Per-channel RGB std.
        fps: Frame rate the model assumes.
        risk_map_trained: Whether a loss trained the risk-map head (absent in the metadata: False).
    """

    model_name: str
    model_hash: str
    config: dict
    input_height: int
    input_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fps: float
    risk_map_trained: bool = False


def encode_metadata(meta: ModelMetadata) -> dict[str, str]:
    """The ``metadata_props`` of the contract, ``{key: value}`` in :data:`METADATA_KEYS` order
    (then ``aar.risk_map_trained`` for a trained map)."""
    props = {
        META_FORMAT: FORMAT_VERSION,
        META_MODEL_NAME: meta.model_name,
        META_MODEL_HASH: meta.model_hash,
        META_CONFIG: json.dumps(meta.config),
        META_INPUT_HEIGHT: str(meta.input_height),
        META_INPUT_WIDTH: str(meta.input_width),
        META_MEAN: json.dumps([float(x) for x in meta.mean]),
        META_STD: json.dumps([float(x) for x in meta.std]),
        META_FPS: str(float(meta.fps)),
    }
    if meta.risk_map_trained:
        props[META_RISK_MAP_TRAINED] = "true"
    return props


def decode_metadata(props: Mapping[str, str]) -> ModelMetadata:
    """Parse and check the ``aar.*`` metadata (inverse of :func:`encode_metadata`).

    Raises:
        ContractError: a key is missing, ``aar.format`` is not :data:`FORMAT_VERSION`, or a value is
            malformed (the message names it).
    """
    missing = [key for key in METADATA_KEYS if key not in props]
    if missing:
        raise ContractError(
            f"ONNX metadata is missing {missing}; was it written by `accident-anticipation export`?"
        )
    if props[META_FORMAT] != FORMAT_VERSION:
        raise ContractError(
            f"unsupported {META_FORMAT} {props[META_FORMAT]!r} (this runtime reads "
            f"{FORMAT_VERSION!r}); re-export the model with this version"
        )
    try:
        height, width = int(props[META_INPUT_HEIGHT]), int(props[META_INPUT_WIDTH])
        fps = float(props[META_FPS])
        config = json.loads(props[META_CONFIG])
        mean = tuple(float(v) for v in json.loads(props[META_MEAN]))
        std = tuple(float(v) for v in json.loads(props[META_STD]))
    except (ValueError, TypeError) as exc:
        raise ContractError(f"malformed aar.* metadata ({exc})") from exc
    if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
        raise ContractError(f"{META_MEAN} / {META_STD} must be 3 numbers each, std > 0; got {mean} / {std}")
    if not isinstance(config, dict):
        raise ContractError(f"{META_CONFIG} must be a JSON object, got {type(config).__name__}")
    trained = props.get(META_RISK_MAP_TRAINED, "false")
    if trained not in ("true", "false"):
        raise ContractError(f"{META_RISK_MAP_TRAINED} must be 'true' or 'false', got {trained!r}")
    if height <= 0 or width <= 0 or not fps > 0:
        raise ContractError(f"{META_INPUT_HEIGHT}/width and {META_FPS} must be > 0")
    return ModelMetadata(
        model_name=props[META_MODEL_NAME],
        model_hash=props[META_MODEL_HASH],
        config=config,
        input_height=height,
        input_width=width,
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        fps=fps,
        risk_map_trained=trained == "true",
    )


def file_sha256(path: str | os.PathLike, extra: Sequence[str | os.PathLike] = ()) -> str:
    """sha256 hex digest of a file and, in order, of ``extra`` files (an ONNX file's external data)."""
    digest = hashlib.sha256()
    for part in (path, *extra):
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()
