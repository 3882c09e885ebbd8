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

import difflib
import functools
import inspect
import os
import sys
import types
import warnings
import weakref
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..frameworks import adapter_of
from .observe import (
    _MODEL_ENTRY_POINTS,
    _OBJECT_CLASS,
    Leaf,
    Path_,
    Pos,
    _annotation_text,
    _assigned_names,
    _defined_in,
    _describe,
    _ModelTarget,
    _observe,
    _places_of,
    _reachable,
    _reported,
    _Target,
)
from .solve import _names_needed, _solve, _Solved

__all__ = ["Recording", "infer_call", "record"]


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
        from .write import patch_source, read_source, replace_file, source_lines

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
