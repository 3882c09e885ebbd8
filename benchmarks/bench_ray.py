"""validate() on a Ray Data dataset (a local cluster, `ray.init(num_cpus=2)`) against
`validate(workers=2)` and one process, and its overhead against a hand-written `map_batches`
check of the same conditions; all in one run, as ratios of medians.

1. Scale-out: 600 windows (24, 3) float32, each "read" in 4 ms (as bench_validate.py): one
   process, `validate(workers=2)` (DataLoader workers), and Ray (a `map_batches` that reads,
   then the checker in `map_batches` on every block). Rows per second and same-run ratios.
   Every variant reports the two bad rows planted in the data. Also Ray's reading alone (the
   same pipeline with an empty `map_batches`): what Ray costs without any check.
2. Overhead: the same conditions (rank 2, 3 features, float32) checked by a hand-written
   `map_batches` function and by `validate`, over a materialized dataset (no reading), as
   dense blocks (200,000 rows: one ndarray per block) and as ragged rows (20,000 rows of 20-27
   timesteps: one array per row). Also an empty `map_batches` (Ray's own cost).

Run: .venv/bin/python benchmarks/bench_ray.py [--markdown]
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from shapecontract import Array, Float, validate

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
N = 60 if QUICK else 600
ROUNDS = 1 if QUICK else 5
DENSE = 20_000 if QUICK else 200_000
RAGGED = 2_000 if QUICK else 20_000
SPEC = Float[Array, "t 3"]
BAD = (7, N - 3)


def window(i: int) -> np.ndarray:
    return np.zeros((24, 2 if i in BAD else 3), np.float32)


class Files:
    """A map-style dataset that 'reads a file' per element (4 ms), as bench_validate.py."""

    def __len__(self) -> int:
        return N

    def __getitem__(self, i: int) -> Any:
        if i >= N:
            raise IndexError(i)
        time.sleep(0.004)
        return window(i)


def read_block(batch: dict[str, Any]) -> dict[str, Any]:
    """Ray's reading of the same rows: 4 ms per row, one window each (ragged: 2 bad rows)."""
    out = []
    for i in batch["id"]:
        time.sleep(0.004)
        out.append(window(int(i)))
    col = np.empty(len(out), dtype=object)
    col[:] = out
    return {"x": col}


