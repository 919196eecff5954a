"""The ablation command on the tiny fixture: variants train, are scored on test, and land in a table."""

from __future__ import annotations

import json

import pytest
import yaml

from accident_anticipation_ros.training.ablate import DEFAULT_VARIANTS, run_ablation
from accident_anticipation_ros.training.errors import TrainingError


def test_default_variants_switch_the_paper_terms():
    assert set(DEFAULT_VARIANTS) == {
        "full",
        "no_contrastive",
        "spatial_only",
        "temporal_only",
        "no_distillation",
        "gru",
    }
    assert "loss.temporal.enabled=false" in DEFAULT_VARIANTS["spatial_only"]
    assert "loss.spatial.enabled=false" in DEFAULT_VARIANTS["temporal_only"]
    assert DEFAULT_VARIANTS["gru"] == ("student.arch=gru",)


def test_ablation_runs_variants_and_writes_the_table(make_config, tmp_path, capsys):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(make_config()))
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(yaml.safe_dump({"base": str(base), "overrides": ["train.max_steps=2"]}))
    out = tmp_path / "ablation"
    rows = run_ablation(ablation, out, only=["no_distillation", "gru"], progress=False)
    assert [r["variant"] for r in rows] == ["no_distillation", "gru"]
    assert rows[1]["params"] != rows[0]["params"]  # GRU stage vs RWKV stage
    table = (out / "ablation.md").read_text()
    assert "| no_distillation |" in table and "| gru |" in table and "TTA@R80" in table
    assert json.loads((out / "ablation.json").read_text())[0]["test"].keys() >= {"ap", "mtta", "tta_r80"}
    stamp = (out / "gru/summary.json").stat().st_mtime_ns
    run_ablation(ablation, out, only=["gru"], progress=False)  # finished variants are not retrained
    assert (out / "gru/summary.json").stat().st_mtime_ns == stamp
    with pytest.raises(TrainingError, match="unknown variant"):
        run_ablation(ablation, out, only=["nope"], progress=False)


def test_ablation_over_seeds_aggregates_and_reuses_scores(make_config, synth_root, tmp_path):
    base = tmp_path / "base.yaml"
    base.write_text(yaml.safe_dump(make_config()))
    ablation = tmp_path / "ablation.yaml"
    ablation.write_text(
        yaml.safe_dump({"base": str(base), "overrides": ["train.max_steps=1"], "seeds": [0, 1]})
    )
    out = tmp_path / "ablation"
    rows = run_ablation(ablation, out, only=["no_distillation"], progress=False, test_data=synth_root)
    assert [(r["variant"], r["seed"]) for r in rows] == [("no_distillation", 0), ("no_distillation", 1)]
    assert (out / "no_distillation/summary.json").is_file() and (
        out / "seed1/no_distillation/summary.json"
    ).is_file()
    assert all(r["test_data"] == str(synth_root) for r in rows)
    table = (out / "ablation.md").read_text()
    assert "| no_distillation | 0 |" in table and "| no_distillation | 1 |" in table
    assert "+-" in table and table.rstrip().endswith("| 2 |")  # the mean over two seeds
    scores = sorted((out / "seed1/no_distillation").glob("eval-test-*.json"))
    assert len(scores) == 1 and scores[0].with_suffix(".npz").is_file()
    stamp = scores[0].stat().st_mtime_ns
    again = run_ablation(
        ablation, out, only=["no_distillation"], progress=False, seeds=[1], test_data=synth_root
    )
    assert scores[0].stat().st_mtime_ns == stamp  # scored once, reused
    assert again[0]["test"] == rows[1]["test"]
