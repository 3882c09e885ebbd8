"""`install_import_hook("mypkg")`: `@contract` on every array-annotated function of a package.

Design rules:
- A meta-path finder that finds nothing itself: for a module of a hooked package it asks the
  other finders (jaxtyping's hook, beartype.claw's path hook, the standard ones) for the spec,
  and wraps that spec's loader. The wrapping loader runs the module exactly as the found
  loader does (their source transforms included), then decorates what the module defined.
  So it composes with any loader, whichever hook was installed first; an AST transform would
  have to replace the other hooks' loaders (jaxtyping's finder discards any other loader).
- It must be asked first: installing puts it at the front of `sys.meta_path`, and an audit
  hook (PEP 578, the `import` event, installed once) puts it back in front when a hooked
  module is about to be imported by an import statement after another hook was inserted
  ahead of it. (`importlib.import_module` raises no such event: install this hook last then.)
- Decorated: module-level functions and the methods (plain, static, class) of classes defined
  in the module (nested classes too; a dataclass's or `equinox.Module`'s `__init__` checks its
  fields at construction, as jaxtyping's hook does with `jaxtyped`), whose resolved annotations hold an array spec
  (shapecontract's or jaxtyping's `Float[...]` ..., also inside tuples, unions, `Iterator[...]`).
  Everything else stays the same object. Functions nested in other functions, and functions
  captured by reference while the module ran (a registry, a default argument), keep the
  undecorated function: the module is decorated when it has finished running.
- What was decorated is recorded by name (`hooked()`, the handle's `.hooked`); annotations
  that cannot be resolved are recorded in `.skipped` with the reason, never silently dropped.
- An import never breaks because of this library: a function whose contract cannot be built
  (an annotation `@contract` refuses, or any error while building it) stays undecorated, is
  recorded in `.skipped` (and `hooked(skipped=True)`) with the reason, and gets one
  `ImportHookWarning` pointing at its definition; a filter that turns warnings into errors does
  not turn that into a failed import. `strict=True` (or `SHAPECONTRACT_HOOK_STRICT=1`) makes
  it an error that fails the import. `@contract` by hand keeps raising.
"""

from __future__ import annotations

import dataclasses
import importlib.abc
import inspect
import os
import sys
import threading
import typing
import warnings
from collections.abc import Iterable
from types import ModuleType, TracebackType
from typing import Any, Literal, overload

from ._decorator import _decorate, _decorate_init
from ._errors import ContractSyntaxError
from ._hints import opaque_reason, spec_from_hint, yield_spec

__all__ = ["STRICT_ENV_VAR", "ImportHook", "ImportHookWarning", "hooked", "hooks",
           "install_import_hook"]

STRICT_ENV_VAR = "SHAPECONTRACT_HOOK_STRICT"
"""`1` (or `true`, `yes`, `on`): hooks installed without `strict=` are strict."""

_hooks: list[ImportHook] = []  # every hook installed in this process (names only)
_audit_installed = False
_lock = threading.RLock()


class ImportHookWarning(UserWarning):
    """An import hook left a function undecorated: its contract could not be built (the
    message names the function and says why; `hooked(skipped=True)` lists every one)."""


ImportHookWarning.__module__ = "shapecontract"


