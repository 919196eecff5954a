"""The ablation scored on a drive as one stream: streaming columns for TSD and GRU runs, kept and reused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from accident_anticipation_ros.training.ablate import (
    DEFAULT_VARIANTS,
    plan_ablation,
    run_ablation,
    seed_summary_table,
)
from accident_anticipation_ros.training.ablate_stream import STREAM_COLUMNS
from accident_anticipation_ros.training.errors import TrainingError

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def drive(tmp_path_factory) -> Path:
    """A 30-second 32x32 drive: a near miss and an accident (``synth --drive``)."""
    from accident_anticipation_ros.training.synth.drive import generate_drive
    from accident_anticipation_ros.training.synth.drive_config import make_drive_config

    root = tmp_path_factory.mktemp("drive") / "d"
    cfg = make_drive_config("ccd", size=32, duration=30.0, lead_in=(2.0, 3.0), safe_gap=(3.0, 4.0),
                            accident_fraction=0.5)  # fmt: skip
    generate_drive(cfg, 4, root)
    return root


STATEFUL = {"stateful": {"enabled": True, "chunk_len": 6, "burn_in_max": 5, "stream_clips": [2, 3]}}
NO_TEACHER = list(DEFAULT_VARIANTS["no_distillation"])  # quicker: no teacher targets to cache
VARIANTS = {"tsd": NO_TEACHER, "gru": ["student.arch=gru", *NO_TEACHER]}


def _ablation(make_config, tmp_path, **extra) -> Path:
    """An ablation YAML over the tiny config, trained with the carried state as ablation_stream.yaml is."""
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(make_config(train=STATEFUL)))
    path = tmp_path / "ablation.yaml"
    path.write_text(yaml.safe_dump({"base": str(base), "overrides": ["train.max_steps=1"], **extra}))
    return path


def test_stream_ablation_scores_tsd_and_gru_runs_and_reuses_them(make_config, drive, tmp_path, monkeypatch):
    ablation = _ablation(make_config, tmp_path, stream_data=str(drive), variants=VARIANTS)
    out = tmp_path / "ablation"
    rows = run_ablation(ablation, out, progress=False)
    for row in rows:
        assert set(row["stream"]) == set(STREAM_COLUMNS) and row["stream_data"] == str(drive)
        assert 0.0 <= row["stream"]["stream_ap"] <= 1.0 and 0.0 <= row["stream"]["fresh_ap"] <= 1.0
        assert row["stream_report"]["resets"] == 1 and row["stream_report"]["accidents"] >= 1
        assert json.loads((out / row["variant"] / "best/tsd-test.json").read_text())["train"]["stateful"]
    table = (out / "ablation.md").read_text()
    assert all(title in table for title, _, _ in STREAM_COLUMNS.values())
    assert "| gru |" in table and "| tsd |" in table and f"drive `{drive}`" in table
    assert json.loads((out / "ablation.json").read_text())[1]["stream"] == rows[1]["stream"]
    kept = sorted((out / "gru").glob("stream-*.json"))
    assert len(kept) == 1 and kept[0].with_suffix(".npz").is_file()
    assert json.loads(kept[0].read_text())["info"]["state_specs"].keys() == {"gru.h"}
    stamp = kept[0].stat().st_mtime_ns

    def nothing_new(*args, **kwargs):
        raise AssertionError("trained or streamed again")

    monkeypatch.setattr("accident_anticipation_ros.training.trainer.Trainer.fit", nothing_new)
    monkeypatch.setattr(
        "accident_anticipation_ros.training.student_backend.StudentBackend.__init__", nothing_new
    )
    again = run_ablation(ablation, out, progress=False)
    assert kept[0].stat().st_mtime_ns == stamp
    assert [r["stream"] for r in again] == [r["stream"] for r in rows]  # recomputed from the kept outputs


def test_missing_drive_fails_before_any_training(make_config, tmp_path, monkeypatch, capsys):
    from accident_anticipation_ros.tools.ablate import main

    monkeypatch.setattr("accident_anticipation_ros.training.trainer.Trainer.fit", lambda self: 1 / 0)
    argv = [
        "--config",
        str(_ablation(make_config, tmp_path)),
        "--out",
        str(tmp_path / "out"),
        "--no-progress",
    ]
    assert main([*argv, "--variants", "gru", "--stream-data", str(tmp_path / "none")]) == 1
    assert "stream_data" in capsys.readouterr().err and not (tmp_path / "out").exists()
    with pytest.raises(TrainingError, match="no drive.json"):
        run_ablation(
            _ablation(make_config, tmp_path, stream_data=str(tmp_path)), tmp_path / "out", progress=False
        )


def test_seed_table_has_the_mean_and_sd_of_the_streaming_metrics():
    stream = dict.fromkeys(STREAM_COLUMNS, 0.5)
    rows = [{"variant": "full", "seed": s, "test": {"ap": 0.5}, "val": {"ap": 0.5},
             "stream": {**stream, "alerts_per_hour": 10.0 + 2 * s}} for s in (0, 1)]  # fmt: skip
    table = seed_summary_table(rows, "test")
    header, _, line = table.splitlines()
    assert all(title in header for title, _, _ in STREAM_COLUMNS.values())
    assert "| 11.0 +- 1.4 |" in line and "| 50.0 +- 0.0 |" in line and line.endswith("| 2 |")


def test_stream_config_plans_four_variants_over_three_seeds(tmp_path, monkeypatch):
    shutil.copytree(ROOT / "configs", tmp_path / "configs")  # its paths are relative to the repository root
    (tmp_path / "runs/data/synth-ccd-128").mkdir(parents=True)  # the inputs it checks: stand-ins
    (tmp_path / "runs/teacher-synth").mkdir()
    for name in ("teacher.safetensors", "teacher.json"):
        (tmp_path / "runs/teacher-synth" / name).touch()
    monkeypatch.chdir(tmp_path)
    ab, runs = plan_ablation("configs/ablation_stream.yaml", "out", progress=False)
    assert ab.stream_data == "runs/streaming/drive-ccd-31min-s0"
    assert [(r.variant, r.seed) for r in runs[:4]] == [("full", 0), ("no_distillation", 0), ("stateless", 0),
                                                       ("gru", 0)]  # fmt: skip
    assert len(runs) == 12 and {r.seed for r in runs} == {0, 1, 2}
    cfg = {r.variant: r.config for r in runs if r.seed == 0}
    assert cfg["full"].train.stateful.enabled and cfg["full"].train.epochs == 5
    assert not cfg["stateless"].train.stateful.enabled and cfg["stateless"].train.epochs == 8
    assert cfg["gru"].student.arch == "gru" and cfg["gru"].train.stateful.enabled
    assert runs[1].overrides == DEFAULT_VARIANTS["no_distillation"]
    loss = cfg["no_distillation"].loss
    assert not (loss.spatial.enabled or loss.temporal.enabled or loss.contrastive.enabled)
    assert all(not r.config.train.export_onnx for r in runs)
