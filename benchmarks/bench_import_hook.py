"""What installing an import hook costs the rest of the process: its audit hook (PEP 578).

Once `install_import_hook` ran, every audited event (opening a file, `compile`, `exec`,
`sys._getframe`, so every `logging` call) calls the hook. Measured in one run: an audited call
(`sys._getframe()`) and an unaudited one (`len(())`) before and after the first install.
Reported: medians and the ratio after / before for each.

Run: .venv/bin/python benchmarks/bench_import_hook.py
"""

import os
import statistics
import sys
import timeit

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK"))
REPEATS = 3 if QUICK else 31
NUMBER = 2000 if QUICK else 200000


def audited() -> object:
    return sys._getframe(0)


def unaudited() -> object:
    return len(())


def median_ns(fn) -> float:  # type: ignore[no-untyped-def]
    return statistics.median(timeit.repeat(fn, number=NUMBER, repeat=REPEATS)) / NUMBER * 1e9


def main() -> None:
    before = {f.__name__: median_ns(f) for f in (audited, unaudited)}
    import shapecontract

    shapecontract.install_import_hook("no_such_package_for_the_benchmark").uninstall()
    after = {f.__name__: median_ns(f) for f in (audited, unaudited)}
    for k in before:
        print(f"{k}: before={before[k]:.0f} ns, after={after[k]:.0f} ns, "
              f"after/before = {after[k] / before[k]:.2f}x")


if __name__ == "__main__":
    main()
