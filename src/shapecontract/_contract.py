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
from ._spec import ArraySpec, DictSpec, Expr, Fixed, ModelSpec, Named, OneOf, TupleSpec, Variadic

__all__ = ["Contract", "LayerRow", "Slot"]


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
    """The parameter name, or `return`."""
    kind: str
    """`array`, `dim` or `hint`."""
    spec: ArraySpec | TupleSpec | None = None
    hint: Any = None
    star: str = ""
    """`*` for `*args`, `**` for `**kwargs`: the spec applies to each item."""
    display: str = ""
    """How messages name the slot, when not `argument NAME` / `return` (e.g. `input 'x'`)."""
    origin: str = ""
    """For a `dim` slot: how messages name where its value comes from."""
    output: bool = False
    """An output slot that is not a function's `return` (a model's output)."""

    @property
    def label(self) -> str:
        if self.display:
            return self.display
        if self.name == "return":
            return "return"
        return f"argument {self.star}{self.name}"

    @property
    def is_return(self) -> bool:
        return self.name == "return" or self.output


def iter_array_specs(spec: ArraySpec | TupleSpec | None) -> Iterator[ArraySpec]:
    if isinstance(spec, ArraySpec):
        yield spec
    elif isinstance(spec, TupleSpec):
        for item in spec.items:
            yield from iter_array_specs(item)
    elif isinstance(spec, OneOf):
        yield from spec.options
    elif isinstance(spec, DictSpec):
        for item in spec.items:
            yield from iter_array_specs(item)
    elif isinstance(spec, ModelSpec):
        for dims in spec.inputs + spec.outputs:
            yield ArraySpec(dims, None, "Shaped", (Any,))


@dataclass(frozen=True)
class Contract:
    """Named slots that share dims. `str()` shows it; `slots` holds it."""

    name: str
    slots: tuple[Slot, ...]
    source: str = field(default="", compare=False)
    """The generated checker's source, once compiled (see `shapecontract.checker_source`)."""
    layers: tuple[LayerRow, ...] = field(default=(), compare=False)
    """For a model: its layers in order, with the shapes between them."""
    level: str = ""
    """For a model: `strict` or `framework`."""
    notes: tuple[str, ...] = field(default=(), compare=False)
    chain: bool = field(default=True, compare=False)
    """For a model: its layers form one chain (str() draws it); False for a graph."""

    def __post_init__(self) -> None:
        self._validate()

    # -- use -----------------------------------------------------------------------
    def inputs(self) -> list[Slot]:
        return [s for s in self.slots if s.kind == "array" and not s.is_return]

    def outputs(self) -> list[Slot]:
        return [s for s in self.slots if s.is_return]

    def check(self, *inputs: Any, dims: dict[str, int] | None = None) -> None:
        """Check values for the input slots (in order); raise `ShapeContractError` if they fail.

        `dims` pins sizes the contract leaves open, e.g. `dims={"timesteps": 24}`.
        """
        __tracebackhide__ = True
        checker, pins = self._checker(tuple(sorted((dims or {}).items())), with_output=False)
        checker(*pins, *inputs)

    def check_outputs(self, inputs: tuple[Any, ...], output: Any,
                      dims: dict[str, int] | None = None) -> None:
        """Check inputs and the output together (dims bound by inputs hold for the output)."""
        __tracebackhide__ = True
        checker, pins = self._checker(tuple(sorted((dims or {}).items())), with_output=True)
        checker(*pins, *inputs, __out=output)

    def pinned(self, dims: dict[str, int]) -> Contract:
        """This contract's inputs, with `dims` bound first (as `dim` slots), e.g. timesteps=24."""
        single = self.dim_names()[0]
        fixed = {}
        for slot in self.slots:
            for spec in iter_array_specs(slot.spec):
                for d in spec.dims:
                    if getattr(d, "label", None) and hasattr(d, "size"):
                        fixed.setdefault(d.label, d.size)
        for n, v in list(dims.items()):
            if n not in single and n in fixed:
                if fixed[n] != v:
                    raise ContractSyntaxError(
                        f"{self.name}: dims={{{n!r}: {v}}} contradicts the contract, which fixes "
                        f"{n}={fixed[n]}")
                dims = {k: w for k, w in dims.items() if k != n}  # already enforced
        unknown = [n for n in dims if n not in single]
        if unknown:
            raise ContractSyntaxError(
                f"{self.name}: dims={{{unknown[0]!r}: ...}} pins a dim the contract leaves to no "
                f"name; its named dims are: {', '.join(single) or 'none'}")
        pins = [Slot(n, "dim", None, int, origin=f"dims={{{n!r}: {v}}}") for n, v in dims.items()]
        return Contract(self.name, tuple(pins) + tuple(self.inputs()))

    def _checker(self, pins: tuple[tuple[str, int], ...], with_output: bool) -> tuple[Any, list[int]]:
        cache = self.__dict__.setdefault("_checkers", {})
        key = (pins, with_output)
        if key not in cache:
            cache[key] = _build_checker(self, pins, with_output)
        return cache[key], [v for _, v in pins]

    # -- show ----------------------------------------------------------------------
    def table(self) -> str:
        """One row per layer: name, kind, input and output shapes with named dims."""
        if not self.layers:
            return str(self)
        rows = [("layer", "type", "input", "output")]
        rows += [(r.name, r.kind, r.input, r.output) for r in self.layers]
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
        lines.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(lines)

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
        if self.layers and self.chain:
            first = self.layers[0].input
            ins = self.inputs()
            if first == "?" and ins and isinstance(ins[0].spec, ArraySpec):
                first = shape_text(ins[0].spec)
            chain = [first]
            for r in self.layers:
                chain += [r.name, r.output]
            return " -> ".join(chain)
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


