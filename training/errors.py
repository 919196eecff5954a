"""Errors of the training subpackage."""

from __future__ import annotations


class TrainingError(Exception):
    """Base class of the training subpackage's errors."""


class TrainConfigError(TrainingError, ValueError):
    """A training config is invalid: the message names the file, the key and what is wrong."""


class TeacherError(TrainingError):
    """A teacher cannot be built or loaded (names the model or checkpoint file)."""


class CacheError(TrainingError):
    """The teacher cache is missing, stale or unreadable (names the file)."""


class ResumeError(TrainingError):
    """A run directory cannot be resumed (names the file and what does not match)."""
