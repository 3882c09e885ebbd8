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
- A `scoped` block inside a generator or async generator covers the generator's own code, not
  the consumer its `yield` hands a value to (a ContextVar alone would leak into the consumer,
  which runs in the same context): the block's entry remembers the generator's frame and
  counts only while that frame is on the stack. A generator driven by a context manager's
  `__enter__`/`__aenter__` (`contextlib.contextmanager`) or by pytest's fixture runner is a
  context manager: its `yield` hands over to the `with` block or test, which the scope covers.
  Exits remove their own entry, so blocks that end out of order (a generator closed later)
  never undo another block.
- `off` at decoration time returns the undecorated function: zero overhead.
- The fast path never reads the mode: a passing call costs the same in every mode. Only the
  slow path (a call that did not pass) asks whether to raise, warn, or stay silent.
"""

from __future__ import annotations

import contextvars
import os
import sys
from types import FrameType, TracebackType

__all__ = ["MODES", "config", "get_mode", "reset_mode", "scoped"]

MODES = ("raise", "warn", "off")
ENV_VAR = "SHAPECONTRACT_MODE"

_global_mode: str | None = None

class _Entry:
    """One entered `scoped` block: its mode and, inside a generator, the generator's frame."""

    __slots__ = ("frame", "mode")

    def __init__(self, mode: str, frame: FrameType | None) -> None:
        self.mode, self.frame = mode, frame


_scoped: contextvars.ContextVar[tuple[_Entry, ...]] = contextvars.ContextVar(
    "shapecontract_mode", default=())
_GENERATOR_FLAGS = 0x20 | 0x200  # CO_GENERATOR | CO_ASYNC_GENERATOR
_HANDS_OVER = frozenset({"__enter__", "__aenter__", "call_fixture_func"})
"""Drivers whose generator is a context manager: its yield runs the user's block or test."""


def _generator_frame(frame: FrameType) -> FrameType | None:
    """`frame` if it is a generator's whose yield hands values to a consumer, else None."""
    if not frame.f_code.co_flags & _GENERATOR_FLAGS:
        return None
    driver = frame.f_back
    if driver is not None and driver.f_code.co_name in _HANDS_OVER:
        return None
    return frame


def _in_force() -> str | None:
    stack = _scoped.get()
    if not stack:
        return None
    live: set[FrameType] | None = None
    for entry in reversed(stack):
        if entry.frame is None:
            return entry.mode
        if live is None:  # only a block entered in a generator pays for the walk
            live = set()
            f: FrameType | None = sys._getframe(1)
            while f is not None:
                live.add(f)
                f = f.f_back
        if entry.frame in live:
            return entry.mode
    return None


def _validate(mode: object, source: str) -> str:
    norm = mode.strip().lower() if isinstance(mode, str) else mode
    if norm not in MODES:
        raise ValueError(f"{source}={mode!r} is not a shapecontract mode; valid modes are: "
                         + ", ".join(MODES))
    return str(norm)


def get_mode() -> str:
    """The mode in force here and now."""
    scoped_mode = _in_force()
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
        self._entries: list[_Entry] = []

    def __enter__(self) -> scoped:
        entry = _Entry(self._mode, _generator_frame(sys._getframe(1)))
        self._entries.append(entry)
        _scoped.set((*_scoped.get(), entry))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        entry = self._entries.pop()
        _scoped.set(tuple(e for e in _scoped.get() if e is not entry))


def push(mode: str) -> None:
    """Enter a scoped `mode` for the caller's context (no generator rule): for drivers such as
    the pytest plugin, whose hooks are generators. `restore(snapshot())` taken before ends it."""
    _scoped.set((*_scoped.get(), _Entry(_validate(mode, "mode"), None)))


def snapshot() -> object:
    """Every scoped block in force here, for `restore` (the pytest plugin, between tests)."""
    return _scoped.get()


def restore(snap: object) -> None:
    assert isinstance(snap, tuple)
    _scoped.set(snap)


def scoped_mode() -> str | None:
    """The scoped mode in force in this thread or task (None: not in a `scoped` block), for
    carrying it into a framework's own threads."""
    return _in_force()


def reset_mode() -> None:
    """Forget the process-wide mode (`config(mode=...)`): the environment variable rules again."""
    global _global_mode
    _global_mode = None
