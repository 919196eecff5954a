"""The package CLI: version, help, and its installed entry point."""

from __future__ import annotations

import os
import subprocess
import sys

from accident_anticipation_ros import __version__
from accident_anticipation_ros.cli import COMMANDS, main


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"accident-anticipation {__version__}"


def test_help_lists_only_commands_that_exist(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: accident-anticipation" in out
    for name in COMMANDS:
        assert (f"  {name} " in out) == main_has(name)


def main_has(name: str) -> bool:
    from accident_anticipation_ros.cli import _available

    return _available(COMMANDS[name][0])


def test_unknown_command_fails(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_no_arguments_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out


def test_installed_entry_point_prints_version():
    """The executable colcon installs in lib/accident_anticipation_ros (what `ros2 run` starts)."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p]
    exe = next(
        (
            os.path.join(p, "lib", "accident_anticipation_ros", "accident-anticipation")
            for p in prefixes
            if os.path.exists(os.path.join(p, "lib", "accident_anticipation_ros", "accident-anticipation"))
        ),
        None,
    )
    if exe is None:
        import pytest

        pytest.skip("package not built with colcon (run the tests through `make test`)")
    out = subprocess.run([sys.executable, exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"accident-anticipation {__version__}"
