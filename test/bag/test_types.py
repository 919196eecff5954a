"""Where the typestore finds the package's .msg files, and what it says when it cannot."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from accident_anticipation_ros.bag import types
from accident_anticipation_ros.bag.errors import BagError

SOURCE_MSG = Path(__file__).resolve().parents[2] / "msg"


def _prefix(root: Path, names=types.MESSAGES) -> Path:
    share = root / "share" / types.PACKAGE / "msg"
    share.mkdir(parents=True)
    for name in names:
        shutil.copy(SOURCE_MSG / f"{name}.msg", share / f"{name}.msg")
    return share


def test_search_order_is_ament_then_sys_prefix_then_source(tmp_path, monkeypatch):
    incomplete = _prefix(tmp_path / "a", names=types.MESSAGES[:-1])
    complete = _prefix(tmp_path / "b")
    monkeypatch.setenv("AMENT_PREFIX_PATH", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    candidates = types.msg_dir_candidates()
    assert candidates[:2] == [incomplete, complete]
    assert candidates[2] == Path(sys.prefix) / "share" / types.PACKAGE / "msg"
    assert candidates[3] == SOURCE_MSG
    assert types.find_msg_dir() == complete  # the incomplete prefix is passed over

    monkeypatch.setenv("AMENT_PREFIX_PATH", "")
    assert types.find_msg_dir() in (candidates[2], SOURCE_MSG)


def test_typestore_has_our_messages_and_jazzy(monkeypatch):
    monkeypatch.setenv("AMENT_PREFIX_PATH", "")
    store = types.get_package_typestore()
    risk = store.types[types.ACCIDENT_RISK]
    assert (risk.LEVEL_LOW, risk.LEVEL_MEDIUM, risk.LEVEL_HIGH) == (0, 1, 2)
    fields = set(risk.__dataclass_fields__)
    assert {"header", "camera", "probability", "probability_smoothed", "alert", "state_reset"} <= fields
    assert {types.ACCIDENT_LABEL, types.ANTICIPATION_INFO, types.IMAGE, types.COMPRESSED_IMAGE} <= set(
        store.types
    )


def test_no_msg_files_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setattr(types, "msg_dir_candidates", lambda: [tmp_path / "x", tmp_path / "y"])
    with pytest.raises(BagError, match=r"message definitions of accident_anticipation_ros not found") as err:
        types.find_msg_dir()
    assert str(tmp_path / "x") in str(err.value) and str(tmp_path / "y") in str(err.value)


def test_broken_msg_file_is_named(tmp_path, monkeypatch):
    share = _prefix(tmp_path / "p")
    (share / "AccidentRisk.msg").write_text("std_msgs/Header header\nfloat32[ probability\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "p"))
    with pytest.raises(BagError, match=rf"cannot parse message definition {share / 'AccidentRisk.msg'}"):
        types.get_package_typestore()
