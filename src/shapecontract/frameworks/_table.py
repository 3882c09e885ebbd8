"""Layer rule tables: one lookup, along the MRO, by the framework's own class names.

Design rules:
- A table maps a framework class name (`"LSTM"`, `"Conv2d"`) to a rule. A lookup walks
  `type(obj).__mro__` and takes the first class that belongs to the framework (its module starts
  with the framework's package) and has an entry, so a user's subclass of `nn.LSTM` or
  `keras.layers.LSTM` gets the LSTM rule, and a user's class that merely shares a name does not.
- Keys are names, not classes, so a table never imports its framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["framework_class", "lookup"]

T = TypeVar("T")

_cache: dict[tuple[int, type, str], tuple[str, object] | None] = {}


def framework_class(obj: object, table: Mapping[str, T], package: str) -> str | None:
    """The name of the first framework class along `type(obj).__mro__` that `table` lists."""
    hit = _lookup(obj, table, package)
    return None if hit is None else hit[0]


def lookup(obj: object, table: Mapping[str, T], package: str) -> T | None:
    """`table`'s rule for `obj` (an instance of a `package` class or of a subclass of one)."""
    hit = _lookup(obj, table, package)
    return None if hit is None else hit[1]  # type: ignore[return-value]


def _lookup(obj: object, table: Mapping[str, T], package: str) -> tuple[str, object] | None:
    key = (id(table), type(obj), package)
    try:
        return _cache[key]
    except KeyError:
        pass
    found: tuple[str, object] | None = None
    for cls in type(obj).__mro__:
        mod = cls.__module__ or ""
        if (mod == package or mod.startswith(package + ".")) and cls.__name__ in table:
            found = (cls.__name__, table[cls.__name__])
            break
    _cache[key] = found
    return found
