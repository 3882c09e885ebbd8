"""Keras symbolic tensors (layer L6): what a functional model is built from, checked by their
known dims. Registered with `backends` after TensorFlow's tensors."""

from __future__ import annotations

import sys

from ...backends import Backend, register_backend

__all__ = ["KerasSymbolicBackend"]


class KerasSymbolicBackend(Backend):
    """Keras symbolic tensors (`keras.Input(...)`, a KerasTensor while a functional model is
    built): checked by their known dims; unknown ones (None) never fail."""

    name = "keras"
    module = "keras"
    json_names = (("keras", "keras", "KerasTensor", "KerasTensor"),)
    internal = ("keras",)

    def array_types(self) -> tuple[type, ...]:
        return (sys.modules["keras"].KerasTensor,)

    def expand(self, var: str, axis: int) -> str:
        return f"keras.ops.expand_dims({var}, {axis})"

    def squeeze(self, var: str, axis: int) -> str:
        return f"keras.ops.squeeze({var}, axis={axis})"

    def permute(self, var: str, perm: tuple[int, ...]) -> str:
        return f"keras.ops.transpose({var}, {perm})"

    def cast(self, var: str, dtype: str) -> str:
        return f"keras.ops.cast({var}, '{dtype}')"

    def reshape(self, var: str, shape: tuple[int, ...]) -> str:
        return f"keras.ops.reshape({var}, {shape})"


register_backend(KerasSymbolicBackend())
