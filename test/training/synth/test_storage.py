"""The benchmark's on-disk format: deterministic npz files."""

from __future__ import annotations

import numpy as np

from accident_anticipation_ros.training.synth.storage import save_npz


def test_save_npz_is_deterministic_and_loadable(tmp_path):
    x = np.arange(24, dtype=np.uint8).reshape(2, 2, 2, 3)
    save_npz(tmp_path / "a.npz", frames=x)
    save_npz(tmp_path / "b.npz", frames=x)
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    with np.load(tmp_path / "a.npz") as data:
        assert np.array_equal(data["frames"], x)
