"""Launch files: static checks here (no `launch` package in this environment), real ones where it exists.

The node tests start the same executable with the same params file (config/anticipation.yaml) that
anticipation.launch.py passes, so what the launch file starts is exercised over real DDS.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAUNCH = REPO / "launch"


def _calls(tree: ast.AST) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)]


def _name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


def _declared_arguments(tree: ast.AST) -> set[str]:
    return {
        c.args[0].value
        for c in _calls(tree)
        if _name(c) == "DeclareLaunchArgument" and c.args and isinstance(c.args[0], ast.Constant)
    }


def _used_configurations(tree: ast.AST) -> set[str]:
    used = {
        c.args[0].value
        for c in _calls(tree)
        if _name(c) == "LaunchConfiguration" and c.args and isinstance(c.args[0], ast.Constant)
    }
    # LaunchConfiguration(name) over a tuple of names
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Tuple):
            used |= {
                e.value for e in node.value.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return used


@pytest.mark.parametrize("name", ["anticipation.launch.py", "replay.launch.py"])
def test_launch_file_is_valid_python_without_eval(name):
    source = (LAUNCH / name).read_text()
    tree = ast.parse(source)
    assert not any(_name(c) in ("eval", "exec") for c in _calls(tree)), "no eval/exec of launch arguments"
    assert any(isinstance(n, ast.FunctionDef) and n.name == "generate_launch_description" for n in tree.body)


def test_anticipation_launch_starts_the_installed_node_with_the_params_file():
    tree = ast.parse((LAUNCH / "anticipation.launch.py").read_text())
    declared = _declared_arguments(tree)
    assert {"camera_topic", "model", "backend", "params_file", "namespace"} <= declared
    assert _used_configurations(tree) - declared <= set(), "every LaunchConfiguration is declared"
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert {
        "anticipation_node",
        "accident_anticipation_ros",
        "anticipation.yaml",
        "config",
        "models",
    } <= strings
    # The parameter names the launch file sets exist in the node's schema.
    from accident_anticipation_ros.parameters import defaults

    param_keys = {
        k.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Dict)
        for k in n.keys
        if isinstance(k, ast.Constant) and k.value in {"model_path", "backend", "camera_topics"}
    }
    assert param_keys == {"model_path", "backend", "camera_topics"} and param_keys <= set(defaults())
    assert (REPO / "config" / "anticipation.yaml").exists()
    assert (REPO / "scripts" / "anticipation_node").exists()


def test_replay_launch_includes_the_node_launch_and_rviz_config():
    tree = ast.parse((LAUNCH / "replay.launch.py").read_text())
    strings = {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}
    assert {"anticipation.launch.py", "anticipation.rviz", "rviz2"} <= strings
    assert _declared_arguments(tree) >= {
        "camera_topic",
        "model",
        "backend",
        "params_file",
        "namespace",
        "rviz",
    }
    rviz = (REPO / "config" / "anticipation.rviz").read_text()
    assert "/accident_anticipation/camera/overlay" in rviz and "/accident_anticipation/camera/markers" in rviz


def test_cmake_installs_launch_config_and_executables():
    cmake = (REPO / "CMakeLists.txt").read_text()
    assert "install(DIRECTORY launch config models DESTINATION share/${PROJECT_NAME})" in cmake
    assert "scripts/anticipation_node" in cmake and "DESTINATION lib/${PROJECT_NAME}" in cmake


@pytest.mark.skipif(
    importlib.util.find_spec("launch") is None, reason="the ROS 2 `launch` package is not installed"
)
@pytest.mark.parametrize("name", ["anticipation.launch.py", "replay.launch.py"])
def test_launch_description_builds_with_real_launch(name):
    from launch.launch_description_sources import PythonLaunchDescriptionSource

    description = PythonLaunchDescriptionSource(str(LAUNCH / name)).get_launch_description(None)
    assert description.entities


def test_the_node_is_respawned_after_a_crash():
    """launch cannot be installed here: respawn is checked on the source (both Node and LifecycleNode
    get the shared keyword arguments)."""
    tree = ast.parse((LAUNCH / "anticipation.launch.py").read_text())
    options = {
        k.value: v
        for n in ast.walk(tree)
        if isinstance(n, ast.Dict)
        for k, v in zip(n.keys, n.values, strict=True)
        if isinstance(k, ast.Constant) and k.value in {"executable", "respawn", "respawn_delay"}
    }
    assert (
        isinstance(options["executable"], ast.Constant) and options["executable"].value == "anticipation_node"
    )
    assert isinstance(options["respawn"], ast.Constant) and options["respawn"].value is True
    delay = options["respawn_delay"]
    assert isinstance(delay, ast.Constant) and 0 < delay.value <= 10
    nodes = [c for c in _calls(tree) if _name(c) in ("Node", "LifecycleNode")]
    assert len(nodes) == 2 and all(any(kw.arg is None for kw in c.keywords) for c in nodes), (
        "both get **common"
    )


def _profile_rule(name: str):
    """The launch file's ``_large_image_profile`` with stand-ins for launch's two classes (no `launch` here)."""
    tree = ast.parse((LAUNCH / name).read_text())
    keep = [
        n
        for n in tree.body
        if (isinstance(n, ast.FunctionDef) and n.name == "_large_image_profile")
        or (
            isinstance(n, ast.Assign)
            and any(getattr(t, "id", "") in ("PACKAGE", "PROFILE_VARS") for t in n.targets)
        )
    ]
    assert len(keep) == 3, f"{name}: PACKAGE, PROFILE_VARS and _large_image_profile"

    class Share:
        def __init__(self, package: str) -> None:
            self.package = package

        def perform(self, context) -> str:
            return f"/opt/share/{self.package}"

    namespace = {
        "os": __import__("os"),
        "FindPackageShare": Share,
        "SetEnvironmentVariable": lambda k, v: (k, v),
    }
    exec(compile(ast.Module(body=keep, type_ignores=[]), name, "exec"), namespace)  # noqa: S102
    return namespace["_large_image_profile"], tree


@pytest.mark.parametrize("name", ["anticipation.launch.py", "replay.launch.py"])
def test_launch_files_set_the_large_image_profile_unless_the_user_set_one(name, monkeypatch):
    rule, tree = _profile_rule(name)
    assert any(_name(c) == "OpaqueFunction" for c in _calls(tree)), "the rule runs at launch time"
    for var in ("FASTRTPS_DEFAULT_PROFILES_FILE", "FASTDDS_DEFAULT_PROFILES_FILE"):
        monkeypatch.delenv(var, raising=False)
    profile = "/opt/share/accident_anticipation_ros/config/fastdds_large_images.xml"
    assert rule(None) == [
        ("FASTRTPS_DEFAULT_PROFILES_FILE", profile),
        ("FASTDDS_DEFAULT_PROFILES_FILE", profile),
    ]
    assert (REPO / "config" / "fastdds_large_images.xml").is_file()
    monkeypatch.setenv("FASTDDS_DEFAULT_PROFILES_FILE", "/my/profile.xml")
    assert rule(None) == []  # the user's own profile
    monkeypatch.delenv("FASTDDS_DEFAULT_PROFILES_FILE")
    monkeypatch.setenv("FASTRTPS_DEFAULT_PROFILES_FILE", "")
    assert rule(None) == []  # set empty: Fast DDS's own defaults
