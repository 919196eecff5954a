"""Publish one fully populated AccidentRisk per 0.1 s on /risk until killed or 30 s pass."""

import math
import time

import rclpy
from rclpy.node import Node

from accident_anticipation_ros.msg import AccidentRisk


def make_message() -> AccidentRisk:
    msg = AccidentRisk()
    msg.header.stamp.sec = 1_700_000_123
    msg.header.stamp.nanosec = 456_789_000
    msg.header.frame_id = "cam_front_optical"
    msg.camera = "cam_front"
    msg.probability = 0.8125
    msg.probability_smoothed = 0.625
    msg.level = AccidentRisk.LEVEL_HIGH
    msg.alert = True
    msg.time_to_accident = 1.75
    msg.frames_since_reset = 4_000_000_000
    msg.state_reset = True
    msg.reset_reason = "time_jump_back"
    msg.latency_ms = 12.5
    msg.frames_dropped = 3
    msg.cause = "cut_in"
    msg.cause_confidence = 0.75
    msg.out_of_domain = True
    msg.domain_score = 23.5
    assert not math.isnan(msg.time_to_accident)
    return msg


def main() -> None:
    rclpy.init()
    node = Node("risk_talker")
    pub = node.create_publisher(AccidentRisk, "/risk", 10)
    msg = make_message()
    deadline = time.monotonic() + 30.0
    while rclpy.ok() and time.monotonic() < deadline:
        pub.publish(msg)
        rclpy.spin_once(node, timeout_sec=0.1)
    node.destroy_node()
    rclpy.try_shutdown()


if __name__ == "__main__":
    main()
