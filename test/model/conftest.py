"""Fixtures of the model tests: small perturbed students (no branch trivially zero)."""

from __future__ import annotations

import pytest
import torch

from accident_anticipation_ros.model.config import get_config
from accident_anticipation_ros.model.student import TSDStudent
from accident_anticipation_ros.model.verify import perturb_


def make_student(name: str = "tsd-test", seed: int = 0, **overrides) -> TSDStudent:
    """A perturbed student in eval mode."""
    torch.manual_seed(seed)
    model = TSDStudent(get_config(name, **overrides))
    return perturb_(model, torch.Generator().manual_seed(seed)).eval()


@pytest.fixture(autouse=True)
def one_torch_thread():
    """These tiny models run fastest on one thread; on the shared 2-core machine, torch's two
    spinning OpenMP threads make them ~7x slower under load. Restored after each test."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture
def student() -> TSDStudent:
    return make_student()


@pytest.fixture
def gen() -> torch.Generator:
    return torch.Generator().manual_seed(1234)
