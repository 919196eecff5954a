"""The one error every dataset loader raises for missing or malformed files."""

from __future__ import annotations


class DatasetError(ValueError):
    """A dataset file is missing or malformed; the message names the file and what is wrong."""
