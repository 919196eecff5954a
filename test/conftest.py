"""Shared fixtures: a private ROS domain per test and helpers to run real processes."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
import sys
import threading
import time
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
    """Environment for child ROS processes: localhost discovery and a domain id of this test alone.

    Like a user's processes (the node's entry point, ``accident-anticipation``, the launch files), this
    test process and its children use the shipped large-image Fast DDS profile unless the environment
    names another: applied to ``os.environ`` before the process creates its first participant.
    """
    if not _ros_available():
        pytest.skip("needs the colcon-built package and rclpy (run the tests through `make test`)")
    from accident_anticipation_ros.dds_profile import apply_default_profile

    apply_default_profile(os.environ)
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


def installed_executable(name: str) -> Path:
    """``lib/accident_anticipation_ros/<name>`` of the colcon install space (what ``ros2 run`` starts)."""
    from accident_anticipation_ros.package_files import PackageFileError
    from accident_anticipation_ros.package_files import installed_executable as find

    try:
        return find(name)
    except PackageFileError:
        pytest.skip(f"{name} is not installed (build with colcon: run the tests through `make test`)")


class RosPeer:
    """An rclpy node in this test process, on the test's own domain, spun by a background thread."""

    def __init__(self, domain_id: int) -> None:
        import rclpy
        from rclpy.context import Context
        from rclpy.executors import SingleThreadedExecutor

        self.context = Context()
        rclpy.init(context=self.context, domain_id=domain_id)
        self.node = rclpy.create_node("test_peer", context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self) -> None:
        from rclpy.executors import ExternalShutdownException

        try:
            while self.context.ok():
                self.executor.spin_once(timeout_sec=0.05)
        except (ExternalShutdownException, Exception):  # noqa: BLE001 - shutting down
            pass

    def collect(self, msg_type, topic: str, qos=10) -> list:
        """Subscribe and return the list the messages are appended to."""
        received: list = []
        self.node.create_subscription(msg_type, topic, received.append, qos)
        return received

    def wait_for(self, predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")

    def wait_for_subscriber(self, publisher, timeout: float = 60.0) -> None:
        """Wait until the publisher is matched, then let discovery settle on the subscriber's side too
        (matching is not symmetric in time: a message sent at once may reach no one)."""
        self.wait_for(
            lambda: publisher.get_subscription_count() > 0, timeout, f"a subscriber on {publisher.topic}"
        )
        time.sleep(0.5)

    def close(self) -> None:
        import rclpy

        self.executor.shutdown(timeout_sec=1.0)
        self.node.destroy_node()
        rclpy.try_shutdown(context=self.context)
        self._thread.join(timeout=5.0)


@pytest.fixture
def ros_peer(ros_env):
    peer = RosPeer(int(ros_env["ROS_DOMAIN_ID"]))
    yield peer
    peer.close()


class NodeProcess:
    """The real ``anticipation_node`` executable in its own process, its log in a file."""

    def __init__(self, proc: subprocess.Popen, log: Path) -> None:
        self.proc, self.log = proc, log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")

    def rss_kb(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise AssertionError("no VmRSS")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture
def start_node(ros_env, tmp_path):
    """Start ``anticipation_node`` with ``config/anticipation.yaml`` plus ``-p`` overrides.

    ``env``: the node's environment instead of the test's (``ros_env``), e.g. without the Fast DDS profile.
    """
    started: list[NodeProcess] = []

    def start(env: dict[str, str] | None = None, **params) -> NodeProcess:
        exe = installed_executable("anticipation_node")
        args = [
            sys.executable,
            str(exe),
            "--ros-args",
            "--params-file",
            str(REPO / "config" / "anticipation.yaml"),
        ]
        for key, value in params.items():
            args += ["-p", f"{key}:={_ros_arg(value)}"]
        log = tmp_path / f"node{len(started)}.log"
        proc = subprocess.Popen(args, env=env or ros_env, stdout=log.open("w"), stderr=subprocess.STDOUT)
        node = NodeProcess(proc, log)
        started.append(node)
        return node

    yield start
    for node in started:
        node.stop()


def _ros_arg(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(f"'{v}'" for v in value) + "]"
    return str(value)


def find_real_dad() -> Path | None:
    """The real DAD clips of the workplace (``shared/real/dad`` next to the checkout or above it), or None.

    Research data without a licence: read in place, never copied into the repository.
    """
    for parent in REPO.parents:
        folder = parent / "shared" / "real" / "dad"
        if folder.is_dir() and any(folder.iterdir()):
            return folder
    return None


@pytest.fixture(scope="session")
def real_dad() -> Path:
    """The folder of the real DAD clips (``<clip>/001.jpg ...``); the test is skipped when it is absent."""
    folder = find_real_dad()
    if folder is None:
        pytest.skip("real DAD clips not found (../shared/real/dad is not part of the repository)")
    return folder


_APPLE_NAMES = (  # timm -> ml-mobileclip module names, in this order
    ("final_conv.se.fc1", "conv_exp.se.reduce"),
    ("final_conv.se.fc2", "conv_exp.se.expand"),
    ("final_conv.", "conv_exp."),
    (".conv_kxk.", ".rbr_conv."),
    (".conv_scale.", ".rbr_scale."),
    (".identity.", ".rbr_skip."),
    (".large_conv.", ".lkb_origin."),
    (".mlp.", ".convffn."),
)


def apple_mobileclip_image_keys(timm_state_dict: dict) -> dict:
    """A timm ``fastvit_mci0/1/2`` state dict written the way Apple's ml-mobileclip names it
    (``image_encoder.model.*``), from the structure of ``mobileclip/models/mci.py``: the stem is
    ``patch_embed``; stages and downsamples are one flat ``network`` list (stage 0, downsample 1,
    stage 1, downsample 2, stage 2, downsample 3, the stage-3 positional encoding, stage 3);
    MobileOne branches ``rbr_conv`` / ``rbr_scale`` / ``rbr_skip``; ``lkb_origin``; ``convffn``; layer
    scales are bare parameters; the final ``conv_exp``'s squeeze-excite is ``reduce`` / ``expand``; the CLIP
    projection ``head.proj`` is ``(in, out)`` with no bias (the timm head's bias must be zero)."""
    import re

    network = {"0.blocks": 0, "1.downsample": 1, "1.blocks": 2, "2.downsample": 3, "2.blocks": 4,
               "3.downsample": 5, "3.pos_emb": 6, "3.blocks": 7}  # fmt: skip
    out = {}
    for key, value in timm_state_dict.items():
        if key == "head.fc.bias":
            assert not value.any(), "Apple's CLIP projection has no bias"
            continue
        if key == "head.fc.weight":
            out["image_encoder.model.head.proj"] = value.T.contiguous()
            continue
        k = re.sub(r"^stem\.", "patch_embed.", key)
        m = re.match(r"^stages\.(\d)\.(blocks|downsample|pos_emb)\.(.*)$", k)
        if m:
            rest = m.group(3)
            rest = {"pos_enc.weight": "pe.weight", "pos_enc.bias": "pe.bias"}.get(rest, rest)
            k = f"network.{network[f'{m.group(1)}.{m.group(2)}']}.{rest}"
        for timm_name, apple_name in _APPLE_NAMES:
            k = k.replace(timm_name, apple_name)
        k = re.sub(r"\.(layer_scale(_\d)?)\.gamma$", r".\1", k)
        out["image_encoder.model." + k] = value
    return out


@pytest.fixture
def apple_mobileclip_layout():
    """:func:`apple_mobileclip_image_keys` as a fixture (the model and training tests use it)."""
    return apple_mobileclip_image_keys
