"""The model contract: the ONNX step graph's tensor names, shapes, state layout, metadata and hashes.

Written once here (standard library only) and imported by the export (``model/export.py``), the
verifier, the signature check (``runtime/onnx_contract.py``) and every backend.

The step graph runs one frame per batch row with an explicit recurrent state::

    input   image             float32 [B, 3, H, W]  preprocessed RGB, (x / 255 - mean) / std
            state_in.<name>   float32 [B, N, C]     recurrent state; all zeros is the reset state
    output  risk_logit        float32 [B]           accident logit of the frame
            tta               float32 [B]           predicted time to accident, seconds (>= 0)
            risk_map          float32 [B, h, w]     per-token risk logits at stride 32
            embedding         float32 [B, D]        vision-language embedding
            state_out.<name>  float32 [B, N, C]     the next state: same names and shapes as state_in

``B`` is either the static 1 (older exports) or, on every input and output alike, the symbolic
dimension :data:`BATCH_DIM` (a batch axis: one row per camera, rows independent of each other).

State names are ``layer<i>.<field>`` for each RWKV layer ``i`` and each field of
:data:`STATE_FIELDS`, in that order; ``N = h * w`` tokens, ``C`` the RWKV width. A runtime treats
the state as opaque pairs ``state_in.X`` / ``state_out.X`` of one static shape.

Metadata (``metadata_props``, every value a string): :data:`METADATA_KEYS`, encoded by
:func:`encode_metadata` and decoded by :func:`decode_metadata`. ``aar.format`` is
:data:`FORMAT_VERSION`; ``aar.model_hash`` is the model hash: :func:`file_sha256` of the
checkpoint's weights file (``<name>.safetensors``), or for a model that exists only in memory
``model.checkpoint.state_dict_sha256``. ``aar.risk_map_trained`` (optional, not in
:data:`METADATA_KEYS`: ``"true"``, or absent / ``"false"`` for an untrained map; the encoding writes
it only when true) says whether a loss trained the risk-map head; an untrained map is not drawn.
``aar.preprocess`` (optional, not in :data:`METADATA_KEYS`: one of :data:`PREPROCESS_MODES`; absent
means :data:`DEFAULT_PREPROCESS`, which the encoding never writes) is how the training fitted frames
to the input (``train.resize``); a runtime fits camera frames the same way. :func:`file_sha256` over an ONNX file and its external data
is also the ONNX part of the TensorRT engine cache key.

Optional semantics (:data:`OPTIONAL_METADATA_KEYS`, both or neither): ``aar.semantics`` is the JSON of
a :class:`ModelSemantics` (the model's training domain, its accident causes as unit vectors in the
``embedding`` space, and statistics of its training frames' features for an out-of-domain score),
``aar.semantics_sha256`` is :func:`semantics_sha256` of that text bound to ``aar.model_hash``:
:func:`decode_metadata` refuses semantics that were edited or copied from another model. A
checkpoint's JSON carries the same pair under :data:`CHECKPOINT_SEMANTICS` /
:data:`CHECKPOINT_SEMANTICS_SHA256`; arrays are little-endian float32, base64 (:class:`FloatArray`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
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

BATCH_DIM = "batch"  # the symbolic first dimension of an export with a batch axis
MAX_BATCH = 8  # the largest batch a runtime plans for (TensorRT optimisation profiles)

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
META_PREPROCESS = "aar.preprocess"  # optional; absent means DEFAULT_PREPROCESS
PREPROCESS_MODES = ("letterbox", "center_crop", "stretch")  # how a frame is fitted to the input
DEFAULT_PREPROCESS = "letterbox"
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
META_SEMANTICS = "aar.semantics"
META_SEMANTICS_SHA256 = "aar.semantics_sha256"
OPTIONAL_METADATA_KEYS = (META_SEMANTICS, META_SEMANTICS_SHA256)  # both or neither
CHECKPOINT_SEMANTICS = "semantics"  # the same pair in a checkpoint's JSON (an object and its sha256)
CHECKPOINT_SEMANTICS_SHA256 = "semantics_sha256"
WHITENED = "whitened"  # a cause space: the domain statistics' whitened coordinates W (x - mean)
CAUSE_SPACES = (EMBEDDING, WHITENED)


class ContractError(ValueError):
    """Metadata that breaks the contract; the message names the key."""


def image_shape(height: int, width: int, batch: int = 1) -> tuple[int, int, int, int]:
    """Shape of the ``image`` input: ``(batch, 3, H, W)``."""
    return int(batch), 3, int(height), int(width)


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
        semantics: Training domain, causes and domain statistics; None for a model without them.
        risk_map_trained: Whether a loss trained the risk-map head (absent in the metadata: False).
        preprocess: How the training fitted frames to the input, one of :data:`PREPROCESS_MODES`.
    """

    model_name: str
    model_hash: str
    config: dict
    input_height: int
    input_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fps: float
    semantics: ModelSemantics | None = None
    risk_map_trained: bool = False
    preprocess: str = DEFAULT_PREPROCESS


