"""Per-call overhead of @contract on a 3-array function ("b t f", "b t f", "b").

Compared in one run, per backend (numpy, torch):
  bare         the undecorated function (baseline)
  handwritten  a wrapper with the same checks written inline by hand (the floor)
  shapecontract  @contract
  jaxtyping    jaxtyping.jaxtyped(typechecker=beartype)

Overhead = median(variant) - median(bare). Reported: medians, overheads, and the ratios
overhead(shapecontract) / overhead(handwritten) (target <= 1.5) and
overhead(jaxtyping) / overhead(shapecontract).

Run: .venv/bin/python benchmarks/bench_call_overhead.py [--markdown]
"""



import os
import statistics
import sys
import timeit

import numpy as np
from beartype import beartype
from jaxtyping import Float as JFloat
from jaxtyping import jaxtyped

from shapecontract import Array, Float, contract

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
REPEATS = 3 if QUICK else 31
NUMBER = 200 if QUICK else 20000
ROUNDS = 1 if QUICK else 5


def make_variants(xp: str):  # type: ignore[no-untyped-def]
    if xp == "numpy":
        ArrT = np.ndarray
        x = np.zeros((8, 24, 3), dtype=np.float32)
        z = np.zeros((8,), dtype=np.float32)

        def is_float(a):  # type: ignore[no-untyped-def]
            return a.dtype.kind == "f"
    else:
        import torch

        ArrT = torch.Tensor
        x = torch.zeros((8, 24, 3))
        z = torch.zeros((8,))

        def is_float(a):  # type: ignore[no-untyped-def]
            return a.dtype.is_floating_point

    def bare(x, y, z):  # type: ignore[no-untyped-def]
        return z

    def handwritten(x, y, z):  # type: ignore[no-untyped-def]
        if not (isinstance(x, ArrT) and isinstance(y, ArrT) and isinstance(z, ArrT)
                and is_float(x) and is_float(y) and is_float(z)):
            raise TypeError("bad type or dtype")
        sx = x.shape
        if len(sx) != 3 or y.shape != sx:
            raise ValueError("bad shape")
        sz = z.shape
        if len(sz) != 1 or sz[0] != sx[0]:
            raise ValueError("bad shape")
        return bare(x, y, z)

    @contract
    def ours(x: Float[Array, "b t f"], y: Float[Array, "b t f"], z: Float[Array, "b"]):  # type: ignore[no-untyped-def]
        return z

    @jaxtyped(typechecker=beartype)
    def theirs(x: JFloat[ArrT, "b t f"], y: JFloat[ArrT, "b t f"], z: JFloat[ArrT, "b"]):  # type: ignore[no-untyped-def]
        return z

    variants = {"bare": bare, "handwritten": handwritten, "shapecontract": ours,
                "jaxtyping+beartype": theirs}
    # Every checking variant must really check: each rejects a mismatched batch.
    bad_z = z[:-1]
    for name, fn in variants.items():
        if name == "bare":
            continue
        try:
            fn(x, x, bad_z)
        except (TypeError, ValueError, Exception):
            pass
        else:
            raise AssertionError(f"{name} accepted a mismatched batch: the benchmark is void")
    return variants, (x, x, z)


def median_us(fn, args, number: int) -> float:  # type: ignore[no-untyped-def]
    fn(*args)  # warm up (and let the fast path learn the types)
    t = timeit.repeat(lambda: fn(*args), number=number, repeat=REPEATS)
    return statistics.median(t) / number * 1e6


def main() -> None:
    markdown = "--markdown" in sys.argv
    rows = []
    for xp in ("numpy", "torch"):
        variants, args = make_variants(xp)
        # interleave the measurements so machine noise hits every variant alike
        samples: dict[str, list[float]] = {k: [] for k in variants}
        for _ in range(ROUNDS):
            for name, fn in variants.items():
                n = NUMBER if name != "jaxtyping+beartype" else NUMBER // 20
                samples[name].append(median_us(fn, args, n))
        med = {k: statistics.median(v) for k, v in samples.items()}
        over = {k: med[k] - med["bare"] for k in med}
        rows.append((xp, med, over))
    if markdown:
        print("| backend | bare (us) | handwritten overhead (us) | shapecontract overhead (us) "
              "| jaxtyping+beartype overhead (us) | ours / handwritten | jaxtyping / ours |")
        print("|---|---|---|---|---|---|---|")
    for xp, med, over in rows:
        r_hand = over["shapecontract"] / over["handwritten"]
        r_jax = over["jaxtyping+beartype"] / over["shapecontract"]
        if markdown:
            print(f"| {xp} | {med['bare']:.3f} | {over['handwritten']:.3f} | "
                  f"{over['shapecontract']:.3f} | {over['jaxtyping+beartype']:.2f} | "
                  f"{r_hand:.2f}x | {r_jax:.0f}x |")
        else:
            print(f"{xp}: medians (us) " + ", ".join(f"{k}={v:.3f}" for k, v in med.items()))
            print(f"  overhead ours/handwritten = {r_hand:.2f}x (target <= 1.5x); "
                  f"jaxtyping+beartype/ours = {r_jax:.0f}x")


if __name__ == "__main__":
    main()
