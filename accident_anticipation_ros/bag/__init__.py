"""Evaluation bags: clips written as rosbag2 bags and recorded risk streams read back (``rosbags``).

Nothing here imports rclpy: bags are written and read with the pure-Python ``rosbags`` library
(rosbag2 metadata version 9, cdr, mcap or sqlite3 storage), so the tools run on machines without ROS.
Submodules: ``types`` (typestore with this package's messages), ``writer`` (``write_clips_bag``),
``continuous`` (``write_continuous_bag``: clips back to back as one stream), ``reader``
(``read_clips_bag``, ``read_risk_bag``), ``errors`` (``BagError``), ``cli``
(``accident-anticipation bag-from-clips``). The frame stamp layout and all stamp arithmetic live in
``accident_anticipation_ros.stamps``.
"""
