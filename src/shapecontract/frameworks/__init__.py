"""Framework adapters: a model's contract from its own metadata, and guarded entry points.

Design rules:
- Each adapter module imports its framework; this package imports none of them. Dispatch looks
  only at frameworks already in `sys.modules` (a model of theirs can exist only then).
- An adapter's only output is a `Contract` (plus, for the `framework` level, the framework's own
  verdict on shapes); checking and explaining are the core's.
"""

from __future__ import annotations

from typing import Any

from .._contract import Contract

__all__ = ["contract_of"]

LEVELS = ("strict", "framework")


def _check_level(level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level={level!r} is not a level; valid levels are: {', '.join(LEVELS)}")


def contract_of(model: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The contract a Keras 3 or PyTorch model (or layer) states through its own metadata.

    `level="strict"` (default) enforces every dim the model declares; `level="framework"` keeps
    only the dims the framework itself enforces. `input_shape` (torch) declares the input of a
    custom module, e.g. `(None, 24, 3)`, for propagation on fake tensors.
    """
    _check_level(level)
    from . import keras as kadapter

    if kadapter.is_keras(model):
        return kadapter.contract_of_keras(model, level)
    from . import torch as tadapter

    if tadapter.is_torch_module(model):
        return tadapter.contract_of_torch(model, level, input_shape)
    raise TypeError(f"contract_of: {type(model).__name__} is neither a Keras layer/model nor a "
                    "torch.nn.Module")
