"""The command line's shared pieces: usage errors, colour, quiet framework imports (layer L8)."""

from __future__ import annotations

import contextlib
import importlib
import os
import sys
from collections.abc import Iterator
from typing import Any, TextIO

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")
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


def one_line(e: BaseException) -> str:
    """The first line of an exception's message (frameworks write long ones)."""
    text = str(e).strip() or type(e).__name__
    return text.splitlines()[0].strip()


# ----------------------------------------------------------------------------- loading
@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Silence what TensorFlow's C++ runtime writes straight to fd 2 while it is imported."""
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


def import_framework(name: str) -> Any:
    """Import keras or torch (only when a file needs it), quietly; a missing one is a usage error."""
    if name == "keras":
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        with quiet_stderr():
            return importlib.import_module(name)
    except ImportError as e:
        raise UsageError(f"this needs {name}, which cannot be imported ({one_line(e)}); "
                         f"install shapecontract[{'tensorflow' if name == 'keras' else name}]"
                         ) from None
