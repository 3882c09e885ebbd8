"""Guards on torch modules (layer L6): a forward pre-hook that checks `forward`'s arguments
against the core's guard (`_guard.Guard`: the user's level and pins, the derived contract and
its compiled checker) before the module runs."""

from __future__ import annotations

import functools
import inspect
import sys
from typing import Any

from ..._errors import ShapeContractError
from ..enrich import enrich
from .provenance import note_call
from .verdict import call_untraced

__all__ = ["ForwardGuard", "guard_of", "install_guard", "remove_guard"]


class ForwardGuard:
    """The forward pre-hook (with kwargs) of a guarded module: `forward`'s positional
    arguments (keywords bound to their positions) go to the contract's compiled checker. A
    module-level object whose state is the core's guard (itself pickled as the user's
    choices), so the module pickles, `torch.save`s, deep-copies and crosses `spawn` with it."""

    is_shapecontract_guard = True  # how `guard_of` recognises ours among a module's hooks

    def __init__(self, guard: Any) -> None:
        self.guard = guard

    def __getstate__(self) -> dict[str, Any]:
        return {"guard": self.guard}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.guard = state["guard"]

    def __repr__(self) -> str:
        return f"ForwardGuard({self.guard!r})"

    def prepare(self, module: Any) -> tuple[Any, int, Any]:
        """Compile the checker now (not on the first call): `torch.compile` traces the hook,
        and cannot trace deriving a contract or compiling code. Kept in the guard's cache,
        emptied whenever it derives the contract again."""
        g = self.guard
        c = g.contract(module)
        prepared = g.cache["forward"] = (g.checker(module, "forward"), len(c.arguments()),
                                         c.prepare)
        return prepared

    def __call__(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        __tracebackhide__ = True
        return call_untraced(self._check, mod, args, kwargs)  # type: ignore[no-any-return]

    def _check(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        __tracebackhide__ = True
        t = self.guard.cache.get("forward")
        if t is None:
            t = self.prepare(mod)
        fn, n, prepare = t
        if kwargs:
            args = _bind_forward(mod, args, kwargs)
        if not args:
            return None  # nothing to check: torch says what is missing
        if prepare is not None:  # e.g. an RNN's PackedSequence is checked by its data
            args = prepare(args)
        note_call(mod, args)
        try:
            if len(args) <= n:
                fn(*args)
            else:
                fn(*args[:n])
        except ShapeContractError as refused:  # proven repairs join the error
            if _compiling():
                raise  # inside a Dynamo trace the search would be traced: the error as it is
            given = args[0] if len(args) == 1 else tuple(args[:n])  # several: a tuple
            raise _enrich_untraced()(mod, given, None, refused) from None
        return None


_ENRICH: list[Any] = []


def _enrich_untraced() -> Any:
    """`enrich`, never traced by Dynamo: a compiled module's call runs its Python under Dynamo's
    frame hook even after a graph break, and the repair search (deep copies, new modules) must
    not be traced."""
    if not _ENRICH:
        compiler = getattr(sys.modules.get("torch"), "compiler", None)
        disable = getattr(compiler, "disable", None)
        _ENRICH.append(disable(enrich, recursive=True) if disable is not None else enrich)
    return _ENRICH[0]


def _compiling() -> bool:
    """Is torch.compile tracing this call (Dynamo answers True while it traces)?"""
    compiler = getattr(sys.modules.get("torch"), "compiler", None)
    is_compiling = getattr(compiler, "is_compiling", None)
    return bool(is_compiling()) if is_compiling is not None else False


def _bind_forward(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Positional arguments of `mod.forward` from a call with keywords (`lstm(x, hx=...)`)."""
    try:
        ba = inspect.signature(mod.forward).bind(*args, **kwargs)
    except TypeError:
        return args  # torch will say what is wrong with the call
    out = []
    for p in inspect.signature(mod.forward).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            break
        out.append(ba.arguments.get(p.name))
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


def guard_of(m: Any) -> Any:
    """The guard installed on a torch module, or None."""
    for h in m._forward_pre_hooks.values():
        if getattr(h, "is_shapecontract_guard", False):
            return h.guard
    return None


def install_guard(m: Any, guard: Any) -> None:
    """Register a `ForwardGuard` of `guard` as a forward pre-hook (with kwargs), its checker
    compiled now. The handle is kept in `__dict__`: unpickling it advances torch's hook-id
    counter, so a later hook cannot take our id."""
    hook = ForwardGuard(guard)
    hook.prepare(m)
    handle = m.register_forward_pre_hook(hook, with_kwargs=True)
    m.__dict__["_shapecontract_handle"] = handle
    # torch.jit.script asks every module (and submodule) to prepare itself first; TorchScript
    # cannot compile a Python hook, so a guarded module refuses, saying what to do instead
    m.__dict__["__prepare_scriptable__"] = functools.partial(_refuse_script, type(m).__name__)


def _refuse_script(name: str) -> Any:
    raise TypeError(
        f"torch.jit.script cannot compile the guarded {name}: TorchScript keeps no Python "
        "hooks, so the guard would be dropped silently. Use torch.compile (the guard checks "
        "every call, see docs/guarantees.md) or torch.jit.trace (the example inputs are "
        "checked at trace time); or call shapecontract.unguard(model) before scripting it")


def remove_guard(m: Any) -> None:
    """Remove our hook by looking for it (works after a copy or a load, without handles)."""
    for hid in [k for k, h in m._forward_pre_hooks.items()
                if getattr(h, "is_shapecontract_guard", False)]:
        del m._forward_pre_hooks[hid]
        m._forward_pre_hooks_with_kwargs.pop(hid, None)
    m.__dict__.pop("_shapecontract_handle", None)
    m.__dict__.pop("__prepare_scriptable__", None)
