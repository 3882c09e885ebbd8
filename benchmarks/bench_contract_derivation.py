"""Cost of deriving a model's contract, against one prediction on a single sample.

Models: a 50-layer Keras Sequential (Input((16,)) + 49 Dense(16) + Dense(1)) and a 50-module
torch nn.Sequential (25 x [Linear(16, 16), ReLU]). Baselines, measured in the same run:
Keras `model.predict(x, verbose=0)` and `model(x)` on one sample; torch `model(x)` under
`torch.no_grad()` on one sample. Reported: medians and ratios derive / baseline.

Run: .venv/bin/python benchmarks/bench_contract_derivation.py [--markdown]
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
from _timing import median_ms


def main() -> None:
    import keras
    import torch

    from shapecontract import contract_of

    km = keras.Sequential([keras.Input((16,))] + [keras.layers.Dense(16) for _ in range(49)]
                          + [keras.layers.Dense(1)])
    x = np.zeros((1, 16), np.float32)
    tm = torch.nn.Sequential(*[m for _ in range(25) for m in (torch.nn.Linear(16, 16), torch.nn.ReLU())])
    tx = torch.zeros(1, 16)

    def torch_forward() -> None:
        with torch.no_grad():
            tm(tx)

    rows = []
    k_derive = median_ms(lambda: contract_of(km))
    k_predict = median_ms(lambda: km.predict(x, verbose=0))
    k_call = median_ms(lambda: km(x))
    rows.append(("Keras, 50 layers", "contract_of(model)", k_derive, "model.predict(1 sample)", k_predict))
    rows.append(("Keras, 50 layers", "contract_of(model)", k_derive, "model(1 sample)", k_call))
    t_derive = median_ms(lambda: contract_of(tm))
    t_forward = median_ms(torch_forward)
    rows.append(("torch, 50 modules", "contract_of(model)", t_derive, "model(1 sample), no_grad", t_forward))
    # a stack that needs fake-tensor propagation (convolutions are not done by arithmetic)
    cm = torch.nn.Sequential(*[m for _ in range(25) for m in (
        torch.nn.Conv1d(16, 16, 3, padding=1), torch.nn.ReLU())])
    cx = torch.zeros(1, 16, 32)

    def conv_forward() -> None:
        with torch.no_grad():
            cm(cx)

    c_derive = median_ms(lambda: contract_of(cm))
    c_forward = median_ms(conv_forward)
    rows.append(("torch, 50 modules (Conv1d, fake tensors)", "contract_of(model)", c_derive,
                 "model(1 sample), no_grad", c_forward))
    assert len(contract_of(km).layers) == 50 and len(contract_of(tm).layers) == 50
    assert len(contract_of(cm).layers) == 50

    if "--markdown" in sys.argv:
        print("| model | derive (ms) | baseline | baseline (ms) | derive / baseline |")
        print("|---|---|---|---|---|")
        for model, _, d, base, b in rows:
            print(f"| {model} | {d:.2f} | {base} | {b:.2f} | {d / b:.2f}x |")
    else:
        for model, what, d, base, b in rows:
            print(f"{model}: {what} {d:.2f} ms; {base} {b:.2f} ms; ratio {d / b:.2f}x")


if __name__ == "__main__":
    main()
