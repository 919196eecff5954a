"""stop_process: a child that leaves on SIGTERM, and one that ignores it (killed after the timeout)."""

from __future__ import annotations

import signal
import subprocess
import sys

from accident_anticipation_ros.processes import stop_process

SLEEP = "import time\nwhile True: time.sleep(1)"
IGNORE_TERM = (
    "import signal, sys, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\n"
    + ("while True: time.sleep(1)")
)


def test_a_child_that_leaves_on_sigterm_is_terminated():
    proc = subprocess.Popen([sys.executable, "-c", SLEEP])
    assert stop_process(proc, timeout=60.0) == -signal.SIGTERM


def test_a_child_that_ignores_sigterm_is_killed_after_the_timeout():
    proc = subprocess.Popen([sys.executable, "-c", IGNORE_TERM], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline() == "ready\n"  # the handler is in place before the SIGTERM
    assert stop_process(proc, timeout=0.2) == -signal.SIGKILL
    proc.stdout.close()
