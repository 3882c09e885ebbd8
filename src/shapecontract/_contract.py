"""Contract: named slots, each with a spec, sharing one set of dims (layer L3).

Design rules:
- A Contract is frozen data: slots, the model's layers (for display), its level and, for a
  model, the framework's own verdict on shapes (a callable the adapter supplies). It is built
  from annotations (the decorator), a framework's layer metadata (the adapters) or a stream
  spec, and checked by the compiled checker (`_compile`) whose slow path is `_evaluate`.
- Slot kinds: `array` (a spec), `dim` (an `int` parameter whose name is a dim: it binds that
  dim), `pin` (a dim fixed when the contract is pinned, e.g. `dims={"timesteps": 24}`), `hint`
  (any other annotation, checked with beartype). An `optional` slot may be omitted or None.
- A contract is validated when it is built: a name used in a symbolic dim must be bound
  somewhere, a name cannot be both single and variadic. Errors are `ContractSyntaxError`,
  raised at decoration time, never at call time.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from ._dims import Expr, Fixed, Named, Variadic, dim_size
from ._errors import ContractSyntaxError, Origin
from ._render import render
from ._slot import LayerRow, Slot, is_name, name_problem
from ._spec import ArraySpec, as_array, iter_array_specs, shape_text, spec_text

__all__ = ["Contract", "FrameworkVerdict", "LayerRow", "Mismatch", "Slot", "is_name", "lend",
           "name_problem", "spec_text", "static_compare"]

_C = TypeVar("_C", bound="Contract")

_LENT: dict[str, Callable[..., Any]] = {}
"""What the layers above lend the one Contract class, so that it needs no upward import:
`compile` (the checker compiler, `_compile`), `tf_signature` and `torch_export` (the
frameworks' `export` modules, from `_export`'s reading of the slots).
Each registers itself when imported; importing `shapecontract` imports them all."""


def lend(name: str, fn: Callable[..., Any]) -> None:
    """Register `fn` as the Contract's `name` capability (called by the lending module)."""
    _LENT[name] = fn


def _lent(name: str) -> Callable[..., Any]:
    fn = _LENT.get(name)
    if fn is None:  # the package's __init__ imports every lender before anything runs
        raise RuntimeError(f"shapecontract: no {name!r} lent to Contract (import shapecontract)")
    return fn

FrameworkVerdict = Callable[[list[Any]], tuple["bool | None", str]]
"""The framework's own verdict on input values (shapes only): (accepted, reason or note);
accepted is None when the framework cannot be asked (unknown sizes, values it does not take)."""


