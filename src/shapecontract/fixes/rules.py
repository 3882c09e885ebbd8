"""Fix rules (layer L4): one table of rules, each proposing one operation for a violation.

Design rules:
- A rule sees a `Problem` (the violation, the spec read at the value's rank, the value's name
  and shape, the size each dim must have, the backend that writes code) and returns a `Fix`
  carrying its operation, or None when it does not apply. The rules are tried in order and
  the first fix wins: the table runs from the most specific repair (an axis is missing) to the
  plainest statement (a reshape cannot fix this).
- A rule offers a fix only if it is valid: applied to the value, the operation satisfies the
  contract and keeps the meaning of every axis (a permutation only when it yields the expected
  shape, written as the full permutation; a reshape only when the element counts match).
- Adapters and users extend the table with `register_rule` (a rule for a layer kind's data, a
  loss's targets); `remove_rule` takes one out.
- The failing slot's own sizes are not evidence of what it should have been: expected sizes
  come from the contract and from bindings made by other slots.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._dims import Named, dim_label
from .._errors import Fix, Violation
from .._spec import ArraySpec
from ..backends import Backend
from .ops import DropAxis, InsertAxis, OneHot, Permute, Repeat, Reshape, Then

__all__ = ["RULES", "Problem", "Rule", "permutation", "propose", "register_rule", "remove_rule"]


@dataclass
class Problem:
    """What a fix rule sees."""

    violation: Violation
    spec: ArraySpec
    """The slot's spec, read at the value's rank (a variadic spelled out)."""
    var: str
    """The value's name, as the user wrote it (`X_train`)."""
    shape: tuple[Any, ...]
    """The value's shape; None for a size unknown here."""
    sizes: list[Any]
    """Per dim of `spec`: the size it must have (int) or "any" (open)."""
    backend: Backend
    """Writes code in the value's framework."""
    dtype: str | None = None
    """The value's dtype name (`int64`), when it has one."""

    @property
    def known(self) -> bool:
        return all(s is not None for s in self.shape)

    @property
    def count(self) -> int | None:
        return math.prod(self.shape) if self.known else None


Rule = Callable[[Problem], Fix | None]


def _fits(sizes: list[Any], shape: tuple[Any, ...], spec_dims: tuple[Any, ...]) -> bool:
    """Does `shape` fit the expected sizes, with an open name repeated in the slot (`a 1 a`)
    taking one size everywhere?"""
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


def insert_axis(p: Problem) -> Fix | None:
    """One axis too few, and a size-1 axis somewhere makes it fit (the trailing one first)."""
    v, sizes, shape, spec = p.violation, p.sizes, p.shape, p.spec
    if v.kind != "rank" or len(shape) != len(sizes) - 1:
        return None
    for k in reversed(range(len(sizes))):  # a missing trailing axis is the usual case
        if sizes[k] not in (1, "any") and not getattr(spec.dims[k], "broadcast", False):
            continue
        # the shape with the size-1 axis inserted (a name repeated in the slot, as in `a a`,
        # must then take size 1 everywhere)
        if _fits(sizes, (*shape[:k], 1, *shape[k:]), spec.dims):
            op = InsertAxis(-1 if k == len(sizes) - 1 else k, len(sizes))
            v.axis, v.dim = k, dim_label(spec.dims[k])
            return Fix(f"the {_axis_name(spec, k)} axis {k} is missing; add it with "
                       f"{op.index(p.var)} or {op.code(p.var, p.backend)} (the element count "
                       "stays the same)", "insert_axis", op.index(p.var), op)
    return None


