"""Ship a trained student: copy its checkpoint (optionally as float16) and export the ONNX step graph from it.

    python -m accident_anticipation_ros.tools.ship --checkpoint runs/tsd-nano-synth/best/tsd-nano \
        --out models/tsd-nano --half

Writes ``<out>.safetensors`` + ``<out>.json`` and ``<out>.onnx``; the ONNX ``aar.model_hash`` is the
sha256 of the shipped safetensors file. float16 halves the checkpoint; it loads back as float32
(``load_checkpoint`` casts), and the ONNX graph is exported from exactly those rounded weights, with
every weight float16 holds exactly stored as float16 too (same outputs, about half the file).
"""

from __future__ import annotations

from pathlib import Path

_RESERVED = ("format", "model_name", "config", "reparameterized", "weights_sha256", "model_hash")


def ship(checkpoint: str | Path, out: str | Path, half: bool = False) -> dict:
    """Copy ``checkpoint`` to ``out`` (float16 with ``half``) and export ``out.onnx``; return file facts."""
    from accident_anticipation_ros.model.checkpoint import load_checkpoint, save_checkpoint
    from accident_anticipation_ros.model.export import export_onnx

    model, meta = load_checkpoint(checkpoint)
    extra = {k: v for k, v in meta.items() if k not in _RESERVED}
    extra["shipped_from"] = {"checkpoint": str(checkpoint), "sha256": meta["model_hash"], "float16": half}
    if half:
        model = model.half()
    weights, config = save_checkpoint(model, out, extra=extra)
    report = export_onnx(weights, weights.with_suffix(".onnx"), float16_storage=half)
    files = [weights, config, report.path]
    return {
        "files": {str(p): p.stat().st_size for p in files},
        "total_bytes": sum(p.stat().st_size for p in files),
        "model_hash": report.model_hash,
        "onnx_max_rel_error": report.max_rel_error,
        "onnx_float16_initializers": report.float16_initializers,
    }
