"""JAX arrays (layer L6): numpy-like, written with `jnp`. Registered with `backends` when this
package is imported."""

from __future__ import annotations

import sys
from typing import Any

from ...backends import Backend, register_backend

__all__ = ["JaxBackend"]


class JaxBackend(Backend):
    name = module = "jax"
    owners = ("jax", "jaxlib")  # jax.Array's shape and dtype are defined in jaxlib
    json_names = (("jax", "jax", "Array", "Array"),)
    internal = ("jax",)

    def array_types(self) -> tuple[type, ...]:
        return (sys.modules["jax"].Array,)

    def expand(self, var: str, axis: int) -> str:
        return f"jnp.expand_dims({var}, {axis})"

    def squeeze(self, var: str, axis: int) -> str:
        return f"jnp.squeeze({var}, axis={axis})"

    def permute(self, var: str, perm: tuple[int, ...]) -> str:
        return f"jnp.transpose({var}, {perm})"

    def cast(self, var: str, dtype: str) -> str:
        return f"{var}.astype(jnp.{dtype})"

    def _np(self, x: Any) -> Any:
        return sys.modules["jax"].numpy

    def do_one_hot(self, x: Any, classes: int) -> Any:
        return sys.modules["jax"].nn.one_hot(x, classes)


register_backend(JaxBackend())
