"""The ROS 2 glue: the lifecycle node and its message builders (the only rclpy users of the runtime)."""