class ImportHook:
    """The handle `install_import_hook` returns: what it hooked, and `uninstall()`.

    `with install_import_hook("mypkg"): import mypkg` uninstalls it when the block ends (the
    modules imported in the block stay decorated)."""

    def __init__(self, packages: tuple[str, ...], strict: bool = False) -> None:
        self.packages = packages
        self.strict = strict
        """Whether a function whose contract cannot be built fails the import."""
        self.modules: list[str] = []
        """Modules of the packages that were imported through the hook."""
        self.hooked: list[str] = []
        """Qualified names of the functions and methods it decorated."""
        self.opaque: list[tuple[str, str]] = []
        """(qualified name, reason) of parameters of decorated functions whose annotation holds
        arrays that are accepted but not looked into, as jaxtyping does not look into them:
        inside `Callable[...]`, a user generic's type arguments."""
        self.opaque_only: list[str] = []
        """Decorated functions whose only array annotations are opaque: their other parameters
        are checked, no array of theirs is (a subset of `hooked`)."""
        self.skipped: list[tuple[str, str]] = []
        """(qualified name, reason) of functions left undecorated: annotations that could not be
        resolved, a contract that could not be built, mode `off` at import."""
        self.already_imported: list[str] = []
        """Modules of the packages that were imported before the hook was installed."""
        self.installed = False

    def matches(self, fullname: str) -> bool:
        return any(fullname == p or fullname.startswith(p + ".") for p in self.packages)

    def uninstall(self) -> None:
        """Stop hooking imports (what was decorated stays decorated)."""
        with _lock:
            self.installed = False
            if not any(h.installed for h in _hooks) and _FINDER in sys.meta_path:
                sys.meta_path.remove(_FINDER)

    def __enter__(self) -> ImportHook:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.uninstall()

    def __repr__(self) -> str:
        state = "installed" if self.installed else "uninstalled"
        return (f"<shapecontract import hook on {', '.join(self.packages)} ({state}): "
                f"{len(self.modules)} modules, {len(self.hooked)} functions decorated, "
                f"{len(self.skipped)} skipped>")


def install_import_hook(packages: str | Iterable[str], *, strict: bool | None = None
                        ) -> ImportHook:
    """Apply `@contract` to every function and method with array annotations in the modules of
    `packages` imported from now on; other functions stay untouched (the same object).

    ```python
    with shapecontract.install_import_hook("mypkg"):
        import mypkg
    shapecontract.hooked()  # ['mypkg.windows.make_windows', ...]
    ```

    It composes with `jaxtyping.install_import_hook` and `beartype.claw`, installed before or
    after it. Returns a handle (`.hooked`, `.modules`, `.skipped`, `.uninstall()`).

    An import never fails because of the hook: a function whose contract cannot be built (an
    annotation shapecontract does not check yet) stays undecorated, is listed by
    `hooked(skipped=True)` with the reason, and warns once (`ImportHookWarning`). With
    `strict=True` (default: the environment variable `SHAPECONTRACT_HOOK_STRICT=1`) it raises
    instead, and the import fails, as `@contract` by hand does.
    """
    names = (packages,) if isinstance(packages, str) else tuple(packages)
    if not names or not all(isinstance(n, str) and n and all(
            p.isidentifier() for p in n.split(".")) for n in names):
        raise ValueError(f"install_import_hook: expected package names such as 'mypkg', got "
                         f"{packages!r}")
    if strict is None:
        strict = os.environ.get(STRICT_ENV_VAR, "").strip().lower() in ("1", "true", "yes", "on")
    elif not isinstance(strict, bool):
        raise TypeError(f"install_import_hook: strict= takes True or False, got {strict!r}")
    hook = ImportHook(names, strict)
    hook.already_imported = sorted(m for m in list(sys.modules) if hook.matches(m))
    if hook.already_imported:
        warnings.warn(
            f"shapecontract.install_import_hook: {', '.join(hook.already_imported)} "
            "already imported; the hook only decorates modules imported after it is installed "
            "(install it before the first import, e.g. in conftest.py or the package's entry "
            "point)", stacklevel=2)
    with _lock:
        hook.installed = True
        _hooks.append(hook)
        _to_front()
        _install_audit()
    return hook


@overload
def hooked(skipped: Literal[False] = False, opaque: Literal[False] = False) -> list[str]: ...


@overload
def hooked(skipped: Literal[True], opaque: Literal[False] = False) -> list[tuple[str, str]]: ...


@overload
def hooked(skipped: Literal[False] = False, *, opaque: Literal[True]) -> list[tuple[str, str]]: ...


def hooked(skipped: bool = False, opaque: bool = False) -> list[str] | list[tuple[str, str]]:
    """The qualified names of every function the import hooks decorated in this process.

    `hooked(skipped=True)`: the functions they left undecorated instead, as
    `(qualified name, reason)`: a contract that could not be built, annotations that could not
    be resolved, mode `off` at import. `hooked(opaque=True)`: the parameters of decorated
    functions whose arrays are accepted and not looked into (inside `Callable[...]`, a user
    generic's type arguments), as `(qualified name.parameter, reason)`."""
    if skipped:
        return list(dict.fromkeys(s for h in _hooks for s in h.skipped))
    if opaque:
        return list(dict.fromkeys(s for h in _hooks for s in h.opaque))
    return list(dict.fromkeys(name for h in _hooks for name in h.hooked))


