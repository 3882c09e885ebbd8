"""The reference verdict (layer L4): does a call satisfy its contract, and if not, why.

Design rules:
- `evaluate` is the reference semantics. The compiled fast path (`_compile`) is an
  optimisation that may only pass what `evaluate` passes; anything it cannot decide cheaply
  comes here, and so does every question asked without a compiled checker.
- Bindings follow slot order: pins and `int` dim parameters first, then arrays in parameter
  order, then the return value; the first occurrence of a dim binds it and records where.
  Symbolic dims are evaluated after all bindings, so they may refer to any bound dim.
- Unknown sizes (None, symbolic) never fail and never bind.
- `verdict` is the one answer for a contract of any level: the strict level reports every
  violation (noting when the framework would have accepted the value); the framework level
  accepts what the framework's own verdict accepts, except a size the user pinned.
- The slow path returns the error; the generated wrapper raises it, or warns at the caller.
"""

from __future__ import annotations

import sys
import typing
import warnings
from dataclasses import dataclass, field
from typing import Any

from . import _coverage
from ._config import get_mode
from ._contract import Contract, Slot
from ._dims import Anon, Expr, Fixed, Named, Variadic, dim_label
from ._errors import Location, Origin, ShapeContractError, ShapeContractWarning, Violation
from ._spec import ArraySpec, kind_of, shape_text
from ._suggest import (
    add_suggestions,
    cast_fix,
    is_ragged,
    note_other_options,
    pad_fix,
    sequence_length,
)
from .backends import (
    ARRAY_TYPES,
    DTYPE_SETS,
    TYPE_SETS,
    BrokenShape,
    as_int,
    defer_check,
    dtype_name,
    dtype_of,
    internal_modules,
    is_array,
    pytree_backend,
    shape_of,
    trusted,
)

__all__ = ["MISSING", "State", "deliver", "evaluate", "report", "verdict"]


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


@dataclass
class State:
    """The bindings, where each came from, and the violations found so far."""

    bindings: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, Origin] = field(default_factory=dict)
    """Where each binding came from, as data (`source` says pin, argument, element ...)."""
    bound_at: dict[str, Location] = field(default_factory=dict)
    vbroadcast: dict[str, bool] = field(default_factory=dict)
    violations: list[Violation] = field(default_factory=list)
    pending: list[tuple[Any, ...]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)  # var -> value, for fix snippets
    structures: dict[str, Any] = field(default_factory=dict)
    """Pytree structure names (`PyTree[..., "T"]`) -> the structure bound first."""
    types_only: bool = False
    """Arrays are checked for their type only (how a pytree's leaves are found, as jaxtyping
    finds them)."""

    def bind(self, name: str, value: Any, origin: Origin | str, at: Location = ()) -> None:
        # (a plain str: frameworks/check_model.py until it passes an Origin)
        self.bindings[name] = value
        self.origins[name] = origin if isinstance(origin, Origin) else Origin(origin, _source(at))
        self.bound_at[name] = at

    def bindings_not_from(self, loc: Location) -> dict[str, Any]:
        """Bindings made by other slots: the failing slot's own sizes are not evidence."""
        return {k: v for k, v in self.bindings.items() if self.bound_at.get(k) != loc}


