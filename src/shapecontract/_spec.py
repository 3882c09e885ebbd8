"""Array specs: what a slot expects of one value, and one walk over them (layer L2).

Design rules:
- `ArraySpec` is what a slot expects of one array: array types, dtype names, dims, and per dim
  the structured origin of its expectation. `OneOf` holds alternatives told apart by rank
  (batched or unbatched), `TupleSpec`/`DictSpec` structures, `ModelSpec` a built model.
- Specs are frozen, plain data: nothing in them is filled in later.
- `iter_array_specs` is the one walk over a spec's arrays.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ._dims import Anon, Dim, Variadic, dim_text, parse_dims
from ._errors import ContractSyntaxError, Origin

__all__ = ["ArraySpec", "DictSpec", "ModelSpec", "OneOf", "TupleSpec", "iter_array_specs",
           "parse_model", "shape_text"]



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




def iter_array_specs(spec: Any) -> Iterator[ArraySpec]:
    """Every ArraySpec inside a spec (tuple items, dict values, alternatives, model in/outputs)."""
    if isinstance(spec, ArraySpec):
        yield spec
    elif isinstance(spec, (TupleSpec, DictSpec)):
        for item in spec.items:
            yield from iter_array_specs(item)
    elif isinstance(spec, OneOf):
        yield from spec.options
    elif isinstance(spec, ModelSpec):
        for dims in spec.inputs + spec.outputs:
            yield ArraySpec(dims, None, "Shaped", (Any,))


def shape_text(spec: ArraySpec) -> str:
    """`(batch, 24, 3)`: the expected shape with names, sizes where fixed."""
    items = [dim_text(d) for d in spec.dims]
    if len(items) == 1:
        return f"({items[0]},)"
    return "(" + ", ".join(items) + ")"