def _spec_text(spec: Any) -> str:
    if isinstance(spec, DictSpec):
        inner = ", ".join(f"{k!r}: {_spec_text(i)}" for k, i in zip(spec.keys, spec.items))
        return "{" + inner + "}" + (" | None" if spec.optional else "")
    if isinstance(spec, TupleSpec):
        inner = ", ".join(_spec_text(i) if i is not None else "Any" for i in spec.items)
        return f"tuple[{inner}]" + (" | None" if spec.optional else "")
    return str(spec)


@dataclass
class Mismatch:
    """One axis (or the rank) on which two specs disagree, statically."""

    axis: int | None  # None: the ranks differ
    name: str | None
    left: Any
    right: Any
    left_origin: str | None = None
    right_origin: str | None = None


def dim_size(d: Any, bindings: dict[str, Any]) -> int | None:
    """The size a dim stands for under `bindings`, or None when it is open."""
    if isinstance(d, Fixed):
        return d.size
    if isinstance(d, Named):
        v = bindings.get(d.name)
        return v if type(v) is int else None
    if isinstance(d, Expr):
        return d.evaluate(bindings)
    return None


def static_compare(left: ArraySpec, right: ArraySpec, bindings: dict[str, Any],
                   origins: dict[str, str] | None = None) -> list[Mismatch]:
    """Compare two specs axis by axis without data (a producer and a consumer, a model and its
    annotation). Sizes come from fixed dims and `bindings`; a name unbound on one side is bound
    (in `bindings`, with `origins[name]` saying where) to the other side's known size."""
    if left.variadic_at is not None:
        left = left.expanded(len(right.dims))
    if right.variadic_at is not None:
        right = right.expanded(len(left.dims))
    if left.variadic_at is not None or right.variadic_at is not None:
        return []
    if len(left.dims) != len(right.dims):
        return [Mismatch(None, None, len(left.dims), len(right.dims))]
    out = []
    for axis, (a, b) in enumerate(zip(left.dims, right.dims)):
        va, vb = dim_size(a, bindings), dim_size(b, bindings)
        for d, known in ((a, vb), (b, va)):
            if isinstance(d, Named) and known is not None and d.name not in bindings:
                bindings[d.name] = known
                if origins is not None:
                    origins[d.name] = f"axis {axis}"
        if va is None or vb is None or va == vb:
            continue
        if (getattr(a, "broadcast", False) and va == 1) or (getattr(b, "broadcast", False) and vb == 1):
            continue
        name = (getattr(b, "label", None) or getattr(b, "name", None)
                or getattr(a, "label", None) or getattr(a, "name", None))
        lo = left.origins[axis] if left.origins and axis < len(left.origins) else None
        ro = right.origins[axis] if right.origins and axis < len(right.origins) else None
        out.append(Mismatch(axis, name, va, vb, lo, ro))
    return out


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


def _build_checker(c: Contract, pins: tuple[tuple[str, int], ...], with_output: bool) -> Any:
    """Compile `check(<pinned dims>, <inputs>[, __out])` with the one compiler."""
    from ._compile import compile_checker  # the compiler sits above contracts in the layering

    pinned = c.pinned(dict(pins))
    return compile_checker(Contract(c.name, pinned.slots + tuple(c.outputs())), with_output)
