"""Errors of the model subpackage."""

from __future__ import annotations


class ModelError(Exception):
    """Base class of the model subpackage's errors."""


class ConfigError(ModelError, ValueError):
    """A student configuration is invalid (names the field and what is wrong)."""


class CheckpointError(ModelError):
    """A checkpoint cannot be read (names the file and, where it applies, the tensor)."""


class ExportError(ModelError):
    """ONNX export failed or the exported graph disagrees with PyTorch."""
