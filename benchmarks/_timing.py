"""The timing every benchmark script shares: medians of repeated runs after a warm-up.

`SHAPECONTRACT_BENCH_QUICK=1` runs 3 repeats instead of 21 (a smoke run, not a measurement).
"""

import os
import statistics
import time

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
REPEATS = 3 if QUICK else 21


def median_ms(fn, repeats: int = REPEATS) -> float:  # type: ignore[no-untyped-def]
    """Median wall time of `fn()` in milliseconds, after one warm-up call."""
    fn()  # warm up
    samples = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples) * 1e3
