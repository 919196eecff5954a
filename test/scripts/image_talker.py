"""Publish N large rgb8 frames best-effort at RATE Hz on TOPIC, then M small ones at 5 Hz; then idle until killed.

    image_talker.py TOPIC WIDTH HEIGHT N RATE M

The small frames after the burst reveal every sequence gap to the subscriber (a loss is only seen
at the next sample), so a counting subscriber sees received + lost == N + M once the last arrives.
"""

import sys
import time

import numpy as np
import rclpy
from rclpy.qos import QoSProfile, ReliabilityPolicy
from sensor_msgs.msg import Image


def frame(width: int, height: int, i: int) -> Image:
    msg = Image(height=height, width=width, encoding="rgb8", step=width * 3)
    msg.header.stamp.sec = 50 + i // 60
    msg.header.stamp.nanosec = (i % 60) * 16_666_666
    msg.data = np.full((height, width, 3), i % 256, np.uint8).tobytes()
    return msg


def main() -> None:
    topic = sys.argv[1]
    width, height, n = (int(a) for a in sys.argv[2:5])
    rate, m = float(sys.argv[5]), int(sys.argv[6])
    rclpy.init()
    node = rclpy.create_node("image_talker")
    pub = node.create_publisher(Image, topic, QoSProfile(depth=1, reliability=ReliabilityPolicy.BEST_EFFORT))
    deadline = time.monotonic() + 60
    while pub.get_subscription_count() == 0 and time.monotonic() < deadline:
        rclpy.spin_once(node, timeout_sec=0.05)
    time.sleep(1.0)  # discovery settles on the subscriber's side too
    large = [frame(width, height, i) for i in range(4)]
    for i in range(n):
        msg = large[i % 4]
        msg.header.stamp = frame(8, 8, i).header.stamp
        pub.publish(msg)
        time.sleep(1.0 / rate)
    for i in range(n, n + m):
        pub.publish(frame(8, 8, i))
        time.sleep(0.2)
    print("done", flush=True)
    while rclpy.ok():
        rclpy.spin_once(node, timeout_sec=0.1)


if __name__ == "__main__":
    main()
