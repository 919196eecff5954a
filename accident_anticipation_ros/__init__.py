"""Real-time accident anticipation for ROS 2 dashcam streams (TSD student network)."""

__version__ = "0.1.0"
