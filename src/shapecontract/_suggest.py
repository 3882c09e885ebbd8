"""Fixes (layer L4): each rule states when it is valid, and is offered only then.

Design rules:
- A fix is code the user will paste. It is offered only if, applied to the bad value, it
  satisfies the contract and keeps the meaning of every axis: an axis insertion only when the
  rest matches, a permutation only when it yields the expected shape (written as the full
  permutation, never a swap that exchanges two other axes), a reshape only when the element
  counts match. Otherwise the fix says plainly that a reshape cannot help.
- Fixes are `Fix` values: the text shown, a `kind` from a closed set, and the code.
- The failing slot's own sizes are not evidence of what it should have been: expected sizes
  come from the contract and from bindings made by other slots.
"""

from __future__ import annotations

import math
from typing import Any

from ._dims import dim_label, dim_size
from ._errors import Fix, Location, Violation
from ._spec import ArraySpec, OneOf, shape_text
from .backends import snippets
from .fixes import Cast, DropAxis, InsertAxis, PadSequences, Permute, Reshape

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
        found = fixes(v, spec, v.var, tuple(shape), expected_sizes(spec, known),
                      snippets(st.values.get(v.var)))
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


def pad_fix(var: str, maxlen: int | None = None) -> Fix:
    """Pad sequences of different lengths; to the contract's length when it fixes one."""
    to = f", maxlen={maxlen}" if maxlen is not None else ""
    op = PadSequences(maxlen)
    return Fix(f"the sequences in {var} have different lengths, so no array holds them as they "
               f"are; pad them to one length first: keras.utils.pad_sequences({var}, "
               f"padding='post'{to}) (Keras, numpy) or torch.nn.utils.rnn.pad_sequence("
               f"[torch.tensor(s) for s in {var}], batch_first=True) (PyTorch)", "convert",
               op.code(var), op)


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


def _fits(sizes: list[Any], shape: tuple[Any, ...], spec_dims: tuple[Any, ...]) -> bool:
    """Does `shape` fit the expected sizes, with an open name repeated in the slot (`a 1 a`)
    taking one size everywhere?"""
    from ._dims import Named

    open_sizes: dict[str, Any] = {}
    for want, got, d in zip(sizes, shape, spec_dims):
        if got is None:
            continue
        if getattr(d, "broadcast", False) and got == 1:
            continue
        if want == "any":
            if isinstance(d, Named) and open_sizes.setdefault(d.name, got) != got:
                return False
            continue
        if want != got:
            return False
    return True


