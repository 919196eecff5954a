"""Training configs: typed frozen dataclasses built from one YAML file (see ``configs/``).

``load_train_config(path, overrides)`` builds a :class:`TrainConfig`; unknown keys, wrong types, bad
values and missing paths are :class:`TrainConfigError` naming the file and the dotted key.
Relative paths are relative to the current working directory (run from the repository root).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from accident_anticipation_ros.contract import PREPROCESS_MODES
from accident_anticipation_ros.metrics import METRIC_LABELS
from accident_anticipation_ros.training.errors import TrainConfigError
from accident_anticipation_ros.training.yaml_config import apply_overrides, build, load_yaml, require

RESIZE_MODES = PREPROCESS_MODES  # contract: how frames are fitted to the input (aar.preprocess)


@dataclass(frozen=True)
class AugmentConfig:
    """Clip-consistent augmentation of the training windows (``training.augment``): per clip one random
    resized crop, horizontal flip and colour jitter, the same for every frame. Validation and test
    clips are never augmented. Needs the teacher run on the augmented frames (``cache.teacher: false``)
    when a distillation term is on; not with ``train.stateful`` (yet).

    Attributes:
        enabled: Augment the training windows.
        hflip: Probability of a horizontal flip.
        crop_scale: Share of the frame's area the crop keeps, ``(min, max)``; ``(1, 1)``: no crop.
        crop_ratio: Aspect ratio (width / height) range of the crop, log-uniform.
        brightness, contrast, saturation: Jitter factors drawn from ``[1 - j, 1 + j]``.
    """

    enabled: bool = False
    hflip: float = 0.5
    crop_scale: tuple[float, float] = (0.6, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    def __post_init__(self) -> None:
        require(0 <= self.hflip <= 1, f"hflip must be in [0, 1], got {self.hflip}")
        lo, hi = self.crop_scale
        require(
            0 < lo <= hi <= 1,
            f"crop_scale must be (min, max) with 0 < min <= max <= 1, got {self.crop_scale}",
        )
        require(
            0 < self.crop_ratio[0] <= self.crop_ratio[1],
            f"crop_ratio must be (min, max) > 0, got {self.crop_ratio}",
        )
        for name in ("brightness", "contrast", "saturation"):
            j = getattr(self, name)
            require(0 <= j < 1, f"{name} must be in [0, 1), got {j}")


@dataclass(frozen=True)
class ExtraTrainSource:
    """More training sequences from another dataset: a split added to the training split.

    Attributes:
        root: Dataset directory, e.g. a continuous drive (``synth --drive``).
        split: Its split to read (a drive's pieces are split ``drive``).
        format: Loader format for ``iter_clips``.
    """

    root: str
    split: str = "drive"
    format: str = "auto"


@dataclass(frozen=True)
class DataConfig:
    """Where the clips come from (``training.datasets.iter_clips``) and how they are cut.

    Attributes:
        root: Dataset directory (synthetic benchmark, DAD or CCD copy).
        format: Loader format for ``iter_clips`` (``auto``, ``synth``, ``dad``, ``ccd``, ...).
        train_split, val_split, test_split: Split names; the test split is only read by ``evaluate``.
        val_fraction: Hold out this share of the training split as validation (DAD and CCD have no
            validation split); ``val_split`` then only names it. None: read ``val_split`` from the dataset.
        seed_split: Salt of the hold-out hash.
        window: Frames per training sample (a random window of each clip per epoch); None: whole clips.
        max_clips: Use at most this many clips per split (smoke runs); None: all.
        resize: How frames are fitted to the model input, as the runtime preprocessing does.
        augment: Clip-consistent augmentation of the training windows (:class:`AugmentConfig`).
        extra_train: More training sequences (:class:`ExtraTrainSource`), e.g. continuous drives
            whose plain driving the clips lack; read in order after the training split, their clip ids
            prefixed ``x<i>:``; never validated or tested on, ``max_clips`` does not cut them. Drive
            pieces run up to 30 s: pair them with ``train.stateful`` and its ``label_horizon_s``.
    """

    root: str
    format: str = "auto"
    train_split: str = "train"
    val_split: str = "val"
    test_split: str = "test"
    val_fraction: float | None = None
    seed_split: int = 0
    window: int | None = None
    max_clips: int | None = None
    resize: str = "letterbox"
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    extra_train: tuple[ExtraTrainSource, ...] = ()

    def __post_init__(self) -> None:
        require(
            self.val_fraction is None or 0 < self.val_fraction < 1,
            f"val_fraction must be in (0, 1), got {self.val_fraction}",
        )
        require(
            self.val_fraction is None or self.val_split != self.train_split,
            "val_split must differ from train_split",
        )
        require(self.window is None or self.window >= 2, f"window must be >= 2 frames, got {self.window}")
        require(
            self.max_clips is None or self.max_clips >= 1, f"max_clips must be >= 1, got {self.max_clips}"
        )
        require(self.resize in RESIZE_MODES, f"resize must be one of {RESIZE_MODES}, got {self.resize!r}")


@dataclass(frozen=True)
class TeacherConfig:
    """The frozen image(-text) teacher.

    Attributes:
        source: ``open_clip`` (a MobileCLIP model name), ``timm`` (``fastvit_mci*``, image tower only)
            or ``aar`` (a teacher written by ``accident-anticipation train-teacher``).
        model: open_clip / timm model name (ignored for ``aar``).
        checkpoint: Weights file (safetensors preferred; ``.pt``/``.bin`` read with ``weights_only``):
            open_clip's, or Apple's ml-mobileclip ``.pt`` (MobileCLIP v1: S1/S2 with source open_clip,
            S0/S1/S2 image tower only with source timm ``fastvit_mci0/1/2``; B, a ViT, not at all).
            None builds random weights: for tests and smoke runs only.
        image_size: Teacher input ``(H, W)``; None: the model's own.
        mean, std: Input normalisation; None: the model's own (MobileCLIP: 0 and 1).
        embed_dim: timm only: width of the embedding head when no checkpoint says it (MobileCLIP: 512).
        batch_size: Frames per teacher forward when filling the cache.
    """

    source: str = "open_clip"
    model: str = "MobileCLIP2-S0"
    checkpoint: str | None = None
    image_size: tuple[int, int] | None = None
    mean: tuple[float, float, float] | None = None
    std: tuple[float, float, float] | None = None
    embed_dim: int | None = None
    batch_size: int = 32

    def __post_init__(self) -> None:
        require(
            self.source in ("open_clip", "timm", "aar"),
            f"source must be open_clip, timm or aar, got {self.source!r}",
        )
        require(
            self.source != "aar" or self.checkpoint is not None, "checkpoint is required for source 'aar'"
        )
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        require(self.std is None or all(s > 0 for s in self.std), f"std must be positive, got {self.std}")


@dataclass(frozen=True)
class CacheConfig:
    """The on-disk store of student-size frames and teacher outputs (built once, read every epoch).

    Attributes:
        dir: Cache directory; None: ``<out_dir>/cache``. Reused when its fingerprint matches.
        teacher: Store teacher outputs (False: run the teacher on every batch, for big GPUs).
        dtype: Storage dtype of teacher features (``float16`` or ``float32``).
        stage_pool: Average-pool factor of the stored stage 1-3 features (saves disk; 1 = full size).
        shard_mb: Target size of one safetensors shard.
    """

    dir: str | None = None
    teacher: bool = True
    dtype: str = "float16"
    stage_pool: tuple[int, int, int] = (1, 1, 1)
    shard_mb: int = 256

    def __post_init__(self) -> None:
        require(self.dtype in ("float16", "float32"), f"dtype must be float16 or float32, got {self.dtype!r}")
        require(
            all(p >= 1 for p in self.stage_pool), f"stage_pool factors must be >= 1, got {self.stage_pool}"
        )
        require(self.shard_mb >= 1, f"shard_mb must be >= 1, got {self.shard_mb}")


@dataclass(frozen=True)
class StudentSection:
    """Which student to train.

    Attributes:
        arch: ``tsd`` (the RWKV student) or ``gru`` (ablation: stage 4 replaced by a GRU over pooled tokens).
        config: Named student config (``tsd-s0``, ``tsd-nano``, ``tsd-test``).
        overrides: StudentConfig fields to replace (teacher dims are filled from the teacher).
        init_from_teacher: Initialise stem + stages 1-3 from the teacher trunk (needs equal widths/depths).
    """

    arch: str = "tsd"
    config: str = "tsd-nano"
    overrides: dict[str, Any] = field(default_factory=dict)
    init_from_teacher: bool = False

    def __post_init__(self) -> None:
        require(self.arch in ("tsd", "gru"), f"arch must be tsd or gru, got {self.arch!r}")


@dataclass(frozen=True)
class TermConfig:
    """A loss term that can be switched off, with its fixed weight (the initial one with uncertainty)."""

    enabled: bool = True
    weight: float = 1.0

    def __post_init__(self) -> None:
        require(self.weight >= 0, f"weight must be >= 0, got {self.weight}")


@dataclass(frozen=True)
class SpatialConfig(TermConfig):
    """Stage 1-3 distillation ``||P_l f^S_l - f^T_l||^2``; ``normalize`` standardises teacher features per position."""

    normalize: bool = True


@dataclass(frozen=True)
class TemporalConfig(TermConfig):
    """Temporally shifted distillation: student at t predicts the teacher's final embedding at ``t + shift``."""

    shift: int = 1
    normalize: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.shift >= 1, f"shift must be >= 1, got {self.shift}")


