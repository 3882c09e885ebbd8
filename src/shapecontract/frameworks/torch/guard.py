"""Guards on torch modules: the guard itself as a forward pre-hook (layer L6)."""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["guard_of", "install_guard", "remove_guard"]


def guard_of(m: Any) -> Any:
    """The guard installed on a torch module, or None."""
    for h in m._forward_pre_hooks.values():
        if getattr(h, "is_shapecontract_guard", False):
            return h
    return None


def install_guard(m: Any, guard: Any) -> None:
    """Register `guard` itself as a forward pre-hook (with kwargs). It is a module-level object
    with picklable state, so the module pickles, `torch.save`s, deep-copies and crosses
    `spawn` with its guard. The handle is kept in `__dict__`: unpickling it advances torch's
    hook-id counter, so a later hook cannot take our id."""
    handle = m.register_forward_pre_hook(guard, with_kwargs=True)
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