def hooks() -> list[ImportHook]:
    """Every import hook installed in this process (the pytest plugin's summary reads them)."""
    return list(_hooks)


def _to_front() -> None:
    if not sys.meta_path or sys.meta_path[0] is not _FINDER:
        if _FINDER in sys.meta_path:
            sys.meta_path.remove(_FINDER)
        sys.meta_path.insert(0, _FINDER)


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event != "import" or not _hooks:
        return
    name = args[0] if args else None
    if isinstance(name, str) and sys.meta_path and sys.meta_path[0] is not _FINDER and any(
            h.installed and h.matches(name) for h in _hooks):
        with _lock:
            _to_front()


def _install_audit() -> None:
    global _audit_installed
    if not _audit_installed:
        sys.addaudithook(_audit)
        _audit_installed = True


class _Finder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader the other finders return for hooked modules."""

    def __init__(self) -> None:
        self._busy = threading.local()

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        active = [h for h in _hooks if h.installed and h.matches(fullname)]
        if not active:
            return None
        busy = self._busy.__dict__.setdefault("names", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = None
            for finder in list(sys.meta_path):
                find = getattr(finder, "find_spec", None)
                if finder is self or find is None:
                    continue
                spec = find(fullname, path, target)
                if spec is not None:
                    break
        finally:
            busy.discard(fullname)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not found, or a namespace package: nothing to run, nothing to wrap
        spec.loader = _Loader(spec.loader, active)
        return spec


class _Loader(importlib.abc.Loader):
    """Runs the module with the loader that was found, then decorates what it defined."""

    def __init__(self, inner: Any, hooks: list[ImportHook]) -> None:
        self.inner = inner
        self.hooks = hooks

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self.inner, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        _decorate_module(module, self.hooks)

    def __getattr__(self, name: str) -> Any:  # get_source, is_package, get_resource_reader ...
        return getattr(self.inner, name)


_FINDER = _Finder()


def _decorate_module(module: ModuleType, hooks: list[ImportHook]) -> None:
    hooked: list[str] = []
    skipped: list[tuple[str, str]] = []
    opaque: list[tuple[str, str]] = []
    opaque_only: list[str] = []
    modname = module.__name__
    seen: set[int] = set()
    strict = any(h.strict for h in hooks)

    def attempt(obj: Any, fn: Any, name: str, owner: Any = None) -> Any:
        """`@contract` on `obj`; None when its contract cannot be built (recorded, warned).
        `owner`: the dataclass whose `__init__` `obj` is (its fields are checked as such)."""
        try:
            if owner is not None:
                return _decorate_init(owner, obj, {})
            return _decorate(obj, (), False, {})
        except Exception as e:
            if strict:
                raise
            why = _reason(e)
            skipped.append((name, f"contract not built: {why}"))
            _warn_skip(fn, f"shapecontract.install_import_hook: {name} left "
                           f"unchecked: {why}", modname)
            return None

    def visit(owner: Any, attrs: dict[str, Any], prefix: str) -> None:
        for attr, obj in list(attrs.items()):
            if isinstance(obj, type):
                if obj.__module__ == modname and id(obj) not in seen and \
                        obj.__qualname__ == f"{prefix}{attr}".removeprefix(modname + "."):
                    seen.add(id(obj))
                    visit(obj, dict(vars(obj)), f"{prefix}{attr}.")
                continue
            if isinstance(obj, property):  # its getter and setter, as functions of their own
                parts: dict[str, Any] = {}
                for role, label in (("fget", f"{prefix}{attr}"), ("fset", f"{prefix}{attr}.setter")):
                    f = getattr(obj, role)
                    if (not inspect.isfunction(f) or f.__module__ != modname
                            or hasattr(f, "__shapecontract__")):
                        continue
                    verdict = _array_annotated(f)
                    if isinstance(verdict, str):
                        skipped.append((label, verdict))
                    elif verdict:
                        new = attempt(f, f, label)
                        if new is f:
                            skipped.append((label, "mode off when imported: @contract "
                                                   "returned it unchanged"))
                        elif new is not None:
                            parts[role] = new
                            hooked.append(label)
                            _note_opaque(f, new, label, opaque, opaque_only)
                if parts:
                    setattr(owner, attr, property(parts.get("fget", obj.fget),
                                                  parts.get("fset", obj.fset), obj.fdel,
                                                  obj.__doc__))
                continue
            fn = obj.__func__ if isinstance(obj, (staticmethod, classmethod)) else obj
            if not inspect.isfunction(fn) or getattr(fn, "__module__", None) != modname:
                continue
            if hasattr(fn, "__shapecontract__") or id(fn) in seen:
                continue
            seen.add(id(fn))
            name = f"{prefix}{attr}"
            verdict = _array_annotated(fn)
            if isinstance(verdict, str):
                skipped.append((name, verdict))
                continue
            if not verdict:
                continue
            init_of = owner if (attr == "__init__" and obj is fn and isinstance(owner, type)
                                and dataclasses.is_dataclass(owner)) else None
            new = attempt(obj, fn, name, init_of)
            if new is None:
                continue
            if getattr(new, "__func__", new) is fn:  # mode off: @contract returned fn itself
                skipped.append((name, "mode off when imported: @contract returned it unchanged"))
                continue
            setattr(owner, attr, new)
            hooked.append(name)
            _note_opaque(fn, new, name, opaque, opaque_only)

    visit(module, dict(vars(module)), modname + ".")
    for h in hooks:
        h.modules.append(modname)
        h.hooked.extend(hooked)
        h.skipped.extend(skipped)
        h.opaque.extend(opaque)
        h.opaque_only.extend(opaque_only)


def _array_annotated(fn: Any) -> bool | str:
    """Whether `fn`'s annotations hold an array spec; a string says why it cannot be told."""
    if not getattr(fn, "__annotations__", None):
        return False
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as e:  # a name not defined (yet), a typo in a string annotation ...
        return f"annotations not resolved: {type(e).__name__}: {e}"
    gen = inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn)
    for pname, hint in hints.items():
        try:
            if spec_from_hint(hint) is not None or opaque_reason(hint) is not None:
                return True
            if pname == "return" and gen and yield_spec(hint) is not None:
                return True
        except ContractSyntaxError:
            return True  # @contract raises it, naming the function: not hidden
    return False


