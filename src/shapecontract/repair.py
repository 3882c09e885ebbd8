"""Repairs (layer L7): changes that make a whole step pass, proven before they are shown.

Design rules:
- Cause first: a step (a model taking `x`, its loss taking the model's output and `y`) is
  checked with the library's own contracts; each violation says which value, axis and dim
  failed and where the expectation came from.
- Candidates on both sides, from the same knowledge the checks use: on the data, the operations
  of the fix rules (`fixes.rules`) the violations carry; on the model, the settings (`Knob`s of
  the layer kinds) that govern what failed: the declared input shape, a layer's size
  (`units`, `filters`, `input_dim`), whether it returns every step (`return_sequences`).
- Proof: each candidate is applied to a copy of the step (the data changed by the operation
  itself; the model rebuilt by its framework with the setting changed, never the user's model)
  and the whole step is checked again, on the batch and on a batch of another size. Only what
  passes is kept; "no proven repair" says why when nothing does.
- Rank: the smallest change first, and a change to what the user declared (an input shape, a
  size) before one that moves the data's axes (a permutation or a reshape keeps the shape
  right but can scramble what each axis means).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ._errors import ShapeContractError
from .backends import backend_of, shape_of
from .fixes import (
    Argmax,
    Cast,
    DropAxis,
    InsertAxis,
    OneHot,
    Op,
    Permute,
    Repeat,
    Reshape,
    SetSetting,
)
from .frameworks import adapter_of, contract_of

__all__ = ["Repair", "call_repairs", "repairs"]

_COST: dict[type, float] = {Cast: 0.5, InsertAxis: 1.0, DropAxis: 1.0, OneHot: 1.0,
                            Argmax: 1.0, Repeat: 1.5, SetSetting: 1.5, Permute: 2.5,
                            Reshape: 3.0}
"""The size of a change, by operation (a model setting is priced per setting below)."""
_MAX_CANDIDATES = 16
"""Model rebuilds tried per search: each one costs a clone of the model."""


@dataclass(frozen=True)
class Repair:
    """One proven change: what it changes (`x`, `y` or a layer), the operation, its code."""

    where: str
    op: Op
    code: str
    why: str
    cost: float

    def __str__(self) -> str:
        return f"{self.why}: {self.code}"


def repairs(model: Any, x: Any, y: Any = None, *, limit: int = 2,
            model_edits: bool = True) -> list[Repair]:
    """Up to `limit` proven repairs of the step `model(x)` (and its compiled loss on `y`), best
    first; [] when the step already passes or nothing proven makes it pass.

    Each repair was applied to a copy of the step and the whole step passed with it, on this
    batch and on a batch of another size. The user's model and data are not changed. With
    `model_edits=False` only the data is changed (a trained model used for inference keeps
    its architecture: a rebuilt one would lose its weights)."""
    first = _violations(model, x, y)
    if first is None:
        return []
    found: list[Repair] = []
    for where, op, why, cost, step, written in _candidates(model, x, y, first, model_edits):
        try:
            m2, x2, y2 = step()
        except Exception:  # the framework refuses the change itself: not a repair
            continue
        if _passes(m2, x2, y2) and _passes(m2, *_other_batch(x2, y2)):
            code = written or _code(op, where, x, y)
            if not any(r.code == code for r in found):
                found.append(Repair(where, op, code, why, cost))
    found.sort(key=lambda r: r.cost)
    return found[:limit]


def call_repairs(target: Any, args: tuple[Any, ...], *, limit: int = 2) -> list[Repair]:
    """Up to `limit` proven repairs of one call `target(*args)` that its contract refuses (a
    loss module taking input and target, a module or `@contract` function of several arrays):
    an operation on one argument (the fix rules' operations the violations carry, and the
    structural ones: drop a size-1 axis, add one, move the last axis to second place or back)
    under which the whole call's contract holds, also on a batch one smaller. The argument the
    violation is about is changed first."""
    try:
        contract = contract_of(target)
    except TypeError:
        return []

    def holds(values: tuple[Any, ...]) -> bool:
        try:
            contract.check(*values)
        except ShapeContractError:
            return False
        return True

    try:
        contract.check(*args)
        return []
    except ShapeContractError as e:
        err = e
    names = [s.name for s in contract.arguments()][:len(args)]
    blamed = {v.location[1] for v in err.violations
              if len(v.location) > 1 and v.location[0] in ("argument", "input")}
    found: list[Repair] = []
    for i, (name, value) in enumerate(zip(names, args)):
        if backend_of(value) is None:
            continue
        ops: list[tuple[Op, str | None]] = [
            (f.op, f.code) for v in err.violations if len(v.location) > 1
            and v.location[1] == name for f in v.suggestions
            if f.op is not None and type(f.op) in _COST and not isinstance(f.op, SetSetting)]
        ops += [(op, None) for op in _structural(shape_of(value) or ())]
        for op, written in ops:
            try:
                changed = (*args[:i], op.apply(value), *args[i + 1:])
            except Exception:
                continue
            smaller = tuple(_other_batch(a, None)[0] for a in changed)
            if holds(changed) and holds(smaller):
                code = written or op.code(name, backend_of(value))
                cost = _COST[type(op)] + (0 if name in blamed else 0.5)
                if not any(r.code == code for r in found):
                    found.append(Repair(name, op, code, f"change {name}", cost))
    found.sort(key=lambda r: r.cost)
    return found[:limit]


def _structural(shape: tuple[Any, ...]) -> list[Op]:
    """The axis moves that keep every element and its meaning: drop a size-1 axis (or all of
    them after the batch), add a last one, unflatten a row of c * s * s values into a square
    image of 1 or 3 channels (each sample stays a sample), move the last axis to second place
    (channels-last to channels-first) and back."""
    r = len(shape)
    ops: list[Op] = [DropAxis(k) for k in range(r) if shape[k] == 1]
    ones = [k for k in range(1, r) if shape[k] == 1]
    if len(ones) >= 2:  # every size-1 axis after the batch at once: (N, C, 1, 1) -> (N, C)
        ops.append(Reshape((-1, *(s for k, s in enumerate(shape) if k and s != 1))))
    ops.append(InsertAxis(-1, r + 1))
    if r == 2 and isinstance(shape[1], int):  # flattened images back to (n, c, s, s) / (n, s, s, c)
        for c in (1, 3):
            side = math.isqrt(shape[1] // c) if shape[1] % c == 0 else 0
            if side > 1 and side * side * c == shape[1]:
                ops += [Reshape((-1, c, side, side)), Reshape((-1, side, side, c))]
    if r >= 3:
        ops.append(Permute((0, r - 1, *range(1, r - 1))))
        ops.append(Permute((0, *range(2, r), 1)))
    return ops


# ------------------------------------------------------------------------------- the step
def _violations(model: Any, x: Any, y: Any) -> ShapeContractError | None:
    """The step's first failing check (inputs, then targets), or None when it passes."""
    try:
        c = contract_of(model)
        c.check(x)
        if y is not None:
            adapter = adapter_of(model)
            tc = adapter.targets(model, c) if adapter is not None else None
            if tc is not None:
                tc.check(x, y, None)
    except ShapeContractError as e:
        return e
    return None


