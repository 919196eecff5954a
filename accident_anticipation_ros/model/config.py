"""Student configurations: one frozen dataclass and the named configs.

``tsd-s0``   paper scale: MobileCLIP-S0 (timm ``fastvit_mci0``) stem + stages 1-3 at 256x256 (the
             resolution MobileCLIP-S0 was trained at), 6 spatio-temporal RWKV layers at 8C = 512
             channels. Its stride-32 grid is 8x8 and its window is the whole grid (no partition, no
             shift): the spatial mixing is one depthwise conv over the grid, the cheapest step graph
             (the 2x2 windows of 4x4 tokens with shifts cost ~1.5% of the step's GFLOP/s on 1 core).
``tsd-s2``   MobileCLIP-S2 (timm ``fastvit_mci2``) stem + stages 1-3 (C = 80, depths 4, 12, 24) at
             256x256 and 6 RWKV layers at 8C = 640 channels (51.6M parameters), grid-wide window as
             ``tsd-s0``: the student of a MobileCLIP-S2 / MobileCLIP2-S2 teacher.
``tsd-nano`` real time on 2 CPU cores (ONNX Runtime): 160x160 input, C = 32, 3 RWKV layers.
``tsd-test`` tiny, for fast tests (non-square 128x192 input, 4x6 grid, six 2x2 windows, shifted on
             every second layer).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from accident_anticipation_ros.model.errors import ConfigError

STRIDE = 32  # the RWKV tokens' stride


@dataclass(frozen=True)
class StudentConfig:
    """Architecture of a TSD student (everything needed to rebuild it; saved with every checkpoint).

    Attributes:
        name: Config name (``tsd-s0``, ``tsd-nano``, ...).
        image_size: Input ``(H, W)``; both multiples of 32.
        widths: Channels of stages 1-3 (C, 2C, 4C for the MCi family).
        depths: RepMixer blocks in stages 1-3.
        mlp_ratio: ConvMlp expansion of the RepMixer blocks.
        se_downsamples: Squeeze-excite in the patch embeddings of stages 1-3 and of the stride-32
            embedding (MCi0: ``(False, False, True, True)``).
        lkc_use_act: GELU after the large-kernel patch-embedding conv (True for MCi).
        rwkv_dim: Channels of the stride-32 RWKV tokens (8C).
        rwkv_layers: Number of spatio-temporal RWKV layers (N).
        rwkv_ffn_ratio: Hidden width of the channel mixing, as a multiple of ``rwkv_dim``.
        window_size: Side of the square token windows (in stride-32 tokens); divides the grid.
        shift_windows: Shift the windows by half a window on every second layer (Swin-style).
        num_heads: Heads of the WKV output norm (per-head LayerNorm, as RWKV-5's ``ln_x``).
        spatial_kernel: Depthwise kernel of the in-window spatial mixing before the time mixing.
        embed_dim: Vision-language embedding dimension.
        teacher_dims: Teacher channels of stages 1-3 (targets of the projections P_1..P_3).
        teacher_embed_dim: Teacher final embedding dimension (target of the temporal head H).
        mask_ratio: Default training mask ratio of the WKV (fraction of tokens whose m_t = 0).
    """

    name: str = "custom"
    image_size: tuple[int, int] = (256, 256)
    widths: tuple[int, int, int] = (64, 128, 256)
    depths: tuple[int, int, int] = (2, 6, 10)
    mlp_ratio: float = 3.0
    se_downsamples: tuple[bool, bool, bool, bool] = (False, False, True, True)
    lkc_use_act: bool = True
    rwkv_dim: int = 512
    rwkv_layers: int = 6
    rwkv_ffn_ratio: float = 4.0
    window_size: int = 4
    shift_windows: bool = True
    num_heads: int = 8
    spatial_kernel: int = 3
    embed_dim: int = 512
    teacher_dims: tuple[int, int, int] = (64, 128, 256)
    teacher_embed_dim: int = 512
    mask_ratio: float = 0.3

    def __post_init__(self) -> None:
        for name in ("image_size", "widths", "depths", "se_downsamples", "teacher_dims"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        _check(len(self.image_size) == 2, "image_size", f"must be (H, W), got {self.image_size}")
        for side in self.image_size:
            _check(
                isinstance(side, int) and side > 0 and side % STRIDE == 0,
                "image_size",
                f"sides must be positive multiples of {STRIDE}, got {self.image_size}",
            )
        _check(len(self.widths) == 3, "widths", f"must have 3 entries (stages 1-3), got {self.widths}")
        _check(len(self.depths) == 3, "depths", f"must have 3 entries (stages 1-3), got {self.depths}")
        _check(all(w > 0 for w in self.widths), "widths", f"must be positive, got {self.widths}")
        _check(all(d > 0 for d in self.depths), "depths", f"must be positive, got {self.depths}")
        _check(len(self.se_downsamples) == 4, "se_downsamples", f"needs 4 flags, got {self.se_downsamples}")
        _check(len(self.teacher_dims) == 3, "teacher_dims", f"needs 3 entries, got {self.teacher_dims}")
        _check(self.rwkv_layers >= 1, "rwkv_layers", f"must be >= 1, got {self.rwkv_layers}")
        _check(
            self.rwkv_dim > 0 and self.rwkv_dim % self.num_heads == 0,
            "rwkv_dim",
            f"must be a positive multiple of num_heads={self.num_heads}, got {self.rwkv_dim}",
        )
        h, w = self.grid
        _check(
            self.window_size >= 1 and h % self.window_size == 0 and w % self.window_size == 0,
            "window_size",
            f"must divide the {h}x{w} token grid of image_size {self.image_size}, got {self.window_size}",
        )
        _check(
            self.spatial_kernel >= 1 and self.spatial_kernel % 2 == 1,
            "spatial_kernel",
            f"must be odd and positive, got {self.spatial_kernel}",
        )
        _check(0.0 <= self.mask_ratio < 1.0, "mask_ratio", f"must be in [0, 1), got {self.mask_ratio}")
        _check(self.rwkv_ffn_ratio > 0, "rwkv_ffn_ratio", f"must be positive, got {self.rwkv_ffn_ratio}")

    @property
    def grid(self) -> tuple[int, int]:
        """Stride-32 token grid ``(h, w)`` (also the risk map's shape)."""
        return self.image_size[0] // STRIDE, self.image_size[1] // STRIDE

    @property
    def num_tokens(self) -> int:
        h, w = self.grid
        return h * w

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {
            f.name: list(v) if isinstance(v := getattr(self, f.name), tuple) else v
            for f in dataclasses.fields(self)
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "config") -> StudentConfig:
        """Build from :meth:`to_dict` output; strict: unknown or missing fields are errors.

        Args:
            data: Field values.
            source: Where ``data`` came from (a file name), for error messages.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: student config must be a JSON object, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        missing = sorted(names - set(data))
        if unknown:
            raise ConfigError(f"{source}: unknown student config field(s) {unknown}")
        if missing:
            raise ConfigError(f"{source}: missing student config field(s) {missing}")
        try:
            return cls(**data)
        except ConfigError as err:
            raise ConfigError(f"{source}: {err}") from None
        except (TypeError, ValueError) as err:
            raise ConfigError(f"{source}: invalid student config: {err}") from None


def _check(ok: bool, name: str, text: str) -> None:
    if not ok:
        raise ConfigError(f"StudentConfig.{name} {text}")


_CONFIGS: dict[str, StudentConfig] = {
    "tsd-s0": StudentConfig(name="tsd-s0", window_size=8, shift_windows=False),
    "tsd-s2": StudentConfig(
        name="tsd-s2",
        widths=(80, 160, 320),
        depths=(4, 12, 24),
        rwkv_dim=640,
        window_size=8,
        shift_windows=False,
        teacher_dims=(80, 160, 320),
    ),
    "tsd-nano": StudentConfig(
        name="tsd-nano",
        image_size=(160, 160),
        widths=(32, 64, 128),
        depths=(1, 2, 4),
        rwkv_dim=256,
        rwkv_layers=3,
        window_size=5,
        shift_windows=False,
        num_heads=4,
        embed_dim=512,
        teacher_dims=(64, 128, 256),
        teacher_embed_dim=512,
    ),
    "tsd-test": StudentConfig(
        name="tsd-test",
        image_size=(128, 192),
        widths=(8, 16, 32),
        depths=(1, 1, 1),
        mlp_ratio=2.0,
        rwkv_dim=32,
        rwkv_layers=2,
        rwkv_ffn_ratio=2.0,
        window_size=2,
        num_heads=2,
        embed_dim=16,
        teacher_dims=(12, 20, 24),
        teacher_embed_dim=24,
    ),
}


def list_configs() -> list[str]:
    """Names of the built-in configs."""
    return sorted(_CONFIGS)


def get_config(name: str, **overrides: Any) -> StudentConfig:
    """A named config, optionally with fields replaced (e.g. ``teacher_dims=(...)``).

    Raises:
        ConfigError: unknown name or invalid override.
    """
    if name not in _CONFIGS:
        raise ConfigError(f"unknown student config {name!r}; known: {list_configs()}")
    cfg = _CONFIGS[name]
    if not overrides:
        return cfg
    bad = sorted(set(overrides) - {f.name for f in dataclasses.fields(cfg)})
    if bad:
        raise ConfigError(f"unknown StudentConfig field(s) {bad} in overrides of {name!r}")
    return dataclasses.replace(cfg, **overrides)
