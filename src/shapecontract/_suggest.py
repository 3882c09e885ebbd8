"""Suggestions (layer L4): which violations get fixes, from the table of fix rules.

Design rules:
- The fixes themselves come from `fixes.rules` (one table of rules, each valid by construction,
  each fix carrying its operation); this module decides which violation of a call gets them,
  with which expected sizes, and adds the slot's advice and the cast and padding fixes.
- Fixes are `Fix` values: the text shown, a `kind` from a closed set, the code and the
  operation.
- The failing slot's own sizes are not evidence of what it should have been: expected sizes
  come from the contract and from bindings made by other slots.
"""

from __future__ import annotations

from typing import Any

from ._dims import dim_size
from ._errors import Fix, Location, Violation
from ._spec import ArraySpec, OneOf, shape_text
from .backends import dtype_name, snippets
from .fixes import Cast, PadSequences
from .fixes.rules import Problem, permutation, propose

__all__ = ["add_suggestions", "cast_fix", "note_other_options", "permutation"]


def add_suggestions(st: Any, others: Any = None) -> None:
    """Add fixes to the first violation of each slot that carries its spec (rank and dims), and
    the slot's advice (how its shape should look) to its first violation about its own shape.
    `others(location)` gives the bindings every other slot implies (the call evaluated without
    that slot): a name the failing slot bound first may be carried by a later argument too."""
    def shared(v: Violation) -> bool:
        """A size another array slot set (the samples of x and y), not a pin or an int."""
        return (v.kind == "dim" and v.dim is not None
                and st.bound_at.get(v.dim, v.location) not in ((), v.location))

    seen: set[Location] = set()
    for v in st.violations:
        if v.spec is None or v.location in seen:
            continue
        seen.add(v.location)
        shape = v.shape
        if shape is None or v.explained:
            continue
        spec = v.spec.expanded(len(shape))
        known = st.bindings_not_from(v.location)
        if others is not None:
            known = {**known, **others(v.location)}
        value = st.values.get(v.var)
        found = fixes(v, spec, v.var, tuple(shape), expected_sizes(spec, known),
                      snippets(value), _dtype(value))
        if shared(v):  # a count another slot set: say so, not "change the contract"
            origin = st.origins.get(v.dim or "", "another argument")
            found = [Fix(f"{v.var} has {v.actual} on axis {v.axis} ({v.dim}) and {origin} "
                         f"gives {v.dim}={v.expected}: they must agree; take the same "
                         f"{v.dim} for both. A reshape cannot fix this.", "no_reshape")
                     if f.kind == "no_reshape" else f for f in found]
        v.suggestions.extend(found)
        if any(f.kind == "permute" for f in found):
            # sizes read from axes in the wrong order name nothing: do not report them
            for name in [n for n, at in st.bound_at.items() if at == v.location]:
                st.bindings.pop(name, None)
    advised: set[Location] = set()
    for v in st.violations:
        if v.spec is None or v.location in advised or v.shape is None or shared(v):
            continue
        advised.add(v.location)
        v.suggestions.extend(Fix(a, "advice") for a in v.spec.advice if a not in v.suggestions)


def note_other_options(st: Any, spec: OneOf, chosen: ArraySpec, v: Any, shape: tuple[Any, ...],
                       loc: Location, var: str) -> None:
    """When the rank-matched option fails, say so if a missing axis would fit another option."""
    fails = [x for x in st.violations if x.location == loc]
    if not fails:
        return
    longer = spec.pick(len(shape) + 1)
    if longer is None or longer is chosen:
        return
    sizes = expected_sizes(longer, st.bindings_not_from(loc))
    if sizes is None:
        return
    probe = Violation(loc, "rank", "", shape=shape)
    found = fixes(probe, longer, var, tuple(shape), sizes, snippets(v))
    if found and found[0].kind == "insert_axis":
        fails[0].suggestions.append(Fix(
            f"{shape_text(longer)} is also accepted; if {var} lacks an axis: {found[0]}",
            "alternative", found[0].code, found[0].op))
        fails[0].explained = True  # the likely cause: no generic advice after it


def cast_fix(spec: ArraySpec, v: Any, var: str) -> Fix | None:
    if getattr(getattr(v, "dtype", None), "kind", "") == "O" and is_ragged(v):
        return pad_fix(var, sequence_length(spec))  # a cast of ragged sequences would raise
    target = _dtype_target(spec)
    if target is None:
        return None
    op = Cast(target)
    code = op.code(var, snippets(v))
    return Fix(code, "cast", code, op)


def is_ragged(v: Any) -> bool:
    """A sequence (list, tuple, object array) of sequences of different lengths."""
    try:
        lengths = {len(item) for item in v}
    except TypeError:
        return False
    return len(lengths) > 1


def pad_fix(var: str, maxlen: int | None = None, be: Any = None) -> Fix:
    """Pad sequences of different lengths; to the contract's length when it fixes one."""
    to = f", maxlen={maxlen}" if maxlen is not None else ""
    op = PadSequences(maxlen)
    return Fix(f"the sequences in {var} have different lengths, so no array holds them as they "
               f"are; pad them to one length first: keras.utils.pad_sequences({var}, "
               f"padding='post'{to}) (Keras, numpy) or torch.nn.utils.rnn.pad_sequence("
               f"[torch.tensor(s) for s in {var}], batch_first=True) (PyTorch)", "convert",
               op.code(var, be), op)


def sequence_length(spec: Any) -> int | None:
    """The length a (batch, length, ...) spec fixes on its second axis, if it fixes one."""
    from ._dims import Fixed

    dims: tuple[Any, ...] = getattr(spec, "dims", ())
    second = dims[1] if len(dims) >= 2 else None
    return second.size if isinstance(second, Fixed) else None


def _dtype_target(spec: ArraySpec) -> str | None:
    if spec.dtypes is None:
        return None
    for pref in ("float32", "int64", "int32", "bool", "uint8", "complex64"):
        if pref in spec.dtypes:
            return pref
    return sorted(spec.dtypes)[0] if spec.dtypes else None


def expected_sizes(spec: ArraySpec, bindings: dict[str, Any]) -> list[Any] | None:
    """Per dim: an int (known), 'any' (anonymous / unbound name), or None if variadic."""
    if spec.variadic_at is not None:
        return None
    sizes = (dim_size(d, bindings) for d in spec.dims)
    return ["any" if v is None else v for v in sizes]


def fixes(v: Violation, spec: ArraySpec, var: str, shape: tuple[Any, ...],
          sizes: list[Any] | None, be: Any, dtype: str | None = None) -> list[Fix]:
    """The fix the table of fix rules (`fixes.rules`) proposes for `v`, if any."""
    if sizes is None:
        return []
    return propose(Problem(v, spec, var, tuple(shape), sizes, be, dtype))


def _dtype(value: Any) -> str | None:
    """The dtype name of an array value, else None."""
    dtype = getattr(value, "dtype", None)
    return None if dtype is None else dtype_name(dtype)
