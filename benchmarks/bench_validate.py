"""validate() over DataLoader workers against one process, in one run.

A map-style dataset that 'reads a file' per element (4 ms of I/O wait, then a (24, 3) window)
is validated whole, by one process and by `workers=2` (this machine has 2 cores). Medians of
ROUNDS interleaved runs; the ratio is the speed-up. Both variants really check: each reports
the two bad elements planted in the data.

Run: .venv/bin/python benchmarks/bench_validate.py [--markdown]
"""

import os
import statistics
import sys
import time
from typing import Any

import numpy as np

from shapecontract import Array, Float, validate

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
N = 60 if QUICK else 600
ROUNDS = 1 if QUICK else 5
SPEC = tuple[Float[Array, "t 3"], Float[Array, "1"]]


class Files:
    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> Any:
        if i >= N:
            raise IndexError(i)
        time.sleep(0.004)  # reading and decoding a file
        return np.zeros((24, 2 if i in (7, N - 3) else 3), np.float32), np.zeros(1, np.float32)


def timed(workers: int | None) -> float:
    t = time.perf_counter()
    report = validate(Files(), SPEC, workers=workers)
    took = time.perf_counter() - t
    assert [i for i, _ in report.failures] == [7, N - 3], report
    return took


def main(markdown: bool) -> None:
    times: dict[str, list[float]] = {"1 process": [], "workers=2": []}
    for _ in range(ROUNDS):
        times["1 process"].append(timed(None))
        times["workers=2"].append(timed(2))
    med = {k: statistics.median(v) for k, v in times.items()}
    speedup = med["1 process"] / med["workers=2"]
    if markdown:
        print("| variant | median | speed-up |\n|---|---|---|")
        for k, v in med.items():
            print(f"| {k} ({N} elements) | {v:.2f} s | {med['1 process'] / v:.2f}x |")
    else:
        for k, v in med.items():
            print(f"{k:12s} {v:7.2f} s")
        print(f"speed-up of workers=2 over one process: {speedup:.2f}x")


if __name__ == "__main__":
    main("--markdown" in sys.argv)
