"""Typed configs from YAML: strict keys, clear errors naming the key and the file, the shipped configs."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from accident_anticipation_ros.training.config import load_train_config
from accident_anticipation_ros.training.errors import TrainConfigError

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def _write(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_builds_typed_frozen_config(tmp_path, make_config):
    cfg = load_train_config(_write(tmp_path / "c.yaml", make_config()))
    assert cfg.data.window == 8 and cfg.train.batch_size == 2
    assert cfg.loss.temporal.shift == 1 and cfg.loss.mask.ratio == 0.3  # defaults of the method
    assert cfg.loss.contrastive.prompts == (
        "a red car closes in fast",
        "a red car waits ahead",
        "an empty road",
    )
    with pytest.raises(AttributeError):
        cfg.train.epochs = 3  # frozen


@pytest.mark.parametrize(
    ("section", "value", "key"),
    [
        ("loss", {"spatail": {"enabled": False}}, "loss.spatail"),
        ("loss", {"temporal": {"shfit": 2}}, "loss.temporal.shfit"),
        ("train", {"epochz": 3}, "train.epochz"),
        ("bogus", {"x": 1}, "bogus"),
    ],
)
def test_unknown_key_names_key_and_file(tmp_path, make_config, section, value, key):
    path = _write(tmp_path / "bad.yaml", make_config(**{section: value}))
    with pytest.raises(TrainConfigError, match=rf"bad\.yaml: unknown key '{key}'"):
        load_train_config(path)


@pytest.mark.parametrize(
    ("section", "value", "text"),
    [
        ("train", {"batch_size": "four"}, "'train.batch_size' must be an integer"),
        ("loss", {"temporal": {"shift": 0}}, "loss.temporal.shift must be >= 1"),
        ("data", {"resize": "squash"}, "data.resize must be one of"),
        ("loss", {"mask": {"ratio": 1.5}}, r"loss.mask.ratio must be in \[0, 1\)"),
        ("optim", {"betas": [0.9]}, "'optim.betas' must have 2 entries"),
    ],
)
def test_bad_values_name_key_and_file(tmp_path, make_config, section, value, text):
    path = _write(tmp_path / "bad.yaml", make_config(**{section: value}))
    with pytest.raises(TrainConfigError, match=rf"bad\.yaml: .*{text}"):
        load_train_config(path)


def test_bad_paths_name_key_and_file(tmp_path, make_config):
    path = _write(tmp_path / "p.yaml", make_config(data={"root": str(tmp_path / "missing")}))
    with pytest.raises(TrainConfigError, match=r"p\.yaml: data\.root .*missing' does not exist"):
        load_train_config(path)
    path = _write(tmp_path / "q.yaml", make_config(teacher={"checkpoint": str(tmp_path / "nope")}))
    with pytest.raises(
        TrainConfigError, match=r"q\.yaml: teacher\.checkpoint .*nope\.safetensors' does not exist"
    ):
        load_train_config(path)
    with pytest.raises(TrainConfigError, match="config file not found"):
        load_train_config(tmp_path / "absent.yaml")


def test_overrides_are_typed_and_checked(tmp_path, make_config):
    path = _write(tmp_path / "c.yaml", make_config())
    cfg = load_train_config(
        path, ["loss.temporal.shift=3", "train.max_steps=5", "loss.weighting=uncertainty"]
    )
    assert (cfg.loss.temporal.shift, cfg.train.max_steps, cfg.loss.weighting) == (3, 5, "uncertainty")
    with pytest.raises(TrainConfigError, match="unknown key 'loss.temporal.shiftt'"):
        load_train_config(path, ["loss.temporal.shiftt=3"])
    with pytest.raises(TrainConfigError, match="must look like"):
        load_train_config(path, ["loss.temporal.shift"])


@pytest.mark.parametrize(
    "name", ["tsd_s0_dad.yaml", "tsd_s0_ccd.yaml", "tsd_s2_ccd.yaml", "tsd_nano_synth.yaml"]
)
def test_shipped_training_configs_parse(name):
    cfg = load_train_config(CONFIGS / name, check=False)  # the data and weights paths are the user's
    assert cfg.loss.spatial.enabled and cfg.loss.temporal.enabled and cfg.loss.contrastive.enabled
    from accident_anticipation_ros.training.prompts import expand_prompts

    assert len(expand_prompts(cfg.loss.contrastive)) >= 20


def test_shipped_teacher_and_ablation_configs_parse():
    from accident_anticipation_ros.training.ablate import load_ablation
    from accident_anticipation_ros.training.teacher_train import TeacherTrainConfig
    from accident_anticipation_ros.training.yaml_config import build, load_yaml

    teacher = build(TeacherTrainConfig, load_yaml(CONFIGS / "teacher_synth.yaml"), "teacher_synth.yaml")
    student = load_train_config(CONFIGS / "tsd_nano_synth.yaml", check=False)
    assert student.teacher.source == "aar"
    assert Path(student.teacher.checkpoint).parent == teacher.run_dir
    ablation = load_ablation(CONFIGS / "ablation_synth.yaml")
    assert Path(ablation.base).name == "tsd_nano_synth.yaml"


def test_paper_exact_removes_the_additions_and_the_resolved_config_says_so(tmp_path):
    from accident_anticipation_ros.training.config import (
        PAPER_EXACT,
        active_additions,
        train_config_from_dict,
    )
    from accident_anticipation_ros.training.yaml_config import to_dict

    demo = load_train_config(CONFIGS / "tsd_nano_synth.yaml", check=False)  # uses most additions
    on = {a.split(" = ")[0] for a in active_additions(demo)}
    assert {"train.stateful.enabled", "loss.tta.enabled", "loss.risk_map.enabled", "loss.risk_map_mil.enabled",
            "loss.spatial.normalize", "loss.temporal.normalize", "loss.contrastive.level"} <= on  # fmt: skip
    assert not demo.paper_exact

    cfg = load_train_config(CONFIGS / "tsd_nano_synth.yaml", ["paper_exact=true"], check=False)
    assert cfg.paper_exact and active_additions(cfg) == []
    resolved = to_dict(cfg)  # what the trainer writes to run_dir/config.yaml
    assert resolved["paper_exact"] is True
    assert resolved["loss"]["weighting"] == "fixed" and resolved["loss"]["contrastive"]["level"] == "video"
    for term in ("tta", "frequency", "risk_map", "risk_map_mil"):
        assert resolved["loss"][term]["enabled"] is False
    assert resolved["train"]["stateful"]["enabled"] is False
    assert not resolved["loss"]["spatial"]["normalize"] and not resolved["loss"]["temporal"]["normalize"]
    for switch in PAPER_EXACT:
        value = resolved
        for part in switch.key.split("."):
            value = value[part]
        assert value == switch.paper, switch.key
    # the paper's own terms stay as configured
    assert cfg.loss.spatial.enabled and cfg.loss.temporal.enabled and cfg.loss.contrastive.enabled
    assert cfg.loss.accident.enabled and cfg.loss.temporal.shift == 1 and cfg.loss.mask.ratio == 0.3
    # the resolved config reloads to the same config (resume reads it)
    assert train_config_from_dict(resolved, check=False) == cfg

    from accident_anticipation_ros.training.config import DataConfig, TrainConfig

    with pytest.raises(ValueError, match=r"paper_exact is true but .*loss\.tta\.enabled = True"):
        TrainConfig(data=DataConfig(root=str(tmp_path)), paper_exact=True)


def test_paper_exact_run_trains(make_config):
    """The paper's method alone (clip-level contrastive, fixed weights, no extra terms) runs a step."""
    from accident_anticipation_ros.training.config import train_config_from_dict
    from accident_anticipation_ros.training.trainer import Trainer

    cfg = train_config_from_dict({**make_config(train={"max_steps": 1}), "paper_exact": True})
    trainer = Trainer(cfg)
    assert trainer.loss.terms == ["spatial", "temporal", "contrastive", "accident"]
    assert trainer.loss.uncertainty is None
    assert trainer.fit()["steps"] == 1