def timed(fn: Callable[[], Any]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def scale_out(ray: Any) -> dict[str, float]:
    ds = ray.data.range(N, override_num_blocks=8).map_batches(read_block, batch_size=None)

    def one() -> None:
        assert [i for i, _ in validate(Files(), SPEC, progress=False).failures] == list(BAD)

    def two() -> None:
        assert [i for i, _ in validate(Files(), SPEC, workers=2).failures] == list(BAD)

    def on_ray() -> None:
        r = validate(ds, SPEC, progress=False)
        assert [i for i, _ in r.failures] == list(BAD), r

    def pipeline_only() -> None:
        assert _consume(ds.map_batches(empty, batch_size=None)) == N

    times: dict[str, list[float]] = {"1 process": [], "validate(workers=2)": [],
                                     "Ray Data, num_cpus=2": [],
                                     "Ray Data, same reading, no check": []}
    for _ in range(ROUNDS):
        times["1 process"].append(timed(one))
        times["validate(workers=2)"].append(timed(two))
        times["Ray Data, num_cpus=2"].append(timed(on_ray))
        times["Ray Data, same reading, no check"].append(timed(pipeline_only))
    return {k: statistics.median(v) for k, v in times.items()}


def _consume(ds: Any) -> int:
    n = 0
    for b in ds.iter_batches(batch_size=None, batch_format="numpy"):
        n += int(np.sum(b["n"]))
    return n


def empty(batch: dict[str, Any]) -> dict[str, Any]:
    col = next(iter(batch.values()))
    return {"n": np.array([len(col)])}


def by_hand_dense(batch: dict[str, Any]) -> dict[str, Any]:
    """The same conditions, written by hand for a block that is one ndarray."""
    x = batch["data"]
    ok = x.ndim == 3 and x.shape[2] == 3 and x.dtype == np.float32
    return {"n": np.array([len(x)]), "bad": np.array([0 if ok else len(x)])}


def by_hand_ragged(batch: dict[str, Any]) -> dict[str, Any]:
    """The same conditions, by hand, row by row (a column of arrays of different lengths)."""
    bad = [i for i, x in enumerate(batch["x"])
           if not (x.ndim == 2 and x.shape[1] == 3 and x.dtype == np.float32)]
    return {"n": np.array([len(batch["x"])]), "bad": np.array([len(bad)])}


def overhead(ray: Any) -> dict[str, dict[str, float]]:
    dense = ray.data.from_numpy(np.zeros((DENSE, 24, 3), np.float32)).repartition(20)
    dense = dense.materialize()
    rng = np.random.default_rng(0)
    rows = [{"x": np.zeros((20 + int(rng.integers(8)), 3), np.float32)} for _ in range(RAGGED)]
    ragged = ray.data.from_items(rows, override_num_blocks=20).materialize()
    out: dict[str, dict[str, float]] = {}
    for name, ds, by_hand, n in (("dense", dense, by_hand_dense, DENSE),
                                 ("ragged", ragged, by_hand_ragged, RAGGED)):
        times: dict[str, list[float]] = {"empty map_batches": [], "by hand": [],
                                         "validate": []}
        for _ in range(ROUNDS):
            times["empty map_batches"].append(timed(
                lambda ds=ds: _consume(ds.map_batches(empty, batch_size=None))))
            times["by hand"].append(timed(
                lambda ds=ds, f=by_hand: _consume(ds.map_batches(f, batch_size=None))))
            times["validate"].append(timed(
                lambda ds=ds, n=n: validate(ds, SPEC, progress=False).elements == n or 1 / 0))
        out[name] = {k: statistics.median(v) for k, v in times.items()}
        out[name]["rows"] = n
    return out


def main(markdown: bool) -> None:
    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="ERROR")
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = False
    ctx.print_on_execution_start = False
    try:
        med = scale_out(ray)
        over = overhead(ray)
    finally:
        ray.shutdown()
    base = med["1 process"]
    if markdown:
        print(f"| variant ({N} windows, 4 ms read each) | median | rows/s | vs 1 process |")
        print("|---|---|---|---|")
        for k, v in med.items():
            print(f"| {k} | {v:.2f} s | {N / v:,.0f} | {base / v:.2f}x |")
        print(f"\nRay against validate(workers=2): "
              f"{med['validate(workers=2)'] / med['Ray Data, num_cpus=2']:.2f}x\n")
        print("| rows | empty map_batches | hand-written check | validate | validate / by hand "
              "| validate - by hand, per row |")
        print("|---|---|---|---|---|---|")
        for name, m in over.items():
            per_row = (m["validate"] - m["by hand"]) / m["rows"] * 1e6
            print(f"| {m['rows']:,.0f} {name} | {m['empty map_batches']:.3f} s | "
                  f"{m['by hand']:.3f} s | {m['validate']:.3f} s | "
                  f"{m['validate'] / m['by hand']:.2f}x | {per_row:.2f} us |")
    else:
        for k, v in med.items():
            print(f"{k:22s} {v:6.2f} s  {N / v:8,.0f} rows/s  {base / v:.2f}x")
        print(f"Ray vs workers=2: {med['validate(workers=2)'] / med['Ray Data, num_cpus=2']:.2f}x")
        for name, m in over.items():
            print(f"{name}: empty {m['empty map_batches']:.3f} s, by hand {m['by hand']:.3f} s, "
                  f"validate {m['validate']:.3f} s: {m['validate'] / m['by hand']:.2f}x")


if __name__ == "__main__":
    main("--markdown" in sys.argv)
