"""Per-frame accident probabilities of whole clips, and the community metrics over them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch

from accident_anticipation_ros.metrics import evaluate
from accident_anticipation_ros.training.cache import to_input


@torch.no_grad()
def clip_outputs(
    model, frames: torch.Tensor, mean, std, device: torch.device, chunk: int = 16
) -> tuple[np.ndarray, np.ndarray]:
    """``(T, H, W, 3)`` uint8 frames of one clip -> ``(T,)`` float64 ``sigmoid(risk_logit)`` and the
    ``(T, h, w)`` float32 risk-map logits, from a fresh state.

    The clip runs in chunks of ``chunk`` frames with the recurrent state carried between them (the
    same numbers as one pass, without holding the activations of every frame at once).
    """
    state = None
    logits, maps = [], []
    for s in range(0, frames.shape[0], chunk):
        x = to_input(frames[s : s + chunk].to(device).unsqueeze(0), mean, std)  # (1, t, 3, H, W)
        out, state = model.forward_clip(x, state)
        logits.append(out.risk_logit[0].float())
        maps.append(out.risk_map[0].float())
    scores = torch.sigmoid(torch.cat(logits)).cpu().numpy().astype(np.float64)
    return scores, torch.cat(maps).cpu().numpy()


def clip_scores(model, frames: torch.Tensor, mean, std, device: torch.device, chunk: int = 16) -> np.ndarray:
    """The ``(T,)`` accident probabilities of :func:`clip_outputs`."""
    return clip_outputs(model, frames, mean, std, device, chunk)[0]


def clip_metrics(
    scores: Sequence[np.ndarray], toa: Iterable[float], fps: Iterable[float]
) -> dict[str, float]:
    """:func:`accident_anticipation_ros.metrics.evaluate` over clips (label = ``toa >= 0``).

    Raises:
        ValueError: the clips' frame rates differ, or (from ``evaluate``) there is no positive clip.
    """
    toa = np.asarray(list(toa), dtype=np.float64)
    rates = sorted({float(f) for f in fps})
    if len(rates) != 1:
        raise ValueError(f"clips have different frame rates {rates}; evaluate them separately")
    labels = (toa >= 0).astype(np.int64)
    return evaluate(list(scores), labels, np.where(labels == 1, toa, -1.0), rates[0])