@dataclass(frozen=True)
class Contract:
    """Named slots that share dims, checkable: `check(x)` asks the one verdict, through a
    compiled checker (cached per pinned dims) whose slow path explains.

    `contract_of(model)` returns one for a model; `str()` shows it, `table()` its layers,
    `slots` holds it, `checker_source()` shows the generated code that checks it.
    """

    name: str
    slots: tuple[Slot, ...]
    layers: tuple[LayerRow, ...] = field(default=(), compare=False)
    """For a model: its layers in order, with the shapes between them."""
    level: str = ""
    """For a model: `strict` or `framework`."""
    notes: tuple[str, ...] = field(default=(), compare=False)
    chain: bool = field(default=True, compare=False)
    """For a model: its layers form one chain (str() draws it); False for a graph."""
    framework: FrameworkVerdict | None = field(default=None, compare=False, repr=False)
    """For a model: the framework's own verdict on input values (shapes only)."""
    framework_name: str = field(default="", compare=False)
    """`Keras`, `PyTorch`: who `framework` speaks for."""
    prepare: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = field(
        default=None, compare=False, repr=False)
    """Maps positional inputs to what the slots check (torch: a PackedSequence to its data);
    used by `check()` and by guards alike."""
    complete: bool = field(default=True, compare=False)
    """The slots state everything the framework checks. When not (a torch container whose
    input contract comes from its first layer), the strict level also asks `framework`, so
    relations between layers (a Flatten into a Linear) hold."""
    guessed: bool = field(default=False, compare=False)
    """The input slots are a guess (a custom module's input read off its first known
    submodule, which its forward may not feed the input as it comes): a call the slots refuse
    is refused only if `framework` rejects it too; one it accepts (or cannot tell) passes."""
    dropped: tuple[str, ...] = field(default=(), compare=False)
    """What a contract read from JSON lacks (`framework_verdict`, `prepare`, a hint's check):
    things JSON cannot carry. Shown by str() and repr()."""

    def __post_init__(self) -> None:
        self._validate()

    # -- check ---------------------------------------------------------------------
    def check(self, *inputs: Any, dims: dict[str, int] | None = None, **named: Any) -> None:
        """Check values for the input slots (in order, or by slot name); raise
        `ShapeContractError` (or warn, per the mode) if they fail. Optional slots (`hx`) may be
        omitted. `dims` pins sizes the contract leaves open, e.g. `dims={"timesteps": 24}`."""
        __tracebackhide__ = True
        if self.prepare is not None and inputs:
            inputs = self.prepare(inputs)
        self.checker(dims)(*inputs, **named)

    def check_outputs(self, inputs: tuple[Any, ...], output: Any,
                      dims: dict[str, int] | None = None) -> None:
        """Check inputs and the output together (dims bound by inputs hold for the output)."""
        __tracebackhide__ = True
        if not isinstance(inputs, tuple):
            raise TypeError("check_outputs(inputs, output): inputs is a tuple of the input "
                            f"values, e.g. (x,) or (x, hx); got {type(inputs).__name__}")
        self.checker(dims, with_output=True)(*inputs, __out=output)

    def checker(self, dims: dict[str, int] | None = None, with_output: bool = False,
                name: str | None = None) -> Callable[..., Any]:
        """The compiled checker of this contract with `dims` pinned (cached): one parameter
        per input slot. `name` renames the contract in its errors (`Sequential.predict`)."""
        key = (tuple(sorted((dims or {}).items())), with_output, name)
        fn = self._checkers.get(key)
        if fn is None:
            c = self.pinned(dict(key[0]))
            if name is not None:
                c = c.replace(name=name)
            fn = self._checkers[key] = _lent("compile")(c, with_output)
        return fn

    def checker_source(self, dims: dict[str, int] | None = None) -> str:
        """The generated source of `checker(dims)`: what runs on every check."""
        return str(getattr(self.checker(dims), "__shapecontract_source__", ""))

    def to_tf_signature(self, dims: dict[str, int] | None = None) -> list[Any]:
        """A `tf.function` `input_signature` (see `_export.to_tf_signature`)."""
        return _lent("tf_signature")(self, dims)  # type: ignore[no-any-return]

    def to_torch_export(self, dims: dict[str, int] | None = None,
                        max_size: int | None = None) -> dict[str, Any]:
        """`torch.export` `dynamic_shapes` (see `_export.to_torch_export`)."""
        return _lent("torch_export")(self, dims, max_size)  # type: ignore[no-any-return]

    def __getstate__(self) -> dict[str, Any]:
        """Pickled (sent to a worker) without its compiled checkers: they compile again."""
        return {k: v for k, v in self.__dict__.items() if k != "_sc_checkers"}

    @property
    def _checkers(self) -> dict[Any, Callable[..., Any]]:
        # kept on the contract itself (a frozen dataclass: set once, through object), so the
        # checkers, whose globals hold the contract and so its model's verdict, die with it;
        # a module-level cache keyed by id() would pin every contract ever checked
        cache: dict[Any, Callable[..., Any]] | None = self.__dict__.get("_sc_checkers")
        if cache is None:
            cache = {}
            object.__setattr__(self, "_sc_checkers", cache)
        return cache

    # -- use -----------------------------------------------------------------------
    def inputs(self) -> list[Slot]:
        return [s for s in self.slots if s.kind == "array" and not s.is_return]

    def arguments(self) -> list[Slot]:
        """The slots a call passes, in order: arrays and other values (`hint`), what the
        framework's own verdict is asked about (a torch forward's `lengths`, `hidden`)."""
        return [s for s in self.slots if s.kind in ("array", "hint") and not s.is_return]

    def argument_values(self, values: list[Any]) -> list[Any]:
        """Of `values` (one per slot), those of `arguments()`."""
        return [v for s, v in zip(self.slots, values)
                if s.kind in ("array", "hint") and not s.is_return]

    def outputs(self) -> list[Slot]:
        return [s for s in self.slots if s.is_return]

    def replace(self: _C, **changes: Any) -> _C:
        """A copy with `changes` (same class: a checkable contract stays checkable)."""
        return dataclasses.replace(self, **changes)

    def pinned(self, dims: dict[str, int]) -> Contract:
        """This contract with `dims` bound first (as `pin` slots), e.g. `{"timesteps": 24}`.

        A pin on a dim the contract already fixes to the same size is dropped (already
        enforced); a different size, or a name the contract does not have, is an error."""
        if not dims:
            return self
        if not isinstance(dims, dict):
            raise ContractSyntaxError(f"{self.name}: dims= takes a dict of dim name -> size, "
                                      f"e.g. {{'timesteps': 24}}; got {type(dims).__name__}")
        for n, v in dims.items():
            if type(v) is not int or v < 0:
                raise ContractSyntaxError(f"{self.name}: dims={{{n!r}: {v!r}}}: a pinned size is "
                                          "a non-negative int")
        single = self.dim_names()[0]
        fixed: dict[str, int] = {}
        for slot in self.slots:
            for spec in iter_array_specs(slot.spec):
                for d in spec.dims:
                    if isinstance(d, Fixed) and d.label:
                        fixed.setdefault(d.label, d.size)
        keep: dict[str, int] = {}
        for n, v in dims.items():
            if n not in single and n in fixed:
                if fixed[n] != v:
                    raise ContractSyntaxError(
                        f"{self.name}: dims={{{n!r}: {v}}} contradicts the contract, which fixes "
                        f"{n}={fixed[n]}")
                continue  # already enforced
            if n not in single:
                raise ContractSyntaxError(
                    f"{self.name}: dims={{{n!r}: ...}} pins a dim the contract leaves to no "
                    f"name; its named dims are: {', '.join(single) or 'none'}")
            keep[n] = v
        pins = tuple(Slot(n, "pin", None, int, value=v,
                          origin=Origin(f"dims={{{n!r}: {v}}}", "pin")) for n, v in keep.items())
        return self.replace(slots=pins + tuple(s for s in self.slots if s.kind != "pin"))

    def pins(self) -> dict[str, int]:
        return {s.name: s.value for s in self.slots if s.kind == "pin" and s.value is not None}

    # -- JSON --------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """This contract as plain JSON-ready data (format `shapecontract.contract/1`)."""
        from ._serial import contract_to_dict

        return contract_to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        """This contract as JSON text (the same contract always gives the same text). What
        JSON cannot carry (a model's framework verdict, `prepare`) is listed as dropped."""
        from ._serial import contract_to_json

        return contract_to_json(self, indent)

    @classmethod
    def from_dict(cls: type[_C], data: dict[str, Any]) -> _C:
        """The contract `to_dict` wrote; `ContractSyntaxError` if `data` is malformed."""
        from ._serial import contract_from_dict

        out = contract_from_dict(cls, data)
        assert isinstance(out, cls)
        return out

    @classmethod
    def from_json(cls: type[_C], text: str | bytes) -> _C:
        """The contract `to_json` wrote, checkable when read as `shapecontract.Contract`;
        `ContractSyntaxError` if `text` is malformed or of an unknown format version."""
        from ._serial import contract_from_json

        out = contract_from_json(cls, text)
        assert isinstance(out, cls)
        return out

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
        lines += [f"note: {n}" for n in self.notes]
        if self.dropped:
            lines.append("note: " + self._dropped_text().strip()[1:-1])
        return "\n".join(lines)

    def _repr_html_(self) -> str | None:
        """The contract as a picture in a notebook: `shapecontract.picture.to_html(self)`."""
        return render(self, "html")

    def dim_names(self) -> tuple[list[str], list[str]]:
        """(single dim names, variadic dim names), in order of first appearance."""
        single: list[str] = [s.name for s in self.slots if s.kind in ("dim", "pin")]
        variadic: list[str] = []
        for slot in self.slots:
            for spec in iter_array_specs(slot.spec):
                for d in spec.dims:
                    if isinstance(d, Named) and d.name not in single:
                        single.append(d.name)
                    elif isinstance(d, Variadic) and d.name is not None and d.name not in variadic:
                        variadic.append(d.name)
        return single, variadic

    def _validate(self) -> None:
        # slot names are the one text of a contract that reaches generated source (as
        # parameter names): vetted here, where every contract passes (decorator, JSON, guard)
        params: set[str] = set()
        for slot in self.slots:
            problem = "" if slot.name == "return" and slot.is_return else name_problem(slot.name)
            if problem:
                raise ContractSyntaxError(f"{self.name}: slot name {slot.name!r}: {problem}")
            if slot.is_return or slot.kind == "pin":
                continue
            if slot.name in params:
                raise ContractSyntaxError(f"{self.name}: two slots are named {slot.name!r}")
            params.add(slot.name)
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
            spec = as_array(ins[0].spec) if ins else None
            if first == "?" and spec is not None:
                first = shape_text(spec)
            chain = [first]
            for r in self.layers:
                chain += [r.name, r.output]
            return " -> ".join(chain) + self._dropped_text()
        parts = []
        ret = None
        for s in self.slots:
            if s.kind == "array":
                what = spec_text(s.spec)
            elif s.kind == "dim":
                what = f"int (binds dim {s.name})"
            elif s.kind == "pin":
                what = ""
            else:
                what = getattr(s.hint, "__name__", repr(s.hint))
            if s.is_return:
                ret = what
            else:
                parts.append(f"{s.name}={s.value}" if s.kind == "pin" else
                             f"{s.star}{s.name}: {what}")
        out = f"{self.name}({', '.join(parts)})"
        return out + (f" -> {ret}" if ret else "") + self._dropped_text()

    def _dropped_text(self) -> str:
        if not self.dropped:
            return ""
        return "  [read from JSON without: " + ", ".join(
            d.replace("_", " ") if d in ("framework_verdict", "prepare") else d
            for d in self.dropped) + "]"


@dataclass(frozen=True)
class Mismatch:
    """One axis (or the rank) on which two specs disagree, statically."""

    axis: int | None  # None: the ranks differ
    name: str | None
    left: Any
    right: Any
    left_origin: Origin | None = None
    right_origin: Origin | None = None


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
        out.append(Mismatch(axis, name, va, vb, left.origin_of(axis), right.origin_of(axis)))
    return out
