"""Generator throughput: ``python -m accident_anticipation_ros.tools.synth_bench`` prints :func:`run` as JSON.

One process, OpenCV on one thread: frames per second of CPU time is the speed per core; wall-clock
frames per second is reported too (it drops when other processes share the cores).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path


def run(preset: str = "ccd", size: int = 224, clips: int = 8, seed: int = 0, write: bool = True) -> dict:
    """Generate ``clips`` clips (and optionally write them) and time it."""
    import cv2

    from accident_anticipation_ros.training.synth.config import make_config
    from accident_anticipation_ros.training.synth.generator import generate_clip
    from accident_anticipation_ros.training.synth.storage import write_clip

    cv2.setNumThreads(1)
    cfg = make_config(preset, size=size)
    generate_clip(cfg, seed, "bench", 10_000)  # warm caches (vehicle models, sprites)
    frames = 0
    wall = cpu = 0.0
    wall_w = cpu_w = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(clips):
            w0, c0 = time.perf_counter(), time.process_time()
            clip = generate_clip(cfg, seed, "bench", i)
            w1, c1 = time.perf_counter(), time.process_time()
            wall, cpu = wall + w1 - w0, cpu + c1 - c0
            frames += clip.num_frames
            if write:
                write_clip(Path(tmp), "bench", clip)
                wall_w, cpu_w = wall_w + time.perf_counter() - w1, cpu_w + time.process_time() - c1
    out = {
        "preset": preset,
        "size": size,
        "clips": clips,
        "frames": frames,
        "generate_frames_per_s_cpu": round(frames / cpu, 1),
        "generate_frames_per_s_wall": round(frames / wall, 1),
        "ms_per_frame_cpu": round(1000 * cpu / frames, 2),
    }
    if write:
        out["with_write_frames_per_s_cpu"] = round(frames / (cpu + cpu_w), 1)
        out["with_write_frames_per_s_wall"] = round(frames / (wall + wall_w), 1)
    return out
