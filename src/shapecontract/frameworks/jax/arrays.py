"""JAX arrays (layer L6): numpy-like, written with `jnp`. Registered with `backends` when this
package is imported."""

from __future__ import annotations

import sys
from typing import Any

from ..._errors import Attr
from ...backends import Backend, register_backend

__all__ = ["JaxBackend"]


class JaxBackend(Backend):
    name = module = "jax"
    owners = ("jax", "jaxlib")  # jax.Array's shape and dtype are defined in jaxlib
    json_names = (("jax", "jax", "Array", "Array"),)
    internal = ("jax",)

    def array_types(self) -> tuple[type, ...]:
        return (sys.modules["jax"].Array,)

    def tree_flatten(self, tree: Any, is_leaf: Any) -> tuple[list[tuple[tuple[Any, ...], str,
                                                                       Any]], Any] | None:
        jtu = sys.modules["jax"].tree_util
        pairs, structure = jtu.tree_flatten_with_path(tree, is_leaf=is_leaf)
        return [(tuple(_part(k) for k in path), jtu.keystr(path), leaf)
                for path, leaf in pairs], structure

    def tree_fits(self, tree_structure: Any, pieces: list[Any], how: str) -> bool:
        # as jaxtyping composes named structures (not `PyTreeDef.compose`: JAX bug #18218)
        jtu = sys.modules["jax"].tree_util
        named_tree: Any = 0
        for prev in pieces:
            prev_tree = jtu.tree_unflatten(prev, [0] * prev.num_leaves)
            named_tree = jtu.tree_map(lambda _, t=prev_tree: t, named_tree)
        named = jtu.tree_structure(named_tree)
        if how == "exact":
            return bool(tree_structure == named)
        dummy = jtu.tree_unflatten(tree_structure, [0] * tree_structure.num_leaves)
        if how == "prefix":
            try:
                jtu.tree_map(lambda _, __: 0,
                             jtu.tree_unflatten(named, [0] * named.num_leaves), dummy)
            except ValueError:
                return False
            return True

        def has_structure(x: Any) -> bool:
            return bool(jtu.tree_structure(x) == named)

        return all(has_structure(x) for x in jtu.tree_leaves(dummy, is_leaf=has_structure))

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


def _part(key: Any) -> Any:
    """One entry of a jax key path as a location part: an index, a dict key, an attribute."""
    for attr in ("idx", "key"):  # SequenceKey, DictKey, FlattenedIndexKey
        if hasattr(key, attr):
            k = getattr(key, attr)
            return k if type(k) in (int, str) else repr(k)
    if hasattr(key, "name"):  # GetAttrKey
        return Attr(key.name)
    return str(key)


register_backend(JaxBackend())
