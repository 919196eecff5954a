"""The one error-to-exit-code rule of every command."""

from __future__ import annotations

import pytest

from accident_anticipation_ros.bag.errors import BagError
from accident_anticipation_ros.tools.command import UsageError, run


def test_the_command_s_exit_code_is_returned(capsys):
    assert run("x", lambda: None) == 0
    assert run("x", lambda: 3) == 3
    assert capsys.readouterr().err == ""


def test_a_listed_error_is_one_line_and_exit_1(capsys):
    def fail():
        raise BagError("bag b.mcap is truncated")

    assert run("evaluate-bag", fail, (BagError,)) == 1
    assert capsys.readouterr().err == "evaluate-bag: error: bag b.mcap is truncated\n"


def test_a_usage_error_is_exit_2(capsys):
    def fail():
        raise UsageError("--offline needs --model MODEL")

    assert run("replay", fail, (BagError,)) == 2
    assert capsys.readouterr().err == "replay: error: --offline needs --model MODEL\n"


def test_an_unlisted_error_is_a_bug_and_keeps_its_traceback():
    def fail():
        raise KeyError("bug")

    with pytest.raises(KeyError):
        run("x", fail, (BagError, OSError))