def one_hot_labels(p: Problem) -> Fix | None:
    """Integer class labels where the contract wants one row of `classes` per sample (a fixed
    last size of 2 or more on a slot that is not for integers only): one-hot them. The labels
    may hold a trailing axis of size 1."""
    sizes, shape, spec = p.sizes, p.shape, p.spec
    classes = sizes[-1] if sizes else None
    if (not isinstance(classes, int) or classes < 2 or p.dtype is None
            or not p.dtype.startswith(("int", "uint"))
            or (spec.dtypes is not None and all(d.startswith(("int", "uint", "bool"))
                                                for d in spec.dtypes))):
        return None
    drop = len(shape) == len(sizes) and shape[-1] == 1
    if not drop and len(shape) != len(sizes) - 1:
        return None
    rest = shape[:-1] if drop else shape
    if not _fits(sizes[:-1], tuple(rest), spec.dims[:-1]):
        return None
    op = OneHot(classes, drop)
    code = op.code(p.var, p.backend)
    return Fix(f"{p.var} holds class labels and the contract takes one-hot rows of {classes}; "
               f"one-hot them: {code} (keras.utils.to_categorical({p.var}, {classes}) in Keras)",
               "convert", code, op)


def drop_axis(p: Problem) -> Fix | None:
    """One axis too many, of size 1, and without it the value fits."""
    v, sizes, shape = p.violation, p.sizes, p.shape
    if v.kind != "rank" or len(shape) != len(sizes) + 1:
        return None
    for k in range(len(shape)):
        if shape[k] == 1 and _fits(sizes, shape[:k] + shape[k + 1:], p.spec.dims):
            op = DropAxis(k)
            code = op.code(p.var, p.backend)
            return Fix(f"axis {k} has size 1 and the contract has no such axis; drop it with "
                       f"{code}", "squeeze", code, op)
    return None


def permute_axes(p: Problem) -> Fix | None:
    """The right sizes in the wrong order."""
    if p.violation.kind != "dim" or len(p.shape) != len(p.sizes) or not p.known:
        return None
    perm = permutation(p.shape, p.sizes, p.spec)
    if perm is None:
        return None
    op = Permute(perm)
    code = op.code(p.var, p.backend)
    return Fix(f"the axes are in the wrong order; {code} gives "
               f"{_fmt(tuple(p.shape[i] for i in perm))}", "permute", code, op)


def repeat_channels(p: Problem) -> Fix | None:
    """One channel where the contract takes several (a gray image for an RGB model): repeat it,
    when every other axis already fits. Only an axis named `channels`: repeating any other
    axis would invent data."""
    v, sizes, shape, spec = p.violation, p.sizes, p.shape, p.spec
    if v.kind != "dim" or v.axis is None or len(shape) != len(sizes) or not p.known:
        return None
    k = v.axis
    want = sizes[k] if 0 <= k < len(sizes) else None
    if (dim_label(spec.dims[k]) != "channels" or shape[k] != 1 or not isinstance(want, int)
            or want < 2):
        return None
    if not _fits(sizes, (*shape[:k], want, *shape[k + 1:]), spec.dims):
        return None
    op = Repeat(k, want)
    code = op.code(p.var, p.backend)
    return Fix(f"{p.var} has 1 channel and the contract takes {want}: repeat it (a gray image "
               f"as RGB): {code}", "convert", code, op)


def gray_to_rgb(p: Problem) -> Fix | None:
    """No channel axis where the contract takes several channels (gray images (n, h, w) for an
    RGB model): add the axis and repeat it, when every other axis already fits."""
    v, sizes, shape, spec = p.violation, p.sizes, p.shape, p.spec
    if v.kind != "rank" or len(shape) != len(sizes) - 1 or not p.known:
        return None
    for k in (len(sizes) - 1, 1):
        want = sizes[k] if 0 <= k < len(sizes) else None
        if (not isinstance(want, int) or want < 2 or dim_label(spec.dims[k]) != "channels"
                or not _fits(sizes, (*shape[:k], want, *shape[k:]), spec.dims)):
            continue
        axis = -1 if k == len(sizes) - 1 else k
        op = Then(InsertAxis(axis, len(sizes)), Repeat(axis, want))
        code = op.code(p.var, p.backend)
        v.axis, v.dim = k, "channels"
        return Fix(f"{p.var} has no channel axis and the contract takes {want} channels: add "
                   f"it and repeat it (gray images as RGB): {code}", "convert", code, op)
    return None


