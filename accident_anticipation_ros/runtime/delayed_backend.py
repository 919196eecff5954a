"""A backend that sleeps a fixed time before every step: a slower model on demand (testing, benchmarks).

    backend = create_backend("models/tsd-nano.onnx", step_delay_ms=50.0)  # runtime.factory wraps it

Tests that need a model slower than the camera, and benchmarks of the node's drop and latency
behaviour, use it instead of relying on how fast this machine runs a large model. The outputs are
the inner backend's, unchanged; only the time differs.
"""

from __future__ import annotations

import math
import time

import numpy as np

from accident_anticipation_ros.runtime.backend import Backend, State, StepOutput


class DelayedBackend(Backend):
    """``inner`` with ``delay_ms`` of sleep before each ``step`` and each ``step_batch`` call
    (``init_state``, ``close`` delegate)."""

    def __init__(self, inner: Backend, delay_ms: float) -> None:
        if not (math.isfinite(delay_ms) and delay_ms >= 0):
            raise ValueError(f"step delay must be a finite number of milliseconds >= 0, got {delay_ms}")
        super().__init__(inner.info)
        self.inner = inner
        self.delay_s = delay_ms / 1e3
        self.name = inner.name  # what runs the model; describe() names the delay

    def init_state(self) -> State:
        return self.inner.init_state()

    def reset_state(self, state: State) -> State:
        return self.inner.reset_state(state)

    def step(self, image: np.ndarray, state: State) -> tuple[StepOutput, State]:
        time.sleep(self.delay_s)
        return self.inner.step(image, state)

    @property
    def batched(self) -> bool:
        return self.inner.batched

    def step_batch(self, images, states):
        time.sleep(self.delay_s)  # one delay per model call
        return self.inner.step_batch(images, states)

    def describe(self) -> str:
        return f"{self.inner.describe()} + {self.delay_s * 1e3:g} ms step delay (testing)"

    def close(self) -> None:
        self.inner.close()