@dataclass(frozen=True)
class ContrastiveConfig(TermConfig):
    """Student embedding vs text embeddings of the prompt bank (soft targets from the teacher image embedding).

    Attributes:
        level: ``frame`` (every frame) or ``video`` (mean over the clip's frames).
        temperature: Student logit temperature.
        teacher_temperature: Temperature of the teacher's image-prompt distribution (the target); None:
            the teacher's own ``1 / exp(logit_scale)`` (its zero-shot distribution).
        prompts: Literal prompts.
        templates: Prompt templates with a ``{cause}`` slot, expanded with every entry of ``causes``.
        causes: Accident causes for the templates.
    """

    weight: float = 0.1
    level: str = "frame"
    temperature: float = 0.07
    teacher_temperature: float | None = None
    prompts: tuple[str, ...] = ()
    templates: tuple[str, ...] = ()
    causes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.level in ("frame", "video"), f"level must be frame or video, got {self.level!r}")
        require(
            self.temperature > 0 and (self.teacher_temperature is None or self.teacher_temperature > 0),
            "temperatures must be > 0",
        )
        require(not self.templates or bool(self.causes), "templates need a non-empty 'causes' list")
        for t in self.templates:
            require("{cause}" in t, f"template {t!r} has no {{cause}} slot")


@dataclass(frozen=True)
class AccidentConfig(TermConfig):
    """The anticipation loss (exponentially weighted cross-entropy of DSA / UString, ``losses.anticipation_loss``).

    Attributes:
        full_weight_s: Positive frames within this many seconds before toa get the full weight 1; the
            weight decays from there, ``exp(-max(0, (toa - t - 1) / fps - full_weight_s))``. 0 is DSA /
            UString exactly (the weight halves 0.7 s before toa). The risk-map losses share the weights.
        near_miss_weight: Weight of a hard negative's frames from its manoeuvre's onset to its reference
            frame (the synthetic metadata's ``event_frame`` .. ``critical_frame``), where it still looks
            like the accident it was drawn beside; 1 is DSA / UString exactly (every negative frame
            weighs 1). Below 1 the frame-risk optimum there rises above the positives' share, so the
            risk can rise at the manoeuvre's onset, before the near miss resolves; needs data with
            event frames (the synthetic benchmark).
        positive_from_onset: An accident clip's frames before its manoeuvre's onset (``event_frame``)
            are negatives (target 0, weight 1) in the accident and MIL map terms, instead of DSA's
            positives of decaying weight: until the onset the accident is the same drive as the hard
            negative drawn beside it, and in a stream those frames are safe driving. False is DSA /
            UString exactly; needs data with event frames.
    """

    full_weight_s: float = 0.0
    near_miss_weight: float = 1.0
    positive_from_onset: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.full_weight_s >= 0, f"full_weight_s must be >= 0, got {self.full_weight_s}")
        require(
            0 <= self.near_miss_weight <= 1,
            f"near_miss_weight must be in [0, 1], got {self.near_miss_weight}",
        )