def _passes(model: Any, x: Any, y: Any) -> bool:
    return _violations(model, x, y) is None


def _other_batch(x: Any, y: Any) -> tuple[Any, Any]:
    """The same step on a batch one sample smaller (the batch axis stays open)."""
    def cut(v: Any) -> Any:
        shape = shape_of(v) if backend_of(v) is not None else None
        return v[:-1] if shape and shape[0] and shape[0] > 1 else v
    return cut(x), (cut(y) if y is not None else None)


# ------------------------------------------------------------------------------ candidates
Candidate = tuple[str, Op, str, float, Callable[[], tuple[Any, Any, Any]], str | None]
"""(what it changes, the operation, why, its cost, the step with it applied, the code a fix
already wrote for it (the framework's idiom: `keras.utils.to_categorical`), or None)."""


def _candidates(model: Any, x: Any, y: Any, err: ShapeContractError,
                model_edits: bool = True) -> Iterator[Candidate]:
    """Data operations the violations carry, then model settings that govern what failed."""
    for v in err.violations:
        root = v.location[0] if v.location else ""
        for fix in v.suggestions:
            op = fix.op
            if op is None or type(op) not in _COST or isinstance(op, SetSetting):
                continue
            if root in ("input", "argument"):
                yield ("x", op, "change the data", _COST[type(op)], _on_data(model, x, y, op, 0),
                       fix.code)
            elif root == "target" and y is not None:
                yield ("y", op, "change the targets", _COST[type(op)],
                       _on_data(model, x, y, op, 1), fix.code)
    if any(v.location and v.location[0] in ("input", "argument") for v in err.violations):
        shape = shape_of(x) if backend_of(x) is not None else None
        for op in _structural(tuple(shape or ())) if shape and None not in shape else ():
            # the axis moves that keep what each element is, for an input refused as a whole
            # (torch's own verdict names no axis: NDHWC volumes into a Conv3d)
            yield ("x", op, "change the data", _COST[type(op)], _on_data(model, x, y, op, 0),
                   None)
    adapter = adapter_of(model)
    if model_edits and adapter is not None and adapter.settings is not None:
        # the framework's settings that govern what failed (its layer kinds' knobs), each
        # with the step rebuilt on a copy of the model: (where, op, why, cost, step, code)
        yield from adapter.settings(model, x, y, err, _MAX_CANDIDATES)


def _on_data(model: Any, x: Any, y: Any, op: Op, which: int
             ) -> Callable[[], tuple[Any, Any, Any]]:
    """The step with `op` applied to x (`which` 0) or y (1): a new value, the old one kept."""
    def step() -> tuple[Any, Any, Any]:
        return (model, op.apply(x), y) if which == 0 else (model, x, op.apply(y))
    return step


def _code(op: Op, where: str, x: Any, y: Any) -> str:
    if isinstance(op, SetSetting):
        return op.code()
    value = x if where == "x" else y
    return op.code(where, backend_of(value))
