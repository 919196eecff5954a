"""``accident-anticipation train``: train a TSD student from one YAML config.

accident-anticipation train --config configs/tsd_nano_synth.yaml
accident-anticipation train --config configs/tsd_s0_ccd.yaml --set data.root=/data/CCD --set train.batch_size=8
accident-anticipation train --resume runs/tsd-nano-synth              # exact continuation
torchrun --nproc_per_node 2 -m accident_anticipation_ros.training.train --config ...   # DDP
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from accident_anticipation_ros.model.errors import ModelError
from accident_anticipation_ros.training.config import load_train_config
from accident_anticipation_ros.training.errors import ResumeError, TrainingError

PROG = "accident-anticipation train"
RESUMABLE = ("train.epochs", "train.max_steps", "train.progress", "train.log_every", "train.ckpt_every",
             "train.export_onnx", "train.threads", "train.val_every")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog=PROG, description="Train a TSD student (temporally shifted distillation)."
    )
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--config", type=Path, help="training YAML (see configs/)")
    src.add_argument("--resume", type=Path, metavar="RUN_DIR", help="continue the run in RUN_DIR exactly")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config value, e.g. --set train.epochs=5 (repeatable)")  # fmt: skip
    p.add_argument("--out", type=Path, help="run directory (overrides out_dir)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm bars")
    return p


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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        summary = run(args.config, args.resume, args.set, args.out, progress=not args.no_progress)
    except (TrainingError, ModelError, ValueError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    if summary:
        print(json.dumps(summary, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
