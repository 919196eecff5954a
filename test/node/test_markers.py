"""RViz markers of one camera's risk: the label says the level, the time to accident and the cause."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("visualization_msgs.msg", reason="ROS 2 message wheels not installed")


def test_marker_label_names_the_cause_while_alerting():
    from std_msgs.msg import Header

    from accident_anticipation_ros.node.markers import risk_markers

    header = Header(frame_id="cam_optical")
    alerting = risk_markers(header, "cam", 0.72, 2, True, 1.3, cause="cut_in", cause_confidence=0.81)
    assert alerting.markers[0].text == "cam risk 0.72 HIGH, TTA 1.3 s, cause cut_in 81%"
    calm = risk_markers(header, "cam", 0.2, 0, False, math.nan, cause="", out_of_domain=True)
    assert calm.markers[0].text == "cam risk 0.20 LOW (out of domain)"
    assert [m.header.frame_id for m in alerting.markers] == ["cam_optical"] * 3
