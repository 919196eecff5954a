from __future__ import annotations

import json

import pytest

from accident_anticipation_ros.model.config import StudentConfig, get_config, list_configs
from accident_anticipation_ros.model.errors import ConfigError


@pytest.mark.parametrize("name", ["tsd-s0", "tsd-s2", "tsd-nano", "tsd-test"])
def test_named_config_json_round_trip(name):
    cfg = get_config(name)
    assert cfg.name == name
    back = StudentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg
    assert isinstance(back.image_size, tuple)


def test_named_configs_listed():
    assert {"tsd-s0", "tsd-s2", "tsd-nano", "tsd-test"} <= set(list_configs())


def test_s0_matches_mobileclip_s0_trunk():
    cfg = get_config("tsd-s0")
    assert cfg.widths == (64, 128, 256) and cfg.depths == (2, 6, 10) and cfg.mlp_ratio == 3.0
    assert cfg.rwkv_dim == 8 * 64 and cfg.rwkv_layers == 6 and cfg.image_size == (256, 256)
    assert cfg.grid == (8, 8)


def test_s2_matches_mobileclip_s2_trunk():
    """timm ``fastvit_mci2`` (MobileCLIP-S2's image tower): widths 80/160/320, depths 4/12/24, mlp ratio 3."""
    import timm

    cfg = get_config("tsd-s2")
    mci2 = timm.create_model("fastvit_mci2", pretrained=False)
    assert cfg.widths == tuple(f["num_chs"] for f in mci2.feature_info[:3]) == cfg.teacher_dims
    assert cfg.depths == tuple(len(s.blocks) for s in mci2.stages[:3]) == (4, 12, 24)
    assert cfg.rwkv_dim == 8 * 80 == mci2.feature_info[3]["num_chs"] and cfg.rwkv_layers == 6
    assert cfg.image_size == (256, 256) and cfg.grid == (8, 8) and cfg.mlp_ratio == 3.0


def test_overrides_and_unknown_names():
    cfg = get_config("tsd-nano", teacher_dims=(1, 2, 3))
    assert cfg.teacher_dims == (1, 2, 3) and cfg.rwkv_dim == get_config("tsd-nano").rwkv_dim
    with pytest.raises(ConfigError, match="unknown student config 'tsd-huge'"):
        get_config("tsd-huge")
    with pytest.raises(ConfigError, match="bogus"):
        get_config("tsd-nano", bogus=1)


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("image_size", (100, 128), "image_size"),
        ("window_size", 3, "window_size"),
        ("rwkv_dim", 31, "rwkv_dim"),
        ("mask_ratio", 1.0, "mask_ratio"),
        ("spatial_kernel", 2, "spatial_kernel"),
    ],
)
def test_invalid_fields_are_named(field, value, match):
    with pytest.raises(ConfigError, match=match):
        get_config("tsd-test", **{field: value})


def test_from_dict_is_strict_and_names_the_source():
    data = get_config("tsd-test").to_dict()
    with pytest.raises(ConfigError, match=r"model\.json: unknown student config field\(s\) \['extra'\]"):
        StudentConfig.from_dict({**data, "extra": 1}, source="model.json")
    del data["widths"]
    with pytest.raises(ConfigError, match=r"model\.json: missing student config field\(s\) \['widths'\]"):
        StudentConfig.from_dict(data, source="model.json")
