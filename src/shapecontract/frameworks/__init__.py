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
from typing import Any

from .._compile import Contract
from . import keras as _keras
from . import torch as _torch

__all__ = ["LEVELS", "Adapter", "adapter_of", "check_level", "contract_of"]

LEVELS = ("strict", "framework")


def check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not a level; valid levels are: {', '.join(LEVELS)}")


class Adapter:
    """One framework: which objects it owns, their contract, and how a guard is installed."""

    name = ""
    package = ""

    def owns(self, obj: Any) -> bool:
        raise NotImplementedError

    def contract(self, obj: Any, level: str, input_shape: Any = None) -> Contract:
        raise NotImplementedError

    def install(self, obj: Any, guard: Any) -> None:
        """Make `obj`'s entry points call `guard` first (see `_guard.Guard`)."""
        raise NotImplementedError

    def remove(self, obj: Any) -> None:
        raise NotImplementedError

    def guard_of(self, obj: Any) -> Any:
        """The guard installed on `obj`, or None."""
        raise NotImplementedError

    def targets(self, obj: Any, contract: Contract) -> Contract | None:
        """`obj`'s inputs and the targets its loss takes (`fit(x, y)`), or None."""
        return None


class KerasAdapter(Adapter):
    name, package = "Keras", "keras"

    def owns(self, obj: Any) -> bool:
        return _keras.is_keras(obj)

    def contract(self, obj: Any, level: str, input_shape: Any = None) -> Contract:
        return _keras.contract_of_keras(obj, level)

    def install(self, obj: Any, guard: Any) -> None:
        _keras.install_guard(obj, guard)

    def remove(self, obj: Any) -> None:
        _keras.remove_guard(obj)

    def guard_of(self, obj: Any) -> Any:
        return _keras.guard_of(obj)

    def targets(self, obj: Any, contract: Contract) -> Contract | None:
        return _keras.target_contract(obj, contract)


class TorchAdapter(Adapter):
    name, package = "PyTorch", "torch"

    def owns(self, obj: Any) -> bool:
        return _torch.is_torch_module(obj)

    def contract(self, obj: Any, level: str, input_shape: Any = None) -> Contract:
        return _torch.contract_of_torch(obj, level, input_shape)

    def install(self, obj: Any, guard: Any) -> None:
        _torch.install_guard(obj, guard)

    def remove(self, obj: Any) -> None:
        _torch.remove_guard(obj)

    def guard_of(self, obj: Any) -> Any:
        return _torch.guard_of(obj)


ADAPTERS: tuple[Adapter, ...] = (KerasAdapter(), TorchAdapter())
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
    """The contract a Keras 3 or PyTorch model (or layer) states through its own metadata.

    `level="strict"` (default) enforces every dim the model declares; `level="framework"` accepts
    what the framework itself accepts (asked on shapes). The contract carries its level's
    verdict: `contract_of(m, level).check(x)` and `guard(m, level=level)` give the same answer.
    `input_shape` (torch) declares the input of a custom module, e.g. `(None, 24, 3)`, for
    propagation on fake tensors.
    """
    check_level(level)
    adapter = adapter_of(model)
    if adapter is None:
        raise TypeError(f"contract_of: {type(model).__name__} is neither a Keras layer/model nor "
                        "a torch.nn.Module")
    return adapter.contract(model, level, input_shape)
