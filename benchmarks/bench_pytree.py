"""Per-call cost of a `PyTree[...]` annotation: shapecontract's check (the slow path: pytrees
have no generated fast path) against jaxtyping+beartype's on the same function and tree, as a
same-run ratio. Run: .venv/bin/python benchmarks/bench_pytree.py"""

from __future__ import annotations

import statistics
import timeit

import jax.numpy as jnp
from beartype import beartype
from jaxtyping import Array, Float, PyTree, jaxtyped

import shapecontract as sc


@sc.contract
def ours(t: PyTree[Float[Array, "n"]]) -> None:
    return None


@jaxtyped(typechecker=beartype)
def theirs(t: PyTree[Float[Array, "n"]]) -> None:
    return None


def bare(t: object) -> None:
    return None


def main() -> None:
    tree = {"a": jnp.zeros(3), "b": [jnp.zeros(3), jnp.zeros(3)], "c": (jnp.zeros(3),)}
    n = 2000
    medians = {}
    for name, fn in (("bare", bare), ("shapecontract", ours), ("jaxtyping+beartype", theirs)):
        fn(tree)
        runs = timeit.repeat(lambda fn=fn: fn(tree), number=n, repeat=7)
        medians[name] = statistics.median(runs) / n * 1e6
    for name, us in medians.items():
        print(f"{name:20s} {us:8.2f} us/call")
    print(f"jaxtyping+beartype / shapecontract = {medians['jaxtyping+beartype'] / medians['shapecontract']:.1f}x")


if __name__ == "__main__":
    main()
