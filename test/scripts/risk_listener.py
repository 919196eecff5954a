"""Print the first AccidentRisk received on /risk as JSON (every field), then exit; exit 1 after 30 s."""

import json
import sys
import time

import rclpy
from rclpy.node import Node

from accident_anticipation_ros.msg import AccidentRisk


def to_dict(msg):
    """Every field of a ROS message, recursively (rosidl_runtime_py is not among the wheels)."""
    if not hasattr(msg, "get_fields_and_field_types"):
        return msg
    return {name: to_dict(getattr(msg, name)) for name in msg.get_fields_and_field_types()}


def main() -> int:
    rclpy.init()
    node = Node("risk_listener")
    received: list[AccidentRisk] = []
    node.create_subscription(AccidentRisk, "/risk", received.append, 10)
    deadline = time.monotonic() + 30.0
    while not received and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.1)
    if received:
        print(json.dumps(to_dict(received[0])), flush=True)
    node.destroy_node()
    rclpy.try_shutdown()
    return 0 if received else 1


if __name__ == "__main__":
    sys.exit(main())
