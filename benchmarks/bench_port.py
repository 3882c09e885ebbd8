"""What a port check costs, against running the two models once, in one run.

The Keras forecaster of the porting tutorial (Conv1D, bidirectional GRU, Dense) and its torch
port. Baselines: one torch forward on the probe batch (no grad), and one Keras call plus one
torch forward (what any hand-written equivalence check does). Measured: `compare` (layer checks,
the contracts on meta tensors, up to two traced forwards) and `assert_equivalent` on a port that
agrees, and on one that does not (the divergence walk and the experiments of its diagnosis).
Each variant runs ROUNDS times, interleaved; medians, and ratios to the baselines.

Run: .venv/bin/python benchmarks/bench_port.py [--markdown]
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))

import numpy as np
import torch

from shapecontract.port import PortMismatch, assert_equivalent, compare, transfer_weights

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
ROUNDS = 3 if QUICK else 15


def main(markdown: bool) -> None:
    import porting_tutorial as tutorial

    km = tutorial.keras_forecaster()
    tutorial.randomize(km)
    good = tutorial.FinalStates(batch_first=True)
    transfer_weights(km, good)
    bad = tutorial.FinalStates(batch_first=True)
    tutorial.copy_by_hand(km, bad)  # the GRU gates left in Keras order
    x = np.random.default_rng(0).standard_normal((2, 24, 3)).astype("float32")

    def torch_forward() -> None:
        with torch.no_grad():
            good(torch.as_tensor(x))

    def both_models() -> None:
        np.asarray(km(x, training=False))
        torch_forward()

    def diagnosed() -> None:
        try:
            assert_equivalent(km, bad)
        except PortMismatch as e:
            assert e.report.first_divergence.diagnosis.cause == "gate order"
        else:
            raise AssertionError("the bad port passed")

    variants: dict[str, Callable[[], Any]] = {
        "torch forward (baseline)": torch_forward,
        "Keras call + torch forward (baseline)": both_models,
        "compare": lambda: compare(km, good),
        "assert_equivalent, agrees": lambda: assert_equivalent(km, good),
        "assert_equivalent, diagnosed": diagnosed,
    }
    for fn in variants.values():  # warm up (graph tracing, caches)
        fn()
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(ROUNDS):
        for name, fn in variants.items():
            t = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t)
    med = {k: statistics.median(v) for k, v in times.items()}
    base1, base2 = med["torch forward (baseline)"], med["Keras call + torch forward (baseline)"]
    rows = [(k, v, v / base1, v / base2) for k, v in med.items()]
    if markdown:
        print("| variant | median | / torch forward | / Keras + torch |\n|---|---|---|---|")
        for k, v, r1, r2 in rows:
            print(f"| {k} | {v * 1e3:.2f} ms | {r1:.2g}x | {r2:.2g}x |")
    else:
        for k, v, r1, r2 in rows:
            print(f"{k:40s} {v * 1e3:8.2f} ms  {r1:7.2g}x torch forward  {r2:6.2g}x both models")


if __name__ == "__main__":
    main("--markdown" in sys.argv)
