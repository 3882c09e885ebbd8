"""From observations to annotations (layer L7): unification of axes across calls, naming,
and the annotation text; a solution that would reject a recorded call is left out."""

from __future__ import annotations

import copy
import inspect
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ..backends import dtype_name
from ..frameworks import contract_of
from .observe import (
    Leaf,
    Mapping_,
    Observed,
    Other,
    Path_,
    Pos,
    Seq,
    _holds_array,
    _source_file,
    _Target,
)


# -- solving -----------------------------------------------------------------------------
@dataclass
class _Solved:
    annotations: dict[str, str]
    notes: list[str]
    categories: set[str]
    skipped: str = ""
    """Why the function is not annotated at all (its annotations would reject a recorded call)."""


_CATEGORY_OF_KIND = {"float": "Float", "bfloat": "Float", "int": "Int", "uint": "UInt",
                     "bool": "Bool", "complex": "Complex"}
_UNION = {  # the smallest jaxtyping category holding both
    frozenset({"Int", "UInt"}): "Integer",
    frozenset({"Float", "Int"}): "Real", frozenset({"Float", "UInt"}): "Real",
    frozenset({"Float", "Integer"}): "Real", frozenset({"Float", "Complex"}): "Inexact",
}


def _category(dtypes: set[str]) -> str:
    cats = set()
    for d in dtypes:
        base = d.rstrip("0123456789").split("_")[0]
        cats.add(_CATEGORY_OF_KIND.get(base, "Shaped"))
    if len(cats) == 1:
        return cats.pop()
    if "Shaped" in cats or "Bool" in cats:
        return "Shaped"
    key = frozenset(cats)
    if key in _UNION:
        return _UNION[key]
    return "Num" if "Complex" in cats else "Real"


@dataclass
class _Slot:
    """One slot of one function, merged over its calls."""

    kind: str  # "array", "tuple", "skip" (dict, varying structure), "other"
    optional: bool = False
    rank: int | None = None  # None: the rank varied
    dtypes: set[str] = field(default_factory=set)
    items: list[_Slot] = field(default_factory=list)
    reason: str = ""


def _merge(obs: list[Any]) -> _Slot:
    present = [o for o in obs if not (isinstance(o, Other) and o.type_name == "NoneType")]
    optional = len(present) < len(obs)
    if not present:
        return _Slot("other")
    if all(isinstance(o, Leaf) for o in present):
        ranks = {len(o.shape) for o in present}
        return _Slot("array", optional, ranks.pop() if len(ranks) == 1 else None,
                     {o.dtype for o in present})
    if all(isinstance(o, Seq) for o in present):
        lengths = {len(o.items) for o in present}
        if len(lengths) != 1:
            return _Slot("skip", reason="a tuple whose length varied")
        n = lengths.pop()
        items = [_merge([o.items[i] for o in present]) for i in range(n)]
        bad = next((s for s in items if s.kind == "skip"), None)
        if bad is not None:
            return _Slot("skip", reason=bad.reason)
        return _Slot("tuple", optional, items=items)
    if any(isinstance(o, Mapping_) for o in present):
        return _Slot("skip", reason="a dict of arrays (no inline annotation checks a dict's "
                                    "items: write a TypedDict)")
    if any(isinstance(o, Other) and o.holds_arrays for o in present):
        kind = next(o.type_name for o in present if isinstance(o, Other) and o.holds_arrays)
        return _Slot("skip", reason=f"a {kind} of arrays (an annotation checks the arrays of a "
                                    "fixed-length tuple, not of a list)")
    if any(_holds_array(o) for o in present):
        return _Slot("skip", reason="sometimes an array, sometimes not")
    return _Slot("other")


def _leaf_paths(s: _Slot, path: Path_ = ()) -> Iterator[tuple[Path_, _Slot]]:
    if s.kind == "array":
        yield path, s
    elif s.kind == "tuple":
        for i, item in enumerate(s.items):
            yield from _leaf_paths(item, (*path, i))


def _leaf_at(obs: Any, path: Path_) -> Leaf | None:
    for p in path:
        if not isinstance(obs, Seq) or not isinstance(p, int) or p >= len(obs.items):
            return None
        obs = obs.items[p]
    return obs if isinstance(obs, Leaf) else None


Axis = tuple[str, Path_, int]  # (slot, path, axis); axis -1 is an int parameter's value


class _Union:
    def __init__(self) -> None:
        self.parent: dict[Any, Any] = {}

    def find(self, x: Any) -> Any:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: Any, b: Any) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the earliest node stays the root


