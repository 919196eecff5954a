"""A runtime backend over any trained student checkpoint (TSD or the GRU ablation student).

    backend = StudentBackend("runs/ablation/gru/best/tsd-nano")   # x, x.safetensors or x.json
    report = evaluate_drive_stream(backend, "runs/streaming/drive-ccd-31min-s0")

The runtime's torch backend loads only TSD checkpoints (the node's contract); the GRU student is not
exportable to ONNX. This backend is the torch backend with ``training.checkpoint.load_student`` as its
loader, so the ablation streams every variant through the same runtime (``StreamSession``), and it
equals the torch backend on a TSD checkpoint.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from accident_anticipation_ros.runtime.torch_backend import TorchBackend
from accident_anticipation_ros.training import carry as C


class StudentBackend(TorchBackend):
    """:class:`TorchBackend` over :func:`~accident_anticipation_ros.training.checkpoint.load_student`."""

    name = "torch-student"

    @staticmethod
    def _load(path: str | Path, device: Any) -> tuple[Any, dict]:
        from accident_anticipation_ros.training.checkpoint import load_student

        return load_student(path, device=device)

    @staticmethod
    def _state_specs(model: Any, cfg: Any) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of the batch-1 state (``layer{i}.{field}`` or ``gru.h``, as ``carry`` names them)."""
        return {name: tuple(t.shape) for name, t in C.to_tensors(model.init_state(1)).items()}

    def state_to_numpy(self, state: Any) -> dict[str, np.ndarray]:
        return {name: t.numpy() for name, t in C.to_tensors(state).items()}

    @property
    def batched(self) -> bool:
        return False  # a GRU state is one tensor, not StudentState rows: the ablation steps one stream
