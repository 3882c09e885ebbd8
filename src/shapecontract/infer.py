"""Inferred annotations: record a real run, write the contracts it implies (layer L7).

Design rules:
- Recording wraps the chosen functions where they are reachable by name (the attribute of the
  module or class that defines them, and every loaded module's global that holds the same
  function, e.g. after `from pipeline import scale`) and puts the originals back on exit. It
  reads `.shape` and `.dtype` only: no copy, no conversion, no reference kept (weak references
  link one array seen in two places). Not caught: references taken before recording that live
  elsewhere (a list of callbacks, a closure, a default argument, a local variable).
- A model (Keras model, torch module) is recorded by the shapes it receives; its contract
  (`contract_of`) names the dims of the recorded arrays that reach it.
- Unification, per function: axes whose sizes are equal in every call (where both were
  seen: an optional argument) share one dim; sizes
  that vary stay named; sizes that never vary become fixed only when asked (`fixed=`). A size
  that is always 1 is written `1` (structural: keepdims, a single column).
- Naming, deterministic: the name a downstream model gives a dim, else the `int` parameter
  whose value it always equals, else a name made from the slot (`n_series`, `series_1`);
  arrays seen in two recorded functions carry one name through both.
- Output: `annotations()`, `source()`, `apply()` (libcst, imported there only).
"""

from __future__ import annotations

import ast
import copy
import difflib
import functools
import inspect
import linecache
import os
import sys
import textwrap
import types
import typing
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .backends import as_int, backend_of, dtype_name, shape_of
from .frameworks import adapter_of, contract_of

__all__ = ["Recording", "infer_call", "record"]

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


