"""DDP with two CPU processes (gloo), launched like a user does: torchrun."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys

import yaml


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_torchrun_two_cpu_processes_train_a_few_steps(make_config, tmp_path):
    cfg = make_config(train={"max_steps": 3, "threads": 1, "ckpt_every": 2}, data={"window": 6})
    path = tmp_path / "ddp.yaml"
    path.write_text(yaml.safe_dump(cfg))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(_free_port()), "-m", "accident_anticipation_ros.tools.train",
           "--config", str(path), "--no-progress"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    # cwd: with python -m the working directory comes first on sys.path; the source tree must not shadow
    # the installed package (where training/ is accident_anticipation_ros.training).
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((tmp_path / "run/summary.json").read_text())
    assert summary["world"] == 2 and summary["steps"] == 3
    state = json.loads((tmp_path / "run/checkpoints/last.json").read_text())
    assert state["meta"]["world"] == 2 and state["meta"]["step"] == 3
    # 8 training clips over 2 ranks at batch 2: 2 steps per epoch, so step 3 is in epoch 1
    assert state["meta"]["epoch"] == 1 and state["meta"]["batch_in_epoch"] == 1
    assert (tmp_path / "run/best/tsd-test.safetensors").is_file()
