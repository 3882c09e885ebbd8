"""The slow path: the full verdict on a call, why it failed, and how to fix it.

Design rules:
- `evaluate` is the reference semantics. The compiled fast path is an optimisation that may
  only pass what `evaluate` passes; anything it cannot decide cheaply comes here.
- Bindings follow slot order: `int` dim parameters first, then arrays in parameter order, then
  the return value; the first occurrence of a dim binds it and records where (the origin).
  Symbolic dims are evaluated after all bindings, so they may refer to any bound dim.
- Unknown sizes (None, symbolic) never fail and never bind.
- Fix suggestions are valid by construction: an axis insertion only when the rest matches, a
  permutation only when it yields the expected shape, a reshape only when element counts match.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field
from typing import Any

from ._config import get_mode
from ._contract import Contract, Slot, dim_size, shape_text
from ._errors import ShapeContractError, ShapeContractWarning, Violation
from ._spec import Anon, ArraySpec, DictSpec, Expr, Fixed, ModelSpec, Named, OneOf, TupleSpec, Variadic
from .backends import DTYPE_SETS, TYPE_SETS, dtype_name, is_array, shape_of, snippets

__all__ = ["MISSING", "evaluate", "report"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class _State:
    bindings: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    vbroadcast: dict[str, bool] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    pending: list[tuple[Any, ...]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # var -> value, for fix snippets

    def bind(self, name: str, value: Any, origin: str) -> None:
        self.bindings[name] = value
        self.origins[name] = origin


# ------------------------------------------------------------------------ verdict
def evaluate(contract: Contract, values: list[Any]) -> _State:
    """Check `values` (one per slot; MISSING for a slot not yet known) against `contract`."""
    st = _State()
    pairs = list(zip(contract.slots, values))
    for slot, v in pairs:
        if slot.kind == "dim" and v is not MISSING and type(v) is int:
            st.bind(slot.name, v, slot.origin or f"argument {slot.name}={v}")
    for slot, v in pairs:
        if v is MISSING:
            continue
        if slot.kind == "hint" or (slot.kind == "dim" and type(v) is not int):
            _check_hint(slot, v, st)
        elif slot.kind == "array":
            if slot.star == "*":
                for i, item in enumerate(v):
                    _check_value(slot.spec, item, f"{slot.label}[{i}]", slot.name, st)
            elif slot.star == "**":
                for k, item in v.items():
                    _check_value(slot.spec, item, f"{slot.label}[{k!r}]", k, st)
            else:
                var = "result" if slot.is_return else slot.name
                _check_value(slot.spec, v, slot.label, var, st)
    for spec, dim, axis, size, label, var, shape in st.pending:
        want = dim.evaluate(st.bindings)
        if want is None:
            continue  # refers to a dim not bound yet (e.g. only by the return value)
        if dim.broadcast and size == 1:
            continue
        if size != want:
            names = ", ".join(f"{n}={st.bindings[n]}" for n in dim.names)
            _dim_violation(st, spec, axis, dim, size, want, label, var, shape,
                           f"{dim.text} with {names}")
    return st


def _check_hint(slot: Slot, v: Any, st: _State) -> None:
    from beartype.door import is_bearable

    hint = int if slot.kind == "dim" else slot.hint
    try:
        ok = is_bearable(v, hint)
    except Exception:  # beartype cannot check this hint: do not fail the user's call on it
        ok = True
    if not ok:
        st.violations.append(Violation(
            slot=slot.label, kind="type",
            message=f"expected {getattr(hint, '__name__', repr(hint))}, got "
                    f"{type(v).__name__} {_short_repr(v)}",
            expected=hint, actual=type(v)))


def _short_repr(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:28] + " ... " + r[-27:]


def _type_ok(spec: ArraySpec, v: Any) -> bool:
    if not spec.array_types:
        return is_array(v)  # learns the type into ARRAY_TYPES
    if spec.array_types == (Any,):
        ok = hasattr(v, "shape") and hasattr(v, "dtype")
    else:
        ok = isinstance(v, spec.array_types)
    if ok:
        TYPE_SETS.setdefault(spec.array_types, set()).add(type(v))
    return ok


def dtype_ok(spec: ArraySpec, v: Any) -> bool:
    if spec.dtypes is None:
        return True
    name = dtype_name(v.dtype)
    ok = name in spec.dtypes or any(p.match(name) for p in spec.dtype_patterns)
    if ok and _type_ok(spec, v):
        try:
            key = (spec.array_types, spec.dtypes, spec.dtype_patterns)
            DTYPE_SETS.setdefault(key, {}).setdefault(type(v), set()).add(v.dtype)
        except TypeError:  # an unhashable dtype: always decided here
            pass
    return ok


def _check_value(spec: ArraySpec | TupleSpec | None, v: Any, label: str, var: str, st: _State) -> None:
    if spec is None:
        return
    if v is None and spec.optional:
        return
    if isinstance(spec, ModelSpec):
        from .frameworks.check_model import check_model

        check_model(spec, v, label, st)
        return
    if isinstance(spec, OneOf):
        shape = shape_of(v) if _type_ok(spec.options[0], v) else None
        chosen = spec.options[0] if shape is None else spec.pick(len(shape))
        if chosen is None:
            ranks = " or ".join(str(len(o.dims)) for o in spec.options)
            st.violations.append(Violation(
                slot=label, kind="rank", message=f"expected {ranks} axes, got {len(shape)}",
                expected=tuple(len(o.dims) for o in spec.options), actual=len(shape),
                contract=" or ".join(shape_text(o) for o in spec.options), shape=shape))
            # explain against the option one axis longer (a missing axis is the usual cause)
            longer = spec.pick(len(shape) + 1) or spec.pick(len(shape) - 1) or spec.options[0]
            st.violations[-1].__dict__["_ctx"] = (longer, var)
            st.values[var] = v
            return
        _check_value(chosen, v, label, var, st)
        if len(spec.options) > 1 and shape is not None:
            _note_other_options(st, spec, chosen, v, shape, label, var)
        return
    if isinstance(spec, TupleSpec):
        seq = isinstance(v, spec.kinds)
        what = " or ".join(k.__name__ for k in spec.kinds)
        if not seq or len(v) != len(spec.items):
            got = f"one of {len(v)}" if seq else type(v).__name__
            st.violations.append(Violation(
                slot=label, kind="type", message=f"expected a {what} of {len(spec.items)}, got {got}",
                expected=len(spec.items), actual=len(v) if seq else type(v)))
            return
        for i, (item_spec, item) in enumerate(zip(spec.items, v)):
            _check_value(item_spec, item, f"{label}[{i}]", f"{var}[{i}]", st)
        return
    if isinstance(spec, DictSpec):
        missing = [k for k in spec.keys if not isinstance(v, dict) or k not in v]
        if missing:
            got = f"keys {sorted(v)}" if isinstance(v, dict) else type(v).__name__
            st.violations.append(Violation(
                slot=label, kind="type", message=f"expected a dict with {list(spec.keys)}, got {got}",
                expected=spec.keys, actual=type(v)))
            return
        for k, item_spec in zip(spec.keys, spec.items):
            _check_value(item_spec, v[k], f"{label}[{k!r}]", f"{var}[{k!r}]", st)
        return
    st.values[var] = v
    if not _type_ok(spec, v):
        want = "an array" if not spec.array_types else " or ".join(
            getattr(t, "__name__", str(t)) for t in spec.array_types)
        sugg = []
        if isinstance(v, (list, tuple)) and spec.array_types in ((), (Any,)):
            sugg.append(f"convert it first: np.asarray({var})")
        st.violations.append(Violation(
            slot=label, kind="type", message=f"expected {want} ({spec}), got {type(v).__name__}",
            expected=spec, actual=type(v), suggestions=sugg))
        return
    if not dtype_ok(spec, v):
        got = dtype_name(v.dtype)
        target = _dtype_target(spec)
        sugg = [snippets(v).cast(var, target)] if target else []
        st.violations.append(Violation(
            slot=label, kind="dtype",
            message=f"expected dtype {spec.dtype_label} ({_dtype_list(spec)}), got {got}",
            expected=spec.dtype_label, actual=got, suggestions=sugg))
    shape = shape_of(v)
    if shape is None:
        return  # unknown rank: nothing more can be known now
    dims = spec.dims
    n = len(shape)
    if spec.variadic_at is None:
        if n != len(dims):
            _rank_violation(st, spec, v, shape, label, var)
            return
        aligned = list(zip(dims, range(n), shape))
        seg = None
    else:
        if n < spec.min_rank:
            _rank_violation(st, spec, v, shape, label, var)
            return
        i = spec.variadic_at
        k = len(dims) - i - 1  # dims after the variadic
        aligned = list(zip(dims[:i], range(i), shape[:i]))
        aligned += list(zip(dims[i + 1:], range(n - k, n), shape[n - k:]))
        seg = (dims[i], i, tuple(shape[i:n - k]))
    for dim, axis, size in aligned:
        _check_dim(st, spec, dim, axis, size, label, var, shape)
    if seg is not None:
        _check_variadic(st, spec, seg[0], seg[1], seg[2], label, var, shape)


def _note_other_options(st: _State, spec: OneOf, chosen: ArraySpec, v: Any,
                        shape: tuple[Any, ...], label: str, var: str) -> None:
    """When the rank-matched option fails, say so if a missing axis would fit another option."""
    fails = [x for x in st.violations if x.slot == label]
    if not fails:
        return
    longer = spec.pick(len(shape) + 1)
    if longer is None or longer is chosen:
        return
    sizes = _expected_sizes(longer, _bindings_not_from(st, label))
    if sizes is None:
        return
    probe = Violation(slot=label, kind="rank", message="", shape=shape)
    fixes = _fixes(probe, longer, var, tuple(shape), sizes, snippets(v))
    if fixes and "missing" in fixes[0]:
        fails[0].suggestions.append(
            f"{shape_text(longer)} is also accepted; if {var} lacks an axis: {fixes[0]}")
        fails[0].__dict__["_explained"] = True  # the likely cause: no generic advice after it


def _check_dim(st: _State, spec: ArraySpec, dim: Any, axis: int, size: Any, label: str, var: str,
               shape: tuple[Any, ...]) -> None:
    if isinstance(dim, Anon) or size is None:
        return
    if isinstance(dim, Expr):
        st.pending.append((spec, dim, axis, size, label, var, shape))
        return
    if dim.broadcast and size == 1:
        return
    if isinstance(dim, Fixed):
        if size != dim.size:
            origin = _dim_origin(spec, axis) or "fixed in the annotation"
            _dim_violation(st, spec, axis, dim, size, dim.size, label, var, shape, origin)
        return
    assert isinstance(dim, Named)
    bound = st.bindings.get(dim.name, MISSING)
    if bound is MISSING:
        st.bind(dim.name, size, f"{label} axis {axis}")
    elif bound != size:
        _dim_violation(st, spec, axis, dim, size, bound, label, var, shape,
                       f"{dim.name}={bound} from {st.origins[dim.name]}")


def _check_variadic(st: _State, spec: ArraySpec, dim: Variadic, axis: int, seg: tuple[Any, ...],
                    label: str, var: str, shape: tuple[Any, ...]) -> None:
    if dim.name is None or any(s is None for s in seg):
        return
    name = dim.name
    prev = st.bindings.get(name, MISSING)
    if prev is MISSING:
        st.bind(name, seg, f"{label} axes {axis}..{axis + len(seg) - 1}")
        st.vbroadcast[name] = dim.broadcast
        return
    prev_b = st.vbroadcast.get(name, False)
    problem = None
    if prev_b or dim.broadcast:
        joint = _broadcast(seg, prev)
        if joint is None:
            problem = "cannot be broadcast with"
        elif prev_b and not dim.broadcast and joint != seg:
            problem = "cannot take the broadcast of"
        elif not prev_b and dim.broadcast and joint != prev:
            problem = "cannot be broadcast to"
        elif prev_b:
            st.bindings[name] = joint
            st.vbroadcast[name] = dim.broadcast
    elif seg != prev:
        problem = "does not equal"
    if problem:
        st.violations.append(Violation(
            slot=label, kind="dim", axis=axis, dim=f"*{name}",
            message=f"axes {axis}..{axis + len(seg) - 1} (*{name}) are {seg}, which {problem} "
                    f"*{name}={prev}",
            expected=prev, actual=seg, origin=f"*{name}={prev} from {st.origins[name]}",
            contract=shape_text(spec), shape=shape))


def _broadcast(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...] | None:
    n = max(len(a), len(b))
    a = (1,) * (n - len(a)) + a
    b = (1,) * (n - len(b)) + b
    out = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            return None
    return tuple(out)


def _dim_origin(spec: ArraySpec, axis: int) -> str | None:
    if spec.origins and axis < len(spec.origins):
        return spec.origins[axis]
    return None


def _dim_name(dim: Any) -> str | None:
    if isinstance(dim, Named):
        return dim.name
    if isinstance(dim, (Fixed, Expr)):
        return dim.label or (dim.text if isinstance(dim, Expr) else None)
    return None


def _dim_violation(st: _State, spec: ArraySpec, axis: int, dim: Any, size: int, want: int,
                   label: str, var: str, shape: tuple[Any, ...], origin: str) -> None:
    st.violations.append(Violation(
        slot=label, kind="dim", axis=axis, dim=_dim_name(dim),
        message=f"expected {want}, got {size}", expected=want, actual=size,
        origin=origin, contract=shape_text(spec), shape=shape))
    st.violations[-1].__dict__["_ctx"] = (spec, var)


def _rank_violation(st: _State, spec: ArraySpec, v: Any, shape: tuple[Any, ...], label: str,
                    var: str) -> None:
    want = f"{len(spec.dims)}" if spec.variadic_at is None else f"at least {spec.min_rank}"
    st.violations.append(Violation(
        slot=label, kind="rank", message=f"expected {want} axes, got {len(shape)}",
        expected=len(spec.dims) if spec.variadic_at is None else spec.min_rank,
        actual=len(shape), contract=shape_text(spec), shape=shape))
    st.violations[-1].__dict__["_ctx"] = (spec, var)


def _dtype_target(spec: ArraySpec) -> str | None:
    if spec.dtypes is None:
        return None
    for pref in ("float32", "int64", "int32", "bool", "uint8", "complex64"):
        if pref in spec.dtypes:
            return pref
    return sorted(spec.dtypes)[0] if spec.dtypes else None


def _dtype_list(spec: ArraySpec) -> str:
    names = sorted(spec.dtypes or ())
    if len(names) > 4:
        return ", ".join(n for n in names if n in ("float16", "bfloat16", "float32", "float64",
                                                    "int32", "int64", "uint8", "bool")) + ", ..."
    return ", ".join(names)


# -------------------------------------------------------------------- suggestions
def _expected_sizes(spec: ArraySpec, bindings: dict[str, Any]) -> list[Any] | None:
    """Per dim: an int (known), 'any' (anonymous / unbound name), or None if variadic."""
    if spec.variadic_at is not None:
        return None
    sizes = (dim_size(d, bindings) for d in spec.dims)
    return ["any" if v is None else v for v in sizes]


def _bindings_not_from(st: _State, slot_label: str) -> dict[str, Any]:
    """Bindings made by other slots: the failing slot's own sizes are not evidence."""
    return {k: v for k, v in st.bindings.items()
            if not st.origins.get(k, "").startswith(slot_label + " ")}