# ------------------------------------------------------------------------ verdict
def evaluate(contract: Contract, values: list[Any]) -> State:
    """Check `values` (one per slot; MISSING for a slot not yet known) against `contract`."""
    st = State()
    pairs = list(zip(contract.slots, values))
    for slot in contract.slots:
        if slot.kind == "pin" and slot.value is not None:
            st.bind(slot.name, slot.value,
                    slot.origin or Origin(f"dims={{{slot.name!r}: {slot.value}}}", "pin"))
    for slot, v in pairs:
        size = as_int(v) if slot.kind == "dim" and v is not MISSING else None
        if size is not None:
            st.bind(slot.name, size,
                    slot.origin or Origin(f"argument {slot.name}={size}", "argument"))
    for slot, v in pairs:
        if v is MISSING or slot.kind == "pin":
            continue
        if slot.kind == "hint" or (slot.kind == "dim" and as_int(v) is None):
            _check_hint(slot, v, st)
        elif slot.kind == "array":
            if v is None and slot.optional:
                continue
            loc = slot.location
            if slot.star == "*":
                for i, item in enumerate(v):
                    _check_value(slot.spec, item, (*loc, i), f"{slot.name}[{i}]", st)
            elif slot.star == "**":
                for k, item in v.items():
                    _check_value(slot.spec, item, (*loc, k), k, st)
            else:
                var = "result" if slot.is_return else slot.name
                _check_value(slot.spec, v, loc, var, st)
    for spec, dim, axis, size, loc, var, shape in st.pending:
        try:
            want = dim.evaluate(st.bindings)
        except ZeroDivisionError:
            names = ", ".join(f"{n}={st.bindings.get(n)}" for n in dim.names)
            st.violations.append(Violation(
                loc, "dim", f"axis {axis} ({dim.text}): {dim.text} divides by zero with {names}",
                axis=axis, dim=dim.text, expected=f"{dim.text} (divides by zero)", actual=size,
                shape=shape))
            continue
        if want is None:
            continue  # refers to a dim not bound yet (e.g. only by the return value)
        if dim.broadcast and size == 1:
            continue
        if size != want:
            names = ", ".join(f"{n}={st.bindings[n]}" for n in dim.names)
            _dim_violation(st, spec, axis, dim, size, want, loc, var, shape,
                           Origin(f"{dim.text} with {names}", "binding"))
    return st


def _framework_violation(contract: Contract, reason: Any) -> Violation:
    """The framework's own reason for rejecting a call, as a violation of the first input (its
    fixes, which the adapter proved on the framework, as the suggestions)."""
    ins = contract.inputs()
    return Violation(ins[0].location if ins else ("input", None), "value", reason,
                     suggestions=list(getattr(reason, "fixes", ())), explained=True)


def _pinned(contract: Contract, violations: list[Violation]) -> list[Violation]:
    """The violations of sizes the user pinned (`dims=`): intent, which no framework overrules."""
    pins = contract.pins()
    return [v for v in violations if v.kind == "dim" and v.dim in pins]


def verdict(contract: Contract, values: list[Any]) -> ShapeContractError | None:
    """The one answer for a call: None when it holds, else the explained error."""
    st = evaluate(contract, values)
    notes: list[str] = []
    fw = contract.framework
    if fw is not None and contract.level == "framework":
        inputs = contract.argument_values(values)
        ok, reason = fw(inputs)
        if ok:  # the framework accepts: only pinned dims (the user's own intent) still count
            st.violations[:] = _pinned(contract, st.violations)
        elif ok is not None:  # (None: the framework cannot be asked; the slots decide)
            if not st.violations:
                st.violations.append(_framework_violation(contract, reason))
            notes.append(f"{contract.framework_name} rejects it: {reason}")
    elif fw is not None and not contract.complete and not st.violations:
        # the slots hold, but they do not state every relation: the framework decides those
        inputs = contract.argument_values(values)
        ok, reason = fw(inputs)
        if ok is False:
            st.violations.append(_framework_violation(contract, reason))
            notes.append(f"{contract.framework_name} rejects it")
    if not st.violations:
        return None
    guess_violated = not any(v.explained and v.kind == "value" for v in st.violations)
    if fw is not None and contract.guessed and contract.level != "framework" and guess_violated:
        ok, reason = fw(contract.argument_values(values))
        if ok is not False:  # the guess is wrong (or torch cannot tell): never refuse on a
            st.violations[:] = _pinned(contract, st.violations)  # guess; pinned sizes stay
            if not st.violations:
                return None
            if ok:
                notes.append(f"{contract.framework_name} itself would have accepted this input "
                             "silently; the size you pinned (dims=) is enforced")
            return build_error(contract, st, notes, values)
        guessed_from = getattr(fw, "guessed_from", None)
        given = getattr(reason, "shape", None)
        shapes = {tuple(v.shape) for v in st.violations if v.shape is not None}
        if (guessed_from is not None and getattr(reason, "layer", None) == guessed_from
                and (given is None or not shapes or tuple(given) in shapes)):
            # the layer the guess was read from is the one that rejects what it was given
            # (the argument itself, not a value the forward made of it): the guess holds
            notes.append(f"{contract.framework_name} rejects it too: {reason}")
            return build_error(contract, st, notes, values)
        # it fails elsewhere: the framework's own reason is the violation (it is sure)
        st.violations[:] = [_framework_violation(contract, reason),
                            *_pinned(contract, st.violations)]
        notes.append(f"{contract.framework_name} rejects it (the input contract guessed from "
                     f"{guessed_from or 'its first known layer'} does not state this model's)")
        return build_error(contract, st, notes, values)
    if fw is not None and contract.level != "framework":
        inputs = contract.argument_values(values)
        ok, reason = fw(inputs)
        if ok:
            notes.append(f"{contract.framework_name} itself would have accepted this input "
                         f"silently{': ' + reason if reason else ''}; shapecontract's strict "
                         "level enforces every declared dim (level='framework' accepts what the "
                         "framework accepts)")
    return build_error(contract, st, notes, values)


