"""Contract: named slots, each with a spec, sharing one set of dims.

Design rules:
- A Contract is plain data. It is built from annotations (the decorator), and later from a
  framework's layer metadata; it is used by the compiler (fast checker) and the explainer.
- Slot kinds: `array` (an ArraySpec or TupleSpec), `dim` (an `int` parameter whose name is a
  dim name: it binds that dim), `hint` (any other annotation, checked with beartype).
- A contract is validated when it is built: a name used in a symbolic dim must be bound
  somewhere, a name cannot be both single and variadic. Errors are `ContractSyntaxError`,
  raised at decoration time, never at call time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

from ._errors import ContractSyntaxError
from ._spec import ArraySpec, Expr, Named, TupleSpec, Variadic

__all__ = ["Contract", "Slot"]


@dataclass(frozen=True)
class Slot:
    name: str
    """The parameter name, or `return`."""
    kind: str
    """`array`, `dim` or `hint`."""
    spec: ArraySpec | TupleSpec | None = None
    hint: Any = None
    star: str = ""
    """`*` for `*args`, `**` for `**kwargs`: the spec applies to each item."""

    @property
    def label(self) -> str:
        if self.name == "return":
            return "return"
        return f"argument {self.star}{self.name}"

    @property
    def is_return(self) -> bool:
        return self.name == "return"


def iter_array_specs(spec: ArraySpec | TupleSpec | None) -> Iterator[ArraySpec]:
    if isinstance(spec, ArraySpec):
        yield spec
    elif isinstance(spec, TupleSpec):
        for item in spec.items:
            yield from iter_array_specs(item)


@dataclass(frozen=True)
class Contract:
    """Named slots that share dims. `str()` shows it; `slots` holds it."""

    name: str
    slots: tuple[Slot, ...]
    source: str = field(default="", compare=False)
    """The generated checker's source, once compiled (see `shapecontract.checker_source`)."""

    def __post_init__(self) -> None:
        self._validate()

    def array_slots(self) -> list[Slot]:
        return [s for s in self.slots if s.kind == "array"]

    def dim_names(self) -> tuple[list[str], list[str]]:
        """(single dim names, variadic dim names), in order of first appearance."""
        single: list[str] = [s.name for s in self.slots if s.kind == "dim"]
        variadic: list[str] = []
        for slot in self.slots:
            for spec in iter_array_specs(slot.spec):
                for d in spec.dims:
                    if isinstance(d, Named) and d.name not in single:
                        single.append(d.name)
                    elif isinstance(d, Variadic) and d.name and d.name not in variadic:
                        variadic.append(d.name)
        return single, variadic

    def _validate(self) -> None:
        single, variadic = self.dim_names()
        both = set(single) & set(variadic)
        if both:
            name = sorted(both)[0]
            raise ContractSyntaxError(
                f"{self.name}: dim {name!r} is used both as a single dim and as variadic "
                f"`*{name}`; give them different names"
            )
        for slot in self.slots:
            for spec in iter_array_specs(slot.spec):
                for d in spec.dims:
                    if isinstance(d, Expr):
                        missing = [n for n in d.names if n not in single]
                        if missing:
                            raise ContractSyntaxError(
                                f"{self.name}: symbolic dim {d.text!r} ({slot.label}) uses "
                                f"{missing[0]!r}, which no argument or return binds"
                            )

    def __str__(self) -> str:
        parts = []
        ret = None
        for s in self.slots:
            if s.kind == "array":
                text = f"{s.star}{s.name}: {_spec_text(s.spec)}"
            elif s.kind == "dim":
                text = f"{s.name}: int (binds dim {s.name})"
            else:
                text = f"{s.star}{s.name}: {getattr(s.hint, '__name__', repr(s.hint))}"
            if s.is_return:
                ret = _spec_text(s.spec) if s.kind == "array" else text.split(": ", 1)[1]
            else:
                parts.append(text)
        out = f"{self.name}({', '.join(parts)})"
        return out + (f" -> {ret}" if ret else "")


def _spec_text(spec: ArraySpec | TupleSpec | None) -> str:
    if isinstance(spec, TupleSpec):
        inner = ", ".join(_spec_text(i) if i is not None else "Any" for i in spec.items)
        return f"tuple[{inner}]" + (" | None" if spec.optional else "")
    return str(spec)


def dim_text(d: Any) -> str:
    """A dim as a shape shows it: `batch`, `24`, `t-1`, `*rest` (labels dropped)."""
    b = "#" if getattr(d, "broadcast", False) else ""
    if isinstance(d, Named):
        return b + d.name
    if isinstance(d, Expr):
        return b + d.text
    if hasattr(d, "size"):
        return b + str(d.size)
    return str(d)


def shape_text(spec: ArraySpec) -> str:
    """`(batch, 24, 3)`: the expected shape with names, sizes where fixed."""
    items = [dim_text(d) for d in spec.dims]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"