def _fits(sizes: list[Any], shape: tuple[Any, ...], spec_dims: tuple[Any, ...]) -> bool:
    for want, got, d in zip(sizes, shape, spec_dims):
        if want == "any" or got is None:
            continue
        if getattr(d, "broadcast", False) and got == 1:
            continue
        if want != got:
            return False
    return True


def _suggest(st: _State, contract_name: str) -> None:
    by_slot: dict[str, list[Violation]] = {}
    for v in st.violations:
        if "_ctx" in v.__dict__:
            by_slot.setdefault(v.slot, []).append(v)
    for group in by_slot.values():
        first = group[0]
        spec, var = first.__dict__.pop("_ctx")
        for v in group[1:]:
            v.__dict__.pop("_ctx", None)
        shape = first.shape
        if shape is None:
            continue
        own = _bindings_not_from(st, first.slot)
        spec = spec.expanded(len(shape))
        sizes = _expected_sizes(spec, own)
        be = snippets(st.values.get(var))
        if not first.__dict__.pop("_explained", False):
            first.suggestions.extend(_fixes(first, spec, var, tuple(shape), sizes, be))
        first.suggestions.extend(a for a in spec.advice if a not in first.suggestions)


def _fixes(v: Violation, spec: ArraySpec, var: str, shape: tuple[Any, ...],
           sizes: list[Any] | None, be: Any) -> list[str]:
    out: list[str] = []
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
                rest = sizes[:k] + sizes[k + 1:]
                dims_rest = spec.dims[:k] + spec.dims[k + 1:]
                if _fits(rest, shape, dims_rest):
                    idx = "[..., None]" if k == len(sizes) - 1 else (
                        "[None]" if k == 0 else f"[{', '.join([':'] * k)}, None]")
                    axis = -1 if k == len(sizes) - 1 else k
                    what = _axis_name(spec, k)
                    v.axis, v.dim = k, _dim_name(spec.dims[k])
                    out.append(f"the {what} axis {k} is missing; add it with {var}{idx} "
                               f"or {be.expand(var, axis)} (the element count stays the same)")
                    return out
        if len(shape) == len(sizes) + 1:
            for k in range(len(shape)):
                if shape[k] == 1 and _fits(sizes, shape[:k] + shape[k + 1:], spec.dims):
                    out.append(f"axis {k} has size 1 and the contract has no such axis; drop it "
                               f"with {be.squeeze(var, k)}")
                    return out
    if v.kind == "dim" and len(shape) == len(sizes) and known:
        perm = _permutation(shape, sizes, spec)
        if perm is not None:
            out.append(f"the axes are in the wrong order; {be.permute(var, perm)} gives "
                       f"{_fmt(tuple(shape[p] for p in perm))}")
            return out
    if known and len(sizes) == len(shape):
        # an open dim ('any') keeps the data's own size: the count a reshape would need
        target = tuple(shape[i] if w == "any" else w for i, w in enumerate(sizes))
        n_want = math.prod(target)
        if n_want == n_have and target != tuple(shape):
            out.append(f"{var}.reshape{_fmt(target)} keeps the element count ({n_want}), but "
                       "only use it if the data really is laid out that way")
        else:
            out.append(_cannot_reshape(v, spec, n_have, n_want))
    elif known and all(w != "any" for w in sizes):
        out.append(_cannot_reshape(v, spec, n_have, math.prod(sizes)))
    elif v.kind == "dim" and v.axis is not None:
        out.append(_cannot_reshape(v, spec, None, None))
    return out


