"""PyTorch backend: runs ``TSDStudent.step`` from a checkpoint (safetensors + JSON), for development.

The only runtime module that uses torch, and it imports torch (and the model package) only when a
backend is created, so ``import accident_anticipation_ros.runtime.torch_backend`` stays cheap.
The model is reparameterized (as the ONNX export is) unless told otherwise.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from accident_anticipation_ros.runtime.backend import Backend, ModelInfo, StepOutput
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.semantics import check_semantics_dims


class TorchBackend(Backend):
    """Run the student checkpoint in PyTorch under ``torch.inference_mode()``.

    Args:
        path: The checkpoint (``x.safetensors``; ``x.json`` next to it).
        threads: Intra-op threads (``torch.set_num_threads``, process-wide); None leaves torch's default.
        device: ``"cpu"`` or ``"cuda"``.
        reparameterize: Fuse the RepMixer / MobileOne branches (the deployed form, as exported).
    """

    name = "torch"
    OPTIONS = ("threads", "device", "reparameterize")

    def __init__(
        self, path: str | Path, threads: int | None = None, device: str = "cpu", reparameterize: bool = True
    ) -> None:
        import torch

        from accident_anticipation_ros.model.checkpoint import checkpoint_preprocess, checkpoint_semantics
        from accident_anticipation_ros.model.errors import ModelError

        self._torch = torch
        if threads:
            torch.set_num_threads(int(threads))
        try:
            self.device = torch.device(device)
            model, meta = self._load(path, self.device)
            semantics = checkpoint_semantics(meta, str(path))
            preprocess = checkpoint_preprocess(meta, str(path))
        except (ModelError, RuntimeError) as exc:
            raise BackendError(f"{path}: cannot load checkpoint for the torch backend ({exc})") from exc
        if reparameterize:
            model.reparameterize()
        self.model = model.eval()
        cfg = meta["config"]
        check_semantics_dims(semantics, cfg.embed_dim, str(path))
        super().__init__(
            ModelInfo(
                model_name=cfg.name,
                model_hash=meta["model_hash"],
                input_height=cfg.image_size[0],
                input_width=cfg.image_size[1],
                mean=tuple(float(v) for v in meta["mean"]),  # type: ignore[arg-type]
                std=tuple(float(v) for v in meta["std"]),  # type: ignore[arg-type]
                fps=float(meta["fps"]),
                config=cfg.to_dict(),
                state_specs=self._state_specs(model, cfg),
                risk_map_shape=tuple(cfg.grid),  # type: ignore[arg-type]
                embedding_dim=cfg.embed_dim,
                semantics=semantics,
                risk_map_trained=bool(meta.get("risk_map_trained", False)),
                batch_axis=True,
                preprocess=preprocess,
            )
        )

    @staticmethod
    def _load(path: str | Path, device: Any) -> tuple[Any, dict]:
        """``(model, meta)`` of the checkpoint (a TSD student; subclasses load other students)."""
        from accident_anticipation_ros.model.checkpoint import load_checkpoint

        return load_checkpoint(path, device=device)

    @staticmethod
    def _state_specs(model: Any, cfg: Any) -> dict[str, tuple[int, ...]]:
        """``{name: shape}`` of the batch-1 state of ``model`` (the ONNX naming)."""
        from accident_anticipation_ros.model.state import state_names, state_shape

        shape = tuple(state_shape(cfg, 1))
        return {name: shape for name in state_names(cfg)}

    def describe(self) -> str:
        return f"torch {self._torch.__version__} on {self.device} ({self._torch.get_num_threads()} threads)"

    def init_state(self) -> Any:
        return self.model.init_state(1, self.device)

    def state_to_numpy(self, state: Any) -> dict[str, np.ndarray]:
        """The state as ``{name: array}`` in the ONNX naming (for comparisons)."""
        return {name: t.detach().cpu().numpy() for name, t in state.flatten().items()}

    @property
    def batched(self) -> bool:
        return True

    def step_batch(self, images, states):
        """Stack the streams' frames and state rows into one ``model.step`` (row i: stream i)."""
        if len(images) != len(states):
            raise ValueError(f"step_batch: {len(images)} images but {len(states)} states")
        if len(images) < 2:
            return super().step_batch(images, states)
        for image in images:
            self.check_image(image)
        from accident_anticipation_ros.model.state import StudentState

        torch = self._torch
        with torch.inference_mode():
            frames = torch.from_numpy(np.concatenate(images)).to(self.device)  # (B, 3, H, W)
            flat = [state.flatten() for state in states]
            stacked = {name: torch.cat([f[name] for f in flat]) for name in flat[0]}  # (B, N, C)
            out, new_state = self.model.step(frames, StudentState.from_flat(stacked, len(states[0].layers)))
            new_flat = new_state.flatten()
            outputs, new_states = [], []
            for i in range(len(images)):
                outputs.append(
                    StepOutput(
                        risk_logit=float(out.risk_logit[i]),
                        tta=float(out.tta[i]),
                        risk_map=out.risk_map[i].float().cpu().numpy(),
                        embedding=out.embedding[i].float().cpu().numpy(),
                    )
                )
                row = {name: value[i : i + 1] for name, value in new_flat.items()}
                new_states.append(StudentState.from_flat(row, len(states[0].layers)))
        return outputs, new_states

    def step(self, image: np.ndarray, state: Any) -> tuple[StepOutput, Any]:
        self.check_image(image)
        torch = self._torch
        with torch.inference_mode():
            frame = torch.from_numpy(image).to(self.device)
            out, new_state = self.model.step(frame, state)
            result = StepOutput(
                risk_logit=float(out.risk_logit[0]),
                tta=float(out.tta[0]),
                risk_map=out.risk_map[0].float().cpu().numpy(),
                embedding=out.embedding[0].float().cpu().numpy(),
            )
        return result, new_state
