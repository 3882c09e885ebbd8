"""Framework adapters behind one registry (layer L6).

Design rules:
- One registry of adapters (Keras, torch; more later). Each says which objects it owns, derives
  their contract (carrying the framework's own verdict on shapes), and installs/removes a guard.
- `adapter_of(obj)` caches by type and only consults adapters whose framework is already in
  `sys.modules` (an object of theirs can exist only then); nothing here imports a framework.
- Layer knowledge lives in each adapter's table (`keras.LAYERS`, `torch.MODULES`), looked up
  along the MRO by `_table.lookup`.
- An adapter's outputs are a `Contract` and a guard's installation; checking and explaining
  are the core's.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._compile import Contract
from . import keras as _keras
from . import torch as _torch

__all__ = ["LEVELS", "Adapter", "adapter_of", "check_level", "contract_of"]

LEVELS = ("strict", "framework")


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not a level; valid levels are: {', '.join(LEVELS)}")


def _no_targets(obj: Any, contract: Contract) -> Contract | None:
    return None


@dataclass(frozen=True)
class Adapter:
    """One framework, as a row: which objects it owns, their contract, how a guard is installed
    and removed, and the targets its loss takes. Each entry is a function of its module."""

    name: str
    package: str
    owns: Callable[[Any], bool]
    contract: Callable[[Any, str, Any], Contract]
    """`contract(obj, level, input_shape)`."""
    install: Callable[[Any, Any], None]
    """Make `obj`'s entry points call the guard first (see `_guard.Guard`)."""
    remove: Callable[[Any], None]
    guard_of: Callable[[Any], Any]
    """The guard installed on `obj`, or None."""
    targets: Callable[[Any, Contract], Contract | None] = _no_targets
    """`obj`'s inputs and the targets its loss takes (`fit(x, y)`), or None."""


ADAPTERS: tuple[Adapter, ...] = (
    Adapter("Keras", "keras", _keras.is_keras, _keras.contract_of_keras, _keras.install_guard,
            _keras.remove_guard, _keras.guard_of, _keras.target_contract),
    Adapter("PyTorch", "torch", _torch.is_torch_module, _torch.contract_of_torch,
            _torch.install_guard, _torch.remove_guard, _torch.guard_of),
)
_by_type: dict[type, Adapter | None] = {}


def adapter_of(obj: Any) -> Adapter | None:
    """The adapter that owns `obj`, or None. Cached by type; frameworks not yet imported are
    not consulted (and not imported)."""
    t = type(obj)
    try:
        return _by_type[t]
    except KeyError:
        pass
    found = None
    for a in ADAPTERS:
        if a.package in sys.modules and a.owns(obj):
            found = a
            break
    if found is not None or all(a.package in sys.modules for a in ADAPTERS):
        _by_type[t] = found  # a miss is final only once every framework could have answered
    return found


def contract_of(model: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The contract a Keras 3 or PyTorch model (or layer) states through its own metadata, or
    the one a function decorated with `@contract` was given.

    `level="strict"` (default) enforces every dim the model declares; `level="framework"` accepts
    what the framework itself accepts (asked on shapes). The contract carries its level's
    verdict: `contract_of(m, level).check(x)` and `guard(m, level=level)` give the same answer.
    `input_shape` (torch) declares the input of a custom module, e.g. `(None, 24, 3)`, for
    propagation on fake tensors.
    """
    declared = getattr(model, "__shapecontract__", None)
    if isinstance(declared, Contract) and callable(model) and not hasattr(model, "parameters"):
        return declared  # a function decorated with @contract: the contract it was given
    check_level(level)
    adapter = adapter_of(model)
    if adapter is None:
        raise TypeError(f"contract_of: {type(model).__name__} is neither a Keras layer/model, "
                        "a torch.nn.Module, nor a function decorated with @contract")
    return adapter.contract(model, level, input_shape)
