"""One rule from errors to exit codes for every command (the rosbags cli/library split).

The library raises its own error types; a command passes the ones a user can cause (a missing file,
a bad bag, a model that does not load) to :func:`run`, which prints ``<name>: error: <message>`` on
stderr and returns 1. :class:`UsageError` (arguments the parser accepted but the command cannot use)
returns 2, as argparse does. Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

EXIT_ERROR = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Arguments that parse but do not make sense together (exit code 2)."""


def run(
    name: str,
    command: Callable[[], int | None],
    errors: tuple[type[BaseException], ...] = (OSError, ValueError),
) -> int:
    """Call ``command`` and return its exit code (``None`` counts as 0).

    Args:
        name: How the command names itself in an error message (``replay``, ``accident-anticipation export``).
        command: The command's work after parsing: calls the library, prints the result.
        errors: Exception types reported as ``<name>: error: <message>`` with exit code 1.
    """
    try:
        return int(command() or 0)
    except UsageError as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except errors as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