def learn(spec: ArraySpec, v: Any) -> bool:
    """A compiled checker met a type or dtype its sets have not seen: decide it as the reference
    does (the sets learn it if it is valid and the type a framework's own), then answer as the
    sets now do. Never lenient: an untrusted type or a wrong dtype stays False (slow path)."""
    try:
        type_ok(spec, v)
        dtype_ok(spec, v)
        t = type(v)
        if spec.dtypes is not None:
            key = (spec.array_types, spec.dtypes, spec.dtype_patterns)
            return v.dtype in DTYPE_SETS.get(key, {}).get(t, ())
        if spec.array_types:
            return t in TYPE_SETS.get(spec.array_types, ())
        return t in ARRAY_TYPES
    except Exception:  # a hostile .dtype: the slow path explains
        return False


def holds(contract: Contract, values: list[Any]) -> bool:
    """`verdict(contract, values) is None`, decided without explaining: what a graph compiler
    (Dynamo) traces when a checker that has no fast path did not pass; the explanation is
    built outside the graph."""
    st = evaluate(contract, values)
    fw = contract.framework
    if fw is None:
        return not st.violations
    inputs = contract.argument_values(values)
    if contract.level == "framework":
        ok = fw(inputs)[0]
        if ok:
            return not _pinned(contract, st.violations)
        return ok is None and not st.violations
    if st.violations:
        return (contract.guessed and fw(inputs)[0] is not False
                and not _pinned(contract, st.violations))
    return contract.complete or fw(inputs)[0] is not False


def build_error(contract: Contract, st: State, notes: list[str] | None = None,
                values: list[Any] | None = None) -> ShapeContractError:
    others = None
    if values is not None:
        def others(loc: Location) -> dict[str, Any]:
            """What the other slots imply, this slot's value left out (error path only)."""
            rest = [MISSING if s.kind == "array" and loc[:len(s.location)] == s.location else v
                    for s, v in zip(contract.slots, values)]
            return evaluate(contract, rest).bindings
    add_suggestions(st, others)
    return ShapeContractError(st.violations, function=contract.name, bindings=st.bindings,
                              notes=notes)


def report(contract: Contract, values: list[Any]) -> ShapeContractError | None:
    """The slow path of a compiled checker: the error to raise or warn with, or None (the call
    holds, or the mode is `off`)."""
    err = verdict(contract, values)
    if err is None:
        defer_check(values, contract, _at_run_time)
        return None
    if get_mode() == "off":  # the mode is read only when something failed
        _coverage.silenced(contract.name)
        return None
    return err


def _at_run_time(contract: Contract, values: list[Any]) -> None:
    """The check a tf.function graph runs on the concrete values of sizes unknown when it was
    traced: raise (TensorFlow delivers it as its error, with our text) or warn, per the mode."""
    err = verdict(contract, values)
    if err is not None and get_mode() == "off":
        _coverage.silenced(contract.name)
    if err is None or get_mode() == "off":
        return
    if get_mode() == "warn":
        warnings.warn(str(err), ShapeContractWarning, stacklevel=2)
        return
    raise err.carry()  # TensorFlow keeps only the text: the token finds it again


def report_always(contract: Contract, values: list[Any]) -> ShapeContractError | None:
    """A slow path that ignores the mode: for callers (streams, validate) that add context to
    the error and then deliver it themselves."""
    return verdict(contract, values)


_INTERNAL = frozenset({"shapecontract", "optree", "contextlib"})
"""Top-level modules whose frames a warning points past (with each framework's own, which its
backend names: `backends.internal_modules`)."""