def encode_metadata(meta: ModelMetadata) -> dict[str, str]:
    """The ``metadata_props`` of the contract, ``{key: value}`` in :data:`METADATA_KEYS` order, then
    the :data:`OPTIONAL_METADATA_KEYS` the model has (semantics, a trained risk map)."""
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
    if meta.semantics is not None:
        text = encode_semantics(meta.semantics)
        props[META_SEMANTICS] = text
        props[META_SEMANTICS_SHA256] = semantics_sha256(meta.model_hash, text)
    if meta.risk_map_trained:
        props[META_RISK_MAP_TRAINED] = "true"
    if meta.preprocess != DEFAULT_PREPROCESS:
        props[META_PREPROCESS] = check_preprocess(meta.preprocess)
    return props


def check_preprocess(mode: str) -> str:
    """``mode`` if it is one of :data:`PREPROCESS_MODES`; ContractError naming the key otherwise."""
    if mode not in PREPROCESS_MODES:
        raise ContractError(f"{META_PREPROCESS} must be one of {list(PREPROCESS_MODES)}, got {mode!r}")
    return mode


def decode_metadata(props: Mapping[str, str]) -> ModelMetadata:
    """Parse and check the ``aar.*`` metadata (inverse of :func:`encode_metadata`).

    Raises:
        ContractError: a key is missing, ``aar.format`` is not :data:`FORMAT_VERSION`, a value is
            malformed (the message names it), or ``aar.semantics`` does not match its sha256.
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
    preprocess = check_preprocess(props.get(META_PREPROCESS, DEFAULT_PREPROCESS))
    if height <= 0 or width <= 0 or not fps > 0:
        raise ContractError(f"{META_INPUT_HEIGHT}/width and {META_FPS} must be > 0")
    semantics = None
    present = [key for key in OPTIONAL_METADATA_KEYS if key in props]
    if present:
        if len(present) != len(OPTIONAL_METADATA_KEYS):
            raise ContractError(f"ONNX metadata has {present} but not both of {list(OPTIONAL_METADATA_KEYS)}")
        semantics = verified_semantics(
            props[META_SEMANTICS], props[META_SEMANTICS_SHA256], props[META_MODEL_HASH]
        )
    return ModelMetadata(
        model_name=props[META_MODEL_NAME],
        model_hash=props[META_MODEL_HASH],
        config=config,
        input_height=height,
        input_width=width,
        mean=mean,  # type: ignore[arg-type]
        std=std,  # type: ignore[arg-type]
        fps=fps,
        semantics=semantics,
        risk_map_trained=trained == "true",
        preprocess=preprocess,
    )


def file_sha256(path: str | os.PathLike, extra: Sequence[str | os.PathLike] = ()) -> str:
    """sha256 hex digest of a file and, in order, of ``extra`` files (an ONNX file's external data)."""
    digest = hashlib.sha256()
    for part in (path, *extra):
        with open(part, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


# --- semantics: training domain, causes, domain statistics ----------------------------------------


@dataclass(frozen=True)
class FloatArray:
    """A float32 array in the contract's JSON: its shape and little-endian bytes (numpy reads them
    with ``np.frombuffer(a.data, "<f4").reshape(a.shape)``)."""

    shape: tuple[int, ...]
    data: bytes

    def __post_init__(self) -> None:
        if any(int(d) < 0 for d in self.shape) or len(self.data) != 4 * math.prod(self.shape):
            raise ContractError(
                f"float32 array of shape {list(self.shape)} needs {4 * math.prod(self.shape)} bytes, got {len(self.data)}"
            )

    def to_json(self) -> dict:
        return {"shape": list(self.shape), "float32_base64": base64.b64encode(self.data).decode("ascii")}

    @classmethod
    def from_json(cls, obj: object, what: str) -> FloatArray:
        try:
            shape = tuple(int(d) for d in obj["shape"])  # type: ignore[index]
            data = base64.b64decode(obj["float32_base64"], validate=True)  # type: ignore[index]
        except (KeyError, TypeError, ValueError, binascii.Error) as exc:
            raise ContractError(
                f"{META_SEMANTICS}: {what} is not a float32 array ({type(exc).__name__}: {exc})"
            ) from exc
        return cls(shape, data)


@dataclass(frozen=True)
class CauseBank:
    """The accident causes a model can name: one unit vector per cause.

    A frame's cause is the softmax over ``logit_scale * cos(x, vector)``, with ``x`` the frame's
    ``embedding`` (``space`` :data:`EMBEDDING`: e.g. a teacher's prompt embeddings) or its whitened
    coordinates ``W (embedding - mean)`` under the model's :class:`DomainStats` (``space``
    :data:`WHITENED`: e.g. class means of whitened training embeddings).

    Attributes:
        names: Cause names (``K``), e.g. the synthetic scenario families ``"lead_brake"``, ...
        vectors: ``(K, D)`` L2-normalised cause vectors in ``space``.
        logit_scale: Softmax scale of the cosine similarities (1 / temperature).
        source: How the vectors were made (prompt embeddings of a teacher, class means, ...).
        space: One of :data:`CAUSE_SPACES`.
    """

    names: tuple[str, ...]
    vectors: FloatArray
    logit_scale: float
    source: str = ""
    space: str = EMBEDDING


@dataclass(frozen=True)
class DomainStats:
    """Statistics of the training frames' features for a Mahalanobis out-of-domain score.

    ``score(x) = || whitening @ (x - mean) ||``, the Mahalanobis distance under the shrunk covariance
    ``C`` the whitening matrix was made from (``whitening.T @ whitening = C^-1``); a frame is out of
    domain when its score exceeds ``threshold``.

    Attributes:
        feature: The step-graph output the statistics are of (an entry of :data:`OUTPUTS`).
        mean: ``(D,)`` mean feature of the training frames.
        whitening: ``(D, D)`` whitening matrix.
        threshold: The ``percentile``-th percentile of the training frames' scores.
        percentile: Percentile of the threshold, in (0, 100].
        shrinkage: Weight of the scaled identity in the shrunk covariance, in [0, 1].
        frames: How many training frames the statistics are over.
    """

    feature: str
    mean: FloatArray
    whitening: FloatArray
    threshold: float
    percentile: float
    shrinkage: float
    frames: int


@dataclass(frozen=True)
class ModelSemantics:
    """What a model knows about its outputs beyond the graph (``aar.semantics``).

    Attributes:
        training_domain: The data the model was trained on, in words, e.g. ``"synthetic (...)"``.
        causes: The cause bank; None when the model names no causes.
        domain: Out-of-domain statistics; None when the model has none.
    """

    training_domain: str
    causes: CauseBank | None = None
    domain: DomainStats | None = None


def semantics_to_json(sem: ModelSemantics) -> dict:
    """The JSON object of ``aar.semantics`` (inverse of :func:`semantics_from_json`)."""
    obj: dict = {"training_domain": sem.training_domain}
    if sem.causes is not None:
        c = sem.causes
        obj["causes"] = {
            "names": list(c.names),
            "vectors": c.vectors.to_json(),
            "logit_scale": float(c.logit_scale),
            "source": c.source,
            "space": c.space,
        }
    if sem.domain is not None:
        d = sem.domain
        obj["domain"] = {
            "feature": d.feature,
            "mean": d.mean.to_json(),
            "whitening": d.whitening.to_json(),
            "threshold": float(d.threshold),
            "percentile": float(d.percentile),
            "shrinkage": float(d.shrinkage),
            "frames": int(d.frames),
        }
    return obj


def _number(obj: dict, key: str, what: str) -> float:
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ContractError(f"{META_SEMANTICS}: {what}.{key} must be a finite number, got {value!r}")
    return float(value)


def semantics_from_json(obj: object) -> ModelSemantics:
    """Parse and check the ``aar.semantics`` object.

    Raises:
        ContractError: a field is missing or malformed, or the shapes disagree (the message names it).
    """
    if not isinstance(obj, dict) or not isinstance(obj.get("training_domain"), str):
        raise ContractError(f"{META_SEMANTICS} must be a JSON object with a string 'training_domain'")
    causes = domain = None
    if obj.get("causes") is not None:
        c = obj["causes"]
        if not isinstance(c, dict):
            raise ContractError(f"{META_SEMANTICS}: causes must be an object")
        names = c.get("names")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) and n for n in names):
            raise ContractError(
                f"{META_SEMANTICS}: causes.names must be a non-empty list of names, got {names!r}"
            )
        if len(set(names)) != len(names):
            raise ContractError(f"{META_SEMANTICS}: causes.names has duplicates: {names}")
        vectors = FloatArray.from_json(c.get("vectors"), "causes.vectors")
        if len(vectors.shape) != 2 or vectors.shape[0] != len(names) or vectors.shape[1] < 1:
            raise ContractError(
                f"{META_SEMANTICS}: causes.vectors must be ({len(names)}, D), got {list(vectors.shape)}"
            )
        scale = _number(c, "logit_scale", "causes")
        if scale <= 0:
            raise ContractError(f"{META_SEMANTICS}: causes.logit_scale must be > 0, got {scale}")
        space = c.get("space", EMBEDDING)
        if space not in CAUSE_SPACES:
            raise ContractError(
                f"{META_SEMANTICS}: causes.space must be one of {list(CAUSE_SPACES)}, got {space!r}"
            )
        causes = CauseBank(tuple(names), vectors, scale, str(c.get("source", "")), space)
    if obj.get("domain") is not None:
        d = obj["domain"]
        if not isinstance(d, dict) or d.get("feature") not in OUTPUTS:
            feature = d.get("feature") if isinstance(d, dict) else d
            raise ContractError(
                f"{META_SEMANTICS}: domain.feature must be one of {list(OUTPUTS)}, got {feature!r}"
            )
        mean = FloatArray.from_json(d.get("mean"), "domain.mean")
        whitening = FloatArray.from_json(d.get("whitening"), "domain.whitening")
        if len(mean.shape) != 1 or whitening.shape != (mean.shape[0], mean.shape[0]):
            raise ContractError(
                f"{META_SEMANTICS}: domain.mean must be (D,) and domain.whitening (D, D), got {list(mean.shape)} and {list(whitening.shape)}"
            )
        threshold, percentile = _number(d, "threshold", "domain"), _number(d, "percentile", "domain")
        shrinkage, frames = _number(d, "shrinkage", "domain"), _number(d, "frames", "domain")
        if threshold <= 0 or not 0 < percentile <= 100 or not 0 <= shrinkage <= 1 or frames < 1:
            raise ContractError(
                f"{META_SEMANTICS}: need domain.threshold > 0, percentile in (0, 100], shrinkage in [0, 1], frames >= 1; got {threshold}, {percentile}, {shrinkage}, {frames}"
            )
        domain = DomainStats(d["feature"], mean, whitening, threshold, percentile, shrinkage, int(frames))
    if causes is not None and causes.space == WHITENED:
        if domain is None:
            raise ContractError(f"{META_SEMANTICS}: causes in the {WHITENED!r} space need domain statistics")
        if causes.vectors.shape[1] != domain.mean.shape[0]:
            raise ContractError(
                f"{META_SEMANTICS}: causes are {causes.vectors.shape[1]}-d, the whitened space "
                f"{domain.mean.shape[0]}-d"
            )
    return ModelSemantics(obj["training_domain"], causes, domain)


