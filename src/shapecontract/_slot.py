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
from dataclasses import dataclass
from typing import Any

from ._errors import Location, Origin, render_location

__all__ = ["RESERVED_PREFIX", "LayerRow", "Slot", "argument_slots", "is_name", "name_problem"]

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
class LayerRow:
    """One layer of a model's contract, for display: `lstm (LSTM): (batch, 24, 3) -> (batch, 50)`."""

    name: str
    kind: str
    input: str
    output: str


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
