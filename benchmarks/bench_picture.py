"""Cost of drawing a picture, against deriving or printing the same thing as text.

Objects: a 50-layer Keras Sequential (Input((16,)) + 49 Dense(16) + Dense(1)) and a 50-module
torch nn.Sequential (25 x [Linear(16, 16), ReLU]), drawn from their contract; the seed 000
error (1 feature into Input((24, 3)), a guarded fit). Baselines, measured in the same run:
`contract_of(model)` (what `inspect` does before drawing), `contract.table()` and the
error's text (`str(err)`). Reported: medians and ratios picture / baseline.

Run: .venv/bin/python benchmarks/bench_picture.py [--markdown]
"""

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _timing import median_ms


def main() -> None:
    import keras
    import torch

    from shapecontract import ShapeContractError, contract_of, guard
    from shapecontract.picture import to_html, to_svg

    warnings.filterwarnings("ignore")
    km = keras.Sequential([keras.Input((16,))] + [keras.layers.Dense(16) for _ in range(49)]
                          + [keras.layers.Dense(1)])
    tm = torch.nn.Sequential(*[m for _ in range(25) for m in (torch.nn.Linear(16, 16), torch.nn.ReLU())])
    lstm = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(50), keras.layers.Dense(1)])
    lstm.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    try:
        guard(lstm).fit(rng.random((100, 24, 1)), rng.random((100, 1)), verbose=0)
        raise AssertionError("the seed scenario passed")
    except ShapeContractError as e:
        err = e

    rows = []
    for label, model in (("Keras, 50 layers", km), ("torch, 50 modules", tm)):
        c = contract_of(model)
        assert len(c.layers) == 50
        svg = median_ms(lambda c=c: to_svg(c))
        rows.append((label, "to_svg(contract)", svg, "contract_of(model)",
                     median_ms(lambda m=model: contract_of(m))))
        rows.append((label, "to_svg(contract)", svg, "contract.table()",
                     median_ms(lambda c=c: c.table())))
    rows.append(("seed 000 error", "to_svg(err)", median_ms(lambda: to_svg(err)), "str(err)",
                 median_ms(lambda: str(err))))
    rows.append(("seed 000 error", "to_html(err)", median_ms(lambda: to_html(err)), "str(err)",
                 median_ms(lambda: str(err))))

    if "--markdown" in sys.argv:
        print("| object | picture | picture (ms) | baseline | baseline (ms) | picture / baseline |")
        print("|---|---|---|---|---|---|")
        for obj, what, p, base, b in rows:
            print(f"| {obj} | {what} | {p:.3f} | {base} | {b:.3f} | {p / b:.1f}x |")
    else:
        for obj, what, p, base, b in rows:
            print(f"{obj}: {what} {p:.3f} ms; {base} {b:.3f} ms; ratio {p / b:.1f}x")


if __name__ == "__main__":
    main()