def caller_stacklevel() -> int:
    """The `stacklevel` that makes a warning point at the user's line: the first frame (from
    the caller of this function's caller) outside shapecontract and the frameworks."""
    frame = sys._getframe(2)
    level = 2
    internal = _INTERNAL | internal_modules()
    while frame is not None:
        mod = frame.f_globals.get("__name__", "") or ""
        fname = frame.f_code.co_filename
        if not (mod.split(".")[0] in internal or fname.startswith("<shapecontract")):
            return level
        frame = frame.f_back  # type: ignore[assignment]
        level += 1
    return 2


def warn_mode() -> bool:
    return get_mode() == "warn"


def warned(err: ShapeContractError) -> bool:
    """In `warn` mode, warn with `err` at the user's line and return True; else False."""
    if get_mode() != "warn":
        return False
    warnings.warn(err.render(), ShapeContractWarning, stacklevel=caller_stacklevel())
    return True


def deliver(err: ShapeContractError, scoped_mode: str | None = None) -> None:
    """Raise `err`, or warn with it at the user's line, per the mode (nothing when `off`).
    `scoped_mode`: the caller's scoped mode, carried into a framework's thread (tf.data)."""
    __tracebackhide__ = True
    mode = scoped_mode or get_mode()
    if mode == "off":
        return
    if mode == "warn":
        warnings.warn(err.render(), ShapeContractWarning, stacklevel=caller_stacklevel())
        return
    raise err


# ------------------------------------------------------------------------ slots
def _check_hint(slot: Slot, v: Any, st: State) -> None:
    from beartype.door import is_bearable

    hint: Any = int if slot.kind == "dim" else slot.hint
    if slot.kind == "dim":  # a dim size: an int or a numpy integer, not a bool
        ok = as_int(v) is not None
    else:
        try:
            ok = is_bearable(v, hint)
        except Exception:  # beartype cannot check this hint: do not fail the user's call on it
            ok = True
    if not ok:
        st.violations.append(Violation(
            slot.location, "type",
            f"expected {getattr(hint, '__name__', repr(hint))}, got "
            f"{type(v).__name__} {_short_repr(v)}",
            expected=hint, actual=type(v)))


def _hint_holds(hint: Any, v: Any) -> bool:
    """beartype's verdict on `v` against `hint` (a hint beartype cannot check holds)."""
    from beartype.door import is_bearable

    if isinstance(hint, type) and typing.get_origin(hint) is None:
        return isinstance(v, hint)
    try:
        return is_bearable(v, hint)
    except Exception:
        return True