def encode_semantics(sem: ModelSemantics) -> str:
    """The canonical ``aar.semantics`` text (sorted keys, no spaces): what :func:`semantics_sha256` hashes."""
    return json.dumps(semantics_to_json(sem), sort_keys=True, separators=(",", ":"), allow_nan=False)


def semantics_sha256(model_hash: str, text: str) -> str:
    """sha256 hex of ``model_hash``, a newline and the semantics text: binds the semantics to the weights."""
    return hashlib.sha256(f"{model_hash}\n{text}".encode()).hexdigest()


def verified_semantics(semantics: str | dict, sha256: object, model_hash: str) -> ModelSemantics:
    """Decode semantics (the ``aar.semantics`` text or a checkpoint's object) after checking their sha256.

    Raises:
        ContractError: the digest does not match (edited semantics, or semantics of another model),
            or the semantics are malformed.
    """
    try:
        obj = json.loads(semantics) if isinstance(semantics, str) else semantics
    except ValueError as exc:
        raise ContractError(f"{META_SEMANTICS} is not valid JSON ({exc})") from exc
    text = json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False)
    if semantics_sha256(model_hash, text) != sha256:
        raise ContractError(
            f"{META_SEMANTICS} does not match {META_SEMANTICS_SHA256} for model {model_hash[:12]}...: the causes "
            "or domain statistics were edited or belong to another model; refusing them (re-export the model)"
        )
    return semantics_from_json(obj)
