"""The command line's shared pieces: usage errors, colour, quiet framework imports (layer L8)."""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

from ..frameworks.files import LoadError, import_quietly, one_line, quiet_stderr

__all__ = ["DATA_SUFFIXES", "UsageError", "bad", "good", "import_framework", "one_line",
           "quiet_stderr"]

DATA_SUFFIXES = (".npy", ".npz")


class UsageError(Exception):
    """A bad argument: reported as one line on stderr, exit code 2."""


# ------------------------------------------------------------------------------ output
def _colour(text: str, code: str, stream: TextIO | None = None) -> str:
    """`text` in ANSI colour `code` when `stream` is a terminal and NO_COLOR is not set."""
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR") or not getattr(stream, "isatty", lambda: False)():
        return text
    return f"\033[{code}m{text}\033[0m"


def good(text: str) -> str:
    return _colour(text, "32")


def bad(text: str) -> str:
    return _colour(text, "31")


def import_framework(package: str, extra: str) -> Any:
    """Import a framework a command needs (only then), quietly; a missing one is a usage error."""
    try:
        return import_quietly(package, extra)
    except LoadError as e:
        raise UsageError(str(e)) from None