def _solve(rec: Observed, fixed: bool | Iterable[str], check: bool = False) -> list[_Solved]:
    """Per recorded function, in order: its annotations and notes. One function recorded under
    two module names (its file run as `__main__` and also imported) is solved once, over the
    calls of both. `check` (what `apply` writes): a function whose annotations, with those it
    already has, would reject one of its recorded calls gets none, and a note saying why."""
    view, view_of, conflicts = _one_per_function(rec)
    solved = _solve_functions(view, fixed)
    out: dict[int, _Solved] = {}
    for g in view_of:
        if g in out:
            continue
        s, t = solved[g], view._functions[g]
        why = conflicts.get(g) or (_rejected(t, s.annotations) if check else "")
        if view_of.count(g) > 1:
            modules = sorted({u.module for u, h in zip(rec._functions, view_of) if h == g})
            s.notes.append(f"recorded in modules {', '.join(modules)} (one file): their calls "
                           "are solved together")
        out[g] = s if not why else _Solved({}, [*s.notes, f"not annotated: {why}"], set(), why)
    return [out[g] for g in view_of]


def _one_per_function(rec: Observed) -> tuple[Observed, list[int], dict[int, str]]:
    """`rec` with one target per function of a file: the targets that share a source file and a
    qualified name (a module run as `__main__` and imported under its name holds two copies of
    each function) become one holding the calls of all. Also: target index -> index in that
    view; and, per view index, why it cannot be annotated (copies whose signatures differ)."""
    groups: dict[Any, list[int]] = {}
    for i, t in enumerate(rec._functions):
        src = _source_file(t)
        groups.setdefault((src, t.qualname) if src is not None else i, []).append(i)
    if all(len(m) == 1 for m in groups.values()):
        return rec, list(range(len(rec._functions))), {}
    functions: list[_Target] = []
    view_of = [0] * len(rec._functions)
    conflicts: dict[int, str] = {}
    for members in groups.values():
        ts = [rec._functions[i] for i in members]
        if len({(tuple(t.params), tuple(t.skipped_params)) for t in ts}) == 1:
            merged = replace(ts[0], calls=[], keys=set(), count=0,
                             site=next((t.site for t in ts if t.site is not None), None))
            for t in ts:
                for c in t.calls:
                    merged.add(c)
            merged.count = sum(t.count for t in ts)
            for i in members:
                view_of[i] = len(functions)
            functions.append(merged)
            continue
        modules = ", ".join(sorted({t.module for t in ts}))
        for i, t in zip(members, ts):
            view_of[i] = len(functions)
            conflicts[len(functions)] = (f"recorded in modules {modules} (one file) with "
                                         "different signatures: their calls cannot be merged")
            functions.append(t)

    def moved(pos: Pos) -> Pos:
        return (view_of[pos[0]], pos[1], pos[2])

    view = copy.copy(rec)
    view._functions = functions
    view._links = {(moved(a), moved(b)) for a, b in rec._links}
    view._model_links = {(m, k, moved(pos)) for m, k, pos in rec._model_links}
    return view, view_of, conflicts


def _rejected(t: _Target, ann: dict[str, str]) -> str:
    """Why `@contract` would reject one of the recorded calls of `t` once `ann` is written into
    its signature (its own annotations kept), or "" when it accepts every one."""
    if not ann:
        return ""
    from .._decorator import _build
    from .._evaluate import MISSING, verdict
    from .._types import DTYPE_NAMES, Array, DtypeAnnotation

    names: dict[str, Any] = {n: DtypeAnnotation(n) for n in DTYPE_NAMES}
    names.update(__builtins__={}, Array=Array, tuple=tuple, object=object, int=int)
    try:
        hints = {slot: eval(text, names) for slot, text in ann.items()}  # our own text
        try:
            kept = typing.get_type_hints(inspect.unwrap(t.fn), include_extras=True)
        except Exception:  # no function (a synthetic record), or names it cannot resolve
            kept = {}
        hints.update((k, v) for k, v in kept.items() if k not in t.skipped_params)
        P = inspect.Parameter

        def stub(*args: Any, **kwargs: Any) -> None: ...

        stub.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [P(k, P.POSITIONAL_OR_KEYWORD) for k in hints if k != "return"])
        c = getattr(_build(stub, hints), "__shapecontract__", None)
    except Exception as e:  # @contract could not even decorate the function
        return f"@contract cannot read its annotations: {e}"
    if c is None:
        return ""
    c = c.replace(slots=tuple(s for s in c.slots if s.kind in ("array", "dim")))
    for k, call in enumerate(t.calls):
        values = [_stand_in(call.get(s.name, Other("NoneType")), MISSING) for s in c.slots]
        err = verdict(c, values)
        if err is not None:
            return (f"its annotations would reject recorded call {k + 1} of {len(t.calls)} "
                    f"({str(err).splitlines()[0]})")
    return ""


