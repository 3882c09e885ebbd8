"""Framework adapters behind one registry (layer L6).

Design rules:
- One registry of adapters (Keras, torch; more later). Each says which objects it owns, derives
  their contract (carrying the framework's own verdict on shapes), and installs/removes a guard.
- `adapter_of(obj)` caches by type and only consults adapters whose framework is already in
  `sys.modules` (an object of theirs can exist only then); nothing here imports a framework.
- Layer knowledge lives in layer kinds, one object per kind (`kinds.LayerKind`; the Keras
  ones in `keras/layers.py`, the torch ones in `torch/layers.py` and `torch/losses.py`), looked
  up along the MRO (`keras.kind_of`, `torch.kind_of`); `keras.register` / `torch.register` add
  one.
- An adapter's outputs are a `Contract` and a guard's installation; checking and explaining
  are the core's. Data sources (tf.data, DataLoader, Dataset) are a registry of their own,
  `sources`, filled by the framework packages. Its `files` load the framework's model files for the command line
  (`loader_for(filename)`), so the command line names no framework.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._compile import Contract
from .._contract import Slot
from .._slot import argument_slots
from . import hf as _hf  # noqa: F401  (data engines: Hugging Face datasets, Ray Data)
from . import jax as _jax  # noqa: F401
from . import keras as _keras
from . import ray as _ray  # noqa: F401
from . import tensorflow as _tensorflow  # noqa: F401  (torch, TensorFlow, jax, Keras symbolic)
from . import torch as _torch  # each package registers its arrays' backend, in this order:
from ._table import framework_class, lookup
from .keras import files as _keras_files
from .keras import repair as _keras_repair
from .torch import files as _torch_files
from .torch import repair as _torch_repair

__all__ = ["LEVELS", "Adapter", "adapter_of", "check_level", "contract_of", "framework_class",
           "loader_for", "lookup", "model_file_suffixes"]

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
    """Make `obj`'s entry points call the guard first (see `_guard.Guard`): the framework's
    entry points (`<name>/guard.py`) decide which values reach the model and check them."""
    remove: Callable[[Any], None]
    guard_of: Callable[[Any], Any]
    """The guard installed on `obj`, or None."""
    targets: Callable[[Any, Contract], Contract | None] = _no_targets
    """`obj`'s inputs and the targets its loss takes (`fit(x, y)`), or None."""
    files: Any = None
    """Its model files, for the command line: a module with `SUFFIXES`, `EXTRA` (the extra of
    shapecontract that installs the framework), `load(path, unsafe)` raising
    `files.LoadError`, and optionally `as_input(array)` (a numpy array read from a data file as
    the framework's models take it)."""
    entry_point: str = "__call__"
    settings: Callable[..., Any] | None = None
    """`settings(model, x, y, error, limit)`: the model settings the repair search tries
    (candidates that rebuild a copy of the model), or None."""
    """The entry point whose checker `checker_source` shows (torch: `forward`)."""


ADAPTERS: tuple[Adapter, ...] = (
    Adapter("Keras", "keras", _keras.is_keras, _keras.contract_of_keras, _keras.install_guard,
            _keras.remove_guard, _keras.guard_of, _keras.target_contract, _keras_files,
            settings=_keras_repair.settings),
    Adapter("PyTorch", "torch", _torch.is_torch_module, _torch.contract_of_torch,
            _torch.install_guard, _torch.remove_guard, _torch.guard_of,
            files=_torch_files, entry_point="forward",
            settings=_torch_repair.settings),
)
FALLBACK_LOADER = "torch"
"""The framework asked to load a file whose suffix no framework claims (torch files have no
fixed suffix)."""


def loader_for(filename: str) -> Adapter:
    """The adapter whose files have `filename`'s suffix, else the fallback's."""
    lower = filename.lower()
    for a in ADAPTERS:
        if a.files is not None and lower.endswith(tuple(a.files.SUFFIXES)):
            return a
    return next(a for a in ADAPTERS if a.package == FALLBACK_LOADER)


def model_file_suffixes() -> tuple[str, ...]:
    """Every suffix some framework claims for its model files."""
    return tuple(s for a in ADAPTERS if a.files is not None for s in a.files.SUFFIXES)
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
    c = adapter.contract(model, level, input_shape)
    declared = _declared_entry(model)
    return c if declared is None else _with_declared(c, declared, model)


_ENTRY_METHODS = ("forward", "call")
"""A model's entry point, by framework: torch's `forward`, Keras's `call`."""


def _declared_entry(model: Any) -> tuple[Any, Contract] | None:
    """(the method, its contract) when the model's class decorates its entry point with
    `@contract`: the user's own statement of the model's contract."""
    for name in _ENTRY_METHODS:
        fn = getattr(type(model), name, None)
        declared = getattr(fn, "__shapecontract__", None)
        resolve = getattr(fn, "__shapecontract_resolve__", None)
        if declared is None and resolve is not None:  # annotations resolved on first use
            try:
                resolve()
            except NameError:
                continue  # a name not defined yet: the first call will say so
            declared = getattr(fn, "__shapecontract__", None)
        if isinstance(declared, Contract):
            return fn, declared
    return None


def _with_declared(c: Contract, declared: tuple[Any, Contract], model: Any) -> Contract:
    """The model's contract with the decorated entry point's slots as its inputs and output, in
    the order of its parameters (one of any value for each parameter it does not annotate),
    the framework still asked about what the annotations do not state."""
    fn, d = declared
    slots = argument_slots(fn, skip=1, given={s.name: s for s in d.slots if not s.is_return})
    slots += [s for s in d.slots if s.kind in ("dim", "pin") and s not in slots]
    ret = next((s for s in d.slots if s.is_return and s.kind == "array"), None)
    if ret is not None:
        slots.append(Slot("output", "array", ret.spec, loc=("output", None), output=True))
    note = f"the contract of {type(model).__name__}.{fn.__name__}'s @contract annotations"
    return c.replace(slots=tuple(slots), complete=False, prepare=None, guessed=False,
                     notes=(note, *c.notes))
