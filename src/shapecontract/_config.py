"""Modes: raise, warn or off (layer L0).

Design rules:
- The mode comes from a scoped setting (`with scoped(mode=...)`), else the process-wide one
  (`config(mode=...)`), else `SHAPECONTRACT_MODE`, else `raise`. Values are case-insensitive;
  an invalid one is an error that lists the valid ones.
- `config(mode=...)` is a plain setter: it changes the process-wide mode and nothing else.
  `scoped(mode=...)` is a context manager that changes nothing until entered, and then only in
  its own thread or asyncio task (a ContextVar), restoring it on exit. `with config(...)` is
  an error: it cannot be scoped, because the call happens before the block is entered.
- `reset_mode()` forgets the process-wide setting (tests use it).
- `off` at decoration time returns the undecorated function: zero overhead.
- The fast path never reads the mode: a passing call costs the same in every mode. Only the
  slow path (a call that did not pass) asks whether to raise, warn, or stay silent.
"""

from __future__ import annotations

import contextvars
import os
from types import TracebackType

__all__ = ["MODES", "config", "get_mode", "reset_mode", "scoped"]

MODES = ("raise", "warn", "off")
ENV_VAR = "SHAPECONTRACT_MODE"

_global_mode: str | None = None
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar("shapecontract_mode", default=None)


def _validate(mode: object, source: str) -> str:
    norm = mode.strip().lower() if isinstance(mode, str) else mode
    if norm not in MODES:
        raise ValueError(f"{source}={mode!r} is not a shapecontract mode; valid modes are: "
                         + ", ".join(MODES))
    return str(norm)


def get_mode() -> str:
    """The mode in force here and now."""
    scoped_mode = _scoped.get()
    if scoped_mode is not None:
        return scoped_mode
    if _global_mode is not None:
        return _global_mode
    env = os.environ.get(ENV_VAR)
    if env is None or env.strip() == "":
        return "raise"
    return _validate(env, ENV_VAR)


class config:
    """Set the process-wide mode: `shapecontract.config(mode="warn")`.

    It overrides `SHAPECONTRACT_MODE`; `config(mode=None)` (or `reset_mode()`) clears it, so the
    environment variable rules again. For one block, in one thread or task, use
    `with shapecontract.scoped(mode="off"):` instead.
    """

    def __init__(self, mode: str | None = None) -> None:
        global _global_mode
        self._previous = _global_mode
        _global_mode = None if mode is None else _validate(mode, "mode")

    def __enter__(self) -> None:
        global _global_mode
        _global_mode = self._previous  # undo: this call was meant to be scoped
        raise TypeError("config(mode=...) sets the mode for the whole process; for a block use "
                        "`with shapecontract.scoped(mode=...)`")

    def __exit__(self, *exc: object) -> None:  # pragma: no cover - __enter__ always raises
        return None


class scoped:
    """`with scoped(mode="off"):` sets the mode for the block, in this thread or task only.

    Nothing changes until the block is entered; on exit the previous scoped mode is restored.
    """

    def __init__(self, mode: str) -> None:
        self._mode = _validate(mode, "mode")
        self._tokens: list[contextvars.Token[str | None]] = []

    def __enter__(self) -> scoped:
        self._tokens.append(_scoped.set(self._mode))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        _scoped.reset(self._tokens.pop())


def scoped_mode() -> str | None:
    """The scoped mode in force in this thread or task (None: not in a `scoped` block), for
    carrying it into a framework's own threads."""
    return _scoped.get()


def reset_mode() -> None:
    """Forget the process-wide mode (`config(mode=...)`): the environment variable rules again."""
    global _global_mode
    _global_mode = None
