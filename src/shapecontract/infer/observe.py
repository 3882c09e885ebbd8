"""What a recording sees (layer L7): observations of values (their shapes and dtypes, never
the values), the recorded functions and models, and where a function lives (its module's and
classes' attributes, its return names)."""

from __future__ import annotations

import ast
import inspect
import linecache
import sys
import textwrap
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ..backends import as_int, backend_of, dtype_name, shape_of

_MODEL_ENTRY_POINTS = ("fit", "predict", "evaluate", "train_on_batch", "test_on_batch",
                       "predict_on_batch")
"""Keras entry points recorded on the instance; `model(x)` through a subclass swapped in."""
_OBJECT_CLASS: Any = object.__dict__["__class__"]  # the real `__class__` slot of every object

# -- observations ---------------------------------------------------------------------------
Path_ = tuple[int | str, ...]
"""Where a leaf sits inside a slot's value: () for the value itself, (1,) for item 1 of a tuple."""


@dataclass(frozen=True)
class Leaf:
    """An array seen: its shape and jaxtyping dtype name (never the array itself)."""

    shape: tuple[int | None, ...]
    dtype: str


@dataclass(frozen=True)
class Seq:
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Mapping_:
    keys: tuple[Any, ...]
    items: tuple[Any, ...]


@dataclass(frozen=True)
class Other:
    """A value that is not an array (nor a tuple/dict holding one): its type, an int's value."""

    type_name: str
    value: int | None = None
    holds_arrays: bool = False
    """A list (or other container) with arrays in it: not annotated, reported."""


def _observe(value: Any, path: Path_, seen: list[tuple[Path_, Any]]) -> Any:
    if backend_of(value) is not None:
        try:  # the checker's own reader: numpy ints, TF shapes, broken shapes alike
            read = shape_of(value)
            dt = dtype_name(value.dtype)
        except Exception:  # an unreadable shape or dtype (BrokenShape, ...): not inferred
            return Other(type(value).__name__)
        if read is None or any(s is None for s in read):  # unknown rank or size (graph tensor)
            return Other(type(value).__name__)
        shape = tuple(int(s) for s in read if s is not None)
        seen.append((path, value))
        return Leaf(shape, dt)
    if type(value) is tuple or (isinstance(value, tuple) and hasattr(value, "_fields")):
        items = tuple(_observe(v, (*path, i), seen) for i, v in enumerate(value))
        return Seq(items) if any(_holds_array(i) for i in items) else Other(type(value).__name__)
    if isinstance(value, dict):
        keys = tuple(value)
        items = tuple(_observe(value[k], (*path, str(k)), seen) for k in keys)
        if any(_holds_array(i) for i in items):
            return Mapping_(keys, items)
        return Other(type(value).__name__)
    if isinstance(value, (list, set, frozenset)):
        sample = list(value)[:100] if not isinstance(value, list) else value[:100]
        return Other(type(value).__name__, None, any(backend_of(v) is not None for v in sample))
    return Other(type(value).__name__, as_int(value))


def _holds_array(obs: Any) -> bool:
    return isinstance(obs, Leaf) or (isinstance(obs, (Seq, Mapping_))
                                     and any(_holds_array(i) for i in obs.items))


@dataclass
class _Target:
    """One recorded function: where it lives, its signature and the calls seen."""

    fn: Any
    name: str
    qualname: str
    module: str
    params: list[str]
    returns: list[str | None]
    """Names of the returned items when every `return` is a plain name or a tuple of names."""
    site: list[str | None] | None = None
    """Else the names the first caller assigned the result to (`X_train, X_test = split(X)`)."""
    skipped_params: list[str] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    """The distinct calls seen (what each slot held); a training loop's repeats are counted."""
    count: int = 0
    keys: set[Any] = field(default_factory=set)

    def add(self, call: dict[str, Any]) -> None:
        self.count += 1
        key = tuple(call.items())
        try:
            if key in self.keys:
                return
            self.keys.add(key)
        except TypeError:  # an unhashable dict key inside a value: kept, undeduplicated
            pass
        self.calls.append(call)


@dataclass
class _ModelTarget:
    model: Any
    name: str
    calls: list[tuple[Leaf | None, ...]] = field(default_factory=list)
    seen_shapes: set[tuple[Any, ...]] = field(default_factory=set)


Pos = tuple[int, str, Path_]
"""(function index, slot, path): one place an array was seen."""


def _reported(cls: type) -> type:
    """The class a (possibly guarded) Keras model reports: a guard's subclass reports its base."""
    return cls.__dict__.get("__shapecontract_base__", cls)  # type: ignore[no-any-return]