def _stand_in(obs: Any, unknown: Any) -> Any:
    """A value as recorded: a numpy array of the shape and dtype seen (one zero broadcast, no
    memory), a tuple or dict of them, an int, None; `unknown` for anything else."""
    import numpy as np

    if isinstance(obs, Leaf):
        try:
            dt: Any = np.dtype(obs.dtype)
            if dtype_name(dt) != obs.dtype:
                raise TypeError(obs.dtype)
        except TypeError:  # bfloat16, ...: numpy's dtype of the same category
            dt = {"Int": "int32", "UInt": "uint32", "Bool": "bool",
                  "Complex": "complex64"}.get(_category({obs.dtype}), "float32")
        return np.broadcast_to(np.zeros((), dt), [s or 0 for s in obs.shape])  # (all known)
    if isinstance(obs, Seq):
        return tuple(_stand_in(o, object()) for o in obs.items)
    if isinstance(obs, Mapping_):
        return {k: _stand_in(o, object()) for k, o in zip(obs.keys, obs.items)}
    if isinstance(obs, Other) and obs.value is not None:
        return obs.value
    if isinstance(obs, Other) and obs.type_name == "NoneType":
        return None
    return unknown


def _solve_functions(rec: Observed, fixed: bool | Iterable[str]) -> list[_Solved]:
    if isinstance(fixed, str):
        fixed = [fixed]
    fixed_names: set[str] | None = None if isinstance(fixed, bool) else set(fixed)
    fns = rec._functions
    slots: list[dict[str, _Slot]] = []
    classes: list[dict[Axis, int]] = []  # per function: axis -> class id (index in order)
    class_sizes: list[list[tuple[int | None, ...]]] = []
    class_int: list[dict[int, str]] = []  # class id -> int parameter always equal to it
    ones: list[set[Axis]] = []
    for t in fns:
        order = [*t.params, "return"]
        merged = {s: _merge([c.get(s, Other("NoneType")) for c in t.calls])
                  for s in order if s not in t.skipped_params} if t.calls else {}
        slots.append(merged)
        # per axis: its size in each call (None where absent)
        columns: dict[Axis, tuple[int | None, ...]] = {}
        for s in order:
            sl = merged.get(s)
            if sl is None:
                continue
            if sl.kind == "other":
                vals = [c[s].value if isinstance(c.get(s), Other) else None for c in t.calls]
                if all(type(v) is int for v in vals):
                    columns[(s, (), -1)] = tuple(vals)
                continue
            for path, leaf in _leaf_paths(sl):
                if leaf.rank is None:
                    continue
                for ax in range(leaf.rank):
                    per_call: list[int | None] = []
                    for c in t.calls:
                        lf = _leaf_at(c.get(s), path)
                        per_call.append(lf.shape[ax] if lf is not None else None)
                    columns[(s, path, ax)] = tuple(per_call)
        one = {a for a, col in columns.items()
               if a[2] >= 0 and all(v == 1 for v in col if v is not None)}
        ones.append(one)
        ids: dict[Axis, int] = {}
        sizes: list[tuple[int | None, ...]] = []  # per class: its size in each call
        ints: dict[int, str] = {}
        for a, col in columns.items():  # in order: parameters, then the return
            if a in one or a[2] == -1:
                continue
            cid = next((i for i, known in enumerate(sizes) if _agree(known, col)), None)
            if cid is None:
                cid = len(sizes)
                sizes.append(col)
            else:
                sizes[cid] = tuple(k if k is not None else v for k, v in zip(sizes[cid], col))
            ids[a] = cid
        for a, col in columns.items():  # an int parameter names the class it always equals
            if a[2] == -1:
                cid = next((i for i, known in enumerate(sizes) if _agree(known, col)), None)
                if cid is not None and cid not in ints:
                    ints[cid] = a[0]
        classes.append(ids)
        class_sizes.append(sizes)
        class_int.append(ints)

    # one name per group of classes linked by arrays seen in two places
    links = _Union()
    for (f1, s1, p1), (f2, s2, p2) in sorted(rec._links, key=repr):
        for (s, p, ax), ca in classes[f1].items():
            cb = classes[f2].get((s2, p2, ax)) if (s, p) == (s1, p1) else None
            if cb is not None:
                links.union((f1, ca), (f2, cb))
    model_names: dict[Any, list[tuple[tuple[int, int, int], str]]] = {}
    for key, where, name in _model_axis_names(rec, classes):
        model_names.setdefault(links.find(key), []).append((where, name))

    names: list[dict[int, str]] = [{} for _ in fns]
    meaningful: list[set[int]] = [set() for _ in fns]  # named by a model or an int parameter
    notes: list[list[str]] = [[] for _ in fns]
    for f, t in enumerate(fns):
        used: set[str] = set()
        reserved = set(t.params)
        for cid in sorted(set(classes[f].values())):
            root = links.find((f, cid))
            given = (sorted(model_names[root])[0][1] if root in model_names
                     else _group_int_name(root, links, class_int))
            if given is not None:
                meaningful[f].add(cid)
            name = given or _derived(root, fns, classes)
            if name in reserved and class_int[f].get(cid) != name:
                name = name + "_"
            base, k = name, 2
            while name in used:
                name, k = f"{base}_{k}", k + 1
            used.add(name)
            names[f][cid] = name

    out: list[_Solved] = []
    for f, t in enumerate(fns):
        ann: dict[str, str] = {}
        cats: set[str] = set()
        for s, sl in slots[f].items():
            text = _render(sl, s, (), classes[f], class_sizes[f], names[f], meaningful[f],
                           ones[f], fixed, fixed_names, cats, notes[f])
            if text is not None:
                ann[s] = text
        for cid, param in class_int[f].items():  # `timesteps: int` binds the dim it names
            if names[f].get(cid) == param and param not in ann and cid in classes[f].values():
                ann[param] = "int"
        for s, sl in slots[f].items():
            if sl.kind == "skip":
                notes[f].append(f"{s}: not annotated: {sl.reason}")
        shared = [c for c in set(classes[f].values())
                  if len(set(class_sizes[f][c])) == 1
                  and sum(1 for v in classes[f].values() if v == c) > 1]
        if shared and len(t.calls) < 2:
            notes[f].append("one distinct call seen: axes of equal size share a dim; record "
                            "calls of other sizes to tell a shared dim from a coincidence")
        out.append(_Solved(ann, notes[f], cats))
    return out


