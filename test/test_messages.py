"""The package's messages over real DDS: two processes, every field intact."""

from __future__ import annotations

import json
import math

import pytest

pytestmark = pytest.mark.ros


def test_accident_risk_crosses_dds_intact(ros_env, run_script):
    talker = run_script("risk_talker.py", env=ros_env)
    listener = run_script("risk_listener.py", env=ros_env)
    out, err = listener.communicate(timeout=60)
    assert listener.returncode == 0, f"listener got nothing; stderr:\n{err}\ntalker alive: {talker.poll()}"
    got = json.loads(out.strip().splitlines()[-1])
    assert got["header"] == {
        "stamp": {"sec": 1_700_000_123, "nanosec": 456_789_000},
        "frame_id": "cam_front_optical",
    }
    assert got["camera"] == "cam_front"
    assert got["probability"] == 0.8125  # exactly representable in float32
    assert got["probability_smoothed"] == 0.625
    assert got["level"] == 2
    assert got["alert"] is True
    assert math.isclose(got["time_to_accident"], 1.75)
    assert got["frames_since_reset"] == 4_000_000_000  # needs the full uint32 range
    assert got["state_reset"] is True
    assert got["reset_reason"] == "time_jump_back"
    assert got["latency_ms"] == 12.5
    assert got["frames_dropped"] == 3
    assert got["cause"] == "cut_in"
    assert got["cause_confidence"] == 0.75
    assert got["out_of_domain"] is True
    assert got["domain_score"] == 23.5


def test_message_constants_and_fields():
    from accident_anticipation_ros.msg import AccidentLabel, AccidentRisk, AnticipationInfo

    assert (AccidentRisk.LEVEL_LOW, AccidentRisk.LEVEL_MEDIUM, AccidentRisk.LEVEL_HIGH) == (0, 1, 2)
    assert {
        "header",
        "camera",
        "probability",
        "probability_smoothed",
        "level",
        "alert",
        "time_to_accident",
        "frames_since_reset",
        "state_reset",
        "latency_ms",
    } <= set(AccidentRisk.get_fields_and_field_types())
    risk_types = AccidentRisk.get_fields_and_field_types()
    assert {k: risk_types[k] for k in ("cause", "cause_confidence", "out_of_domain", "domain_score")} == {
        "cause": "string",
        "cause_confidence": "float",
        "out_of_domain": "boolean",
        "domain_score": "float",
    }
    risk = AccidentRisk()  # defaults of a fresh message: no cause, in domain
    assert risk.cause == "" and risk.out_of_domain is False
    assert {
        "header",
        "model_name",
        "model_hash",
        "backend",
        "input_width",
        "input_height",
        "assumed_fps",
        "threshold_medium",
        "threshold_high",
    } <= set(AnticipationInfo.get_fields_and_field_types())
    info_types = AnticipationInfo.get_fields_and_field_types()
    assert {k: info_types[k] for k in ("training_domain", "causes", "domain_threshold")} == {
        "training_domain": "string",
        "causes": "sequence<string>",
        "domain_threshold": "float",
    }
    assert {"header", "clip_id", "label", "time_of_accident", "fps", "cause"} <= set(
        AccidentLabel.get_fields_and_field_types()
    )