def reshape_open_batch(p: Problem) -> Fix | None:
    """Another number of axes, one open dim (the batch): a reshape with -1 there keeps the
    count, if the other sizes divide it, and keeps the number of samples of batched data (gray
    images (n, 32, 32) are not (n/3, 32, 32, 3): that would mix three images into one)."""
    sizes, n = p.sizes, p.count
    if not p.known or len(sizes) == len(p.shape) or sizes.count("any") != 1 or not n:
        return None
    rest = math.prod(w for w in sizes if w != "any")
    if not rest or n % rest:
        return None
    at = sizes.index("any")
    if at == 0 and len(p.shape) >= 2 and n // rest != p.shape[0]:
        return None  # it would regroup the samples: the batch axis keeps its meaning
    op = Reshape(tuple(-1 if w == "any" else w for w in sizes))
    code = op.code(p.var, p.backend)
    return Fix(f"{code} gives {_fmt(tuple(n // rest if w == 'any' else w for w in sizes))} "
               f"and keeps the element count ({n}), but only use it if the data really is "
               "laid out that way", "reshape", code, op)


def reshape_same_rank(p: Problem) -> Fix | None:
    """As many axes as the contract: a reshape if the counts match (an open dim keeps the
    data's own size), else say that no reshape can help."""
    if not p.known or len(p.sizes) != len(p.shape):
        return None
    target = tuple(p.shape[i] if w == "any" else w for i, w in enumerate(p.sizes))
    n_want = math.prod(target)
    if n_want == p.count and target != tuple(p.shape):
        return _reshape(p, target, n_want)
    return _cannot_reshape(p.violation, p.count, n_want)


def reshape_all_known(p: Problem) -> Fix | None:
    """Another number of axes, every size known (another slot gave the open ones)."""
    if not p.known or any(w == "any" for w in p.sizes):
        return None
    n_want = math.prod(p.sizes)
    if n_want == p.count:
        return _reshape(p, tuple(p.sizes), n_want)
    return _cannot_reshape(p.violation, p.count, n_want)


def no_reshape(p: Problem) -> Fix | None:
    """A wrong size on a known axis that nothing above repairs."""
    v = p.violation
    if v.kind == "dim" and v.axis is not None:
        return _cannot_reshape(v, None, None)
    return None


def _reshape(p: Problem, target: tuple[Any, ...], n: int) -> Fix:
    op = Reshape(target)
    code = op.code(p.var, p.backend)
    return Fix(f"{code} keeps the element count ({n}), but only use it if the data really is "
               "laid out that way", "reshape", code, op)


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


RULES: list[Rule] = [one_hot_labels, insert_axis, drop_axis, permute_axes, repeat_channels,
                     gray_to_rgb, reshape_open_batch,
                     reshape_same_rank, reshape_all_known, no_reshape]
"""The table, most specific first; the first rule that returns a fix wins."""


def register_rule(rule: Rule, *, before: Rule | None = None) -> Rule:
    """Add `rule` to the table, before `before` (default: before every built-in rule, so that
    what an adapter knows of its data is asked first). Returns `rule` (usable as a decorator)."""
    if rule in RULES:
        return rule
    RULES.insert(RULES.index(before) if before is not None else 0, rule)
    return rule


def remove_rule(rule: Rule) -> None:
    """Take `rule` out of the table (a no-op if it is not there)."""
    if rule in RULES:
        RULES.remove(rule)


def propose(p: Problem) -> list[Fix]:
    """The fix of the first rule that has one (an empty list when none applies)."""
    for rule in list(RULES):
        fix = rule(p)
        if fix is not None:
            return [fix]
    return []


def _axis_name(spec: ArraySpec, k: int) -> str:
    name = dim_label(spec.dims[k])
    return f"'{name}'" if name else "size-1"


def permutation(shape: tuple[int, ...], sizes: list[Any], spec: ArraySpec) -> tuple[int, ...] | None:
    """The axis order that gives the expected sizes and moves the fewest pairs of axes past each
    other (fewest inversions): NHWC -> NCHW is (0, 3, 1, 2), never (0, 3, 2, 1), even when
    height equals width. None if no order fits, or if the data is in order already."""
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
