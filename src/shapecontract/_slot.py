"""Slots: the named places of a contract, and the rows of a model's layer table (layer L3).

Design rules:
- A slot is plain data: its name (the one text of a contract that becomes generated source,
  as a parameter name, so it is vetted here: `name_problem`), its kind, its spec or hint, how
  messages locate it, and for a dim or pin where its value comes from.
- This module imports nothing of the contract layer above it: `_contract` and `_serial` both
  build on it, and neither imports the other's internals through it (no cycle).
"""

from __future__ import annotations

import inspect
import keyword
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from ._errors import Location, Origin, render_location

__all__ = ["RESERVED_PREFIX", "LayerRow", "RowShape", "Slot", "argument_slots", "is_name", "name_problem"]

RESERVED_PREFIX = "__sc_"
"""Names the generated checker keeps for itself."""


def name_problem(name: object) -> str:
    """Why `name` cannot be a slot's name (a parameter of the generated checker), or ''."""
    if not isinstance(name, str):
        return f"a name is a string, not {type(name).__name__}"
    if not name.isidentifier():
        return "not a Python identifier (letters, digits and _, not starting with a digit)"
    if unicodedata.normalize("NFKC", name) != name:  # Python would read it as another name
        return f"not in normal form (Python reads it as {unicodedata.normalize('NFKC', name)!r})"
    if keyword.iskeyword(name):
        return "a Python keyword cannot name a parameter"
    if name.startswith(RESERVED_PREFIX):
        return f"names starting with {RESERVED_PREFIX!r} are reserved for the generated checker"
    return ""


def is_name(name: object) -> bool:
    """`name` may name a slot: an identifier, not a keyword, not reserved."""
    return not name_problem(name)

@dataclass(frozen=True)
class RowShape:
    """The shape between two layers, as data: per axis a size (int), the name of a dim whose
    size is open (`batch`), or None (unknown); `axes` None when even the rank is unknown.
    Its text, `(batch, 24, 3)` or `?`, is derived."""

    axes: tuple[int | str | None, ...] | None

    @classmethod
    def of(cls, shape: RowShape | tuple[int | str | None, ...] | str | None) -> RowShape:
        """A row shape from data (a tuple, None for unknown); a `str` is read as the text
        `__str__` writes (JSON, and adapters that still hand over display text)."""
        if isinstance(shape, RowShape):
            return shape
        if shape is None:
            return cls(None)
        if isinstance(shape, str):
            return cls.parse(shape)
        return cls(tuple(shape))

    @classmethod
    def parse(cls, text: str) -> RowShape:
        """The inverse of `__str__`: `(batch, 50)` -> ("batch", 50); `?` -> unknown."""
        inner = text.strip()
        if inner in ("?", ""):
            return cls(None)
        if inner.startswith("(") and inner.endswith(")"):
            inner = inner[1:-1]
        items = [i.strip() for i in inner.split(",") if i.strip()]
        return cls(tuple(None if i == "?" else int(i) if i.isdigit() else i for i in items))

    def __str__(self) -> str:
        if self.axes is None:
            return "?"
        items = ["?" if a is None else str(a) for a in self.axes]
        return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


@dataclass(frozen=True, init=False)
class LayerRow:
    """One layer of a model's contract: `lstm (LSTM): (batch, 24, 3) -> (batch, 50)`. The
    shapes are data (`in_shape`, `out_shape`); `input`/`output` are their text."""

    name: str
    kind: str
    """The layer's class name, for display."""
    in_shape: RowShape
    out_shape: RowShape
    layer_type: type | None = field(default=None, compare=False, repr=False)
    """The layer's class itself, when known: what tables are keyed by (not `kind`, its name).
    Not written to JSON."""

    def __init__(self, name: str, kind: str,
                 in_shape: RowShape | tuple[int | str | None, ...] | str | None,
                 out_shape: RowShape | tuple[int | str | None, ...] | str | None,
                 layer_type: type | None = None) -> None:
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "kind", kind)
        object.__setattr__(self, "in_shape", RowShape.of(in_shape))
        object.__setattr__(self, "out_shape", RowShape.of(out_shape))
        object.__setattr__(self, "layer_type", layer_type)

    @property
    def input(self) -> str:
        return str(self.in_shape)

    @property
    def output(self) -> str:
        return str(self.out_shape)


@dataclass(frozen=True)
class Slot:
    name: str
    """The parameter name (a Python identifier: generated code uses it), or `return`."""
    kind: str
    """`array`, `dim`, `pin` or `hint`."""
    spec: Any = None
    hint: Any = None
    star: str = ""
    """`*` for `*args`, `**` for `**kwargs`: the spec applies to each item."""
    loc: Location = ()
    """How messages locate the slot, when not `("argument", name)` / `("return",)`."""
    origin: Origin | None = None
    """For a `dim` or `pin` slot: where its value comes from."""
    output: bool = False
    """An output slot that is not a function's `return` (a model's output)."""
    optional: bool = False
    """May be omitted (`hx` of a torch RNN, an optional Keras input)."""
    key: str | None = None
    """The framework's own name for this input (a Keras input name, for dict inputs)."""
    value: int | None = None
    """For a `pin` slot: the pinned size."""

    @property
    def location(self) -> Location:
        if self.loc:
            return self.loc
        if self.name == "return":
            return ("return",)
        return ("argument", self.star + self.name)

    @property
    def label(self) -> str:
        return render_location(self.location)

    @property
    def is_return(self) -> bool:
        return self.name == "return" or self.output


def argument_slots(fn: Any, skip: int = 0, given: dict[str, Slot] | None = None) -> list[Slot]:
    """One slot per positional parameter of `fn` after the first `skip` (a model's `forward` or
    `call` after `self`, after its input...), in order: the slot `given` names it with, else one
    of any value (optional when the parameter has a default), which the framework's own verdict
    receives. Stops at `*args`, a keyword-only parameter or a name that cannot be a slot's."""
    try:
        params = list(inspect.signature(fn).parameters.values())[skip:]
    except (TypeError, ValueError):
        return []
    out: list[Slot] = []
    for p in params:
        if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) or not is_name(p.name):
            break
        slot = (given or {}).get(p.name)
        out.append(slot if slot is not None else
                   Slot(p.name, "hint", None, Any, optional=p.default is not p.empty))
    return out
