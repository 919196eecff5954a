"""The interface every inference backend implements, and the values it exchanges.

A backend runs the student's *step* graph: one preprocessed frame plus the recurrent state in, the
frame's outputs plus the next state out (see :mod:`accident_anticipation_ros.contract`). The state is opaque to callers: a
dict of numpy arrays (ONNX Runtime on the CPU), device buffers (TensorRT, ONNX Runtime with IO
binding) or the model's own state (torch). ``init_state()`` returns the all-zeros reset state.

    backend = create_backend("models/tsd-nano.onnx")  # runtime.factory: TensorRT > ONNX Runtime > torch
    state = backend.init_state()
    out, state = backend.step(image, state)           # image: (1, 3, H, W) float32
    outs, states = backend.step_batch([img_a, img_b], [state_a, state_b])  # several streams, one call

``step_batch`` runs one frame of each of several streams (cameras): each stream keeps its own state
(one batch row), and row ``i`` of the result is what ``step(images[i], states[i])`` gives. Backends
whose model has a batch axis (``ModelInfo.batch_axis``) run the rows in one call; the default
implementation, and any backend on a batch-1 export, steps them one by one.
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from accident_anticipation_ros.contract import (
    DEFAULT_PREPROCESS,
    IMAGE,
    ContractError,
    ModelSemantics,
    check_preprocess,
    encode_semantics,
    image_shape,
    semantics_sha256,
    verified_semantics,
)
from accident_anticipation_ros.runtime.errors import BackendError

State = Any  # backend specific; only ever produced by the same backend's init_state() / step()


@dataclass(frozen=True)
class ModelInfo:
    """Static facts about a loaded model (from the ONNX metadata, a plan's sidecar or a checkpoint).

    Attributes:
        model_name: Config name, e.g. ``"tsd-nano"``.
        model_hash: sha256 hex of the weights the model was built from.
        input_height: Height H of the ``image`` input.
        input_width: Width W of the ``image`` input.
        mean: Per-channel RGB mean used in ``(x / 255 - mean) / std``.
        std: Per-channel RGB std.
        fps: Frame rate the model assumes.
        config: The StudentConfig as a dict.
        state_specs: Recurrent state tensors, ``{name: shape}`` (names without ``state_in.``).
        risk_map_shape: ``(h, w)`` of the per-token risk map (stride 32).
        embedding_dim: Size D of the vision-language embedding.
        semantics: Training domain, causes and domain statistics (verified against ``model_hash``
            when read); None for a model without them.
        risk_map_trained: Whether a loss trained the risk-map head.
        batch_axis: The model takes a batch of frames (one row per stream) in one call; False for
            a batch-1 export (``step_batch`` then steps the rows one by one).
        preprocess: How the training fitted frames to the input (``contract.PREPROCESS_MODES``);
            the runtime's :class:`~accident_anticipation_ros.runtime.preprocessing.Preprocessor` default.
    """

    model_name: str
    model_hash: str
    input_height: int
    input_width: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    fps: float
    config: dict = field(default_factory=dict, hash=False)
    state_specs: dict[str, tuple[int, ...]] = field(default_factory=dict, hash=False)
    risk_map_shape: tuple[int, int] = (0, 0)
    embedding_dim: int = 0
    semantics: ModelSemantics | None = field(default=None, hash=False, repr=False)
    risk_map_trained: bool = False
    batch_axis: bool = False
    preprocess: str = DEFAULT_PREPROCESS

    def to_json(self) -> dict:
        """A JSON-serialisable dict (inverse of :meth:`from_json`); semantics as text and sha256."""
        data = asdict(self)
        data["state_specs"] = {name: list(shape) for name, shape in self.state_specs.items()}
        data["semantics"] = None
        if self.semantics is not None:
            text = encode_semantics(self.semantics)
            data["semantics"] = {"text": text, "sha256": semantics_sha256(self.model_hash, text)}
        return data

    @classmethod
    def from_json(cls, data: dict, source: str = "model info") -> ModelInfo:
        """Rebuild from :meth:`to_json` output; raises BackendError naming ``source`` on bad data or
        on semantics that do not match their sha256."""
        try:
            stored = data.get("semantics")
            semantics = (
                verified_semantics(stored["text"], stored["sha256"], str(data["model_hash"]))
                if stored
                else None
            )
            return cls(
                model_name=str(data["model_name"]),
                model_hash=str(data["model_hash"]),
                input_height=int(data["input_height"]),
                input_width=int(data["input_width"]),
                mean=_triple(data["mean"]),
                std=_triple(data["std"]),
                fps=float(data["fps"]),
                config=dict(data["config"]),
                state_specs={str(k): tuple(int(d) for d in v) for k, v in data["state_specs"].items()},
                risk_map_shape=tuple(int(d) for d in data["risk_map_shape"]),
                embedding_dim=int(data["embedding_dim"]),
                semantics=semantics,
                risk_map_trained=bool(data.get("risk_map_trained", False)),
                batch_axis=bool(data.get("batch_axis", False)),
                preprocess=check_preprocess(str(data.get("preprocess", DEFAULT_PREPROCESS))),
            )
        except ContractError as exc:
            raise BackendError(f"{source}: {exc}") from exc
        except (KeyError, TypeError, ValueError) as exc:
            raise BackendError(f"{source}: invalid model info ({type(exc).__name__}: {exc})") from exc


def _triple(value: Any) -> tuple[float, float, float]:
    if isinstance(value, str):
        value = json.loads(value)
    values = tuple(float(v) for v in value)
    if len(values) != 3:
        raise ValueError(f"expected 3 values, got {len(values)}")
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class StepOutput:
    """What one step produces for one frame.

    Attributes:
        risk_logit: Accident logit of this frame.
        tta: Predicted time to accident in seconds (>= 0).
        risk_map: ``(h, w)`` float32 per-token risk logits at stride 32.
        embedding: ``(D,)`` float32 vision-language embedding.
    """

    risk_logit: float
    tta: float
    risk_map: np.ndarray
    embedding: np.ndarray

    def is_finite(self) -> bool:
        """Whether every output value is finite (a NaN/Inf output must never reach a consumer)."""
        return bool(
            np.isfinite(self.risk_logit)
            and np.isfinite(self.tta)
            and np.isfinite(self.risk_map).all()
            and np.isfinite(self.embedding).all()
        )


class Backend(abc.ABC):
    """A loaded model that runs one frame at a time with an explicit recurrent state."""

    name: str = ""
    OPTIONS: tuple[str, ...] = ()  # keyword options the constructor accepts (see create_backend)

    def __init__(self, info: ModelInfo) -> None:
        self.info = info
        self._image_shape = image_shape(info.input_height, info.input_width)

    @abc.abstractmethod
    def init_state(self) -> State:
        """The all-zeros reset state."""

    def reset_state(self, state: State) -> State:
        """Return ``state`` reset to zeros; backends with device buffers zero them in place."""
        return self.init_state()

    @abc.abstractmethod
    def step(self, image: np.ndarray, state: State) -> tuple[StepOutput, State]:
        """Run one frame.

        Args:
            image: ``(1, 3, H, W)`` float32, preprocessed (see ``Preprocessor``).
            state: The state returned by ``init_state()`` or the previous ``step()``.

        Returns:
            The frame's outputs and the state to pass with the next frame. A backend may reuse the
            buffers of the state it was given: pass each state to ``step`` once.
        """

    @property
    def batched(self) -> bool:
        """Whether :meth:`step_batch` runs several streams in one model call (else one by one)."""
        return False

    def step_batch(
        self, images: Sequence[np.ndarray], states: Sequence[State]
    ) -> tuple[list[StepOutput], list[State]]:
        """Run one frame of each of several streams: row ``i`` is ``step(images[i], states[i])``.

        Args:
            images: ``(1, 3, H, W)`` float32 frames, one per stream.
            states: The streams' states, in the same order (each passed once, as to ``step``).

        Returns:
            The outputs and the next states, in the order of ``images``. This default steps the
            rows one by one; a backend with :attr:`batched` runs them in one call.
        """
        if len(images) != len(states):
            raise ValueError(f"step_batch: {len(images)} images but {len(states)} states")
        outputs, new_states = [], []
        for image, state in zip(images, states, strict=True):
            out, new = self.step(image, state)
            outputs.append(out)
            new_states.append(new)
        return outputs, new_states

    def describe(self) -> str:
        """One line for logs: backend and device details."""
        return self.name

    def close(self) -> None:  # noqa: B027 - optional hook, most backends free on garbage collection
        """Free the backend's resources; the backend cannot be used afterwards."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_image(self, image: np.ndarray) -> None:
        """Raise ValueError unless ``image`` is the ``(1, 3, H, W)`` float32 array the model takes."""
        if not isinstance(image, np.ndarray) or image.dtype != np.float32 or image.shape != self._image_shape:
            got = (
                f"{image.dtype} {tuple(image.shape)}"
                if isinstance(image, np.ndarray)
                else type(image).__name__
            )
            raise ValueError(
                f"{self.info.model_name}: input {IMAGE!r} must be float32 {list(self._image_shape)}, got {got}"
            )
