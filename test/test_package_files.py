"""One search rule for the package's installed files (colcon prefixes, sys.prefix, the source tree)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from accident_anticipation_ros import package_files
from accident_anticipation_ros.package_files import (
    PackageFileError,
    find_installed,
    installed_executable,
    search_paths,
)

PKG = "accident_anticipation_ros"


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("x")
    return path


def test_search_order_is_ament_prefixes_then_sys_prefix_then_source(tmp_path, monkeypatch):
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    assert search_paths("share/models/m.onnx") == [
        tmp_path / "a" / "share" / PKG / "models" / "m.onnx",
        tmp_path / "b" / "share" / PKG / "models" / "m.onnx",
        Path(sys.prefix) / "share" / PKG / "models" / "m.onnx",
        package_files.SOURCE_ROOT / "models" / "m.onnx",
    ]
    # executables are never taken from the source tree: it has no generated messages
    assert search_paths("lib/anticipation_node")[-1] == Path(sys.prefix) / "lib" / PKG / "anticipation_node"


def test_first_existing_wins_and_accept_can_be_stricter(tmp_path, monkeypatch):
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    (tmp_path / "a" / "share" / PKG / "config" / "p.xml").mkdir(parents=True)  # a directory, not a file
    second = _touch(tmp_path / "b" / "share" / PKG / "config" / "p.xml")
    assert find_installed("share/config/p.xml") == tmp_path / "a" / "share" / PKG / "config" / "p.xml"
    assert find_installed("share/config/p.xml", Path.is_file) == second
    exe = _touch(tmp_path / "b" / "lib" / PKG / "anticipation_node")
    assert installed_executable() == exe


def test_missing_file_names_every_place_searched(tmp_path, monkeypatch):
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "a"))
    with pytest.raises(
        PackageFileError, match="lib/no_such_tool of accident_anticipation_ros not found"
    ) as err:
        installed_executable("no_such_tool")
    assert str(tmp_path / "a" / "lib" / PKG / "no_such_tool") in str(err.value)
    assert "colcon" in str(err.value)
    assert isinstance(err.value, RuntimeError)  # callers that handle a node that cannot start handle this too


def test_the_package_ships_the_demo_model_and_the_large_image_profile():
    assert find_installed(package_files.SHIPPED_MODEL).name == "tsd-nano.onnx"
    assert find_installed("share/config/fastdds_large_images.xml", Path.is_file).is_file()


def test_relative_path_must_name_lib_or_share():
    with pytest.raises(ValueError, match="must start with 'lib/' or 'share/'"):
        search_paths("models/tsd-nano.onnx")
