"""Layer rule tables: one lookup, along the MRO, by the framework's own class names.

Design rules:
- A table maps a framework class name (`"LSTM"`, `"Conv2d"`) to a rule. A lookup walks
  `type(obj).__mro__` and takes the first class that belongs to the framework (its module starts
  with the framework's package) and has an entry, so a user's subclass of `nn.LSTM` or
  `keras.layers.LSTM` gets the LSTM rule, and a user's class that merely shares a name does not.
- A subclass that overrides the framework's compute method (`forward`, `call`) is not given
  its base's rule: its shapes are its own (it is treated as a custom module/layer).
- Keys are names, not classes, so a table never imports its framework. A user's own class
  (outside the framework) is keyed by its qualified name, `module.QualName` (`qualified_name`),
  and found before any framework class along its MRO.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

__all__ = ["forget", "framework_class", "lookup", "qualified_name"]

T = TypeVar("T")

_cache: dict[tuple[int, type, str], tuple[Mapping[str, object], tuple[str, object] | None]] = {}
"""(id(table), type, package) -> (the table, the hit). The table is kept so that its id cannot
be reused by another table while the entry lives, and compared on every hit."""


_COMPUTE = {"torch": "forward", "keras": "call"}
"""The method whose override makes a subclass's shapes its own, per framework."""


def qualified_name(cls: type) -> str:
    """The key of a user's own class in a table: `module.QualName`."""
    return f"{cls.__module__}.{cls.__qualname__}"


def forget() -> None:
    """Drop every cached lookup (a table gained or lost a name: a registered kind)."""
    _cache.clear()


def framework_class(obj: object, table: Mapping[str, T], package: str) -> str | None:
    """The name of the first framework class along `type(obj).__mro__` that `table` lists."""
    hit = _lookup(obj, table, package)
    return None if hit is None else hit[0]


def lookup(obj: object, table: Mapping[str, T], package: str) -> T | None:
    """`table`'s rule for `obj` (an instance of a `package` class or of a subclass of one that
    does not override the framework's compute method)."""
    hit = _lookup(obj, table, package)
    return None if hit is None else hit[1]  # type: ignore[return-value]


def lookup_type(t: type, table: Mapping[str, T], package: str) -> T | None:
    """`lookup` for an instance of class `t` (a layer row's recorded class)."""
    hit = _lookup_type(t, table, package)
    return None if hit is None else hit[1]  # type: ignore[return-value]


def _lookup(obj: object, table: Mapping[str, T], package: str) -> tuple[str, object] | None:
    return _lookup_type(type(obj), table, package)


def _lookup_type(t: type, table: Mapping[str, T], package: str) -> tuple[str, object] | None:
    key = (id(table), t, package)
    cached = _cache.get(key)
    if cached is not None and cached[0] is table:
        return cached[1]
    found: tuple[str, object] | None = None
    compute = _COMPUTE.get(package)
    for cls in t.__mro__:
        mod = cls.__module__ or ""
        ours = mod == package or mod.startswith(package + ".")
        if ours and cls.__name__ in table:
            found = (cls.__name__, table[cls.__name__])
            break
        if not ours and table and qualified_name(cls) in table:  # a user's registered class
            found = (cls.__name__, table[qualified_name(cls)])
            break
        if not ours and compute is not None and compute in vars(cls):
            break  # a user's class computes its own shapes
    _cache[key] = (table, found)
    return found