@dataclass(frozen=True)
class TTAConfig(TermConfig):
    """Time-to-accident regression on positive frames before toa (smooth L1 with ``beta`` seconds)."""

    weight: float = 0.1
    beta: float = 1.0


@dataclass(frozen=True)
class FrequencyConfig(TermConfig):
    """SDKD-style frequency-aligned distillation: low (avg-pool ``kernel``) and high (residual) parts apart."""

    enabled: bool = False
    kernel: int = 3
    high_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.kernel >= 2, f"kernel must be >= 2, got {self.kernel}")


@dataclass(frozen=True)
class RiskMapConfig(TermConfig):
    """Per-token risk-map supervision from the colliding object's box (synthetic data: per-frame boxes),
    on the positive frames before toa (``losses.risk_map_loss``)."""

    enabled: bool = False


@dataclass(frozen=True)
class RiskMapMILConfig(TermConfig):
    """Weak risk-map supervision for data without boxes (multiple-instance): the map's pooled logit
    takes the frame's risk target (``losses.risk_map_mil_loss``).

    Attributes:
        pool: ``lse`` (log-mean-exp with ``temperature``) or ``max``.
        temperature: Of ``lse``; smaller is closer to the max.
    """

    enabled: bool = False
    weight: float = 0.5
    pool: str = "lse"
    temperature: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        require(self.pool in ("lse", "max"), f"pool must be lse or max, got {self.pool!r}")
        require(self.temperature > 0, f"temperature must be > 0, got {self.temperature}")


