"""Modes: raise, warn or off.

Design rules:
- The mode comes from `shapecontract.config(mode=...)`, else `SHAPECONTRACT_MODE`, else `raise`.
  An invalid value is an error that lists the valid ones.
- `off` at decoration time returns the undecorated function: zero overhead.
- The fast path never reads the mode: a passing call costs the same in every mode. Only the
  slow path (a call that did not pass) asks whether to raise, warn, or stay silent.
- `config(...)` used as a context manager is scoped with a ContextVar, so a thread or asyncio
  task that changes the mode does not change it for the others.
"""

from __future__ import annotations

import contextvars
import os
from types import TracebackType

__all__ = ["MODES", "config", "get_mode"]

MODES = ("raise", "warn", "off")
ENV_VAR = "SHAPECONTRACT_MODE"

_global_mode: str | None = None
_scoped: contextvars.ContextVar[str | None] = contextvars.ContextVar("shapecontract_mode", default=None)


def _validate(mode: object, source: str) -> str:
    if mode not in MODES:
        raise ValueError(f"{source}={mode!r} is not a shapecontract mode; valid modes are: "
                         + ", ".join(MODES))
    return mode  # type: ignore[return-value]


def get_mode() -> str:
    """The mode in force here and now."""
    scoped = _scoped.get()
    if scoped is not None:
        return scoped
    if _global_mode is not None:
        return _global_mode
    env = os.environ.get(ENV_VAR)
    if env is None or env == "":
        return "raise"
    return _validate(env.strip().lower(), ENV_VAR)


class config:
    """Set the mode: `config(mode="warn")` for the process, or `with config(mode="off"):`.

    As a plain call it sets the process-wide mode (overriding `SHAPECONTRACT_MODE`); as a
    context manager it sets the mode for the enclosed block, in this thread or task only.
    `config(mode=None)` clears the process-wide setting, so the environment variable rules again.
    """

    def __init__(self, mode: str | None = None) -> None:
        global _global_mode
        if mode is not None:
            _validate(mode, "mode")
        self._mode = mode
        self._previous_global = _global_mode
        self._token: contextvars.Token[str | None] | None = None
        _global_mode = mode

    def __enter__(self) -> config:
        global _global_mode
        # Undo the process-wide effect of __init__: inside `with`, the setting is scoped.
        _global_mode = self._previous_global
        self._token = _scoped.set(self._mode)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _scoped.reset(self._token)
            self._token = None
