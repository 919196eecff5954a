"""The package CLI: version, help, lazy subcommands, and its installed entry point."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from accident_anticipation_ros import __version__
from accident_anticipation_ros.package_files import PackageFileError, installed_executable
from accident_anticipation_ros.tools.cli import main

# What a user of this release types; the help must offer every one of them.
SUBCOMMANDS = (
    "demo",
    "synth",
    "bag-from-clips",
    "export",
    "verify",
    "bench",
    "bench-node",
    "replay",
    "evaluate-bag",
    "render",
    "train-teacher",
    "train",
    "evaluate",
    "ablate",
)


def test_version(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"accident-anticipation {__version__}"


def test_help_lists_every_subcommand_with_its_purpose(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: accident-anticipation [--version] [--help] COMMAND [ARGS ...]")
    listed = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert listed == list(SUBCOMMANDS)
    assert "  replay          replay a bag through the node and record outputs" in out
    assert "  train           train the student (TSD distillation)" in out
    assert "Run 'accident-anticipation COMMAND --help' for a command's options." in out


@pytest.mark.parametrize(
    ("command", "options"),
    [
        ("replay", ("--out", "--rate", "--model", "--offline", "--camera-topic", "--timeout")),
        ("evaluate-bag", ("--camera", "--labels-bag", "--json")),
        ("render", ("--out", "--clip", "--fps")),
        ("synth", ("--clips", "--seed", "--preset", "--split-fractions", "--preview")),
        ("train", ("--config", "--resume", "--set", "--no-progress")),
        ("bench-node", ("--model", "--rate", "--seconds", "--frames", "--fastdds-profile")),
    ],
)
def test_subcommand_help_shows_its_options(command, options, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: accident-anticipation {command}")
    for option in options:
        assert option in out, option


def test_unknown_command_fails(capsys):
    assert main(["no-such-command"]) == 2
    assert "unknown command 'no-such-command'" in capsys.readouterr().err


def test_no_arguments_prints_usage_and_fails(capsys):
    assert main([]) == 2
    assert "usage:" in capsys.readouterr().out


def _modules_after(argv: list[str], modules: tuple[str, ...]) -> tuple[int, list[str]]:
    """Run ``accident-anticipation ARGV`` in a fresh interpreter: its exit code and which ``modules`` it imported."""
    code = f"""
import json, sys
from accident_anticipation_ros.tools.cli import main
rc = main({argv!r})
print("loaded:", json.dumps(sorted(m for m in {modules!r} if m in sys.modules)))
sys.exit(rc)
"""
    # cwd: with -c the working directory comes first on sys.path; the source tree must not shadow the install
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=Path(__file__).parent
    )
    loaded = [line for line in proc.stdout.splitlines() if line.startswith("loaded:")]
    assert loaded, proc.stderr
    return proc.returncode, json.loads(loaded[-1].removeprefix("loaded:"))


def test_replay_and_evaluate_bag_never_import_torch(tmp_path):
    """The node's floor: a replay through the offline session and an evaluation get as far as their errors."""
    rc, loaded = _modules_after(
        ["replay", str(tmp_path / "no_bag"), "--out", str(tmp_path / "o"), "--offline", "--model", "m.onnx"],
        ("torch", "timm", "accident_anticipation_ros.training"),
    )
    assert (rc, loaded) == (1, [])
    rc, loaded = _modules_after(["evaluate-bag", str(tmp_path / "no_bag")], ("torch", "timm"))
    assert (rc, loaded) == (1, [])


@pytest.mark.slow  # the trainer imports torch and timm before it reads the config (~10 s here)
def test_train_never_imports_rclpy(tmp_path):
    rc, loaded = _modules_after(
        ["train", "--config", str(tmp_path / "missing.yaml")], ("rclpy", "accident_anticipation_ros.node")
    )
    assert (rc, loaded) == (1, [])


def test_installed_entry_point_prints_version():
    """The executable colcon installs in lib/accident_anticipation_ros (what `ros2 run` starts)."""
    try:
        exe = installed_executable("accident-anticipation")
    except PackageFileError:
        pytest.skip("package not built with colcon (run the tests through `make test`)")
    out = subprocess.run([sys.executable, exe, "--version"], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == f"accident-anticipation {__version__}"
