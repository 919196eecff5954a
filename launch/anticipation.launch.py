"""Start anticipation_node with the package's parameter file.

    ros2 launch accident_anticipation_ros anticipation.launch.py \
        camera_topic:=/cam_front/image_raw model:=/path/to/tsd-nano.onnx backend:=auto

Arguments override the parameter file; a camera_topic ending in /compressed subscribes to
sensor_msgs/CompressedImage. Several cameras: set camera_topics in your own params_file.
"""

import os

from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.conditions import IfCondition, UnlessCondition
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import LifecycleNode, Node
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
    args = [
        DeclareLaunchArgument("camera_topic", default_value="/camera/image_raw", description="image topic"),
        DeclareLaunchArgument(
            "model",
            default_value=PathJoinSubstitution([share, "models", "tsd-nano.onnx"]),
            description="ONNX model or TensorRT engine",
        ),
        DeclareLaunchArgument(
            "backend", default_value="auto", description="auto, tensorrt, onnxruntime or torch"
        ),
        DeclareLaunchArgument(
            "params_file",
            default_value=PathJoinSubstitution([share, "config", "anticipation.yaml"]),
            description="parameter file (see config/anticipation.yaml)",
        ),
        DeclareLaunchArgument("namespace", default_value="", description="namespace of the node"),
        DeclareLaunchArgument(
            "lifecycle", default_value="false", description="true: expose as a launch_ros LifecycleNode"
        ),
    ]
    common = {
        "package": PACKAGE,
        "executable": "anticipation_node",
        "name": "accident_anticipation",
        "namespace": LaunchConfiguration("namespace"),
        "output": "screen",
        # A crashed or killed node is started again; with autostart it comes back active and re-publishes
        # its latched ~/info (test/node/test_faults.py kills one with SIGKILL).
        "respawn": True,
        "respawn_delay": 2.0,
        "parameters": [
            LaunchConfiguration("params_file"),
            {
                "model_path": LaunchConfiguration("model"),
                "backend": LaunchConfiguration("backend"),
                "camera_topics": [LaunchConfiguration("camera_topic")],
            },
        ],
    }
    return LaunchDescription(
        [
            *args,
            OpaqueFunction(function=_large_image_profile),
            Node(condition=UnlessCondition(LaunchConfiguration("lifecycle")), **common),
            LifecycleNode(condition=IfCondition(LaunchConfiguration("lifecycle")), **common),
        ]
    )
