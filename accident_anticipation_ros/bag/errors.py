"""Errors of the bag tools."""

from __future__ import annotations


class BagError(Exception):
    """A bag cannot be written or read: missing, truncated or corrupt file, missing topic, wrong type.

    The message names the bag path and, for topic problems, the topics the bag does contain.
    """
