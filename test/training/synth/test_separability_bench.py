"""The separability check's machinery and the speed benchmark (tiny runs)."""

from __future__ import annotations

import json

import numpy as np

from accident_anticipation_ros.training.synth import bench, separability


def _fake(n: int, seed: int = 0) -> list[dict]:
    """Clips whose frame features are noise early and separable by label in the last 0.5 s."""
    rng = np.random.default_rng(seed)
    clips = []
    for i in range(n):
        positive = i % 2 == 0
        feats = rng.normal(size=(50, 6)).astype(np.float32)
        feats[40:, 0] += 3.0 if positive else -3.0
        clips.append(
            {"clip_id": str(i), "positive": positive, "reference": 45.0, "fps": 10.0, "features": feats}
        )
    return clips


def test_windows_select_frames_relative_to_the_reference():
    X, y, groups = separability.window_samples(_fake(4), separability.WINDOWS["early"])
    assert len(y) == 4 * 25  # frames 0..24 lie more than 2 s before frame 45
    X, y, groups = separability.window_samples(_fake(4), separability.WINDOWS["late"])
    assert len(y) == 4 * 5 and set(groups) == {0, 1, 2, 3}


def test_evaluate_tells_noise_from_signal():
    clips = _fake(40)
    early = separability.evaluate(clips, separability.WINDOWS["early"])
    late = separability.evaluate(clips, separability.WINDOWS["late"])
    assert 0.3 < early["auc"] < 0.7
    assert late["auc"] > 0.95 and late["accuracy"] > 0.9


def test_frame_features_shape():
    frames = np.random.default_rng(0).integers(0, 255, (3, 32, 40, 3), dtype=np.uint8)
    f = separability.frame_features(frames)
    assert f.shape == (3, 12 * 12 * 3 + 24) and np.allclose(f[:, -24:].sum(1), 3.0)


def test_cli_prints_json(capsys):
    from accident_anticipation_ros.tools.separability import main

    assert main(["--clips", "10", "--size", "40", "--folds", "2"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["clips"] == 10 and {"early", "mid", "late"} <= set(out)
    assert 0.0 <= out["late"]["auc"] <= 1.0


def test_bench_reports_throughput():
    result = bench.run(size=40, clips=1)
    assert result["frames"] == 50
    assert result["generate_frames_per_s_cpu"] > 0 and result["with_write_frames_per_s_wall"] > 0