def _cannot_reshape(v: Violation, spec: ArraySpec, n_have: Any, n_want: Any) -> str:
    if v.kind == "dim" and v.axis is not None:
        what = v.dim or f"axis {v.axis}"
        msg = (f"the contract expects {v.expected} {what} on axis {v.axis}; the data has "
               f"{v.actual}. Change the data (select, pad or engineer that axis) or change the "
               f"contract")
    else:
        msg = "the data and the contract disagree on the number of axes"
    if n_have is not None and n_want is not None:
        msg += f". A reshape cannot fix this ({n_have} elements vs {n_want})"
    else:
        msg += ". A reshape cannot fix this"
    return msg + "."


def _axis_name(spec: ArraySpec, k: int) -> str:
    d = spec.dims[k]
    name = _dim_name(d)
    return f"'{name}'" if name else "size-1"


def _permutation(shape: tuple[int, ...], sizes: list[Any], spec: ArraySpec) -> tuple[int, ...] | None:
    n = len(shape)
    used: set[int] = set()
    perm: list[int] = []
    for i, want in enumerate(sizes):
        cands = [j for j in range(n) if j not in used and (want == "any" or shape[j] == want)]
        if not cands:
            return None
        j = i if i in cands else cands[0]
        # prefer an exact size match over an 'any' placeholder
        if want == "any":
            exact = [c for c in cands if c == i]
            j = exact[0] if exact else cands[0]
        used.add(j)
        perm.append(j)
    p = tuple(perm)
    if p == tuple(range(n)):
        return None
    if not _fits(sizes, tuple(shape[j] for j in p), spec.dims):
        return None
    return p