def _short_repr(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 60 else r[:28] + " ... " + r[-27:]


def _has(v: Any, name: str) -> bool:
    """hasattr that counts a raising property as present (its reading says what is wrong)."""
    try:
        getattr(v, name)
    except AttributeError:
        return False
    except Exception:
        return True
    return True


def type_ok(spec: ArraySpec, v: Any) -> bool:
    if not spec.array_types:
        return is_array(v)  # learns the type into ARRAY_TYPES
    if spec.array_types == (Any,):
        ok = _has(v, "shape") and _has(v, "dtype")
    else:
        ok = isinstance(v, spec.array_types)
    if ok and trusted(type(v)):  # the fast path passes only types with a framework's .shape
        TYPE_SETS.setdefault(spec.array_types, set()).add(type(v))
    return ok


def dtype_ok(spec: ArraySpec, v: Any) -> bool:
    if spec.dtypes is None:
        return True
    name = dtype_name(dtype_of(v))
    ok = name in spec.dtypes or any(p.match(name) for p in spec.dtype_patterns)
    if ok and type_ok(spec, v) and trusted(type(v)):
        try:
            key = (spec.array_types, spec.dtypes, spec.dtype_patterns)
            DTYPE_SETS.setdefault(key, {}).setdefault(type(v), set()).add(v.dtype)
        except TypeError:  # an unhashable dtype: always decided here
            pass
    return ok


def _check_value(spec: Any, v: Any, loc: Location, var: str, st: State) -> None:
    """Check one value; an object whose shape or dtype cannot be read is a violation."""
    try:
        _check_one(spec, v, loc, var, st)
    except BrokenShape as exc:
        hint = (" (a torch.nested tensor has no shape: check its components, x.unbind())"
                if getattr(v, "is_nested", False) is True else "")
        st.violations.append(Violation(
            loc, "type", f"{type(v).__name__} whose {exc}{hint}", expected=spec, actual=type(v)))


def _check_one(spec: Any, v: Any, loc: Location, var: str, st: State) -> None:
    if spec is None:
        return
    if v is None and getattr(spec, "optional", False):
        return
    kind = kind_of(spec)
    if kind is None:
        raise TypeError(f"not a spec: {spec!r} ({type(spec).__name__})")
    kind.check(spec, v, loc, var, st, _EXPLAINER)


def _check_array(spec: ArraySpec, v: Any, loc: Location, var: str, st: State) -> None:
    """The reference check of one array: type, dtype, rank, then each dim."""
    st.values[var] = v
    if not type_ok(spec, v):
        want = "an array" if not spec.array_types else " or ".join(
            getattr(t, "__name__", str(t)) for t in spec.array_types)
        from ._errors import Fix

        sugg = []
        if isinstance(v, (list, tuple)) and spec.array_types in ((), (Any,)):
            sugg.append(pad_fix(var, sequence_length(spec)) if is_ragged(v) else
                        Fix(f"convert it first: np.asarray({var})", "convert", f"np.asarray({var})"))
        st.violations.append(Violation(
            loc, "type", f"expected {want} ({spec}), got {type(v).__name__}",
            expected=spec, actual=type(v), suggestions=sugg))
        return
    if st.types_only:
        return
    if not dtype_ok(spec, v):
        got = dtype_name(dtype_of(v))
        fix = cast_fix(spec, v, var)
        st.violations.append(Violation(
            loc, "dtype", f"expected dtype {spec.dtype_label} ({_dtype_list(spec)}), got {got}",
            expected=spec.dtype_label, actual=got, suggestions=[fix] if fix else []))
    shape = shape_of(v)
    if shape is None:
        return  # unknown rank: nothing more can be known now
    dims = spec.dims
    n = len(shape)
    if spec.variadic_at is None:
        if n != len(dims):
            _rank_violation(st, spec, shape, loc, var)
            return
        aligned = list(zip(dims, range(n), shape))
        seg = None
    else:
        if n < spec.min_rank:
            _rank_violation(st, spec, shape, loc, var)
            return
        i = spec.variadic_at
        after = len(dims) - i - 1  # dims after the variadic
        aligned = list(zip(dims[:i], range(i), shape[:i]))
        aligned += list(zip(dims[i + 1:], range(n - after, n), shape[n - after:]))
        seg = (dims[i], i, tuple(shape[i:n - after]))
    for dim, axis, size in aligned:
        _check_dim(st, spec, dim, axis, size, loc, var, shape)
    if seg is not None:
        vdim = seg[0]
        assert isinstance(vdim, Variadic)
        _check_variadic(st, spec, vdim, seg[1], seg[2], loc, var, shape)


def _trial(st: State) -> State:
    """A copy of `st` to try one member of a union in: its bindings, no violations yet."""
    return State(dict(st.bindings), dict(st.origins), dict(st.bound_at), dict(st.vbroadcast),
                 structures=dict(st.structures), types_only=st.types_only)


def _commit(st: State, sub: State) -> None:
    """Keep what a member that held bound (and its symbolic dims, checked again at the end)."""
    st.bindings, st.origins, st.bound_at = sub.bindings, sub.origins, sub.bound_at
    st.vbroadcast = sub.vbroadcast
    st.structures = sub.structures
    st.pending.extend(sub.pending)
    st.values.update(sub.values)


def _exprs_hold(sub: State) -> bool:
    """Whether the symbolic dims a member met hold with the bindings known now (jaxtyping
    evaluates them when the member is tried; one that names a dim not bound yet waits)."""
    for _spec, dim, _axis, size, *_ in sub.pending:
        try:
            want = dim.evaluate(sub.bindings)
        except ZeroDivisionError:
            return False
        if want is not None and size != want and not (dim.broadcast and size == 1):
            return False
    return True


class _Explainer:
    """What the reference verdict lends the spec kinds' `check` (see `_spec.SpecKind`)."""

    trial = staticmethod(_trial)
    commit = staticmethod(_commit)
    exprs_hold = staticmethod(_exprs_hold)

    check_value = staticmethod(_check_value)
    check_array = staticmethod(_check_array)
    type_ok = staticmethod(type_ok)
    note_other_options = staticmethod(note_other_options)
    shape_of = staticmethod(shape_of)
    pytree_backend = staticmethod(pytree_backend)
    hint_holds = staticmethod(_hint_holds)

    @staticmethod
    def dtype_of(v: Any) -> str:
        return dtype_name(dtype_of(v))


_EXPLAINER = _Explainer()


def _check_dim(st: State, spec: ArraySpec, dim: Any, axis: int, size: Any, loc: Location,
               var: str, shape: tuple[Any, ...]) -> None:
    if isinstance(dim, Anon) or size is None:
        return
    if isinstance(dim, Expr):
        st.pending.append((spec, dim, axis, size, loc, var, shape))
        return
    if dim.broadcast and size == 1:
        return
    if isinstance(dim, Fixed):
        if size != dim.size:
            origin = spec.origin_of(axis) or Origin("fixed in the annotation", "annotation")
            _dim_violation(st, spec, axis, dim, size, dim.size, loc, var, shape, origin)
        return
    assert isinstance(dim, Named)
    bound = st.bindings.get(dim.name, MISSING)
    if bound is MISSING:
        from ._errors import render_location

        st.bind(dim.name, size, Origin(f"{render_location(loc)} axis {axis}", _source(loc)), loc)
    elif bound != size:
        _dim_violation(st, spec, axis, dim, size, bound, loc, var, shape,
                       Origin(f"{dim.name}={bound} from {st.origins[dim.name]}", "binding",
                              detail=str(st.origins[dim.name])))


def _source(loc: Location) -> str:
    """The origin source of a size read off the value at `loc`: a stream's element, else a
    call's value (an argument, a model's input or target, a return)."""
    return "element" if loc and loc[0] == "element" else "argument"


def _check_variadic(st: State, spec: ArraySpec, dim: Variadic, axis: int, seg: tuple[Any, ...],
                    loc: Location, var: str, shape: tuple[Any, ...]) -> None:
    if dim.name is None or any(s is None for s in seg):
        return
    from ._errors import render_location

    name = dim.name
    prev = st.bindings.get(name, MISSING)
    if prev is MISSING:
        st.bind(name, seg, Origin(f"{render_location(loc)} axes {axis}..{axis + len(seg) - 1}",
                                  _source(loc)), loc)
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
            loc, "dim", f"axes {axis}..{axis + len(seg) - 1} (*{name}) are {seg}, which "
                        f"{problem} *{name}={prev}",
            axis=axis, dim=f"*{name}", expected=prev, actual=seg,
            origin=Origin(f"*{name}={prev} from {st.origins[name]}", "binding",
                          detail=str(st.origins[name])),
            contract=shape_text(spec), shape=shape, spec=spec, var=var,
            explained=True))  # no generic fix for a variadic mismatch; the spec's advice only


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


