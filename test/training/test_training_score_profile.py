"""Score profiles against time before the accident, on hand-made scores."""

from __future__ import annotations

import numpy as np
import pytest

from accident_anticipation_ros.training.evaluate import save_scores
from accident_anticipation_ros.training.score_profile import (
    at_false_alarm_rate,
    before_toa,
    load_scores,
    summary,
)


@pytest.fixture
def npz(tmp_path):
    ramp = np.clip((np.arange(50) - 20) / 20.0, 0, 1)  # rises from frame 20 to 1.0 at frame 40
    details = {"clip_ids": ["a", "b", "safe"], "scores": [ramp, ramp, np.full(50, 0.2)], "toa": [40.0, 40.0, -1.0],
               "fps_data": 10.0}  # fmt: skip
    path = tmp_path / "s.npz"
    save_scores(path, details)
    return path


def test_profile_is_aligned_on_toa(npz):
    s = load_scores(npz)
    t, mean = before_toa(s, horizon_s=2.0)
    np.testing.assert_allclose(t, np.arange(21) / 10.0)
    np.testing.assert_allclose(mean, 1.0 - np.arange(21) / 20.0)  # 1.0 at toa, 0.0 two seconds before


def test_summary_counts_early_crossings_and_safe_clips(npz):
    row = summary(load_scores(npz), threshold=0.5)
    assert row["pos_mean_1s"] == pytest.approx(0.5) and row["pos_mean_0.5s"] == pytest.approx(0.75)
    assert row["pos_above_1s_before"] == 1.0  # frame 30 has 0.5
    assert row["pos_above_2s_before"] == 0.0
    assert row["safe_mean"] == pytest.approx(0.2) and row["safe_ever_above"] == 0.0


def test_cli_prints_and_plots(npz, tmp_path, capsys):
    from accident_anticipation_ros.tools.score_profile import main

    assert main([str(npz), str(npz), "--labels", "x,y", "--out", str(tmp_path / "p.png")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("x: pos_mean_3s") and (tmp_path / "p.png").stat().st_size > 0
    assert main([str(tmp_path / "missing.npz")]) == 1


def test_older_files_without_ids_and_fps(tmp_path):
    path = tmp_path / "old.npz"
    np.savez(
        path, toa=np.array([2.0, -1.0]), **{"score/p": np.array([0.1, 0.5, 0.9]), "score/n": np.zeros(3)}
    )
    with pytest.raises(ValueError, match="--fps"):
        load_scores(path)
    s = load_scores(path, fps=10.0)
    assert s.fps == 10.0 and s.scores[0][2] == 0.9 and s.toa[1] == -1


def test_earliness_at_a_matched_false_alarm_rate(tmp_path):
    safe = [np.full(50, v) for v in (0.1, 0.2, 0.3, 0.4, 0.6)]  # max scores; 20 % of them pass 0.4
    ramp = np.clip((np.arange(50) - 20) / 20.0, 0, 1)  # passes 0.4 first at frame 29 (0.45)
    late = np.where(np.arange(50) >= 39, 1.0, 0.0)  # passes at frame 39, 0.1 s before toa 40
    details = {"clip_ids": [f"s{i}" for i in range(5)] + ["p", "q", "miss"], "scores": [*safe, ramp, late, np.zeros(50)],
               "toa": [-1.0] * 5 + [40.0, 40.0, 40.0], "fps_data": 10.0}  # fmt: skip
    save_scores(tmp_path / "s.npz", details)
    row = at_false_alarm_rate(load_scores(tmp_path / "s.npz"), rate=0.2)
    assert row["threshold_fa0.2"] == pytest.approx(0.44)  # 80th percentile of the safe maxima
    assert row["recall_fa0.2"] == pytest.approx(2 / 3)
    assert row["tta_fa0.2"] == pytest.approx(((40 - 29) / 10 + 0.1) / 2)
