"""The node plus RViz showing its overlay and markers (for watching a replayed bag).

    ros2 launch accident_anticipation_ros replay.launch.py camera_topic:=/camera/image_raw
    ros2 bag play my_drive.mcap          # in another terminal

Includes anticipation.launch.py with the same arguments.
"""

import os

from launch import LaunchDescription
from launch.actions import (
    DeclareLaunchArgument,
    IncludeLaunchDescription,
    OpaqueFunction,
    SetEnvironmentVariable,
)
from launch.conditions import IfCondition
from launch.launch_description_sources import PythonLaunchDescriptionSource
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

PACKAGE = "accident_anticipation_ros"

# Fast DDS reads the first of these (2.x: Humble, Jazzy; 3.x: Kilted) when a process starts.
PROFILE_VARS = ["FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"]


def _large_image_profile(context):
    """The package's Fast DDS profile (8 MiB shared-memory segments for large frames) for every process
    this launch starts, unless the environment names one (even empty: Fast DDS's own defaults)."""
    if any(var in os.environ for var in PROFILE_VARS):
        return []
    profile = os.path.join(FindPackageShare(PACKAGE).perform(context), "config", "fastdds_large_images.xml")
    return [SetEnvironmentVariable(var, profile) for var in PROFILE_VARS]


def generate_launch_description() -> LaunchDescription:
    share = FindPackageShare(PACKAGE)
    passthrough = ("camera_topic", "model", "backend", "params_file", "namespace")
    anticipation = IncludeLaunchDescription(
        PythonLaunchDescriptionSource(PathJoinSubstitution([share, "launch", "anticipation.launch.py"])),
        launch_arguments={name: LaunchConfiguration(name) for name in passthrough}.items(),
    )
    return LaunchDescription(
        [
            OpaqueFunction(function=_large_image_profile),  # before the node and RViz start
            DeclareLaunchArgument("camera_topic", default_value="/camera/image_raw"),
            DeclareLaunchArgument(
                "model", default_value=PathJoinSubstitution([share, "models", "tsd-nano.onnx"])
            ),
            DeclareLaunchArgument("backend", default_value="auto"),
            DeclareLaunchArgument(
                "params_file", default_value=PathJoinSubstitution([share, "config", "anticipation.yaml"])
            ),
            DeclareLaunchArgument("namespace", default_value=""),
            DeclareLaunchArgument("rviz", default_value="true", description="start RViz"),
            anticipation,
            Node(
                package="rviz2",
                executable="rviz2",
                name="rviz2",
                arguments=["-d", PathJoinSubstitution([share, "config", "anticipation.rviz"])],
                condition=IfCondition(LaunchConfiguration("rviz")),
                output="screen",
            ),
        ]
    )
