"""What contract coverage costs a decorated call, inside and outside a coverage session.

Compared in one run (numpy, a 3-array function "b t f", "b t f", "b"):
  bare      the undecorated function (baseline)
  off       @contract, no coverage session (what every run outside `pytest --shapecontract` pays)
  counting  the same function during a coverage session (its counting code)

Overhead = median(variant) - median(bare). Reported: medians and
overhead(counting) / overhead(off) (the price of counting while the pytest plugin collects).
Outside a session the checker runs the very code object it had before coverage existed
(tests/test_pytest_plugin.py::test_counting_only_inside_a_session), so its cost is unchanged:
compare with bench_call_overhead.py before/after.

Run: .venv/bin/python benchmarks/bench_coverage.py
"""

import os
import statistics
import timeit

import numpy as np

from shapecontract import Array, Float, _coverage, contract

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
REPEATS = 3 if QUICK else 31
NUMBER = 200 if QUICK else 20000
ROUNDS = 1 if QUICK else 5


def bare(x, y, z):  # type: ignore[no-untyped-def]
    return z


@contract
def ours(x: Float[Array, "b t f"], y: Float[Array, "b t f"], z: Float[Array, "b"]):  # type: ignore[no-untyped-def]
    return z


def median_us(fn, args) -> float:  # type: ignore[no-untyped-def]
    fn(*args)
    t = timeit.repeat(lambda: fn(*args), number=NUMBER, repeat=REPEATS)
    return statistics.median(t) / NUMBER * 1e6


def main() -> None:
    x = np.zeros((8, 24, 3), dtype=np.float32)
    args = (x, x, np.zeros((8,), dtype=np.float32))
    samples: dict[str, list[float]] = {"bare": [], "off": [], "counting": []}
    for _ in range(ROUNDS):  # interleaved, so machine noise hits every variant alike
        samples["bare"].append(median_us(bare, args))
        samples["off"].append(median_us(ours, args))
        _coverage.start()
        try:
            samples["counting"].append(median_us(ours, args))
        finally:
            _coverage.stop()
    med = {k: statistics.median(v) for k, v in samples.items()}
    ratio = (med["counting"] - med["bare"]) / (med["off"] - med["bare"])
    print("medians (us) " + ", ".join(f"{k}={v:.3f}" for k, v in med.items()))
    print(f"  overhead counting/off = {ratio:.2f}x")


if __name__ == "__main__":
    main()