def _agree(a: tuple[int | None, ...], b: tuple[int | None, ...]) -> bool:
    """Two axes' sizes per call (None: absent in that call) are one dim: seen together at least
    once, and equal in every call where both were seen."""
    both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    return bool(both) and all(x == y for x, y in both)


def _render(sl: _Slot, s: str, path: Path_, ids: dict[Axis, int],
            sizes: list[tuple[int | None, ...]], names: dict[int, str], meaningful: set[int],
            one: set[Axis],
            fixed: bool | Iterable[str], fixed_names: set[str] | None, cats: set[str],
            notes: list[str]) -> str | None:
    if sl.kind == "array":
        cat = _category(sl.dtypes)
        cats.add(cat)
        if sl.rank is None:
            dims = "..."
            notes.append(f"{s}{''.join(f'[{p}]' for p in path)}: its rank varied; any shape")
        else:
            parts = []
            for ax in range(sl.rank):
                a = (s, path, ax)
                if a in one:
                    parts.append("1")
                    continue
                cid = ids[a]
                name = names[cid]
                col = {v for v in sizes[cid] if v is not None}
                constant = len(col) == 1
                want = fixed is True if fixed_names is None else name in fixed_names
                if constant and want:
                    size = col.pop()
                    parts.append(f"{name}={size}" if cid in meaningful else str(size))
                else:
                    parts.append(name)
            dims = " ".join(parts)
        return f'{cat}[Array, "{dims}"]' + (" | None" if sl.optional else "")
    if sl.kind == "tuple":
        items = []
        for i, item in enumerate(sl.items):
            text = _render(item, s, (*path, i), ids, sizes, names, meaningful, one, fixed,
                           fixed_names, cats, notes)
            items.append(text if text is not None else "object")
        return f"tuple[{', '.join(items)}]" + (" | None" if sl.optional else "")
    return None


def _group_int_name(root: Any, links: _Union, class_int: list[dict[int, str]]) -> str | None:
    for f, ints in enumerate(class_int):
        for cid in sorted(ints):
            if links.find((f, cid)) == root:
                return ints[cid]
    return None


