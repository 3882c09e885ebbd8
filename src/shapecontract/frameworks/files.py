"""Loading a framework's files for the command line: the shared pieces (layer L6).

Design rules:
- Each framework package says which file suffixes are its own and how to load a model from
  one (`frameworks/<name>/files.py`, named in its registry row); the command line asks the
  registry (`frameworks.loader_for`) and never names a framework.
- A file a framework cannot or will not load (missing framework, corrupt file, code that would
  run on load without `unsafe`) is a `LoadError` whose message says why in one line.
- A framework is imported only when one of its files is loaded, with its C++ runtime's start-up
  noise silenced (`SHAPECONTRACT_DEBUG=1` shows it).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any

__all__ = ["LoadError", "import_quietly", "one_line", "quiet_stderr"]


class LoadError(Exception):
    """A file, or a framework needed to read it, that cannot be loaded (the message says why)."""


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (frameworks write long ones)."""
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0].strip()


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what a framework's C++ runtime writes straight to fd 2 while it is imported."""
    if os.environ.get("SHAPECONTRACT_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_quietly(package: str, extra: str) -> Any:
    """Import `package` (only when a file needs it), quietly; a missing one is a `LoadError`
    naming the extra that installs it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with quiet_stderr():
            return importlib.import_module(package)
    except ImportError as e:
        raise LoadError(f"this needs {package}, which cannot be imported ({one_line(e)}); "
                        f"install shapecontract[{extra}]") from None
