"""Errors of the runtime package."""

from __future__ import annotations


class BackendError(RuntimeError):
    """A model file or inference backend cannot be used; the message says which and why."""
