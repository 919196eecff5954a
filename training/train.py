"""Train a TSD student from one YAML config: :func:`run` (the library of ``accident-anticipation train``).

accident-anticipation train --config configs/tsd_nano_synth.yaml
accident-anticipation train --config configs/tsd_s0_ccd.yaml --set data.root=/data/CCD --set train.batch_size=8
accident-anticipation train --resume runs/tsd-nano-synth              # exact continuation
torchrun --nproc_per_node 2 -m accident_anticipation_ros.tools.train --config ...   # DDP
"""

from __future__ import annotations

from pathlib import Path

from accident_anticipation_ros.training.config import load_train_config
from accident_anticipation_ros.training.errors import ResumeError, TrainingError

RESUMABLE = ("train.epochs", "train.max_steps", "train.progress", "train.log_every", "train.ckpt_every",
             "train.export_onnx", "train.threads", "train.val_every")  # fmt: skip


def run(
    config: Path | None,
    resume: Path | None,
    overrides: list[str],
    out: Path | None = None,
    progress: bool = True,
) -> dict:
    """Library form of the command; returns the run summary."""
    from accident_anticipation_ros.training.trainer import Trainer

    overrides = list(overrides)
    if not progress:
        overrides.append("train.progress=false")
    if resume is not None:
        bad = [o for o in overrides if o.split("=", 1)[0].strip() not in RESUMABLE]
        if bad:
            raise TrainingError(f"--resume only accepts overrides of {', '.join(RESUMABLE)}; got {bad}")
        if not (resume / "config.yaml").is_file():
            raise ResumeError(f"{resume}: not a run directory (no config.yaml); nothing to resume")
        cfg = load_train_config(resume / "config.yaml", overrides + [f"out_dir={resume}"])
    else:
        if out is not None:
            overrides.append(f"out_dir={out}")
        cfg = load_train_config(config, overrides)
    trainer = Trainer(cfg, resume=resume is not None)
    return trainer.fit()
