"""Node parameters: one typed schema, validated, documented in config/anticipation.yaml."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest
import yaml

from accident_anticipation_ros import parameters
from accident_anticipation_ros.parameters import NodeParams, ParameterError, camera_name_from_topic

REPO = Path(__file__).resolve().parents[1]


def test_yaml_documents_every_parameter_with_its_default():
    doc = yaml.safe_load((REPO / "config" / "anticipation.yaml").read_text())
    values = doc["/**"]["ros__parameters"]
    assert list(values) == list(parameters.defaults())
    built = parameters.from_values(values)
    assert built == NodeParams()  # [""] for camera_names means "derive from the topics"


def test_every_parameter_has_a_description():
    assert set(parameters.DESCRIPTIONS) == {f.name for f in fields(NodeParams)}


@pytest.mark.parametrize(
    ("topic", "name"),
    [
        ("/cam_front/image_raw", "cam_front"),
        ("/cam_front/image_raw/compressed", "cam_front"),
        ("/vehicle/cam-left/image_rect_color", "vehicle_cam_left"),
        ("/image", "image"),
        ("dashcam", "dashcam"),
    ],
)
def test_camera_names_derive_from_topics(topic, name):
    assert camera_name_from_topic(topic) == name


def test_compressed_topics_follow_image_transport():
    assert parameters.is_compressed_topic("/cam/image_raw/compressed")
    assert not parameters.is_compressed_topic("/cam/image_raw")


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"backend": "cuda"}, "parameter 'backend' must be one of"),
        ({"reliability": "sometimes"}, "parameter 'reliability'"),
        ({"threshold_medium": 0.7, "threshold_high": 0.6}, "must not exceed threshold_high"),
        ({"alert_on": 0.3, "alert_off": 0.5}, "(hysteresis)"),
        ({"camera_topics": ["/a", "/b"], "camera_names": ["x"]}, "1 names for 2 camera_topics"),
        ({"camera_topics": ["/a", "/a"]}, "duplicate"),
        ({"camera_topics": []}, "needs at least one topic"),
        ({"max_gap": 0.0}, "parameter 'max_gap' must be > 0"),
        ({"rise_rate": 1.5}, "parameter 'rise_rate' must be in [0, 1]"),
        ({"depth": 0}, "parameter 'depth'"),
        ({"opencv_threads": -1}, "parameter 'opencv_threads' must be >= 0"),
        ({"no_such_thing": 1}, "unknown parameter(s): ['no_such_thing']"),
    ],
)
def test_bad_values_name_the_parameter(values, message):
    with pytest.raises(ParameterError) as err:
        parameters.from_values(values)
    assert message in str(err.value)


def test_colliding_derived_names_are_an_error():
    p = parameters.from_values({"camera_topics": ["/cam/image_raw", "/cam/image_raw/compressed"]})
    with pytest.raises(ParameterError, match="collide"):
        _ = p.cameras


def test_explicit_names_pair_with_topics():
    p = parameters.from_values(
        {"camera_topics": ["/x/image_raw", "/y/image_raw"], "camera_names": ["front", "rear"]}
    )
    assert p.cameras == [("front", "/x/image_raw"), ("rear", "/y/image_raw")]


def test_align_to_model_fps_reaches_the_session_config():
    assert NodeParams().align_to_model_fps is True and NodeParams().session_config().align_to_model_fps
    off = parameters.from_values({"align_to_model_fps": False})
    assert off.session_config().align_to_model_fps is False


def test_backend_options_name_threads_when_set_and_spinning_for_onnxruntime_only():
    assert NodeParams().backend_options() == {"allow_spinning": False}
    assert NodeParams(backend="onnxruntime", num_threads=2, allow_spinning=True).backend_options() == {
        "threads": 2,
        "allow_spinning": True,
    }
    assert NodeParams(backend="torch", num_threads=1).backend_options() == {"threads": 1}
    assert NodeParams(backend="tensorrt").backend_options() == {}