def _fmt(t: tuple[Any, ...]) -> str:
    return f"({t[0]},)" if len(t) == 1 else "(" + ", ".join(str(x) for x in t) + ")"


# ------------------------------------------------------------------------ reporting
def build_error(contract: Contract, values: list[Any], st: _State) -> ShapeContractError:
    _suggest(st, contract.name)
    return ShapeContractError(st.violations, function=contract.name, bindings=st.bindings)


def report(contract: Contract, values: list[Any]) -> dict[str, Any]:
    """Slow path: decide, and raise or warn per the mode. Returns the bindings on a pass."""
    __tracebackhide__ = True
    st = evaluate(contract, values)
    if not st.violations:
        return st.bindings
    if get_mode() == "off":
        return st.bindings
    deliver(build_error(contract, values, st))
    return st.bindings


def report_raise(contract: Contract, values: list[Any]) -> dict[str, Any]:
    """Slow path that always raises on a violation, whatever the mode: for callers (streams)
    that add context to the error before delivering it themselves."""
    __tracebackhide__ = True
    st = evaluate(contract, values)
    if st.violations:
        raise build_error(contract, values, st)
    return st.bindings


def deliver(err: ShapeContractError, stacklevel: int = 5) -> None:
    """Raise `err`, or warn with it, per the mode in force (nothing when `off`)."""
    __tracebackhide__ = True
    mode = get_mode()
    if mode == "off":
        return
    if mode == "warn":
        warnings.warn(str(err), ShapeContractWarning, stacklevel=stacklevel)
        return
    raise err
