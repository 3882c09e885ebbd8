"""Array specs: what a slot expects of one value, and one walk over them (layer L2).

Design rules:
- `ArraySpec` is what a slot expects of one array: array types, dtype names, dims, and per dim
  the structured origin of its expectation. `OneOf` holds alternatives told apart by rank
  (batched or unbatched), `TupleSpec`/`DictSpec` structures, `ModelSpec` a built model.
- Specs are frozen, plain data: nothing in them is filled in later.
- Each spec class has one `SpecKind` in one table (`register_kind`, `kind_of`): its fast-path
  emitter, reference check, JSON form, text and walk over its arrays. Nothing else dispatches
  on spec classes (a test scans the package); a new kind (a pytree, a scalar union) is one
  more `SpecKind` registered here or by the module that defines it.
- `iter_array_specs` is the one walk over a spec's arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._dims import Anon, Dim, Expr, Named, Variadic, dim_text, parse_dims
from ._errors import ContractSyntaxError, Origin, Violation

__all__ = ["AnyOf", "ArraySpec", "DictSpec", "ModelSpec", "OneOf", "PyTreeSpec", "SpecKind",
           "TupleSpec", "check_structure",
           "array_at_rank", "as_array", "iter_array_specs", "kind_of", "kind_tag", "kinds",
           "options_of", "parse_model", "primary_array", "register_kind", "shape_text",
           "spec_text"]


# ----------------------------------------------------------------------- array specs
class _AnyArray:
    """Marker: any array of a supported framework (`shapecontract.Array`)."""


@dataclass(frozen=True)
class ArraySpec:
    """What one slot expects of one array."""

    dims: tuple[Dim, ...]
    dtypes: frozenset[str] | None  # None: any dtype
    dtype_label: str  # "Float", "Int32", "Shaped" ...
    array_types: tuple[Any, ...]  # classes; () means any supported array (shapecontract.Array)
    optional: bool = False
    dtype_patterns: tuple[re.Pattern[str], ...] = ()
    origins: tuple[Origin | None, ...] = field(default=(), compare=False)
    """Per dim, where its expectation comes from (e.g. `LSTM 'lstm' input_size`); may be empty."""
    advice: tuple[str, ...] = field(default=(), compare=False)
    """Extra fix advice from whoever stated the spec (an adapter), shown when the slot fails."""
    variadic_at: int | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        for i, d in enumerate(self.dims):
            if isinstance(d, Variadic):
                object.__setattr__(self, "variadic_at", i)

    def origin_of(self, axis: int) -> Origin | None:
        if self.origins and 0 <= axis < len(self.origins):
            return self.origins[axis]
        return None

    @property
    def min_rank(self) -> int:
        return len(self.dims) - (1 if self.variadic_at is not None else 0)

    def dims_text(self) -> str:
        return " ".join(str(d) for d in self.dims)

    def expanded(self, rank: int) -> ArraySpec:
        """This spec read at `rank`: its variadic dim spelled out as anonymous axes."""
        if self.variadic_at is None or rank < self.min_rank:
            return self
        i, extra = self.variadic_at, rank - self.min_rank
        dims = self.dims[:i] + (Anon("_"),) * extra + self.dims[i + 1:]
        origins = self.origins
        if origins:
            origins = origins[:i] + (None,) * extra + origins[i + 1:]
        return ArraySpec(dims, self.dtypes, self.dtype_label, self.array_types, self.optional,
                         self.dtype_patterns, origins, self.advice)

    def __str__(self) -> str:
        types = "Array" if not self.array_types else " | ".join(
            getattr(t, "__name__", repr(t)) for t in self.array_types
        )
        text = f'{self.dtype_label}[{types}, "{self.dims_text()}"]'
        return text + " | None" if self.optional else text


@dataclass(frozen=True)
class OneOf:
    """Alternative array specs told apart by rank (torch: batched or unbatched input), and,
    with `by_dtype`, by dtype among options of the same rank (a loss target of class indices
    or of probabilities). The first option that fits is chosen."""

    options: tuple[ArraySpec, ...]
    optional: bool = False
    by_dtype: bool = False

    def pick(self, rank: int, dtype: str | None = None) -> ArraySpec | None:
        fits = [o for o in self.options
                if (o.variadic_at is None and rank == len(o.dims))
                or (o.variadic_at is not None and rank >= o.min_rank)]
        if self.by_dtype and dtype is not None:
            for o in fits:
                if o.dtypes is None or dtype in o.dtypes or any(p.match(dtype)
                                                                for p in o.dtype_patterns):
                    return o
        return fits[0] if fits else None

    def __str__(self) -> str:
        return " or ".join(str(o) for o in self.options)


@dataclass(frozen=True)
class AnyOf:
    """A union as jaxtyping (with beartype) decides it: the value satisfies one member.

    `options` (specs) are tried in order with the bindings made so far; the first one the value
    satisfies decides, and only its dims are bound (a member that fails binds nothing, as
    jaxtyping restores its memo). `others` are the union's members that state no array shape
    (`bool`, `int`, `float`, `np.number` ... as `Float[ArrayLike, ""]` expands, or any other
    hint), checked as beartype checks them (`isinstance` for a class) when no option holds;
    they bind nothing. Unlike `OneOf` (alternatives told apart by rank), a member of the right
    rank whose dims do not hold hands over to the next member."""

    options: tuple[Any, ...]
    others: tuple[Any, ...] = ()
    optional: bool = False
    others_at: tuple[int, ...] = ()
    """Per other member, the index of the option it is tried before (beartype tries the
    union's classes in written order, other hints after them); empty: after every option."""

    def others_before(self, i: int) -> tuple[Any, ...]:
        """The other members tried before option `i` (`len(options)`: after the last)."""
        at = self.others_at or (len(self.options),) * len(self.others)
        last = len(self.options)
        return tuple(o for o, k in zip(self.others, at) if min(k, last) == i)

    @staticmethod
    def classes(hints: tuple[Any, ...]) -> tuple[type, ...] | None:
        """`hints` as one isinstance tuple, or None when one of them is not a plain class."""
        import typing

        if all(isinstance(o, type) and typing.get_origin(o) is None for o in hints):
            return tuple(hints)
        return None

    def __str__(self) -> str:
        parts = [spec_text(o) for o in self.options]
        parts += [getattr(o, "__name__", None) or repr(o) for o in self.others]
        return " | ".join(parts) + (" | None" if self.optional else "")


@dataclass(frozen=True)
class PyTreeSpec:
    """`jaxtyping.PyTree[leaf, "T"]`: every leaf satisfies `leaf` (a spec), or, when `leaf` is
    None, the type hint `leaf_hint` (checked as beartype checks it; `Any`: anything).

    Leaves are found as jaxtyping finds them: the tree is flattened with an `is_leaf` that
    stops at a value of the leaf's type (arrays by their type alone, not their dtype or
    shape), then each leaf is checked in full, sharing the call's dims. `structure` (None, a
    name `"T"`, or names `"S T"` with `...` first or last) names the tree's structure: the
    first tree of a call with a name binds it, the others must have the same structure (see
    `structure_pieces`). `None` is an empty tree, always accepted."""

    leaf: Any
    leaf_hint: Any = None
    structure: str | None = None
    optional: bool = False

    def structure_pieces(self) -> tuple[tuple[str, ...], str]:
        """The structure's names and how they compose: "name" (one name, bound by the first
        tree), "exact", "prefix" (`"T ..."`) or "suffix" (`"... T"`)."""
        assert self.structure is not None
        pieces = self.structure.split()
        if len(pieces) == 1 and pieces[0] != "...":
            return (pieces[0],), "name"
        if pieces[0] == "...":
            return tuple(pieces[1:]), "suffix"
        if pieces[-1] == "...":
            return tuple(pieces[:-1]), "prefix"
        return tuple(pieces), "exact"

    def __str__(self) -> str:
        leaf = spec_text(self.leaf) if self.leaf is not None else (
            getattr(self.leaf_hint, "__name__", None) or repr(self.leaf_hint))
        text = f"PyTree[{leaf}" + (f", {self.structure!r}]" if self.structure else "]")
        return text + (" | None" if self.optional else "")


def check_structure(text: str) -> str:
    """A pytree structure string as jaxtyping reads it (stripped), or ContractSyntaxError:
    whitespace-separated names, `...` allowed first or last."""
    if not isinstance(text, str):
        raise ContractSyntaxError(f"a PyTree structure is a string such as 'T', not {text!r}")
    pieces = text.split()
    if not pieces:
        raise ContractSyntaxError("a PyTree structure cannot be empty", text)
    for i, piece in enumerate(pieces):
        if piece == "..." and i in (0, len(pieces) - 1) and len(pieces) > 1:
            continue
        if not piece.isidentifier():
            raise ContractSyntaxError(
                f"a PyTree structure is names separated by spaces ('T', 'S T', '... T'), got "
                f"{piece!r}", text)
    return text.strip()


@dataclass(frozen=True)
class TupleSpec:
    """A fixed-length tuple whose items are specs (or None for an unchecked item)."""

    items: tuple[Any, ...]
    optional: bool = False
    kinds: tuple[type, ...] = (tuple,)
    """Accepted exact types: `(tuple,)`, a NamedTuple class, or `(tuple, list)` for streams
    (torch's DataLoader collates a tuple of tensors into a list)."""


@dataclass(frozen=True)
class DictSpec:
    """A dict (a TypedDict annotation) whose listed keys hold specs."""

    keys: tuple[str, ...]
    items: tuple[Any, ...]
    optional: bool = False


@dataclass(frozen=True)
class ModelSpec:
    """`Model[keras.Model, "batch timesteps features -> batch 1"]`: what a built model takes
    and returns, checked against the model's own derived contract."""

    model_type: Any
    inputs: tuple[tuple[Dim, ...], ...]
    outputs: tuple[tuple[Dim, ...], ...]
    text: str
    optional: bool = False
    checker: Callable[..., None] | None = field(default=None, compare=False, repr=False)
    """`checker(spec, model, location, state)`: compares a built model with this spec. Set by
    whoever knows the frameworks (the decorator passes the adapters' `check_model`)."""

    def __str__(self) -> str:
        return f'Model[{getattr(self.model_type, "__name__", "Any")}, "{self.text}"]'


def parse_model(text: str) -> tuple[tuple[tuple[Dim, ...], ...], tuple[tuple[Dim, ...], ...]]:
    """`"batch t f -> batch 1"` (inputs and outputs separated by `,`) into dim tuples."""
    if not isinstance(text, str) or text.count("->") != 1:
        raise ContractSyntaxError("a model spec reads 'inputs -> outputs', e.g. "
                                  "'batch timesteps features -> batch 1'", str(text))
    left, right = text.split("->")
    ins = tuple(parse_dims(part.strip()) for part in left.split(","))
    outs = tuple(parse_dims(part.strip()) for part in right.split(","))
    return ins, outs




def shape_text(spec: ArraySpec) -> str:
    """`(batch, 24, 3)`: the expected shape with names, sizes where fixed."""
    items = [dim_text(d) for d in spec.dims]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"


def spec_text(spec: Any) -> str:
    """How a spec of any kind reads (`Float[ndarray, "b t"]`, `tuple[...]`, `{'x': ...}`)."""
    kind = kind_of(spec)
    return str(spec) if kind is None else kind.text(spec)


# ------------------------------------------------------------------------ spec kinds
class SpecKind:
    """How one kind of spec is checked, explained, written and shown: the one place a kind is
    dispatched on. Subclass it, set `cls` and `tag`, override what the kind needs, and
    `register_kind` an instance; every use (compiled checker, reference verdict, JSON, text,
    pictures, streams) then reaches the kind through `kind_of(spec)`.

    The methods receive what the layers above lend them, so that this table needs no upward
    import: `gen` is the checker generator (`_compile._Gen`: `const(obj, prefix)` names a
    constant, `var(prefix)` a fresh variable, `value_conds(spec, v, pending, definite)` the
    conditions of a nested spec, `array_conds(...)` those of one array, `optional(...)` wraps
    them for a spec that may be None); `ctx` is the reference verdict (`_evaluate`:
    `check_value(spec, v, loc, var, st)`, `check_array(...)`, `type_ok(array_spec, v)`,
    `note_other_options(...)`, `trial(st)` a copy of the state to try a member in,
    `commit(st, trial)` keeps what it bound, `exprs_hold(trial)` its symbolic dims); `codec` is the JSON codec (`_serial`: `spec_to_dict`,
    `array_to_dict`, `read_spec`, `read_array`, `reader`, `class_ref`, `resolve`, `stand_in`,
    `read_kind`, `DROPPED`). Generated code only ever names constants through `gen.const`: no
    text of a spec becomes source.

    Defaults fit a container of specs (`items`), so a structural kind overrides only
    `items`/`with_items`, `check`, `emit` and the JSON pair; a leaf kind with no fast path
    leaves `emit` alone (always the slow path)."""

    cls: type = object
    """The spec class this kind handles (subclasses of it too, unless registered themselves)."""
    tag: str = ""
    """Its name in JSON (`"type"`)."""
    is_array = False
    """A single array (what per-axis tools draw and compare)."""

    # -- structure -------------------------------------------------------------------
    def items(self, spec: Any) -> tuple[tuple[Any, Any], ...] | None:
        """(key, item spec or None) for a value whose parts are `value[key]`; None for a kind
        that is not a container."""
        return None

    def with_items(self, spec: Any, items: tuple[Any, ...]) -> Any:
        """`spec` with its item specs replaced (same keys, same order)."""
        return spec

    def options(self, spec: Any) -> tuple[Any, ...]:
        """Alternatives of which a value satisfies one."""
        return ()

    def arrays(self, spec: Any) -> Iterator[ArraySpec]:
        """Every array spec inside (see `iter_array_specs`)."""
        for _, item in self.items(spec) or ():
            yield from iter_array_specs(item)
        for option in self.options(spec):
            yield from iter_array_specs(option)

    def primary(self, spec: Any) -> ArraySpec | None:
        """The one array a value of this spec is read as by default (an alternative's first
        option), or None."""
        return None

    def at_rank(self, spec: Any, rank: int | None) -> ArraySpec | None:
        """The array a value of `rank` axes is checked against (an alternative's pick, else
        its first option), or None (a structure; an alternative at an unknown rank)."""
        return None

    def text(self, spec: Any) -> str:
        return str(spec)

    def loosened(self, spec: Any, static: bool) -> Any:
        """This spec (not its items) as a framework's collate delivers it: a tuple may arrive
        as a list. `static`: checked against TensorSpecs (any object with shape and dtype)."""
        return spec

    # -- compiled checker (fast path) ------------------------------------------------------
    def emit(self, spec: Any, v: str, gen: Any, pending: list[Any], definite: bool) -> list[str]:
        """Conditions (Python expressions) under which the value named `v` surely satisfies
        `spec`; `["False"]` sends every value to the slow path."""
        return ["False"]

    def occurrences(self, spec: Any, definite: bool) -> list[tuple[str, bool]]:
        """(dim name, binds-for-sure-here) in evaluation order (what the generator binds
        statically and what it must look up at call time)."""
        sure = definite and not getattr(spec, "optional", False)
        out: list[tuple[str, bool]] = []
        for _, item in self.items(spec) or ():
            kind = kind_of(item)
            if kind is not None:
                out.extend(kind.occurrences(item, sure))
        for option in self.options(spec):
            kind = kind_of(option)
            if kind is not None:
                out.extend(kind.occurrences(option, False))
        return out

    def fast(self, spec: Any) -> bool:
        """Whether the generated fast path can decide this spec (else: slow path only)."""
        for _, item in self.items(spec) or ():
            kind = kind_of(item)
            if kind is not None and not kind.fast(item):
                return False
        return True

    # -- reference verdict (slow path) ------------------------------------------------------
    def check(self, spec: Any, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        """Check `v` against `spec` at location `loc` (`var`: the expression fixes name it
        by), appending violations to `st` (an `_evaluate.State`)."""
        raise NotImplementedError(f"spec kind {self.tag!r} has no reference check")

    # -- JSON ----------------------------------------------------------------------------
    def to_json(self, spec: Any, codec: Any, dropped: list[str], where: str) -> dict[str, Any]:
        raise ValueError(f"cannot write spec {spec!r} ({type(spec).__name__}) as JSON")

    def from_json(self, r: Any, where: str, codec: Any) -> Any:
        raise ValueError(f"{where}: spec type {self.tag!r} cannot be read")


_KINDS: dict[type, SpecKind] = {}
_BY_TAG: dict[str, SpecKind] = {}
_LOOKUP: dict[type, SpecKind | None] = {}


def register_kind(kind: SpecKind) -> SpecKind:
    """Add a spec kind (replacing one registered for the same class or tag)."""
    if not isinstance(kind.cls, type) or kind.cls is object or not kind.tag:
        raise ValueError("a spec kind names its spec class (cls) and its JSON tag (tag)")
    old = _BY_TAG.get(kind.tag)
    if old is not None and old.cls is not kind.cls:
        _KINDS.pop(old.cls, None)
    _KINDS[kind.cls] = kind
    _BY_TAG[kind.tag] = kind
    _LOOKUP.clear()
    return kind


def unregister_kind(kind: SpecKind) -> None:
    """Remove a kind `register_kind` added (a test's toy kind)."""
    if _KINDS.get(kind.cls) is kind:
        del _KINDS[kind.cls]
    if _BY_TAG.get(kind.tag) is kind:
        del _BY_TAG[kind.tag]
    _LOOKUP.clear()


def kind_of(spec: Any) -> SpecKind | None:
    """The kind of `spec` (looked up along its class's MRO), or None for anything that is not
    a spec (None, a type hint)."""
    t = type(spec)
    try:
        return _LOOKUP[t]
    except KeyError:
        pass
    found = next((_KINDS[c] for c in t.__mro__ if c in _KINDS), None)
    _LOOKUP[t] = found
    return found


def kind_tag(spec: Any) -> str:
    """The JSON tag of `spec`'s kind (`array`, `one_of`, `tuple`, `dict`, `model` ...), or ''."""
    kind = kind_of(spec)
    return "" if kind is None else kind.tag


def kinds() -> tuple[SpecKind, ...]:
    """The registered kinds, in registration order."""
    return tuple(_BY_TAG.values())


def kind_by_tag(tag: str) -> SpecKind | None:
    return _BY_TAG.get(tag)


def iter_array_specs(spec: Any) -> Iterator[ArraySpec]:
    """Every ArraySpec inside a spec (tuple items, dict values, alternatives, model in/outputs)."""
    kind = kind_of(spec)
    if kind is not None:
        yield from kind.arrays(spec)


def as_array(spec: Any) -> ArraySpec | None:
    """`spec` when it is one array spec, else None."""
    kind = kind_of(spec)
    return spec if kind is not None and kind.is_array else None


def primary_array(spec: Any) -> ArraySpec | None:
    """The array a value of `spec` is read as by default: itself, an alternative's first
    option; None for structures and models."""
    kind = kind_of(spec)
    return None if kind is None else kind.primary(spec)


def array_at_rank(spec: Any, rank: int | None) -> ArraySpec | None:
    """The array a value of `rank` axes is checked against: itself, the alternative that fits
    (else the first); None for structures and models."""
    kind = kind_of(spec)
    return None if kind is None else kind.at_rank(spec, rank)


def options_of(spec: Any) -> tuple[Any, ...]:
    """A spec's alternatives (a batched/unbatched choice), or () when it has none."""
    kind = kind_of(spec)
    return () if kind is None else kind.options(spec)


def _items_conds(spec: Any, v: str, gen: Any, pending: list[Any], definite: bool,
                 conds: list[str], keys: list[Any]) -> list[str]:
    """The fast path of a container: `conds` on the value itself, then each item's."""
    for key, item in zip(keys, spec.items):
        iv = gen.var("t")
        sub = gen.value_conds(item, iv, pending, definite and not spec.optional)
        if sub:  # a missing key raises inside the guard: the slow path explains
            index = str(key) if type(key) is int else gen.const(key, "key")
            conds.append(f"(({iv} := {v}[{index}]) is not None or True)")
            conds.extend(sub)
    return gen.optional(spec.optional, v, conds)  # type: ignore[no-any-return]


class ArrayKind(SpecKind):
    """One array: the leaf every other kind is made of (`ArraySpec`)."""

    cls, tag, is_array = ArraySpec, "array", True

    def arrays(self, spec: ArraySpec) -> Iterator[ArraySpec]:
        yield spec

    def primary(self, spec: ArraySpec) -> ArraySpec | None:
        return spec

    def at_rank(self, spec: ArraySpec, rank: int | None) -> ArraySpec | None:
        return spec

    def loosened(self, spec: ArraySpec, static: bool) -> ArraySpec:
        if not static:
            return spec
        return ArraySpec(spec.dims, spec.dtypes, spec.dtype_label, (Any,), spec.optional,
                         spec.dtype_patterns, spec.origins, spec.advice)

    def emit(self, spec: ArraySpec, v: str, gen: Any, pending: list[Any],
             definite: bool) -> list[str]:
        return gen.array_conds(spec, v, gen.var("s"), pending, definite,  # type: ignore[no-any-return]
                               shape_known=False)

    def occurrences(self, spec: ArraySpec, definite: bool) -> list[tuple[str, bool]]:
        definite = definite and not spec.optional
        res = []
        for d in spec.dims:
            if isinstance(d, Named):
                res.append((d.name, definite and not d.broadcast))
            elif isinstance(d, Variadic) and d.name is not None:  # a bare `*` ("") too
                res.append((d.name, definite))
        return res

    def check(self, spec: ArraySpec, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        ctx.check_array(spec, v, loc, var, st)

    def to_json(self, spec: ArraySpec, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        return codec.array_to_dict(spec)  # type: ignore[no-any-return]

    def from_json(self, r: Any, where: str, codec: Any) -> ArraySpec:
        return codec.read_array(r)  # type: ignore[no-any-return]


class OneOfKind(SpecKind):
    """Alternatives told apart by rank (and dtype): `OneOf`."""

    cls, tag = OneOf, "one_of"

    def options(self, spec: OneOf) -> tuple[Any, ...]:
        return spec.options

    def arrays(self, spec: OneOf) -> Iterator[ArraySpec]:
        yield from spec.options

    def primary(self, spec: OneOf) -> ArraySpec | None:
        return spec.options[0]

    def at_rank(self, spec: OneOf, rank: int | None) -> ArraySpec | None:
        return None if rank is None else spec.pick(rank) or spec.options[0]

    def text(self, spec: OneOf) -> str:
        return str(spec)

    def fast(self, spec: OneOf) -> bool:
        # alternatives with symbolic dims: the fast path does not pick among them
        return not any(isinstance(d, Expr) for o in spec.options for d in o.dims)

    def emit(self, spec: OneOf, v: str, gen: Any, pending: list[Any], definite: bool) -> list[str]:
        # alternatives by rank (and, `by_dtype`, by dtype among the same rank), in order:
        # the first option whose rank (and type and dtype) fit decides, which is exactly
        # the option OneOf.pick picks; none fitting goes to the slow path, which explains
        s = gen.var("s")
        branches = []
        for k, opt in enumerate(spec.options):
            body = gen.array_conds(opt, v, s, pending, definite=False, shape_known=True)
            rank = len(opt.dims) if opt.variadic_at is None else opt.min_rank
            op = "==" if opt.variadic_at is None else ">="
            test = f"len({s} := {v}.shape) {op} {rank}" if k == 0 else f"len({s}) {op} {rank}"
            if spec.by_dtype and body:  # the type/dtype condition selects the option
                test, body = f"{test} and {body[0]}", body[1:]
            branches.append((test, " and ".join(body) or "True"))
        chain = "False"
        for test, cond in reversed(branches):
            chain = f"({cond}) if {test} else {chain}"
        return gen.optional(spec.optional, v, [f"({chain})"])  # type: ignore[no-any-return]

    def check(self, spec: OneOf, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        shape = ctx.shape_of(v) if ctx.type_ok(spec.options[0], v) else None
        dtype = ctx.dtype_of(v) if spec.by_dtype and shape is not None else None
        chosen = spec.options[0] if shape is None else spec.pick(len(shape), dtype)
        if chosen is None:
            assert shape is not None
            ranks = " or ".join(str(len(o.dims)) for o in spec.options)
            # explain against the option one axis longer (a missing axis is the usual cause)
            longer = spec.pick(len(shape) + 1) or spec.pick(len(shape) - 1) or spec.options[0]
            st.violations.append(Violation(
                loc, "rank", f"expected {ranks} axes, got {len(shape)}",
                expected=tuple(len(o.dims) for o in spec.options), actual=len(shape),
                contract=" or ".join(shape_text(o) for o in spec.options), shape=shape,
                spec=longer, var=var))
            st.values[var] = v
            return
        ctx.check_value(chosen, v, loc, var, st)
        if len(spec.options) > 1 and shape is not None:
            ctx.note_other_options(st, spec, chosen, v, shape, loc, var)

    def to_json(self, spec: OneOf, codec: Any, dropped: list[str], where: str) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.tag,
                             "options": [codec.array_to_dict(o) for o in spec.options]}
        if spec.by_dtype:
            d["by_dtype"] = True
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> OneOf:
        options = tuple(codec.read_array(codec.reader(o, f"{where} option {i}"))
                        for i, o in enumerate(r.get("options", list)))
        if not options:
            raise ContractSyntaxError(f"{where}: one_of needs at least one option")
        return OneOf(options, r.get("optional", bool, False), r.get("by_dtype", bool, False))


class TupleKind(SpecKind):
    """A fixed-length tuple of specs: `TupleSpec`."""

    cls, tag = TupleSpec, "tuple"

    def items(self, spec: TupleSpec) -> tuple[tuple[Any, Any], ...]:
        return tuple(enumerate(spec.items))

    def with_items(self, spec: TupleSpec, items: tuple[Any, ...]) -> TupleSpec:
        return TupleSpec(items, spec.optional, spec.kinds)

    def text(self, spec: TupleSpec) -> str:
        inner = ", ".join(spec_text(i) if i is not None else "Any" for i in spec.items)
        return f"tuple[{inner}]" + (" | None" if spec.optional else "")

    def loosened(self, spec: TupleSpec, static: bool) -> TupleSpec:
        if static:
            return TupleSpec(spec.items, spec.optional, (tuple, list))
        kinds = spec.kinds if spec.kinds != (tuple,) else (tuple, list)
        return TupleSpec(spec.items, spec.optional, kinds)

    def emit(self, spec: TupleSpec, v: str, gen: Any, pending: list[Any],
             definite: bool) -> list[str]:
        kinds = gen.const(frozenset(spec.kinds), "kinds")
        conds = [f"type({v}) in {kinds}", f"len({v}) == {len(spec.items)}"]
        return _items_conds(spec, v, gen, pending, definite, conds, list(range(len(spec.items))))

    def check(self, spec: TupleSpec, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        seq = isinstance(v, spec.kinds)
        what = " or ".join(k.__name__ for k in spec.kinds)
        if not seq or len(v) != len(spec.items):
            got = f"one of {len(v)}" if seq else type(v).__name__
            st.violations.append(Violation(
                loc, "type", f"expected a {what} of {len(spec.items)}, got {got}",
                expected=len(spec.items), actual=len(v) if seq else type(v)))
            return
        for i, (item_spec, item) in enumerate(zip(spec.items, v)):
            ctx.check_value(item_spec, item, (*loc, i), f"{var}[{i}]", st)

    def to_json(self, spec: TupleSpec, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.tag, "items": [
            None if i is None else codec.spec_to_dict(i, dropped, where) for i in spec.items]}
        if spec.kinds != (tuple,):
            d["kinds"] = [k.__name__ if k in (tuple, list) else codec.class_ref(k)
                          for k in spec.kinds]
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> TupleSpec:
        items = tuple(None if i is None else codec.read_spec(i, f"{where}[{n}]")
                      for n, i in enumerate(r.get("items", list)))
        kinds = tuple(codec.read_kind(k, where) for k in r.strs("kinds", ["tuple"]))
        if not kinds:
            raise ContractSyntaxError(f"{where}: kinds is empty")
        return TupleSpec(items, r.get("optional", bool, False), kinds)


class DictKind(SpecKind):
    """A dict whose listed keys hold specs: `DictSpec`."""

    cls, tag = DictSpec, "dict"

    def items(self, spec: DictSpec) -> tuple[tuple[Any, Any], ...]:
        return tuple(zip(spec.keys, spec.items))

    def with_items(self, spec: DictSpec, items: tuple[Any, ...]) -> DictSpec:
        return DictSpec(spec.keys, items, spec.optional)

    def text(self, spec: DictSpec) -> str:
        inner = ", ".join(f"{k!r}: {spec_text(i)}" for k, i in zip(spec.keys, spec.items))
        return "{" + inner + "}" + (" | None" if spec.optional else "")

    def emit(self, spec: DictSpec, v: str, gen: Any, pending: list[Any],
             definite: bool) -> list[str]:
        return _items_conds(spec, v, gen, pending, definite, [f"type({v}) is dict"],
                            list(spec.keys))

    def check(self, spec: DictSpec, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        missing = [k for k in spec.keys if not isinstance(v, dict) or k not in v]
        if missing:
            got = f"keys {sorted(v)}" if isinstance(v, dict) else type(v).__name__
            st.violations.append(Violation(
                loc, "type", f"expected a dict with {list(spec.keys)}, got {got}",
                expected=spec.keys, actual=type(v)))
            return
        for k, item_spec in zip(spec.keys, spec.items):
            ctx.check_value(item_spec, v[k], (*loc, k), f"{var}[{k!r}]", st)

    def to_json(self, spec: DictSpec, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.tag, "keys": list(spec.keys),
                             "items": [codec.spec_to_dict(i, dropped, where) for i in spec.items]}
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> DictSpec:
        keys = tuple(r.strs("keys"))
        items = tuple(codec.read_spec(i, f"{where}[{n}]")
                      for n, i in enumerate(r.get("items", list)))
        if len(keys) != len(items):
            raise ContractSyntaxError(f"{where}: {len(keys)} keys but {len(items)} items")
        return DictSpec(keys, items, r.get("optional", bool, False))


class ModelKind(SpecKind):
    """A built model, compared with its own derived contract on the slow path: `ModelSpec`."""

    cls, tag = ModelSpec, "model"

    def arrays(self, spec: ModelSpec) -> Iterator[ArraySpec]:
        for dims in spec.inputs + spec.outputs:
            yield ArraySpec(dims, None, "Shaped", (Any,))

    def occurrences(self, spec: ModelSpec, definite: bool) -> list[tuple[str, bool]]:
        return []

    def check(self, spec: ModelSpec, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        if spec.checker is None:
            st.violations.append(Violation(loc, "type", "no framework adapter can read this model",
                                           expected=spec, actual=type(v)))
        else:
            spec.checker(spec, v, loc, st)

    def to_json(self, spec: ModelSpec, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        d: dict[str, Any] = {
            "type": self.tag, "text": spec.text,
            "model_type": "any" if spec.model_type is Any else codec.class_ref(spec.model_type)}
        if spec.checker is not None or f"model check of {where}" in dropped:
            d["checker"] = codec.DROPPED
            if f"model check of {where}" not in dropped:
                dropped.append(f"model check of {where}")
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> ModelSpec:
        text = r.get("text", str)
        ins, outs = parse_model(text)
        ref = r.get("model_type", str, "any")
        model_type: Any = Any if ref == "any" else (codec.resolve(ref) or codec.stand_in(ref))
        return ModelSpec(model_type, ins, outs, text, r.get("optional", bool, False))


class AnyOfKind(SpecKind):
    """A union whose members are tried in order, as jaxtyping and beartype do: `AnyOf`."""

    cls, tag = AnyOf, "any_of"

    def options(self, spec: AnyOf) -> tuple[Any, ...]:
        return spec.options

    def primary(self, spec: AnyOf) -> ArraySpec | None:
        return next((p for p in map(primary_array, spec.options) if p is not None), None)

    def at_rank(self, spec: AnyOf, rank: int | None) -> ArraySpec | None:
        arrays = [a for a in map(as_array, spec.options) if a is not None]
        if rank is not None:
            for a in arrays:
                if (len(a.dims) == rank if a.variadic_at is None else rank >= a.min_rank):
                    return a
        return arrays[0] if arrays else None

    def text(self, spec: AnyOf) -> str:
        return str(spec)

    def fast(self, spec: AnyOf) -> bool:
        # a symbolic dim is decided when its member is tried (jaxtyping evaluates it then):
        # the slow path does that; so do members the fast path cannot decide
        for o in spec.options:
            kind = kind_of(o)
            if kind is None or not kind.fast(o):
                return False
            if any(isinstance(d, Expr) for a in iter_array_specs(o) for d in a.dims):
                return False
        return True

    def emit(self, spec: AnyOf, v: str, gen: Any, pending: list[Any], definite: bool) -> list[str]:
        # each member's conditions, in order, joined by `or`: the first that holds decides. A
        # member that fails after binding a dim (a walrus) leaves that dim bound to its size:
        # later comparisons are then stricter than the reference, never looser (a miss goes
        # to the slow path, which decides exactly).
        alts = []

        def others(hints: tuple[Any, ...]) -> None:
            if not hints:
                return
            classes = AnyOf.classes(hints)
            if classes is not None:
                alts.append(f"isinstance({v}, {gen.const(classes, 'classes')})")
            else:
                alts.append(f"{gen.const(_bearable(hints), 'bearable')}({v})")

        for i, o in enumerate(spec.options):
            others(spec.others_before(i))
            conds = gen.value_conds(o, v, pending, False)
            arr = as_array(o)
            if arr is not None and arr.array_types and arr.array_types != (Any,):
                # a cheap gate before `learn`, for values of another member's type
                conds = [f"isinstance({v}, {gen.const(arr.array_types, 'types')})", *conds]
            alts.append("(" + (" and ".join(conds) or "True") + ")")
        others(spec.others_before(len(spec.options)))
        return gen.optional(spec.optional, v, ["(" + " or ".join(alts) + ")"])  # type: ignore[no-any-return]

    def check(self, spec: AnyOf, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        tried = []
        for i, o in enumerate(spec.options):
            if _others_hold(spec.others_before(i), v):
                return
            sub = ctx.trial(st)
            ctx.check_value(o, v, loc, var, sub)
            if not sub.violations and ctx.exprs_hold(sub):
                ctx.commit(st, sub)
                return
            tried.append(sub)
        if _others_hold(spec.others_before(len(spec.options)), v):
            return
        st.values[var] = v
        # explain with the member that came closest: a wrong size over a wrong rank over a
        # wrong dtype over a wrong type (the first such member, in order)
        rank = {"dim": 0, "rank": 1, "dtype": 2}
        scored = [(max((rank.get(x.kind, 3) for x in t.violations), default=0), i)
                  for i, t in enumerate(tried)]
        best = min(scored)[1] if scored else None
        if best is None or min(scored)[0] >= 3:
            got = type(v).__name__
            st.violations.append(Violation(
                loc, "type", f"expected one of {spec}, got {got}", expected=spec,
                actual=type(v)))
            return
        st.violations.extend(tried[best].violations)
        st.values.update(tried[best].values)

    def to_json(self, spec: AnyOf, codec: Any, dropped: list[str], where: str) -> dict[str, Any]:
        others = []
        for o in spec.others:
            ref = codec.hint_ref(o)
            if ref is None:
                others.append({"text": codec.hint_text(o), "check": codec.DROPPED})
                if f"hint check of {where}" not in dropped:
                    dropped.append(f"hint check of {where}")
            else:
                others.append({"text": codec.hint_text(o), "ref": ref})
        d: dict[str, Any] = {"type": self.tag, "options": [
            codec.spec_to_dict(o, dropped, where) for o in spec.options]}
        if others:
            d["others"] = others
        if spec.others_at:
            d["others_at"] = list(spec.others_at)
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> AnyOf:
        options = tuple(codec.read_spec(o, f"{where} option {i}")
                        for i, o in enumerate(r.get("options", list)))
        others = []
        for i, o in enumerate(r.get("others", list, [])):
            h = codec.reader(o, f"{where} other {i}")
            text, ref = h.get("text", str), h.get("ref", str, None, allow_none=True)
            hint = codec.resolve_hint(ref, where) if ref else None
            others.append(codec.unchecked(text) if hint is None else hint)
        if not options and not others:
            raise ContractSyntaxError(f"{where}: any_of needs at least one member")
        at = tuple(r.get("others_at", list, []))
        if at and (len(at) != len(others) or not all(type(k) is int and k >= 0 for k in at)):
            raise ContractSyntaxError(f"{where}: others_at holds one index per other member")
        return AnyOf(options, tuple(others), r.get("optional", bool, False), at)


class PyTreeKind(SpecKind):
    """`jaxtyping.PyTree[leaf, "T"]`: leaves found and checked as jaxtyping does, sharing the
    call's dims; structure names compared across the call (`PyTreeSpec`). Slow path only."""

    cls, tag = PyTreeSpec, "pytree"

    def arrays(self, spec: PyTreeSpec) -> Iterator[ArraySpec]:
        yield from iter_array_specs(spec.leaf)

    def text(self, spec: PyTreeSpec) -> str:
        return str(spec)

    def occurrences(self, spec: PyTreeSpec, definite: bool) -> list[tuple[str, bool]]:
        kind = kind_of(spec.leaf)  # a tree may have no leaf: nothing binds for sure
        return [] if kind is None else kind.occurrences(spec.leaf, False)

    def fast(self, spec: PyTreeSpec) -> bool:
        return False

    def check(self, spec: PyTreeSpec, v: Any, loc: Any, var: str, st: Any, ctx: Any) -> None:
        if v is None:  # an empty tree (jaxtyping accepts None for any PyTree[...])
            return
        backend = ctx.pytree_backend()
        if backend is None:
            st.violations.append(Violation(
                loc, "type", f"{spec} is checked with jax.tree_util, and jax is not imported",
                expected=spec, actual=type(v)))
            return
        st.values[var] = v
        leaf, hint = spec.leaf, spec.leaf_hint

        def is_leaf(x: Any) -> bool:
            if leaf is None:
                return hint is not Any and bool(ctx.hint_holds(hint, x))
            trial = ctx.trial(st)
            trial.types_only = True
            ctx.check_value(leaf, x, loc, var, trial)
            return not trial.violations

        try:
            leaves, structure = backend.tree_flatten(v, is_leaf)
        except Exception as e:  # a node whose flattening raises
            st.violations.append(Violation(
                loc, "type", f"cannot flatten {type(v).__name__} as a pytree: {e}",
                expected=spec, actual=type(v)))
            return
        if spec.structure is not None and not self._structure_holds(spec, structure, loc, st,
                                                                   backend):
            return
        for parts, path, x in leaves:
            where = (*loc, *parts)
            if leaf is not None:
                ctx.check_value(leaf, x, where, var + path, st)
            elif hint is not Any and not ctx.hint_holds(hint, x):
                st.violations.append(Violation(
                    where, "type", f"expected a leaf of type {getattr(hint, '__name__', None) or hint!r}, got "
                    f"{type(x).__name__}", expected=hint, actual=type(x)))

    @staticmethod
    def _structure_holds(spec: PyTreeSpec, structure: Any, loc: Any, st: Any,
                         backend: Any) -> bool:
        names, how = spec.structure_pieces()
        if how == "name":
            prev = st.structures.get(names[0])
            if prev is None:
                st.structures[names[0]] = structure
                return True
            if prev == structure:
                return True
            problem = f"its structure {structure} differs from {names[0]}={prev}"
        else:
            missing = [n for n in names if n not in st.structures]
            if missing:
                problem = (f"the structure {spec.structure!r} names {', '.join(missing)}, "
                           "which no earlier PyTree of the call has bound")
            elif backend.tree_fits(structure, [st.structures[n] for n in names], how):
                return True
            else:
                problem = (f"its structure {structure} is not {spec.structure!r} with "
                           + ", ".join(f"{n}={st.structures[n]}" for n in names))
        st.violations.append(Violation(loc, "type", problem, expected=spec.structure,
                                       actual=str(structure)))
        return False

    def to_json(self, spec: PyTreeSpec, codec: Any, dropped: list[str],
                where: str) -> dict[str, Any]:
        d: dict[str, Any] = {"type": self.tag}
        if spec.leaf is not None:
            d["leaf"] = codec.spec_to_dict(spec.leaf, dropped, where)
        elif spec.leaf_hint is not Any:
            ref = codec.hint_ref(spec.leaf_hint)
            if ref is None:
                d["leaf_hint"] = {"text": codec.hint_text(spec.leaf_hint), "check": codec.DROPPED}
                if f"hint check of {where}" not in dropped:
                    dropped.append(f"hint check of {where}")
            else:
                d["leaf_hint"] = {"text": codec.hint_text(spec.leaf_hint), "ref": ref}
        if spec.structure is not None:
            d["structure"] = spec.structure
        if spec.optional:
            d["optional"] = True
        return d

    def from_json(self, r: Any, where: str, codec: Any) -> PyTreeSpec:
        raw_leaf = r.get("leaf", dict, None, allow_none=True)
        leaf = None if raw_leaf is None else codec.read_spec(raw_leaf, f"{where} leaf")
        hint: Any = Any
        raw_hint = r.get("leaf_hint", dict, None, allow_none=True)
        if raw_hint is not None:
            if leaf is not None:
                raise ContractSyntaxError(f"{where}: a pytree has a leaf spec or a leaf_hint")
            h = codec.reader(raw_hint, f"{where} leaf_hint")
            text, ref = h.get("text", str), h.get("ref", str, None, allow_none=True)
            found = codec.resolve_hint(ref, where) if ref else None
            hint = codec.unchecked(text) if found is None else found
        structure = r.get("structure", str, None, allow_none=True)
        return PyTreeSpec(leaf, None if leaf is not None else hint,
                          None if structure is None else check_structure(structure),
                          r.get("optional", bool, False))


def _others_hold(hints: tuple[Any, ...], v: Any) -> bool:
    if not hints:
        return False
    classes = AnyOf.classes(hints)
    if classes is not None:
        return isinstance(v, classes)
    return bool(_bearable(hints)(v))


def _bearable(hints: tuple[Any, ...]) -> Callable[[Any], bool]:
    """beartype's verdict on a value against the union of `hints` (a hint beartype cannot
    check accepts)."""
    import typing

    union: Any = typing.cast(Any, typing.Union)[hints]

    def bearable(v: Any) -> bool:
        from beartype.door import is_bearable

        try:
            return is_bearable(v, union)
        except Exception:
            return True

    return bearable


for _kind in (ArrayKind(), OneOfKind(), AnyOfKind(), TupleKind(), DictKind(), ModelKind(),
              PyTreeKind()):
    register_kind(_kind)
