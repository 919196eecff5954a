"""Check a model file against its recorded sha256 before any backend opens it (ROS-free).

The recorded hash of a model file is, in this order:

* the ``model_sha256`` parameter (or ``expected=`` here), when set;
* else the sidecar ``<model file>.sha256`` next to it, in ``sha256sum`` format
  (``<64 hex digits>  <name>``; the name is optional);
* else none: the file is loaded unchecked and its digest is reported (logged by the node).

The hash is :func:`~accident_anticipation_ros.contract.file_sha256` of the file itself (what
``sha256sum model.onnx`` prints). It is not ``aar.model_hash``, which names the weights the graph
was exported from and is stored inside the file (so it cannot vouch for the file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from accident_anticipation_ros.contract import file_sha256
from accident_anticipation_ros.runtime.errors import BackendError

SIDECAR_SUFFIX = ".sha256"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


class ModelHashMismatch(BackendError):
    """The model file's sha256 differs from the recorded one: the file is not loaded."""


@dataclass(frozen=True)
class TrustedModel:
    """The outcome of :func:`verify_model_file`: the file's digest and where the expected one came from."""

    path: Path
    sha256: str
    source: str  # "parameter model_sha256", "sidecar <path>" or "" (nothing recorded)

    @property
    def verified(self) -> bool:
        return bool(self.source)


def sidecar_path(model: str | Path) -> Path:
    """``<model>.sha256``: ``model.onnx`` -> ``model.onnx.sha256``."""
    model = Path(model)
    return model.with_name(model.name + SIDECAR_SUFFIX)


def read_sidecar(path: str | Path) -> str:
    """The digest in a ``sha256sum``-style file; BackendError if it holds none."""
    path = Path(path)
    try:
        text = path.read_text(errors="replace").strip()
    except OSError as exc:
        raise BackendError(f"{path}: cannot read the model's sha256 sidecar ({exc})") from exc
    digest = text.split()[0].lower() if text else ""
    if not _HEX64.match(digest):
        raise BackendError(f"{path}: not a sha256 sidecar (expected 64 hex digits, then optionally the name)")
    return digest


def verify_model_file(path: str | Path, expected: str = "") -> TrustedModel:
    """Hash ``path`` and compare it with ``expected`` or, if empty, with its sidecar (if any).

    Raises:
        BackendError: the file cannot be read, ``expected`` or the sidecar is not a sha256 digest.
        ModelHashMismatch: the digests differ (the message names the file, both digests and the source).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise BackendError(f"model file {path} does not exist" + (" (a directory)" if path.is_dir() else ""))
    expected = expected.strip().lower()
    if expected:
        if not _HEX64.match(expected):
            raise BackendError(f"parameter 'model_sha256' must be 64 hex digits, got {expected!r}")
        source = "parameter model_sha256"
    elif sidecar_path(path).is_file():
        expected, source = read_sidecar(sidecar_path(path)), f"sidecar {sidecar_path(path)}"
    else:
        source = ""
    try:
        actual = file_sha256(path)
    except OSError as exc:
        raise BackendError(f"model file {path} cannot be read: {exc}") from exc
    if source and actual != expected:
        raise ModelHashMismatch(
            f"model file {path} has sha256 {actual}, but {source} records {expected}; refusing to load "
            "a model that is not the recorded one (replace the file or update the recorded hash)"
        )
    return TrustedModel(path, actual, source)


def write_sidecar(path: str | Path) -> Path:
    """Record ``path``'s sha256 in its sidecar (``sha256sum`` format); returns the sidecar path."""
    path = Path(path)
    out = sidecar_path(path)
    out.write_text(f"{file_sha256(path)}  {path.name}\n")
    return out
