"""Per-element overhead of guarded streams, against the same stream unguarded, in one run.

1. A generator yielding 100k ready-made (x, y) numpy batches (the guard's cost, isolated).
2. A torch DataLoader over a TensorDataset, batch_size=32, 100k batches (the realistic case;
   target: overhead under 2%), and the same DataLoader with the same conditions checked by a
   hand-written loop (the floor: what reading the two tensors' shapes costs in this loop).
Each variant runs ROUNDS times, interleaved; medians. Both guarded variants really check:
a bad element is caught before timing starts.

Run: .venv/bin/python benchmarks/bench_streams.py [--markdown]
"""

import os
import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from shapecontract import Array, Float, ShapeContractError, guard

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
N = 2_000 if QUICK else 100_000
ROUNDS = 1 if QUICK else 5
SPEC = tuple[Float[Array, "batch features"], Float[Array, "batch 1"]]


def drain(it: Any) -> int:
    n = 0
    for _ in it:
        n += 1
    return n


def timed(fn: Any) -> float:
    t = time.perf_counter()
    n = fn()
    assert n == N, n
    return time.perf_counter() - t


def main() -> None:
    import torch
    import torch.utils.data

    x, y = np.zeros((32, 8), np.float32), np.zeros((32, 1), np.float32)

    def gen() -> Iterator[Any]:
        for _ in range(N):
            yield x, y

    tx, ty = torch.zeros(32, 8), torch.zeros(32, 1)

    def tgen() -> Iterator[Any]:  # what a DataLoader yields, without the DataLoader's cost
        for _ in range(N):
            yield tx, ty

    ds = torch.utils.data.TensorDataset(torch.zeros(N * 32, 8), torch.zeros(N * 32, 1))

    def loader() -> Any:
        return torch.utils.data.DataLoader(ds, batch_size=32)

    # the guards really check
    for make in (lambda: guard(iter([(x, y[:3])]), SPEC), lambda: guard(
            torch.utils.data.DataLoader(torch.utils.data.TensorDataset(
                torch.zeros(4, 8), torch.zeros(4, 2)), batch_size=2), SPEC)):
        try:
            drain(make())
            raise AssertionError("a guard let a bad element through: the benchmark is void")
        except ShapeContractError:
            pass

    def handwritten(dl: Any) -> Iterator[Any]:  # the floor: the same conditions, by hand
        for b in dl:
            bx, by = b
            sx, sy = bx.shape, by.shape
            if not (bx.dtype.is_floating_point and by.dtype.is_floating_point and len(sx) == 2
                    and len(sy) == 2 and sy[0] == sx[0] and sy[1] == 1):
                raise ValueError("bad batch")
            yield b

    variants = {
        "generator": lambda: drain(gen()),
        "generator, guarded": lambda: drain(guard(gen(), SPEC)),
        "generator of torch batches": lambda: drain(tgen()),
        "generator of torch batches, guarded": lambda: drain(guard(tgen(), SPEC)),
        "DataLoader": lambda: drain(loader()),
        "DataLoader, guarded": lambda: drain(guard(loader(), SPEC)),
        "DataLoader, handwritten": lambda: drain(handwritten(loader())),
    }
    samples: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            samples[name].append(timed(fn))
    med = {k: statistics.median(v) for k, v in samples.items()}
    rows = []
    for base in ("generator", "generator of torch batches", "DataLoader"):
        b, g = med[base], med[f"{base}, guarded"]
        rows.append((base, b / N * 1e6, g / N * 1e6, (g - b) / N * 1e6, (g - b) / b * 100))
    b, h = med["DataLoader"], med["DataLoader, handwritten"]
    rows.append(("DataLoader (hand-written check, the floor)", b / N * 1e6, h / N * 1e6,
                 (h - b) / N * 1e6, (h - b) / b * 100))
    if "--markdown" in sys.argv:
        print("| stream (100k batches of 32) | unguarded (us/element) | guarded (us/element) "
              "| overhead (us/element) | overhead (%) |")
        print("|---|---|---|---|---|")
        for r in rows:
            print(f"| {r[0]} | {r[1]:.2f} | {r[2]:.2f} | {r[3]:.2f} | {r[4]:.1f}% |")
    else:
        for r in rows:
            print(f"{r[0]}: unguarded {r[1]:.2f} us/element, guarded {r[2]:.2f}, "
                  f"overhead {r[3]:.2f} us ({r[4]:.1f}%)")


if __name__ == "__main__":
    main()
