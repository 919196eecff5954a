"""Ending a child process this package started (the node under replay, bench-node's processes)."""

from __future__ import annotations

import subprocess


def stop_process(proc: subprocess.Popen, timeout: float = 15.0) -> int:
    """SIGTERM ``proc``, wait up to ``timeout`` s for it to shut down cleanly, then SIGKILL; return its exit code.

    A ROS process can take long to leave its executor and DDS on a loaded machine; the caller has its
    numbers by then, so a slow exit must not become an error.
    """
    proc.terminate()
    try:
        return proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()
