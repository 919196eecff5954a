"""Entry point of ``anticipation_node``: spin the lifecycle node, autostarting it unless told not to."""

from __future__ import annotations

import os
import sys

import rclpy
from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
from rclpy.lifecycle import TransitionCallbackReturn

from accident_anticipation_ros.dds_profile import apply_default_profile
from accident_anticipation_ros.node.anticipation_node import AnticipationNode


def main(argv: list[str] | None = None) -> int:
    profile = apply_default_profile(os.environ)  # before the first participant: large frames by default
    rclpy.init(args=sys.argv if argv is None else argv)
    node = AnticipationNode()
    node.get_logger().info(profile)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    # A failed configure leaves the node unconfigured (its reason is logged); it can be
    # configured again over the lifecycle services once the parameters are fixed.
    if node.get_parameter("autostart").value and node.trigger_configure() == TransitionCallbackReturn.SUCCESS:
        node.trigger_activate()
    try:
        executor.spin()
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        node.close()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
