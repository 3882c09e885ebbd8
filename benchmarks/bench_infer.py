"""What recording costs a run: per-call overhead of `infer.record` on a small function.

Compared in one run (interleaved rounds, medians), on `scale(x) -> x * 2` with a (24, 3)
float32 numpy array:
  bare      the function (baseline)
  contract  the same function under @contract (the check the annotations will add)
  recorded  the function while `infer.record(scale)` is active

Reported: medians, overheads over bare, and overhead(recorded) / overhead(contract). Also the
one-off costs: entering the recording (finding every reference in loaded modules) and
`annotations()` after 10,000 calls.

Run: .venv/bin/python benchmarks/bench_infer.py [--quick]
"""

from __future__ import annotations

import os
import statistics
import sys
import timeit
import types

import numpy as np

from shapecontract import Array, Float, contract, infer

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK")) or "--quick" in sys.argv
REPEATS = 3 if QUICK else 21
ROUNDS = 1 if QUICK else 5
NUMBER = 500 if QUICK else 5000

mod = types.ModuleType("bench_infer_pipeline")
sys.modules[mod.__name__] = mod
exec(  # a module-level function, as users record them
    "def scale(x):\n    return x * 2\n", mod.__dict__)


@contract
def scale_checked(x: Float[Array, "n features"]) -> Float[Array, "n features"]:
    return x * 2


def main() -> None:
    x = np.ones((24, 3), dtype=np.float32)
    times: dict[str, list[float]] = {"bare": [], "contract": [], "recorded": []}
    rec = infer.record(mod.scale)
    for _ in range(ROUNDS):
        for name in times:
            if name == "recorded":
                rec.__enter__()
            # for "recorded", mod.scale is now the recording's wrapper
            fn = scale_checked if name == "contract" else mod.scale
            runs = timeit.repeat(lambda fn=fn: fn(x), number=NUMBER, repeat=REPEATS)
            times[name] += [r / NUMBER * 1e6 for r in runs]
            if name == "recorded":
                rec.__exit__(None, None, None)
    med = {k: statistics.median(v) for k, v in times.items()}
    over = {k: med[k] - med["bare"] for k in ("contract", "recorded")}
    print(f"per call, medians of {ROUNDS} rounds x {REPEATS} repeats x {NUMBER} calls (us):")
    for k in times:
        extra = f"  overhead {over[k]:.2f}" if k in over else ""
        print(f"  {k:9s} {med[k]:.2f}{extra}")
    print(f"  overhead(recorded) / overhead(contract) = {over['recorded'] / over['contract']:.1f}x")

    enter = timeit.repeat(lambda: infer.record(mod.scale).__enter__().__exit__(None, None, None),
                          number=1, repeat=REPEATS)
    print(f"entering + leaving a recording ({len(sys.modules)} modules loaded): "
          f"{statistics.median(enter) * 1e3:.2f} ms")
    rec = infer.record(mod.scale)
    with rec:
        for i in range(10_000):
            mod.scale(np.ones((i % 50 + 1, 3), np.float32))
    solve = timeit.repeat(rec.annotations, number=1, repeat=REPEATS)
    print(f"annotations() after 10,000 calls ({len(rec._target('scale').calls)} distinct): "
          f"{statistics.median(solve) * 1e3:.2f} ms -> {rec.annotations()['scale']}")


if __name__ == "__main__":
    main()