@dataclass(frozen=True)
class MaskConfig:
    """Masked memory: WKV token mask ratio, for the first ``epochs`` epochs (None: all epochs; 0: never)."""

    ratio: float = 0.3
    epochs: int | None = None

    def __post_init__(self) -> None:
        require(0.0 <= self.ratio < 1.0, f"ratio must be in [0, 1), got {self.ratio}")
        require(self.epochs is None or self.epochs >= 0, f"epochs must be >= 0, got {self.epochs}")


@dataclass(frozen=True)
class LossConfig:
    """All loss terms and how they are weighted (``fixed`` or ``uncertainty``: learned log-variances)."""

    weighting: str = "fixed"
    spatial: SpatialConfig = field(default_factory=SpatialConfig)
    temporal: TemporalConfig = field(default_factory=TemporalConfig)
    contrastive: ContrastiveConfig = field(default_factory=ContrastiveConfig)
    accident: AccidentConfig = field(default_factory=AccidentConfig)
    tta: TTAConfig = field(default_factory=TTAConfig)
    frequency: FrequencyConfig = field(default_factory=FrequencyConfig)
    risk_map: RiskMapConfig = field(default_factory=RiskMapConfig)
    risk_map_mil: RiskMapMILConfig = field(default_factory=RiskMapMILConfig)
    mask: MaskConfig = field(default_factory=MaskConfig)

    def __post_init__(self) -> None:
        require(
            self.weighting in ("fixed", "uncertainty"),
            f"weighting must be fixed or uncertainty, got {self.weighting!r}",
        )

    @property
    def distills(self) -> bool:
        """Whether any term needs the teacher's image features."""
        return any(t.enabled for t in (self.spatial, self.temporal, self.contrastive, self.frequency))


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with linear warm-up and cosine decay to ``min_lr_ratio * lr``."""

    lr: float = 1e-3
    weight_decay: float = 0.05
    betas: tuple[float, float] = (0.9, 0.999)
    warmup_steps: int = 100
    min_lr_ratio: float = 0.05
    grad_clip: float | None = 1.0

    def __post_init__(self) -> None:
        require(self.lr > 0, f"lr must be > 0, got {self.lr}")
        require(self.warmup_steps >= 0, f"warmup_steps must be >= 0, got {self.warmup_steps}")
        require(0 <= self.min_lr_ratio <= 1, f"min_lr_ratio must be in [0, 1], got {self.min_lr_ratio}")


@dataclass(frozen=True)
class StatefulConfig:
    """Carried-state training (truncated back-propagation through time) on streams of clips.

    Each epoch the training clips (and later continuous drives: any sequence of frames with per-frame
    labels) are shuffled and chained back to back into streams of ``stream_clips`` clips, with no reset
    between clips. Every batch row plays its own streams in consecutive chunks of ``chunk_len`` frames;
    the recurrent state is carried (detached) from chunk to chunk and reset only when a stream ends.
    A stream starts with ``0 .. burn_in_max`` frames (uniform) run without gradient, so chunks start
    from states of any age. ``data.window`` is not used; validation stays per clip.

    Attributes:
        enabled: Train on streams (False: independent clip windows of ``data.window`` frames).
        chunk_len: Frames per row and step with gradient.
        burn_in_max: Most frames a stream starts with that only build the state (no loss, no gradient).
        stream_clips: ``(min, max)`` sequences chained into one stream (uniform).
        label_horizon_s: Frames more than this many seconds before their accident count as safe
            (negatives) in long sequences; None: a positive clip's frames all count as positive, as in
            clip training.
    """

    enabled: bool = False
    chunk_len: int = 32
    burn_in_max: int = 16
    stream_clips: tuple[int, int] = (1, 8)
    label_horizon_s: float | None = None

    def __post_init__(self) -> None:
        require(self.chunk_len >= 2, f"chunk_len must be >= 2, got {self.chunk_len}")
        require(self.burn_in_max >= 0, f"burn_in_max must be >= 0, got {self.burn_in_max}")
        lo, hi = self.stream_clips
        require(
            1 <= lo <= hi, f"stream_clips must be (min, max) with 1 <= min <= max, got {self.stream_clips}"
        )
        require(
            self.label_horizon_s is None or self.label_horizon_s > 0,
            f"label_horizon_s must be > 0, got {self.label_horizon_s}",
        )


@dataclass(frozen=True)
class LoopConfig:
    """The training loop.

    Attributes:
        epochs: Passes over the training clips.
        batch_size: Clips per step (per process under DDP).
        max_steps: Stop after this many optimiser steps (smoke runs); None: all epochs.
        seed: Seed of weights, data order, windows and masks.
        amp: ``auto`` (bf16 on CUDA if supported, else fp16; off on CPU), ``off``, ``bf16`` or ``fp16``.
        device: ``auto`` (CUDA if available), ``cpu`` or ``cuda``.
        threads: torch CPU threads; None: torch's default.
        log_every: Steps between TensorBoard scalars.
        ckpt_every: Steps between resumable checkpoints (None: at the end of each epoch only).
        val_every: Epochs between validations (the best checkpoint is chosen on val).
        select: Validation metric that picks the best checkpoint (higher is better).
        export_onnx: Export the best checkpoint to ONNX at the end (TSD students only).
        progress: Show tqdm bars.
        stateful: Carried-state training on streams of chained clips (:class:`StatefulConfig`).
    """

    epochs: int = 10
    batch_size: int = 4
    max_steps: int | None = None
    seed: int = 0
    amp: str = "auto"
    device: str = "auto"
    threads: int | None = None
    log_every: int = 10
    ckpt_every: int | None = None
    val_every: int = 1
    select: str = "ap"
    export_onnx: bool = True
    progress: bool = True
    stateful: StatefulConfig = field(default_factory=StatefulConfig)

    def __post_init__(self) -> None:
        require(self.epochs >= 1, f"epochs must be >= 1, got {self.epochs}")
        require(self.batch_size >= 1, f"batch_size must be >= 1, got {self.batch_size}")
        require(
            self.max_steps is None or self.max_steps >= 1, f"max_steps must be >= 1, got {self.max_steps}"
        )
        require(
            self.amp in ("auto", "off", "bf16", "fp16"),
            f"amp must be auto, off, bf16 or fp16, got {self.amp!r}",
        )
        require(
            self.device in ("auto", "cpu", "cuda"), f"device must be auto, cpu or cuda, got {self.device!r}"
        )
        require(
            self.ckpt_every is None or self.ckpt_every >= 1, f"ckpt_every must be >= 1, got {self.ckpt_every}"
        )
        require(self.val_every >= 1, f"val_every must be >= 1, got {self.val_every}")
        require(
            self.select in METRIC_LABELS,
            f"select must be a metric ({', '.join(METRIC_LABELS)}), got {self.select!r}",
        )


@dataclass(frozen=True)
class PaperSwitch:
    """One addition of this package to the TSD method, and the setting that removes it."""

    key: str  # dotted config key
    paper: Any  # the value that is the paper's method (the addition off)
    addition: str  # what the package adds when the key has another value


# What ``paper_exact: true`` sets, whatever the sections say (README "Deviations from the paper" explains each).
PAPER_EXACT: tuple[PaperSwitch, ...] = (
    PaperSwitch("loss.weighting", "fixed", "uncertainty weighting of the terms (learned log-variances)"),
    PaperSwitch("loss.spatial.normalize", False, "teacher stage features standardised per position"),
    PaperSwitch("loss.temporal.normalize", False, "temporal distance between L2-normalised embeddings"),
    PaperSwitch("loss.contrastive.level", "video", "per-frame contrastive loss, not on the clip embedding"),
    PaperSwitch("loss.accident.full_weight_s", 0.0, "full anticipation weight on positive frames near toa"),
    PaperSwitch("loss.accident.near_miss_weight", 1.0, "lower weight on near-miss frames after the onset"),
    PaperSwitch(
        "loss.accident.positive_from_onset", False, "accident frames before the onset trained as negatives"
    ),
    PaperSwitch("loss.tta.enabled", False, "time-to-accident regression term"),
    PaperSwitch("loss.frequency.enabled", False, "frequency-aligned (SDKD) distillation term"),
    PaperSwitch("loss.risk_map.enabled", False, "per-token risk-map term from the colliding object's box"),
    PaperSwitch("loss.risk_map_mil.enabled", False, "multiple-instance risk-map term"),
    PaperSwitch("train.stateful.enabled", False, "carried-state training on chained clip streams"),
    PaperSwitch("data.augment.enabled", False, "clip-consistent crop, flip and colour jitter"),
)


def _get(obj: Any, key: str) -> Any:
    for part in key.split("."):
        obj = getattr(obj, part)
    return obj


def resolve_paper_exact(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of a training config dict with every :data:`PAPER_EXACT` setting applied when its
    ``paper_exact`` is true (the sections' own values for those keys are replaced); as given otherwise."""
    import copy

    if data.get("paper_exact") is not True:
        return data
    data = copy.deepcopy(data)
    for switch in PAPER_EXACT:
        *sections, name = switch.key.split(".")
        node = data
        for part in sections:
            child = node.get(part)
            node[part] = child = dict(child) if isinstance(child, dict) else {}
            node = child
        node[name] = switch.paper
    return data


