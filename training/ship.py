"""Ship a trained student: copy its checkpoint (optionally as float16) and export the ONNX step graph from it.

    python -m accident_anticipation_ros.tools.ship --checkpoint runs/tsd-nano-synth/best/tsd-nano \
        --out models/tsd-nano --half

Writes ``<out>.safetensors`` + ``<out>.json`` and ``<out>.onnx``; the ONNX ``aar.model_hash`` is the
sha256 of the shipped safetensors file. With a :class:`~.semantics.SemanticsSpec` the shipped model's
cause vectors and out-of-domain statistics are computed over its training split (on the exported
graph), stored in the JSON and the ONNX metadata; a source checkpoint's own semantics are not
copied (they are bound to its weights, which ``--half`` changes). float16 halves the checkpoint; it loads back as float32
(``load_checkpoint`` casts), and the ONNX graph is exported from exactly those rounded weights, with
every weight float16 holds exactly stored as float16 too (same outputs, about half the file).
"""

from __future__ import annotations

from pathlib import Path

from accident_anticipation_ros.contract import CHECKPOINT_SEMANTICS, CHECKPOINT_SEMANTICS_SHA256

_RESERVED = ("format", "model_name", "config", "reparameterized", "weights_sha256", "model_hash")
_NOT_COPIED = (*_RESERVED, CHECKPOINT_SEMANTICS, CHECKPOINT_SEMANTICS_SHA256)


def ship(checkpoint: str | Path, out: str | Path, half: bool = False, semantics=None) -> dict:
    """Copy ``checkpoint`` to ``out`` (float16 with ``half``) and export ``out.onnx``; return file facts.

    Args:
        semantics: A ``training.semantics.SemanticsSpec``: also compute and ship the model's causes
            and domain statistics (their report is returned under ``"semantics"``).
    """
    from accident_anticipation_ros.model.checkpoint import load_checkpoint, save_checkpoint, write_semantics
    from accident_anticipation_ros.model.export import export_onnx

    model, meta = load_checkpoint(checkpoint)
    extra = {k: v for k, v in meta.items() if k not in _NOT_COPIED}
    extra["shipped_from"] = {"checkpoint": str(checkpoint), "sha256": meta["model_hash"], "float16": half}
    if half:
        model = model.half()
    weights, config = save_checkpoint(model, out, extra=extra)
    report = export_onnx(weights, weights.with_suffix(".onnx"), float16_storage=half)
    facts: dict = {}
    if semantics is not None:
        from accident_anticipation_ros.training.semantics import build_semantics

        found, facts["semantics"] = build_semantics(report.path, semantics)
        write_semantics(weights, found)
        report = export_onnx(weights, weights.with_suffix(".onnx"), float16_storage=half)
    files = [weights, config, report.path]
    return {
        **facts,
        "files": {str(p): p.stat().st_size for p in files},
        "total_bytes": sum(p.stat().st_size for p in files),
        "model_hash": report.model_hash,
        "onnx_max_rel_error": report.max_rel_error,
        "onnx_float16_initializers": report.float16_initializers,
    }
