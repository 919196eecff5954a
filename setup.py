"""The pip path for machines without ROS (training, export, evaluation servers).

``pip install .[train]`` installs the ROS-free library, the training subpackage and the CLI.
On a ROS machine, build with colcon instead (CMakeLists.txt), which also generates the messages.
"""

from setuptools import find_packages, setup

TRAINING = "accident_anticipation_ros.training"

setup(
    packages=find_packages(include=["accident_anticipation_ros", "accident_anticipation_ros.*"])
    + [TRAINING]
    + [f"{TRAINING}.{name}" for name in find_packages("training")],
    package_dir={TRAINING: "training"},
    data_files=[
        (
            "share/accident_anticipation_ros/msg",
            ["msg/AccidentRisk.msg", "msg/AnticipationInfo.msg", "msg/AccidentLabel.msg"],
        ),
        ("share/accident_anticipation_ros/config", ["config/fastdds_large_images.xml"]),
    ],
)