# -- the recording ---------------------------------------------------------------------------
class Recording:
    """What `record` saw: per function, the shapes and dtypes of every call. Turn it into
    annotations (`annotations`, `source`) or a patch of the user's source (`apply`)."""

    def __init__(self, targets: Iterable[Any], fixed: bool | Iterable[str] = False) -> None:
        self.fixed = fixed
        self._functions: list[_Target] = []
        self._models: list[_ModelTarget] = []
        self._patches: list[tuple[Any, str, Any, Any]] = []  # owner, attr, original, ours
        self._removers: list[Callable[[], None]] = []
        self._ids: dict[int, tuple[Any, Pos]] = {}  # id(array) -> (weakref, first place seen)
        self._links: set[tuple[Pos, Pos]] = set()
        self._model_links: set[tuple[int, int, Pos]] = set()  # (model, arg index, place)
        self._active = False
        self.result: Any = None
        """What `infer_call` got back from the call it recorded."""
        unique: list[Any] = []
        for t in targets:
            if not any(t is u for u in unique):
                unique.append(t)
        for t in unique:
            if adapter_of(t) is not None:
                self._models.append(_ModelTarget(t, type(t).__name__))
            elif isinstance(t, (types.FunctionType, types.MethodType)):
                fn = t.__func__ if isinstance(t, types.MethodType) else t
                if inspect.iscoroutinefunction(fn) or inspect.isgeneratorfunction(fn):
                    raise TypeError(f"infer.record: {fn.__qualname__} is a generator or async "
                                    "function; only plain functions and methods are recorded")
                self._functions.append(_describe(fn))
            else:
                raise TypeError(f"infer.record: {type(t).__name__} is neither a function nor a "
                                "Keras model or torch module (with its framework imported)")

    # -- context manager --------------------------------------------------------------------
    def __enter__(self) -> Recording:
        if self._active:
            raise RuntimeError("infer.record: this recording is already active")
        self._active = True
        try:
            for i, t in enumerate(self._functions):
                self._install_function(i, t)
            for i, m in enumerate(self._models):
                self._install_model(i, m)
        except BaseException:
            self._restore()
            raise
        return self

    def __exit__(self, *exc: Any) -> None:
        self._restore()

    def __call__(self, fn: Any) -> Any:
        """Use as a decorator: record while `fn` runs."""

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            with self:
                return fn(*args, **kwargs)

        return run

    def _restore(self) -> None:
        for owner, attr, original, ours in reversed(self._patches):
            if isinstance(owner, dict):
                if owner.get(attr) is ours:  # not if the run itself rebound the name
                    owner[attr] = original
            elif inspect.getattr_static(owner, attr, None) is ours:
                setattr(owner, attr, original)
        self._patches.clear()
        for remove in reversed(self._removers):
            remove()
        self._removers.clear()
        self._ids.clear()  # no reference to user data outlives the recording
        self._active = False

    def _install_function(self, index: int, t: _Target) -> None:
        places = _places_of(t.fn)
        if not places:
            raise TypeError(
                f"infer.record: {t.qualname} is not reachable as an attribute of its module or "
                "class (a local function or lambda); record the function that calls it")
        for owner, attr in places:
            original = owner[attr] if isinstance(owner, dict) else inspect.getattr_static(owner, attr)
            if isinstance(original, (staticmethod, classmethod)):
                replacement: Any = type(original)(self._wrapper(index, t, original.__func__))
            else:  # the function, or another recording's wrapper (nested recordings both see)
                replacement = self._wrapper(index, t, original)
            self._patches.append((owner, attr, original, replacement))
            if isinstance(owner, dict):
                owner[attr] = replacement
            else:
                setattr(owner, attr, replacement)

    def _wrapper(self, index: int, t: _Target, inner: Any) -> Any:
        fn = t.fn
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def recorded(*args: Any, **kwargs: Any) -> Any:
            out = inner(*args, **kwargs)
            try:
                bound = sig.bind(*args, **kwargs)
                bound.apply_defaults()
            except TypeError:
                return out
            call: dict[str, Any] = {}
            for name, value in bound.arguments.items():
                kind = sig.parameters[name].kind
                if kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
                    continue
                call[name] = self._seen(index, name, value)
            call["return"] = self._seen(index, "return", out)
            if t.site is None and (not t.returns or None in t.returns):
                # no frame kept in a local: a frame referring to itself would keep the
                # call's arrays alive until the garbage collector runs
                t.site = _assigned_names(sys._getframe(1), sys._getframe(0).f_code)
            t.add(call)
            return out

        recorded.__shapecontract_recorded__ = fn  # type: ignore[attr-defined]
        return recorded

    def _seen(self, index: int, slot: str, value: Any) -> Any:
        arrays: list[tuple[Path_, Any]] = []
        obs = _observe(value, (), arrays)
        for path, a in arrays:
            pos = (index, slot, path)
            known = self._ids.get(id(a))
            if known is not None and known[0]() is a:
                if known[1] != pos:
                    self._links.add((known[1], pos))
                continue
            try:
                ref = weakref.ref(a, functools.partial(self._forget, id(a)))
            except TypeError:
                continue  # cannot be referred to weakly: no identity link for it
            self._ids[id(a)] = (ref, pos)
        return obs

    def _forget(self, key: int, ref: Any) -> None:
        """An array died: drop its entry (a training loop's batches do not pile up)."""
        known = self._ids.get(key)
        if known is not None and known[0] is ref:
            del self._ids[key]

    def _install_model(self, index: int, m: _ModelTarget) -> None:
        model = m.model

        def seen(args: tuple[Any, ...]) -> None:
            leaves: list[Leaf | None] = []
            for k, a in enumerate(args):
                obs = _observe(a, (), [])
                leaves.append(obs if isinstance(obs, Leaf) else None)
                known = self._ids.get(id(a))
                if isinstance(obs, Leaf) and known is not None and known[0]() is a:
                    self._model_links.add((index, k, known[1]))
            key = tuple(leaves)
            if all(leaf is None for leaf in key):  # symbolic (traced inside fit): nothing known
                return
            if key not in m.seen_shapes:
                m.seen_shapes.add(key)
                m.calls.append(key)

        if hasattr(model, "register_forward_pre_hook"):  # torch
            def hook(module: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
                seen(tuple(args) + tuple(kwargs.values()))

            handle = model.register_forward_pre_hook(hook, with_kwargs=True)
            self._removers.append(handle.remove)
            return
        real = type(model)  # Keras: `model(x)` is looked up on the class: a subclass for now

        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            seen((args[0] if args else kwargs.get("inputs"),))
            return real.__call__(self, *args, **kwargs)

        def set_class(self: Any, cls: type) -> None:
            _OBJECT_CLASS.__set__(self, cls)

        sub = type(real.__name__, (real,), {  # reports the model's own class, as guards do
            "__call__": call, "__module__": real.__module__, "__qualname__": real.__qualname__,
            "__class__": property(lambda self: _reported(real), set_class)})
        _OBJECT_CLASS.__set__(model, sub)
        self._removers.append(lambda: _OBJECT_CLASS.__set__(model, real))
        for name in _MODEL_ENTRY_POINTS:  # and the instance's own entry points
            bound = getattr(model, name, None)
            if bound is None:
                continue

            def entry(*args: Any, __bound: Any = bound, **kwargs: Any) -> Any:
                x = args[0] if args else kwargs.get("x")
                seen((x,))
                return __bound(*args, **kwargs)

            had = name in model.__dict__
            previous = model.__dict__.get(name)
            model.__dict__[name] = functools.wraps(bound)(entry)

            def remove(name: str = name, had: bool = had, previous: Any = previous) -> None:
                if had:
                    model.__dict__[name] = previous
                else:
                    model.__dict__.pop(name, None)

            self._removers.append(remove)

    # -- results ------------------------------------------------------------------------------
    @property
    def uncalled(self) -> list[str]:
        """Recorded functions never called during the run: nothing is inferred for them."""
        return [t.qualname for t in self._functions if not t.calls]

    def calls(self, fn: Any) -> int:
        """How many calls of `fn` (a recorded function, or its qualified name) were seen."""
        return self._target(fn).count

    def _target(self, fn: Any) -> _Target:
        for t in self._functions:
            if fn is t.fn or fn == t.qualname or fn == t.name:
                return t
        raise KeyError(f"{fn!r} was not recorded")

    def annotations(self, fixed: bool | Iterable[str] | None = None) -> dict[str, dict[str, str]]:
        """Per recorded function (qualified name, in the order given to `record`): parameter ->
        annotation text, `"return"` included. Only array slots (arrays, tuples of them, `| None`)
        are annotated; functions never called are left out (see `uncalled`)."""
        result = self._solve(self.fixed if fixed is None else fixed)
        return {t.qualname: dict(result[i].annotations) for i, t in enumerate(self._functions)
                if t.calls}

    def notes(self, fixed: bool | Iterable[str] | None = None) -> list[str]:
        """What was decided and why, and what was left out (never called, dicts, varying rank)."""
        result = self._solve(self.fixed if fixed is None else fixed)
        out = [f"{q}: never called during recording; not annotated" for q in self.uncalled]
        for i, t in enumerate(self._functions):
            out += [f"{t.qualname}: {n}" for n in result[i].notes]
        return out

    def source(self, fixed: bool | Iterable[str] | None = None) -> str:
        """The annotated signatures as stubs, one per recorded function."""
        result = self._solve(self.fixed if fixed is None else fixed)
        blocks = []
        for i, t in enumerate(self._functions):
            if not t.calls:
                blocks.append(f"# {t.module}.{t.qualname}: never called during recording")
                continue
            ann = result[i].annotations
            params = []
            sig = inspect.signature(t.fn)
            for p in sig.parameters.values():
                text = p.name
                if p.kind is inspect.Parameter.VAR_POSITIONAL:
                    text = "*" + text
                elif p.kind is inspect.Parameter.VAR_KEYWORD:
                    text = "**" + text
                if p.name in ann:
                    text += f": {ann[p.name]}"
                elif p.annotation is not inspect.Parameter.empty:
                    text += f": {_annotation_text(p.annotation)}"
                if p.default is not inspect.Parameter.empty:
                    text += " = ..." if ":" in text else "=..."
                params.append(text)
            ret = f" -> {ann['return']}" if "return" in ann else ""
            n = t.count
            head = f"# {t.module}.{t.qualname}: {n} call{'s' if n != 1 else ''}"
            notes = [f"# note: {x}" for x in result[i].notes]
            blocks.append("\n".join([head, *notes, "@contract",
                                     f"def {t.name}({', '.join(params)}){ret}: ..."]))
        imports = "from shapecontract import " + ", ".join(_names_needed(result))
        return imports + "\n\n\n" + "\n\n\n".join(blocks) + "\n"

    def apply(self, target: Any, *, diff: bool = False,
              fixed: bool | Iterable[str] | None = None,
              backup: bool | str | os.PathLike[str] = False) -> str:
        """Write the annotations into `target` (a module or a path to its `.py` file), keeping
        the rest of the file as it is (libcst): array parameters and returns get annotations,
        functions get `@contract`, the module gets the imports it needs. Existing annotations
        are kept. Returns the change as a unified diff; with `diff=True` (a preview), only
        returns it and writes nothing.

        The file keeps its encoding (PEP 263 line, BOM) and line endings, and is replaced in one
        step: if writing fails, it is left byte for byte as it was. `backup=True` first copies
        it to `<file>.orig` (`backup=<path>`: there), replacing an older backup.

        The functions patched are the recorded ones defined in `target`; if none is, those of
        the module whose file has the same name (so a copy of the source can be patched). A
        function whose annotations (with those it already has) would reject one of its recorded
        calls is left out, with a warning."""
        from ._infer_cst import patch_source, read_source, replace_file, source_lines

        if isinstance(target, types.ModuleType):
            if not getattr(target, "__file__", None):
                raise ValueError(f"infer: module {target.__name__} has no source file")
            target = target.__file__
        path = Path(target)
        text, encoding = read_source(path)
        result = _solve(self, self.fixed if fixed is None else fixed, check=True)
        chosen = [(t, result[i]) for i, t in enumerate(self._functions) if _defined_in(t, path)]
        if not chosen:
            chosen = [(t, result[i]) for i, t in enumerate(self._functions)
                      if t.module.rpartition(".")[2] == path.stem]
        if not chosen:
            raise ValueError(f"infer: no recorded function is defined in {path}")
        plan: dict[str, dict[str, str]] = {}
        left_out: dict[str, str] = {}
        for t, r in chosen:
            if not t.calls:
                warnings.warn(f"infer: {t.qualname} was never called during recording; it is "
                              "not annotated", UserWarning, stacklevel=2)
            elif r.skipped:
                left_out[t.qualname] = r.skipped
            elif plan.get(t.qualname, r.annotations) != r.annotations:
                left_out[t.qualname] = ("recorded as two functions of that name (in modules "
                                        "of other files) whose annotations differ")
            else:
                plan[t.qualname] = r.annotations
        for q, why in left_out.items():
            plan.pop(q, None)
            warnings.warn(f"infer: {q} is not annotated: {why}", UserWarning, stacklevel=2)
        new, missing = patch_source(text, plan)
        for q in missing:
            warnings.warn(f"infer: {q} was not found in {path}; it is not annotated",
                          UserWarning, stacklevel=2)
        try:
            data = new.encode(encoding)
        except UnicodeEncodeError as e:
            raise ValueError(f"infer: the annotations for {path} contain "
                             f"{e.object[e.start:e.end]!r}, which its encoding ({encoding}) "
                             "cannot hold; the file is left as it is") from None
        out = "".join(difflib.unified_diff(source_lines(text), source_lines(new),
                                           f"a/{path.name}", f"b/{path.name}"))
        if not diff and new != text:
            if backup is True:
                replace_file(path, data, path.with_name(path.name + ".orig"))
            else:
                replace_file(path, data, Path(backup) if backup else None)
        return out

    # -- unification and naming -----------------------------------------------------------
    def _solve(self, fixed: bool | Iterable[str]) -> list[_Solved]:
        return _solve(self, fixed)


def record(*targets: Any, fixed: bool | Iterable[str] = False) -> Recording:
    """Record the shapes and dtypes flowing through `targets` (functions, methods, a Keras
    model or torch module) while a real run happens:

    ```python
    with infer.record(load, scale, make_windows, split, model) as rec:
        run_pipeline()
    print(rec.source())
    ```

    Also a decorator: `@infer.record(make_windows)` records while the decorated function runs.
    `fixed=True` writes sizes that never varied as fixed dims; `fixed=["timesteps"]` only those
    dims (by their inferred name).
    """
    return Recording(targets, fixed)


def infer_call(func: Callable[..., Any], args: Iterable[Any] = (),
               kwargs: dict[str, Any] | None = None, *, also: Iterable[Any] = (),
               fixed: bool | Iterable[str] = False) -> Recording:
    """Record one call `func(*args, **kwargs)` (and `also`: the functions and models it
    reaches) and return the Recording; the call's result is `recording.result`."""
    rec = Recording([func, *also], fixed)
    with rec:
        rec.result = _reachable(func)(*tuple(args), **(kwargs or {}))
    return rec


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


def _solve(rec: Recording, fixed: bool | Iterable[str], check: bool = False) -> list[_Solved]:
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


def _one_per_function(rec: Recording) -> tuple[Recording, list[int], dict[int, str]]:
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
    from ._decorator import _build
    from ._evaluate import MISSING, verdict
    from ._types import DTYPE_NAMES, Array, DtypeAnnotation

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


def _solve_functions(rec: Recording, fixed: bool | Iterable[str]) -> list[_Solved]:
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


def _model_axis_names(rec: Recording, classes: list[dict[Axis, int]]
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
    from ._dims import Fixed, Named
    from ._spec import ArraySpec, OneOf

    try:
        c = contract_of(model)
    except Exception:  # a model whose contract cannot be read names nothing
        return None
    out: list[dict[int, tuple[str | None, ...]]] = []
    for slot in c.inputs():
        options = slot.spec.options if isinstance(slot.spec, OneOf) else (slot.spec,)
        by_rank: dict[int, tuple[str | None, ...]] = {}
        for spec in options:
            if not isinstance(spec, ArraySpec) or spec.variadic_at is not None:
                continue
            by_rank.setdefault(len(spec.dims), tuple(
                d.name if isinstance(d, Named) else d.label if isinstance(d, Fixed)
                and d.label and d.label.isidentifier() else None for d in spec.dims))
        out.append(by_rank)
    return out


def _names_needed(result: list[_Solved]) -> list[str]:
    cats = sorted({c for r in result for c in r.categories})
    return ["Array", *cats, "contract"]
