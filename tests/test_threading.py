"""Bindings belong to one call: threads, asyncio tasks and recursion never share them."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from shapecontract import Array, Float, ShapeContractError, contract


@contract
def slow_identity(x: Float[Array, "n"], barrier: object) -> Float[Array, "n"]:
    if isinstance(barrier, threading.Barrier):
        barrier.wait()  # both threads are inside, with different n, at the same time
    return x


def test_threads_do_not_see_each_others_bindings() -> None:
    """Two threads inside the same function at once, each with its own n, both pass."""
    barrier = threading.Barrier(2)
    with ThreadPoolExecutor(2) as pool:
        futs = [pool.submit(slow_identity, np.zeros(n), barrier) for n in (3, 7)]
        shapes = [f.result(timeout=10).shape for f in futs]
    assert shapes == [(3,), (7,)]


def test_many_threads_mixed_good_and_bad() -> None:
    """Under concurrency, exactly the bad calls raise."""
    @contract
    def f(x: Float[Array, "n"], y: Float[Array, "n"]) -> Float[Array, "n"]:
        return y

    def call(i: int) -> bool:
        n = 2 + i % 5
        try:
            f(np.zeros(n), np.zeros(n + (i % 3 == 0)))
            return True
        except ShapeContractError:
            return False

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(call, range(400)))
    assert results == [i % 3 != 0 for i in range(400)]


def test_asyncio_tasks_interleaved() -> None:
    """Interleaved tasks bind their own dims across awaits; the return is checked per task."""
    @contract
    async def step(x: Float[Array, "n"], delay: float) -> Float[Array, "n"]:
        await asyncio.sleep(delay)
        return x

    async def main() -> list[int]:
        outs = await asyncio.gather(*(step(np.zeros(n), 0.01 * (5 - n)) for n in range(1, 5)))
        return [o.shape[0] for o in outs]

    assert asyncio.run(main()) == [1, 2, 3, 4]
