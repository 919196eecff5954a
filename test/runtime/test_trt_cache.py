"""The TensorRT engine cache: key, plan naming, sidecar and staleness (pure Python, no TensorRT needed)."""

from __future__ import annotations

import dataclasses

import pytest

from accident_anticipation_ros.runtime.backend import ModelInfo
from accident_anticipation_ros.runtime.errors import BackendError
from accident_anticipation_ros.runtime.onnx_contract import read_model_info
from accident_anticipation_ros.runtime.trt_cache import (
    EngineKey,
    cached_plan_is_current,
    plan_path,
    read_sidecar,
    sidecar_path,
    verified_plan_bytes,
    write_plan,
    write_sidecar,
)

KEY = EngineKey(onnx_sha256="ab" * 32, tensorrt_version="10.3.0", gpu="Orin sm_87", precision="fp16")


@pytest.mark.parametrize(
    "field, value",
    [
        ("onnx_sha256", "cd" * 32),
        ("tensorrt_version", "10.3.1"),
        ("gpu", "NVIDIA H100 sm_90"),
        ("precision", "fp32"),
    ],
)
def test_key_changes_with_each_component(field, value):
    other = dataclasses.replace(KEY, **{field: value})
    assert other.digest != KEY.digest
    assert dataclasses.replace(KEY).digest == KEY.digest  # deterministic


def test_key_flags_name_the_fp32_state_policy():
    assert KEY.flags == "fp16+obey-constraints+fp32-state"
    assert dataclasses.replace(KEY, precision="fp32").flags == "fp32"


def test_plan_path_naming(tmp_path):
    path = plan_path(tmp_path, "tsd-nano", KEY)
    assert path == tmp_path / f"tsd-nano-fp16-{KEY.digest}.plan"
    assert sidecar_path(path) == tmp_path / f"tsd-nano-fp16-{KEY.digest}.json"
    assert plan_path(tmp_path, "../evil name", KEY).parent == tmp_path  # no path escapes from the name
    assert plan_path("~/engines", "m", KEY).parts[:2] != ("~", "engines")  # ~ is expanded


def test_sidecar_round_trip_and_staleness(tmp_path, toy_onnx):
    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path, info.model_name, KEY)
    assert not cached_plan_is_current(plan, KEY)
    plan.write_bytes(b"engine")
    assert not cached_plan_is_current(plan, KEY)  # no sidecar yet
    write_sidecar(plan, info, KEY)
    got, key = read_sidecar(plan)
    assert got == info and key["digest"] == KEY.digest and key["tensorrt_version"] == "10.3.0"
    assert cached_plan_is_current(plan, KEY)
    assert not cached_plan_is_current(plan, dataclasses.replace(KEY, tensorrt_version="10.4.0"))


def test_plan_without_sidecar_is_refused(tmp_path):
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"engine")
    with pytest.raises(BackendError, match="no sidecar model.json"):
        read_sidecar(plan)
    sidecar_path(plan).write_text("{broken")
    with pytest.raises(BackendError, match="unreadable plan sidecar"):
        read_sidecar(plan)


def test_written_plan_is_current_until_the_key_changes(tmp_path, toy_onnx):
    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path / "cache", info.model_name, KEY)
    write_plan(plan, b"serialized engine", info, KEY)
    assert plan.read_bytes() == b"serialized engine"
    assert cached_plan_is_current(plan, KEY)
    assert not cached_plan_is_current(plan, dataclasses.replace(KEY, gpu="Orin sm_87 (other board)"))
    assert sorted(p.name for p in plan.parent.iterdir()) == sorted([plan.name, sidecar_path(plan).name])


def test_model_info_survives_the_sidecar_exactly(tmp_path, tsd_test):
    info = read_model_info(tsd_test.onnx)
    plan = tmp_path / "x.plan"
    write_sidecar(plan, info, None)
    assert read_sidecar(plan) == (info, None)
    assert isinstance(read_sidecar(plan)[0], ModelInfo)


def test_a_written_plan_verifies_and_its_bytes_are_what_tensorrt_gets(tmp_path, toy_onnx):
    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path, info.model_name, KEY)
    write_plan(plan, b"serialized engine", info, KEY)
    assert verified_plan_bytes(plan, KEY) == b"serialized engine"
    assert verified_plan_bytes(plan) == b"serialized engine"  # a plan passed by path: no key to compare


def test_a_tampered_plan_is_refused_before_deserialisation_and_the_cache_entry_is_stale(tmp_path, toy_onnx):
    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path, info.model_name, KEY)
    write_plan(plan, b"serialized engine", info, KEY)
    plan.write_bytes(b"serialized engine + injected code")
    with pytest.raises(BackendError, match=r"\(tampered or damaged\); refusing to deserialise"):
        verified_plan_bytes(plan, KEY)
    assert not cached_plan_is_current(plan, KEY)  # the backend rebuilds it instead of loading it


def test_a_tampered_sidecar_is_refused(tmp_path, toy_onnx):
    import json

    info = read_model_info(toy_onnx)
    plan = plan_path(tmp_path, info.model_name, KEY)
    write_plan(plan, b"serialized engine", info, KEY)
    data = json.loads(sidecar_path(plan).read_text())
    other = dict(data, engine_key=dataclasses.replace(KEY, gpu="another GPU").to_json())
    sidecar_path(plan).write_text(json.dumps(other))
    with pytest.raises(BackendError, match="engine key .* is not the expected"):
        verified_plan_bytes(plan, KEY)
    assert not cached_plan_is_current(plan, KEY)
    # A sidecar rewritten to match a replaced plan but without its hash is refused too.
    sidecar_path(plan).write_text(json.dumps(dict(data, plan_sha256=None)))
    with pytest.raises(BackendError, match="records no plan_sha256"):
        verified_plan_bytes(plan)
    sidecar_path(plan).write_text(json.dumps(dict(data, plan_sha256="0" * 64)))
    with pytest.raises(BackendError, match="refusing to deserialise"):
        verified_plan_bytes(plan, KEY)


def test_tensorrt_deserialises_only_verified_bytes():
    """Every deserialize_cuda_engine call in the package takes verified_plan_bytes(...) (source check:
    the call itself needs TensorRT and a GPU)."""
    import re
    from pathlib import Path

    import accident_anticipation_ros

    root = Path(accident_anticipation_ros.__file__).parent
    calls = []
    for path in root.rglob("*.py"):
        calls += re.findall(r"deserialize_cuda_engine\(([^)]*\)?)", path.read_text())
    assert calls, "no deserialize_cuda_engine call found: the check is stale"
    assert all(arg.startswith("verified_plan_bytes(") for arg in calls), calls