def fixes(v: Violation, spec: ArraySpec, var: str, shape: tuple[Any, ...],
          sizes: list[Any] | None, be: Any) -> list[Fix]:
    out: list[Fix] = []
    known = all(s is not None for s in shape)
    n_have = math.prod(shape) if known else None
    if sizes is None:
        return out
    if v.kind == "rank":
        if len(shape) == len(sizes) - 1:
            for k in reversed(range(len(sizes))):  # a missing trailing axis is the usual case
                want_k = sizes[k]
                if want_k not in (1, "any") and not getattr(spec.dims[k], "broadcast", False):
                    continue
                # the shape with the size-1 axis inserted (a name repeated in the slot, as in
                # `a a`, must then take size 1 everywhere)
                if _fits(sizes, (*shape[:k], 1, *shape[k:]), spec.dims):
                    axis = -1 if k == len(sizes) - 1 else k
                    insert = InsertAxis(axis, len(sizes))
                    what = _axis_name(spec, k)
                    v.axis, v.dim = k, dim_label(spec.dims[k])
                    out.append(Fix(f"the {what} axis {k} is missing; add it with {insert.index(var)} "
                                   f"or {insert.code(var, be)} (the element count stays the "
                                   "same)", "insert_axis", insert.index(var), insert))
                    return out
        if len(shape) == len(sizes) + 1:
            for k in range(len(shape)):
                if shape[k] == 1 and _fits(sizes, shape[:k] + shape[k + 1:], spec.dims):
                    drop = DropAxis(k)
                    code = drop.code(var, be)
                    out.append(Fix(f"axis {k} has size 1 and the contract has no such axis; "
                                   f"drop it with {code}", "squeeze", code, drop))
                    return out
    if v.kind == "dim" and len(shape) == len(sizes) and known:
        perm = permutation(shape, sizes, spec)
        if perm is not None:
            move = Permute(perm)
            code = move.code(var, be)
            out.append(Fix(f"the axes are in the wrong order; {code} gives "
                           f"{_fmt(tuple(shape[p] for p in perm))}", "permute", code, move))
            return out
    if known and len(sizes) != len(shape) and sizes.count("any") == 1 and n_have:
        # one open dim (the batch): a reshape with -1 there keeps the count, if the rest divides it
        rest = math.prod(w for w in sizes if w != "any")
        if rest and n_have % rest == 0:
            target = tuple(-1 if w == "any" else w for w in sizes)
            op = Reshape(target)
            code = op.code(var, be)
            out.append(Fix(f"{code} gives {_fmt(tuple(n_have // rest if w == 'any' else w for w in sizes))} "
                           f"and keeps the element count ({n_have}), but only use it if the data "
                           "really is laid out that way", "reshape", code, op))
            return out
    if known and len(sizes) == len(shape):
        # an open dim ('any') keeps the data's own size: the count a reshape would need
        target = tuple(shape[i] if w == "any" else w for i, w in enumerate(sizes))
        n_want = math.prod(target)
        if n_want == n_have and target != tuple(shape):
            op = Reshape(target)
            code = op.code(var, be)
            out.append(Fix(f"{code} keeps the element count ({n_want}), but only use it if the "
                           "data really is laid out that way", "reshape", code, op))
        else:
            out.append(_cannot_reshape(v, n_have, n_want))
    elif known and all(w != "any" for w in sizes):
        n_want = math.prod(sizes)
        if n_want == n_have:  # every size known (another slot gave the open ones): same count
            op = Reshape(tuple(sizes))
            code = op.code(var, be)
            out.append(Fix(f"{code} keeps the element count ({n_want}), but only use it if the "
                           "data really is laid out that way", "reshape", code, op))
        else:
            out.append(_cannot_reshape(v, n_have, n_want))
    elif v.kind == "dim" and v.axis is not None:
        out.append(_cannot_reshape(v, None, None))
    return out


def _cannot_reshape(v: Violation, n_have: Any, n_want: Any) -> Fix:
    if v.kind == "dim" and v.axis is not None:
        what = f"{v.expected} {v.dim}" if v.dim else f"size {v.expected}"
        msg = (f"the contract expects {what} on axis {v.axis}; the data has "
               f"{v.actual}. Change the data (select, pad or engineer that axis) or change the "
               f"contract")
    else:
        msg = "the data and the contract disagree on the number of axes"
    if n_have is not None and n_want is not None:
        msg += f". A reshape cannot fix this ({n_have} elements vs {n_want})"
    else:
        msg += ". A reshape cannot fix this"
    return Fix(msg + ".", "no_reshape")


def _axis_name(spec: ArraySpec, k: int) -> str:
    name = dim_label(spec.dims[k])
    return f"'{name}'" if name else "size-1"


def permutation(shape: tuple[int, ...], sizes: list[Any], spec: ArraySpec) -> tuple[int, ...] | None:
    """The axis order that gives the expected sizes and moves the fewest pairs of axes past each
    other (fewest inversions): NHWC -> NCHW is (0, 3, 1, 2), never (0, 3, 2, 1), even when
    height equals width. None if no order fits, or if the data is in order already."""
    import itertools

    n = len(shape)
    if n > 7:
        return None
    best: tuple[int, tuple[int, ...]] | None = None
    for p in itertools.permutations(range(n)):
        if not _fits(sizes, tuple(shape[j] for j in p), spec.dims):
            continue
        inversions = sum(1 for a in range(n) for b in range(a + 1, n) if p[a] > p[b])
        if best is None or inversions < best[0]:
            best = (inversions, p)
    if best is None or best[1] == tuple(range(n)):
        return None
    return best[1]


def _fmt(t: tuple[Any, ...]) -> str:
    return f"({t[0]},)" if len(t) == 1 else "(" + ", ".join(str(x) for x in t) + ")"
