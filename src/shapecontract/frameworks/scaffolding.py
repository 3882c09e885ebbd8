"""How a layer kind is written in the other framework by `port.scaffold` (layer L6, no framework).

Design rules:
- A kind's `scaffold` is plain data: `KerasScaffold` (a Keras kind written as torch code: its
  writer, and a check of its options run before any code is written) and `TorchScaffold` (a
  torch kind written as Keras code: its writer, or why it cannot be written, and what the
  emitter asks of it: does it keep the shape or the layout, is it a map, does it fix the
  input, which Keras activation it is).
- Writers take the emitter (`port.scaffold`'s writer state) and the layer; they are in
  `keras/scaffold.py` and `torch/scaffold.py`. The helpers here write sizes and floats as code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["KerasScaffold", "TorchScaffold", "code_float", "code_size", "refuse", "to_first",
           "to_last"]


@dataclass(frozen=True)
class KerasScaffold:
    """How the scaffold writes a Keras layer of this kind as torch code."""

    write: Callable[[Any, Any], None]
    """`write(emitter, layer)`: the `__init__` and `forward` lines of the layer."""
    precheck: Callable[[Any], None] | None = None
    """Raises ValueError when an option of the layer cannot be ported (run on every layer
    before any code is written)."""


@dataclass(frozen=True)
class TorchScaffold:
    """How the scaffold writes a torch module of this kind as Keras code."""

    write: Callable[[Any, str, Any], None] | None = None
    """`write(emitter, label, module)`; None: it cannot be written (`refuse` says why)."""
    refuse: str = ""
    activation: Callable[[Any], str | None] | None = None
    """The Keras activation string the module is (None for a form Keras has no string for)."""
    keeps_shape: bool = False
    """It keeps the shape and layout (activations, dropout): it does not fix the input shape,
    and a Flatten's Dense is found past it."""
    keeps_layout: bool = False
    """It keeps the layout (with BatchNorm): a Flatten's map is found past it."""
    is_map: bool = False
    """Its Keras port has a channels_last map layout (convs, pooling)."""
    channels_first: bool = False
    """As the first paired module of the input's rank, the torch model takes channels first
    (a conv)."""
    reorders: bool = False
    """A Flatten of a map right before it is reordered by `transfer_weights` (a Linear)."""
    integer_input: bool = False
    """It takes integer ids (an Embedding first: the Keras input is int32)."""
    input_fixed: Callable[[Any], tuple[int | None, ...]] | None = None
    """As the first module, what it says of the Keras input (None: `input_shape` needed)."""


def code_size(values: Sequence[int]) -> str:
    """`3` for (3,) or (3, 3); `(3, 5)` otherwise (torch and Keras accept both)."""
    vals = tuple(int(v) for v in values)
    return str(vals[0]) if len(set(vals)) == 1 else str(vals)


def code_float(x: float) -> str:
    return repr(float(f"{float(x):.12g}"))


def to_first(rank: int) -> tuple[int, ...]:
    """The permutation moving the last axis to axis 1 (NHWC -> NCHW)."""
    return (0, rank - 1, *range(1, rank - 1))


def to_last(rank: int) -> tuple[int, ...]:
    """The permutation moving axis 1 last (NCHW -> NHWC)."""
    return (0, *range(2, rank), 1)


def refuse(obj: Any, label: str, why: str) -> ValueError:
    """The scaffold's refusal of one layer or module, naming it."""
    return ValueError(f"{type(obj).__name__} '{label}': {why}")