def _reachable(func: Any) -> Any:
    """`func` as its module now sees it (the recording wrapper, while recording)."""
    fn = func.__func__ if isinstance(func, types.MethodType) else func
    mod = sys.modules.get(fn.__module__)
    current = getattr(mod, fn.__name__, None) if mod is not None else None
    if current is not None and getattr(current, "__shapecontract_recorded__", None) is fn:
        return current.__get__(func.__self__) if isinstance(func, types.MethodType) else current
    return func


# -- where a function lives --------------------------------------------------------------------
def _describe(fn: Any) -> _Target:
    sig = inspect.signature(fn)
    params = [p.name for p in sig.parameters.values()]
    skipped = [p.name for p in sig.parameters.values()
               if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)]
    return _Target(fn, fn.__name__, fn.__qualname__, fn.__module__, params, _return_names(fn),
                   skipped_params=skipped)


def _places_of(fn: Any) -> list[tuple[Any, str]]:
    """Every attribute that holds `fn`: its defining class (for a method) or the globals of
    every loaded module."""
    places: list[tuple[Any, str]] = []
    parts = fn.__qualname__.split(".")
    if "<locals>" in parts:
        return places
    mod = sys.modules.get(fn.__module__)
    if len(parts) > 1 and mod is not None:
        owner: Any = mod
        for p in parts[:-1]:
            owner = getattr(owner, p, None)
        if isinstance(owner, type):
            raw = owner.__dict__.get(parts[-1])
            inner = raw.__func__ if isinstance(raw, (staticmethod, classmethod)) else raw
            inner = getattr(inner, "__dict__", {}).get("__shapecontract_recorded__", inner)
            if inner is fn:
                places.append((owner, parts[-1]))
        return places
    for m in list(sys.modules.values()):
        d = getattr(m, "__dict__", None)
        if not isinstance(d, dict):
            continue
        for k, v in list(d.items()):
            if v is fn or (type(v) is types.FunctionType
                           and v.__dict__.get("__shapecontract_recorded__") is fn):
                places.append((d, k))  # (also another recording's wrapper: nested records)
    return places


def _defined_in(t: _Target, path: Path) -> bool:
    return _source_file(t) == path.resolve()


def _source_file(t: _Target) -> Path | None:
    try:
        src = inspect.getsourcefile(inspect.unwrap(t.fn))  # a @contract function: the user's
    except (TypeError, ValueError):
        return None
    return Path(src).resolve() if src is not None else None


def _return_names(fn: Any) -> list[str | None]:
    """Names of the returned items when every `return` of `fn` is `name` or `a, b, ...` with
    the same names; else []. Used to name the dims of returned arrays."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return []
    func = next((n for n in ast.walk(tree)
                 if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))), None)
    if func is None:
        return []
    found: list[list[str | None]] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda,
                                  ast.ClassDef)):
                continue
            if isinstance(child, ast.Return) and child.value is not None:
                v = child.value
                items = v.elts if isinstance(v, ast.Tuple) else [v]
                found.append([e.id if isinstance(e, ast.Name) else None for e in items])
            visit(child)

    visit(func)
    if not found or any(f != found[0] for f in found):
        return []
    return found[0]


_parsed: dict[str, ast.Module | None] = {}


def _assigned_names(frame: Any, skip: Any) -> list[str | None]:
    """The targets of the assignment the caller in `frame` makes with the call's result
    (`X_train, X_test, y_train, y_test = split(X, y)` -> those names); [] if it makes none."""
    while frame is not None and frame.f_code is skip:  # another recording's wrapper
        frame = frame.f_back
    if frame is None:
        return []
    filename, line = frame.f_code.co_filename, frame.f_lineno
    if filename not in _parsed:
        try:
            _parsed[filename] = ast.parse("".join(linecache.getlines(filename)))
        except (SyntaxError, ValueError):
            _parsed[filename] = None
    tree = _parsed[filename]
    if tree is None:
        return []
    for node in ast.walk(tree):
        if (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.value, ast.Call)
                and node.lineno <= line <= (node.end_lineno or node.lineno)):
            target = node.targets[0]
            items = target.elts if isinstance(target, ast.Tuple) else [target]
            return [e.id.lstrip("_") or None if isinstance(e, ast.Name) else None
                    for e in items]
    return []


def _annotation_text(a: Any) -> str:
    return a if isinstance(a, str) else inspect.formatannotation(a)


class Observed(Protocol):
    """What the solver reads of a recording (`infer.Recording`)."""

    _functions: list[_Target]
    _models: list[_ModelTarget]
    _links: set[tuple[Pos, Pos]]
    _model_links: set[tuple[int, int, Pos]]