def _note_opaque(fn: Any, new: Any, name: str, opaque: list[tuple[str, str]],
                 opaque_only: list[str]) -> None:
    """Record `fn`'s parameters whose arrays are accepted, not checked, as (name.parameter,
    reason); and `name` itself when no array of its contract (`new`'s) is checked."""
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception:
        return
    found = False
    for pname, hint in hints.items():
        why = opaque_reason(hint)
        if why is not None:
            found = True
            opaque.append((f"{name}.{pname}" if pname != "return" else f"{name}.<return>", why))
    c = getattr(getattr(new, "__func__", new), "__shapecontract__", None)
    if found and c is not None and not any(s.kind == "array" for s in c.slots):
        opaque_only.append(name)


def _reason(e: Exception) -> str:
    """An error as one line: its message without the caret line of a ContractSyntaxError."""
    lines = [ln.strip() for ln in str(e).splitlines()]
    text = " ".join(ln for ln in lines if ln and set(ln) != {"^"})
    return text if isinstance(e, ContractSyntaxError) else f"{type(e).__name__}: {text}"


def _warn_skip(fn: Any, message: str, modname: str) -> None:
    """One `ImportHookWarning`, attributed to the function's definition (so each skipped
    function warns once under the default filter). A filter that turns it into an error does
    not fail the import: the skip stays recorded; `strict=True` is the way to fail."""
    code = getattr(fn, "__code__", None)
    try:
        warnings.warn_explicit(
            message, ImportHookWarning,
            getattr(code, "co_filename", "<unknown>"), getattr(code, "co_firstlineno", 0),
            module=modname)
    except ImportHookWarning:
        pass
