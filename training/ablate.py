"""``accident-anticipation ablate``: the paper's ablation, one training run per variant, scored on test.

    accident-anticipation ablate --config configs/ablation_synth.yaml --out runs/ablation

The ablation YAML names a base training config, overrides applied to every variant (e.g. fewer
epochs), and optionally its own variants (``name: [key=value, ...]``). Default variants:

- ``full``: every loss of the base config.
- ``no_contrastive``: without the vision-language loss.
- ``spatial_only``: spatial distillation (stages 1-3) without the temporally shifted one.
- ``temporal_only``: temporally shifted distillation without the spatial one.
- ``no_distillation``: no teacher at all (only the anticipation and TTA losses).
- ``gru``: the RWKV stage replaced by a GRU over pooled tokens (UString / DSTA style), full losses.

Every variant trains in ``<out>/<variant>`` (skipped when its ``summary.json`` exists, so an ablation
can be continued), shares the base config's cache (or ``<out>/cache``), picks its best checkpoint on val and is then evaluated on
the test split. Writes ``<out>/ablation.md`` (AP of the UString protocol and max-precision AP, mTTA, TTA@R80,
toa-based mTTA, params) and ``<out>/ablation.json``.

One seed is noise on small benchmarks: ``--seeds 0,1,2`` trains every variant once per seed (the base
config's seed in ``<out>/<variant>``, the others in ``<out>/seed<k>/<variant>``) and adds a table of
mean and standard deviation over the seeds. ``--test-data DIR`` scores on another dataset folder (e.g.
a larger test set drawn from the same generator). Each score is kept next to its run
(``eval-<split>-<digest>.json`` and the per-frame scores as ``.npz``, keyed by data folder, split and
checkpoint hash), so re-running the command only trains and scores what is new; kept metrics are
recomputed from the kept scores, so they always follow the current ``metrics`` module.

``stream_data: DIR`` (or ``--stream-data DIR``, a drive of ``synth --drive``) also runs every run's best
checkpoint over that drive as one stream (``ablate_stream``: the same backend for every variant, kept as
``stream-<digest>.json/.npz``) and adds its columns to both tables: event-window AP with the state
carried in and from a fresh state, alerts per hour of safe driving, the share of accidents alerted
>= 0.5 s and >= 1 s before toa, and the risk map's top-cell accuracy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accident_anticipation_ros.training.errors import TrainingError
from accident_anticipation_ros.training.yaml_config import apply_overrides, build, load_yaml

if TYPE_CHECKING:
    from accident_anticipation_ros.training.config import TrainConfig

_NO_TEACHER = ["loss.spatial.enabled=false", "loss.temporal.enabled=false", "loss.contrastive.enabled=false",
               "loss.frequency.enabled=false"]  # fmt: skip
DEFAULT_VARIANTS: dict[str, tuple[str, ...]] = {
    "full": (),
    "no_contrastive": ("loss.contrastive.enabled=false",),
    "spatial_only": ("loss.temporal.enabled=false",),
    "temporal_only": ("loss.spatial.enabled=false", "loss.frequency.enabled=false"),
    "no_distillation": tuple(_NO_TEACHER),
    "gru": ("student.arch=gru",),
}


@dataclass(frozen=True)
class AblationConfig:
    """Attributes:
    base: The training config every variant starts from.
    overrides: ``key=value`` applied to every variant (before the variant's own).
    variants: ``name -> [key=value, ...]``; empty: :data:`DEFAULT_VARIANTS`.
    test_split: Split the variants are scored on (None: the base config's ``data.test_split``).
    test_data: Dataset folder the variants are scored on (None: the base config's ``data.root``).
    seeds: Training seeds, each variant trained once per seed (empty: the base config's ``train.seed``).
    stream_data: Drive folder (``synth --drive``) every run is also scored on as one stream (None: none).
    """

    base: str
    overrides: tuple[str, ...] = ()
    variants: dict[str, list[str]] = field(default_factory=dict)
    test_split: str | None = None
    test_data: str | None = None
    seeds: tuple[int, ...] = ()
    stream_data: str | None = None


def load_ablation(path: str | Path) -> AblationConfig:
    source = str(path)
    cfg = build(AblationConfig, load_yaml(path), source)
    for name, items in cfg.variants.items():
        if not isinstance(items, list) or not all(isinstance(x, str) and "=" in x for x in items):
            raise TrainingError(f"{source}: variants.{name} must be a list of 'key=value' strings")
    return cfg


@dataclass(frozen=True)
class AblationRun:
    """One training run of the ablation: a variant at a seed, its folder and its training config."""

    variant: str
    seed: int
    overrides: tuple[str, ...]  # the variant's own
    run_dir: Path
    config: TrainConfig


def plan_ablation(config: str | Path, out: str | Path, only: list[str] | None = None, extra: list[str] = (),
                  progress: bool = True, seeds: list[int] | None = None) -> tuple[AblationConfig, list[AblationRun]]:  # fmt: skip
    """The ablation YAML and its runs in order (seed by seed, variants in the YAML's order), nothing trained."""
    from accident_anticipation_ros.training.config import train_config_from_dict

    ab = load_ablation(config)
    out = Path(out)
    variants = {k: tuple(v) for k, v in ab.variants.items()} or DEFAULT_VARIANTS
    if only:
        unknown = sorted(set(only) - set(variants))
        if unknown:
            raise TrainingError(f"unknown variant(s) {unknown}; known: {', '.join(variants)}")
        variants = {k: variants[k] for k in only}  # in the order asked for
    base = load_yaml(ab.base)
    base_seed = train_config_from_dict(
        apply_overrides(base, [*ab.overrides, *extra], str(config)), str(config)
    ).train.seed
    cache_dir = (base.get("cache") or {}).get("dir") or str(out / "cache")  # shared by all variants
    runs = []
    for seed in dict.fromkeys(seeds or ab.seeds or [base_seed]):
        for name, items in variants.items():
            run_dir = out / name if seed == base_seed else out / f"seed{seed}" / name
            overrides = [*ab.overrides, *extra, *items, f"train.seed={seed}", f"name={name}",
                         f"out_dir={run_dir}", f"cache.dir={cache_dir}",
                         f"train.progress={'true' if progress else 'false'}"]  # fmt: skip
            cfg = train_config_from_dict(
                apply_overrides(base, overrides, str(config)), f"{config} (variant {name}, seed {seed})"
            )
            runs.append(AblationRun(name, seed, items, run_dir, cfg))
    return ab, runs


def run_ablation(config: str | Path, out: str | Path, only: list[str] | None = None, extra: list[str] = (),
                 progress: bool = True, seeds: list[int] | None = None,
                 test_data: str | Path | None = None, stream_data: str | Path | None = None) -> list[dict]:  # fmt: skip
    """Train and evaluate every variant (once per seed); returns one row per run (also written to ``out``).

    ``seeds``, ``test_data`` and ``stream_data`` override the ablation YAML's.
    """
    from accident_anticipation_ros.training.ablate_stream import (
        check_drive,
        stream_legend,
        stream_scored,
        stream_summary,
    )
    from accident_anticipation_ros.training.trainer import Trainer

    ab, runs = plan_ablation(config, out, only, extra, progress, seeds)
    out = Path(out)
    drive = stream_data or ab.stream_data
    drive = check_drive(drive) if drive else None  # before hours of training
    several_seeds = len({run.seed for run in runs}) > 1
    rows = []
    for run in runs:
        cfg, run_dir = run.config, run.run_dir
        summary_path = run_dir / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.is_file() else Trainer(cfg).fit()
        split = ab.test_split or cfg.data.test_split
        data = str(test_data or ab.test_data or cfg.data.root)
        fmt = cfg.data.format if data == str(cfg.data.root) else "auto"
        metrics, clips = scored(run_dir, summary["checkpoint"], data, split, fmt)
        row = {"variant": run.variant, "seed": run.seed, "overrides": list(run.overrides), "test": metrics,
               "val": summary["best"], "params": summary["params"], "train_wall_s": summary["wall_s"],
               "steps": summary["steps"], "test_data": data, "test_clips": clips}  # fmt: skip
        if drive is not None:
            report = stream_scored(run_dir, summary["checkpoint"], drive)
            row.update(stream=stream_summary(report), stream_data=str(drive), stream_report=report)
        rows.append(row)
        (out / "ablation.json").write_text(json.dumps(rows, indent=2) + "\n")
        table = markdown_table(rows, split)
        if several_seeds:
            table += "\n" + seed_summary_table(rows, split)
        if drive is not None:
            table += "\n" + stream_legend(drive)
        (out / "ablation.md").write_text(table)
    return rows


def scored(run_dir: Path, checkpoint: str, data: str, split: str, fmt: str) -> tuple[dict, int]:
    """Metrics of ``checkpoint`` on ``data``/``split`` and the clip count, kept in ``run_dir`` for reuse
    (with the per-frame scores beside them as ``.npz``)."""
    import hashlib

    from accident_anticipation_ros.contract import file_sha256
    from accident_anticipation_ros.model.checkpoint import checkpoint_paths
    from accident_anticipation_ros.training.evaluate import evaluate_checkpoint, save_scores

    weights_sha = file_sha256(checkpoint_paths(checkpoint)[0])
    key = hashlib.sha256(f"{Path(data).resolve()}|{split}|{weights_sha}".encode()).hexdigest()[:12]
    path = run_dir / f"eval-{split}-{key}.json"
    if path.is_file():
        kept = json.loads(path.read_text())
        if path.with_suffix(".npz").is_file():  # recomputed: the metrics of today's module, not the kept ones
            kept["metrics"] = metrics_of_scores(path.with_suffix(".npz"))
        return kept["metrics"], kept["clips"]
    metrics, details = evaluate_checkpoint(checkpoint, data, split, fmt)
    save_scores(path.with_suffix(".npz"), details)  # per-frame scores, for plots
    kept = {"data": str(data), "split": split, "weights_sha256": weights_sha, "metrics": metrics,
            "clips": len(details["clip_ids"])}  # fmt: skip
    path.write_text(json.dumps(kept, indent=2) + "\n")
    return metrics, kept["clips"]


def metrics_of_scores(path: Path) -> dict[str, float]:
    """``metrics.evaluate`` of per-frame scores kept as ``.npz`` (``evaluate.save_scores``)."""
    from accident_anticipation_ros.training.predict import clip_metrics
    from accident_anticipation_ros.training.score_profile import load_scores

    kept = load_scores(path)
    return clip_metrics(kept.scores, kept.toa, [kept.fps] * len(kept.scores))


TABLE_KEYS = ("ap", "ap_maxprec", "mtta", "tta_r80", "mtta_toa")  # test metrics of the tables, in order
_PERCENT = {"ap", "ap_maxprec"}  # printed in %


def _columns(rows: list[dict], split: str) -> list[tuple[str, str, str, float, int]]:
    """``(block, key, title, scale, digits)`` of the tables: the test metrics of :data:`TABLE_KEYS` (named as
    in ``metrics.METRIC_LABELS``), then ``ablate_stream.STREAM_COLUMNS`` where a row has them."""
    from accident_anticipation_ros.metrics import METRIC_LABELS
    from accident_anticipation_ros.training.ablate_stream import STREAM_COLUMNS

    cols = [("test", k, f"{split} {METRIC_LABELS[k]}", 100, 1) if k in _PERCENT else
            ("test", k, METRIC_LABELS[k], 1, 2) for k in TABLE_KEYS]  # fmt: skip
    if any("stream" in r for r in rows):
        cols += [("stream", k, title, scale, digits) for k, (title, scale, digits) in STREAM_COLUMNS.items()]
    return cols


def _values(runs: list[dict], block: str, key: str) -> list[float] | None:
    """``run[block][key]`` of every run; None if a run lacks it."""
    if not all(key in r.get(block, {}) for r in runs):
        return None
    return [r[block][key] for r in runs]


def markdown_table(rows: list[dict], split: str) -> str:
    """The ablation as a markdown table, one row per run (test metrics; val AP for reference)."""
    seeds = len({r.get("seed") for r in rows}) > 1
    cols = _columns(rows, split)
    lines = [
        f"| variant |{' seed |' if seeds else ''} {' | '.join(c[2] for c in cols)} | params | val AP | train (s) |",
        "|---|" + "---|" * (len(cols) + 3 + seeds),
    ]
    for r in rows:
        cells = " | ".join(
            f"{scale * r[block][k]:.{digits}f}" if k in r.get(block, {}) else "-"
            for block, k, _, scale, digits in cols
        )
        seed = f" {r.get('seed')} |" if seeds else ""
        lines.append(
            f"| {r['variant']} |{seed} {cells} | {r['params'] / 1e6:.2f}M | {100 * r['val']['ap']:.1f} | "
            f"{r['train_wall_s']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _mean_sd(values: list[float], scale: float = 1.0, digits: int = 2) -> str:
    """``mean +- sample sd`` of ``values * scale`` (sd 0 for one value)."""
    v = np.asarray(values, float) * scale
    sd = float(v.std(ddof=1)) if len(v) > 1 else 0.0
    return f"{v.mean():.{digits}f} +- {sd:.{digits}f}"


def seed_summary_table(rows: list[dict], split: str) -> str:
    """Mean +- standard deviation over seeds per variant (sample std; n seeds in the last column)."""
    cols = _columns(rows, split)
    lines = [
        f"| variant | {' | '.join(c[2] for c in cols)} | val AP | seeds |",
        "|---|" + "---|" * (len(cols) + 2),
    ]
    for name in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == name]
        cells = []
        for block, k, _, scale, digits in cols:
            values = _values(runs, block, k)
            cells.append("-" if values is None else _mean_sd(values, scale, digits))
        lines.append(
            f"| {name} | {' | '.join(cells)} | {_mean_sd([r['val']['ap'] for r in runs], 100, 1)} | {len(runs)} |"
        )
    return "\n".join(lines) + "\n"