def _dim_violation(st: State, spec: ArraySpec, axis: int, dim: Any, size: int, want: int,
                   loc: Location, var: str, shape: tuple[Any, ...], origin: Origin) -> None:
    st.violations.append(Violation(
        loc, "dim", f"expected {want}, got {size}", axis=axis, dim=dim_label(dim),
        expected=want, actual=size, origin=origin, contract=shape_text(spec), shape=shape,
        spec=spec, var=var))


def _rank_violation(st: State, spec: ArraySpec, shape: tuple[Any, ...], loc: Location,
                    var: str) -> None:
    want = f"{len(spec.dims)}" if spec.variadic_at is None else f"at least {spec.min_rank}"
    st.violations.append(Violation(
        loc, "rank", f"expected {want} axes, got {len(shape)}",
        expected=len(spec.dims) if spec.variadic_at is None else spec.min_rank,
        actual=len(shape), contract=shape_text(spec), shape=shape, spec=spec, var=var))


def _dtype_list(spec: ArraySpec) -> str:
    names = sorted(spec.dtypes or ())
    if len(names) > 4:
        return ", ".join(n for n in names if n in ("float16", "bfloat16", "float32", "float64",
                                                    "int32", "int64", "uint8", "bool")) + ", ..."
    return ", ".join(names)