def _derived(root: Any, fns: list[_Target], classes: list[dict[Axis, int]]) -> str:
    """The name of a dim no model names and no int parameter sizes: made from the first slot
    it appears in (root is the earliest class of its group): axis 0 of `series` is `n_series`
    (how many items it holds), axis k of it `series_k`. A returned item is named after the
    variable returned (`return X, y`), else the variable the caller assigned it to
    (`X_train, X_test = split(X)`), else `out` (`out0`, `out1` in a tuple)."""
    f, cid = root
    t = fns[f]
    for (s, path, ax), c in classes[f].items():
        if c != cid:
            continue
        base = s
        if s == "return":
            idx = path[0] if path and isinstance(path[0], int) else None
            found = [names[0] if idx is None else names[idx]
                     for names in (t.returns, t.site or [])
                     if (len(names) == 1 if idx is None else idx < len(names))]
            found = [n for n in found if n]
            base = found[0] if found else "out" if idx is None else f"out{idx}"
            path = path[1:]
        base += "".join(f"_{p}" for p in path)
        base = "".join(ch if ch.isalnum() or ch == "_" else "_" for ch in base)
        return f"n_{base}" if ax == 0 else f"{base}_{ax}"
    return f"d{cid}"


def _model_axis_names(rec: Observed, classes: list[dict[Axis, int]]
                      ) -> list[tuple[tuple[int, int], tuple[int, int, int], str]]:
    """((function, class), (model, arg, axis)) -> the name the model's contract gives that
    axis, for every recorded array that reached a model: the same object (identity), else an
    array of the same shape, else of the same rank and trailing sizes (minibatches)."""
    out: list[tuple[tuple[int, int], tuple[int, int, int], str]] = []
    leaf_shapes: dict[tuple[int, str, Path_], set[tuple[int | None, ...]]] = {}
    for f, t in enumerate(rec._functions):
        for c in t.calls:
            for s, obs in c.items():
                for path, seen in _leaves(obs, ()):
                    leaf_shapes.setdefault((f, s, path), set()).add(seen.shape)
    for m, mt in enumerate(rec._models):
        axis_names = _input_axis_names(mt.model)
        if axis_names is None:
            continue
        linked: dict[int, list[tuple[int, str, Path_]]] = {}
        for (mi, k, pos) in sorted(rec._model_links, key=repr):
            if mi == m:
                linked.setdefault(k, []).append(pos)
        for call in mt.calls:
            for k, leaf in enumerate(call):
                if leaf is None or k >= len(axis_names):
                    continue
                cands = [p for p in linked.get(k, []) if leaf.shape in leaf_shapes.get(p, ())]
                if not cands:
                    cands = [p for p, shapes in sorted(leaf_shapes.items(), key=repr)
                             if leaf.shape in shapes]
                if not cands:
                    cands = [p for p, shapes in sorted(leaf_shapes.items(), key=repr)
                             if any(len(sh) == len(leaf.shape) and sh[1:] == leaf.shape[1:]
                                    for sh in shapes)]
                same = [p for p in linked.get(k, []) if p in cands]
                for f, s, path in cands:
                    for ax, name in enumerate(axis_names[k].get(len(leaf.shape), ())):
                        cid = classes[f].get((s, path, ax))
                        if name is None or cid is None or (ax == 0 and (f, s, path) not in same):
                            continue  # axis 0 by size alone: a minibatch's size, a coincidence
                        if not any(sh[ax] == leaf.shape[ax]
                                   for sh in leaf_shapes[(f, s, path)] if len(sh) > ax):
                            continue
                        out.append(((f, cid), (m, k, ax), name))
    return out


def _leaves(obs: Any, path: Path_) -> Iterator[tuple[Path_, Leaf]]:
    if isinstance(obs, Leaf):
        yield path, obs
    elif isinstance(obs, Seq):
        for i, o in enumerate(obs.items):
            yield from _leaves(o, (*path, i))


def _input_axis_names(model: Any) -> list[dict[int, tuple[str | None, ...]]] | None:
    """Per positional input of `model`: rank -> the name of each axis in its contract."""
    from .._dims import Fixed, Named
    from .._spec import as_array, options_of

    try:
        c = contract_of(model)
    except Exception:  # a model whose contract cannot be read names nothing
        return None
    out: list[dict[int, tuple[str | None, ...]]] = []
    for slot in c.inputs():
        options = options_of(slot.spec) or (slot.spec,)
        by_rank: dict[int, tuple[str | None, ...]] = {}
        for option in options:
            spec = as_array(option)
            if spec is None or spec.variadic_at is not None:
                continue
            by_rank.setdefault(len(spec.dims), tuple(
                d.name if isinstance(d, Named) else d.label if isinstance(d, Fixed)
                and d.label and d.label.isidentifier() else None for d in spec.dims))
        out.append(by_rank)
    return out


def _names_needed(result: list[_Solved]) -> list[str]:
    cats = sorted({c for r in result for c in r.categories})
    return ["Array", *cats, "contract"]
