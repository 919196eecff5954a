"""Write a synthetic dashcam benchmark to a folder: every clip of every split, then the manifest.

Clips are generated in worker processes (or in this one); the files do not depend on the number of
workers (each clip's seed is a function of ``(seed, split, index)`` alone).
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.training.synth.config import SPLITS, SynthConfig
from accident_anticipation_ros.training.synth.storage import write_manifest


@dataclass(frozen=True)
class BenchmarkInfo:
    """What :func:`write_benchmark` wrote."""

    manifest: Path
    clips: int
    positives: int


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _make(task) -> tuple[str, str, float]:
    cfg, seed, split, index, out = task
    from accident_anticipation_ros.training.synth.generator import generate_clip
    from accident_anticipation_ros.training.synth.storage import write_clip

    clip = generate_clip(cfg, seed, split, index)
    write_clip(out, split, clip)
    return split, clip.clip_id, clip.toa


def write_benchmark(
    out: Path,
    cfg: SynthConfig,
    seed: int,
    counts: dict[str, int],
    split_fractions: tuple[float, ...],
    workers: int = 1,
    progress: bool = True,
) -> BenchmarkInfo:
    """Generate ``counts[split]`` clips per split into ``out`` and write ``out/synth.json``.

    Args:
        out: Output folder (gets ``synth.json`` and one folder per split).
        cfg: Generator config (preset, frame size, positive fraction).
        seed: Dataset seed.
        counts: Clips per split (``config.split_counts``).
        split_fractions: The fractions ``counts`` came from, recorded in the manifest.
        workers: Worker processes (1: generate in this process).
        progress: Show a tqdm bar.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    from tqdm import tqdm

    tasks = [(cfg, seed, split, i, out) for split in SPLITS for i in range(counts[split])]
    ids: dict[str, list[str]] = {split: [] for split in SPLITS}
    toas: dict[str, float] = {}
    positives = dict.fromkeys(SPLITS, 0)
    bar = tqdm(total=len(tasks), desc=f"synth {cfg.preset}", unit="clip", disable=not progress)
    if workers == 1:
        _init_worker()
        results = map(_make, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(workers, initializer=_init_worker)
        results = pool.map(_make, tasks, chunksize=max(1, min(8, len(tasks) // (4 * workers))))
    try:
        for split, cid, toa in results:
            ids[split].append(cid)
            toas[cid] = toa
            positives[split] += int(toa >= 0)
            bar.update(1)
    finally:
        bar.close()
        if pool is not None:
            pool.shutdown()
    path = write_manifest(out, cfg, seed, ids, positives, split_fractions, toas)
    return BenchmarkInfo(path, len(tasks), sum(positives.values()))
