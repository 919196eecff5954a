"""``accident-anticipation synth``: write a synthetic dashcam benchmark to a folder."""

from __future__ import annotations

import argparse
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from .config import SPLITS, make_config, split_counts
from .storage import MANIFEST, write_manifest

PROG = "accident-anticipation synth"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split(":", 1)[1].strip())
    p.add_argument(
        "--out", required=True, type=Path, help="output folder (gets synth.json and one folder per split)"
    )
    p.add_argument("--clips", required=True, type=int, help="number of clips over all splits")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument(
        "--preset", choices=["ccd", "dad"], default="ccd", help="ccd: 50 frames @ 10 fps; dad: 100 @ 20 fps"
    )
    p.add_argument("--size", type=int, default=224, help="square frame size in pixels (default 224)")
    p.add_argument(
        "--split-fractions", default="0.7,0.15,0.15", help="train,val,test fractions (default 0.7,0.15,0.15)"
    )
    p.add_argument(
        "--positive-fraction", type=float, default=0.5, help="share of accident clips (default 0.5)"
    )
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--preview", action="store_true", help="also write preview.png and preview.gif")
    p.add_argument("--force", action="store_true", help="write into a folder that already has a synth.json")
    return p


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def _make(task) -> tuple[str, str, float]:
    cfg, seed, split, index, out = task
    from .generator import generate_clip
    from .storage import write_clip

    clip = generate_clip(cfg, seed, split, index)
    write_clip(out, split, clip)
    return split, clip.clip_id, clip.toa


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        fractions = tuple(float(x) for x in args.split_fractions.split(","))
        counts = split_counts(args.clips, fractions)
        cfg = make_config(args.preset, size=args.size, positive_fraction=args.positive_fraction)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    if args.clips < 1 or args.workers < 1:
        print(f"{PROG}: error: --clips and --workers must be >= 1", file=sys.stderr)
        return 2
    if (args.out / MANIFEST).exists() and not args.force:
        print(f"{PROG}: error: {args.out / MANIFEST} exists (use --force to overwrite)", file=sys.stderr)
        return 2
    from tqdm import tqdm

    tasks = [(cfg, args.seed, split, i, args.out) for split in SPLITS for i in range(counts[split])]
    ids: dict[str, list[str]] = {split: [] for split in SPLITS}
    toas: dict[str, float] = {}
    positives = dict.fromkeys(SPLITS, 0)
    bar = tqdm(total=len(tasks), desc=f"synth {args.preset}", unit="clip")
    if args.workers == 1:
        _init_worker()
        results = map(_make, tasks)
        pool = None
    else:
        pool = ProcessPoolExecutor(args.workers, initializer=_init_worker)
        results = pool.map(_make, tasks, chunksize=max(1, min(8, len(tasks) // (4 * args.workers))))
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
    path = write_manifest(args.out, cfg, args.seed, ids, positives, fractions, toas)
    total = sum(positives.values())
    print(f"wrote {len(tasks)} clips ({total} with an accident) and {path}")
    if args.preview:
        from .preview import write_previews

        png, gif = write_previews(args.out)
        print(f"wrote {png} and {gif}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