def active_additions(cfg: TrainConfig) -> list[str]:
    """``"key = value: addition"`` for each of this package's additions to the method that ``cfg`` uses."""
    out = []
    for switch in PAPER_EXACT:
        section, _, name = switch.key.rpartition(".")
        if name != "enabled" and not getattr(_get(cfg, section), "enabled", True):
            continue  # an option of a term that is off
        value = _get(cfg, switch.key)
        if value != switch.paper:
            out.append(f"{switch.key} = {value!r}: {switch.addition}")
    return out


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, teacher, cache, student, losses, optimiser and loop.

    ``paper_exact: true`` removes this package's additions to the TSD method (:data:`PAPER_EXACT`,
    applied by :func:`train_config_from_dict`, so the resolved config shows them off); a TrainConfig
    built directly with ``paper_exact`` and an addition on is an error.
    """

    data: DataConfig
    name: str = "tsd"
    paper_exact: bool = False
    out_dir: str | None = None
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    student: StudentSection = field(default_factory=StudentSection)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: LoopConfig = field(default_factory=LoopConfig)

    def __post_init__(self) -> None:
        if self.paper_exact:
            on = active_additions(self)
            require(not on, f"paper_exact is true but additions to the paper are on: {'; '.join(on)}")
        if self.data.augment.enabled:
            require(
                not self.train.stateful.enabled,
                "data.augment is not supported with train.stateful yet (a clip's chunks would need one draw)",
            )
            require(
                not (self.cache.teacher and self.loss.distills),
                "data.augment changes the student's frames but the cached teacher targets are of the "
                "unaugmented ones: set cache.teacher: false (the teacher then sees the augmented frames)",
            )
        c = self.loss.contrastive
        require(
            not (self.train.stateful.enabled and c.enabled and c.level == "video"),
            "loss.contrastive.level 'video' pools a whole clip; stream chunks span clips: use 'frame' "
            "with train.stateful",
        )

    @property
    def run_dir(self) -> Path:
        return Path(self.out_dir) if self.out_dir else Path("runs") / self.name

    @property
    def cache_dir(self) -> Path:
        return Path(self.cache.dir) if self.cache.dir else self.run_dir / "cache"


def check_paths(checks: list[tuple[str, str | None, str]], source: str) -> None:
    """Each ``(key, path, kind)`` with ``kind`` ``dir`` or ``file`` must exist (None paths are skipped)."""
    for key, path, kind in checks:
        if path is None:
            continue
        p = Path(path)
        ok = p.is_dir() if kind == "dir" else p.is_file()
        if not ok:
            what = "directory" if kind == "dir" else "file"
            state = "is not a " + what if p.exists() else "does not exist"
            raise TrainConfigError(f"{source}: {key} {str(path)!r} {state} (expected a {what})")


def teacher_checkpoint_paths(teacher: TeacherConfig) -> list[tuple[str, str | None, str]]:
    if teacher.checkpoint is None:
        return []
    if teacher.source == "aar":
        stem = Path(teacher.checkpoint)
        stem = stem.with_suffix("") if stem.suffix in (".safetensors", ".json") else stem
        return [
            ("teacher.checkpoint", str(stem.parent / f"{stem.name}.safetensors"), "file"),
            ("teacher.checkpoint", str(stem.parent / f"{stem.name}.json"), "file"),
        ]
    return [("teacher.checkpoint", teacher.checkpoint, "file")]


def train_config_from_dict(data: dict[str, Any], source: str = "config", check: bool = True) -> TrainConfig:
    """Build (``paper_exact`` resolved) and (with ``check``) validate paths of a :class:`TrainConfig`."""
    cfg = build(TrainConfig, resolve_paper_exact(data), source)
    if check:
        check_paths([("data.root", cfg.data.root, "dir"), *teacher_checkpoint_paths(cfg.teacher)], source)
    return cfg


def load_train_config(
    path: str | Path, overrides: list[str] | tuple[str, ...] = (), check: bool = True
) -> TrainConfig:
    """Read a training YAML, apply ``key=value`` overrides, build and validate it."""
    source = str(path)
    data = apply_overrides(load_yaml(path), list(overrides), source)
    return train_config_from_dict(data, source, check)
