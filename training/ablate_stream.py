"""The ablation's streaming scores: each run's best checkpoint over one continuous drive, kept next to the run.

Every variant runs through the same backend, :class:`~.student_backend.StudentBackend` (PyTorch, one
thread: batch-1 steps, as the benchmark runs ONNX Runtime), in the runtime's ``StreamSession`` with the
node's default settings
(``stream_evaluate.run_drive``): the GRU student has no ONNX export, and one runtime for all variants
keeps the table's differences those of training. The per-frame outputs are kept as
``stream-<digest>.npz`` beside ``stream-<digest>.json`` (digest of drive folder and weights sha256), and
the report is recomputed from them on reuse, so it follows today's ``stream_metrics``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from accident_anticipation_ros.training.errors import TrainingError

# row["stream"] key -> (column title, scale, digits); the tables' streaming columns, in order
STREAM_COLUMNS: dict[str, tuple[str, float, int]] = {
    "stream_ap": ("stream AP", 100, 1),
    "fresh_ap": ("fresh AP", 100, 1),
    "alerts_per_hour": ("alerts/h safe", 1, 1),
    "lead_0.5": ("alerted >=0.5 s", 100, 1),
    "lead_1.0": ("alerted >=1 s", 100, 1),
    "map_top_cell": ("map top cell", 100, 1),
}


def check_drive(root: str | Path) -> Path:
    """``root`` if it is a drive folder (``synth --drive``); TrainingError otherwise (before any training)."""
    from accident_anticipation_ros.training.synth.drive_storage import DRIVE_INDEX

    root = Path(root)
    if not (root / DRIVE_INDEX).is_file():
        raise TrainingError(
            f"stream_data {root}: no {DRIVE_INDEX}; render the drive first with `accident-anticipation synth "
            "--drive --out DIR` (the benchmark's: see configs/ablation_stream.yaml)"
        )
    return root


def stream_scored(run_dir: Path, checkpoint: str, drive: str | Path) -> dict:
    """The streaming report (``stream_evaluate.drive_report``) of ``checkpoint`` over ``drive``, kept in
    ``run_dir`` for reuse."""
    import torch

    from accident_anticipation_ros.contract import file_sha256
    from accident_anticipation_ros.model.checkpoint import checkpoint_paths
    from accident_anticipation_ros.runtime.backend import ModelInfo
    from accident_anticipation_ros.training.stream_evaluate import (
        drive_report,
        load_outputs,
        run_drive,
        save_outputs,
    )
    from accident_anticipation_ros.training.student_backend import StudentBackend

    weights_sha = file_sha256(checkpoint_paths(checkpoint)[0])
    key = hashlib.sha256(f"{Path(drive).resolve()}|stream|{weights_sha}".encode()).hexdigest()[:12]
    path = Path(run_dir) / f"stream-{key}.json"
    if path.is_file() and path.with_suffix(".npz").is_file():
        kept = json.loads(path.read_text())
        info = ModelInfo.from_json(kept["info"], str(path))
        return drive_report(load_outputs(path.with_suffix(".npz")), drive, info)
    threads = torch.get_num_threads()  # process-wide: the training's setting is restored afterwards
    try:
        backend = StudentBackend(checkpoint, threads=1)
        outputs = run_drive(backend, drive)
    finally:
        torch.set_num_threads(threads)
    save_outputs(path.with_suffix(".npz"), outputs)
    kept = {"data": str(drive), "weights_sha256": weights_sha, "backend": backend.describe(),
            "info": backend.info.to_json()}  # fmt: skip
    path.write_text(json.dumps(kept, indent=2) + "\n")
    return drive_report(outputs, drive, backend.info)


def stream_summary(report: dict) -> dict[str, float]:
    """The report's numbers of :data:`STREAM_COLUMNS` (NaN where the report has none)."""
    nan = float("nan")
    lead = report.get("lead_share", {})
    return {
        "stream_ap": report["stream"]["ap"],
        "fresh_ap": report.get("fresh", {}).get("ap", nan),
        "alerts_per_hour": report["alerts"]["alerts_per_hour"],
        "lead_0.5": lead.get("0.5", nan),
        "lead_1.0": lead.get("1.0", nan),
        "map_top_cell": report["map_truth"]["top_cell_accuracy"],
    }


def stream_legend(drive: str | Path) -> str:
    """What the streaming columns of the tables mean (a markdown paragraph)."""
    return (
        f"Streaming columns: one session over the drive `{drive}` (node defaults, PyTorch student). stream AP /"
        " fresh AP: event-window AP (UString protocol) with the state carried in / the same windows from a zero"
        " state; alerts/h safe: alerts per hour of safe driving; alerted >=0.5 s / >=1 s: share of accidents"
        " alerted that long before toa; map top cell: risk-map top cell on the colliding road user in the last"
        " second before toa.\n"
    )
