"""Shared fixtures: a private ROS domain per test and helpers to run real processes."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEST_DIR = Path(__file__).resolve().parent
REPO = TEST_DIR.parent
_domains = itertools.count()


def _ros_available() -> bool:
    try:
        import rclpy  # noqa: F401

        import accident_anticipation_ros.msg  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def ros_env() -> dict[str, str]:
    """Environment for child ROS processes: localhost discovery and a domain id of this test alone."""
    if not _ros_available():
        pytest.skip("needs the colcon-built package and rclpy (run the tests through `make test`)")
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    # Domain ids 1..100 are safe for the default port mapping; spread by pid so parallel runs don't meet.
    env["ROS_DOMAIN_ID"] = str(1 + (os.getpid() * 7 + next(_domains)) % 100)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture
def run_script():
    """Start ``test/scripts/<name>`` with this interpreter; every started process is ended afterwards."""
    procs: list[subprocess.Popen] = []

    def start(name: str, *args: str, env: dict[str, str]) -> subprocess.Popen:
        proc = subprocess.Popen(
            [sys.executable, str(TEST_DIR / "scripts" / name), *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        return proc

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
