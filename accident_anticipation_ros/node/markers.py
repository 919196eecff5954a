"""RViz markers for one camera's risk: a text label and a risk gauge in the camera's frame."""

from __future__ import annotations

import math

from builtin_interfaces.msg import Duration
from std_msgs.msg import ColorRGBA, Header
from visualization_msgs.msg import Marker, MarkerArray

from accident_anticipation_ros.stamps import seconds_to_ns, split_ns
from accident_anticipation_ros.visualization import LEVEL_NAMES, cause_text, level_color

# Placement in the camera's optical frame (x right, y down, z forward), metres.
GAUGE_DISTANCE = 4.0
GAUGE_HEIGHT = 1.0
GAUGE_X = -1.2


def risk_markers(
    header: Header,
    camera: str,
    probability_smoothed: float,
    level: int,
    alert: bool,
    time_to_accident: float,
    lifetime_s: float = 1.0,
    cause: str = "",
    cause_confidence: float = math.nan,
    out_of_domain: bool = False,
) -> MarkerArray:
    """Text ("cam_front risk 0.72 HIGH, TTA 1.3 s, cause cut_in 81%"), an empty gauge frame and its
    fill, in ``header.frame_id``. The cause is shown while alerting; "(out of domain)" on such frames."""
    r, g, b = (c / 255.0 for c in level_color(level))
    sec, nanosec = split_ns(seconds_to_ns(lifetime_s))
    life = Duration(sec=sec, nanosec=nanosec)
    p = min(max(float(probability_smoothed), 0.0), 1.0)

    text = Marker(header=header, ns=f"{camera}/risk", id=0, type=Marker.TEXT_VIEW_FACING, action=Marker.ADD)
    text.pose.position.x, text.pose.position.y, text.pose.position.z = 0.0, -0.9, GAUGE_DISTANCE
    text.pose.orientation.w = 1.0
    text.scale.z = 0.25
    text.color = ColorRGBA(r=r, g=g, b=b, a=1.0)
    label = f"{camera} risk {p:.2f} {LEVEL_NAMES[max(0, min(level, 2))]}"
    if alert and math.isfinite(time_to_accident):
        label += f", TTA {time_to_accident:.1f} s"
    label += cause_text(alert, cause, cause_confidence, out_of_domain)
    text.text = label
    text.lifetime = life

    frame = Marker(header=header, ns=f"{camera}/risk", id=1, type=Marker.CUBE, action=Marker.ADD)
    frame.pose.position.x, frame.pose.position.y, frame.pose.position.z = GAUGE_X, 0.0, GAUGE_DISTANCE + 0.01
    frame.pose.orientation.w = 1.0
    frame.scale.x, frame.scale.y, frame.scale.z = 0.22, GAUGE_HEIGHT, 0.01
    frame.color = ColorRGBA(r=0.2, g=0.2, b=0.2, a=0.6)
    frame.lifetime = life

    fill = Marker(header=header, ns=f"{camera}/risk", id=2, type=Marker.CUBE, action=Marker.ADD)
    height = max(p * GAUGE_HEIGHT, 1e-3)
    # The fill grows upwards (towards -y) from the bottom of the frame.
    fill.pose.position.x, fill.pose.position.y = GAUGE_X, GAUGE_HEIGHT / 2 - height / 2
    fill.pose.position.z = GAUGE_DISTANCE
    fill.pose.orientation.w = 1.0
    fill.scale.x, fill.scale.y, fill.scale.z = 0.2, height, 0.02
    fill.color = ColorRGBA(r=r, g=g, b=b, a=0.9 if alert else 0.7)
    fill.lifetime = life
    return MarkerArray(markers=[text, frame, fill])
