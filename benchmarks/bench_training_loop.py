"""A guarded training loop against the same loop unguarded, in one run (issue 18: target 1.05x).

PyTorch (CPU, one thread): a DataLoader of (x, y) batches (TensorDataset, batch 32, default
collate) -> LSTM(8, 32, batch_first=True) classifier -> CrossEntropyLoss -> Adam, one epoch of
64 batches. Variants, interleaved round by round, each on its own copy of the same model:
  bare      the loop as a tutorial writes it
  guarded   the same loop with `guard(model)`, `guard(loss)` and `guard(loader, spec)`
  model     only the model guarded; `loss` only the loss; `loader` only the loader
Keras (TensorFlow backend): `model.fit(x, y, batch_size=32, epochs=1)` of an LSTM regressor,
bare and guarded (a guard checks x and y once per fit call, before Keras runs).

Reported: the median time of each variant over ROUNDS rounds and its ratio to bare, measured
in the same run (absolute times vary with the machine; the ratios are the figure).

Run: .venv/bin/python benchmarks/bench_training_loop.py [--quick] [--markdown]
"""

import copy
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK")) or "--quick" in sys.argv
ROUNDS = 3 if QUICK else 11
BATCHES = 16 if QUICK else 64


def _median_ratio(times: dict[str, list[float]]) -> dict[str, tuple[float, float]]:
    base = statistics.median(times["bare"])
    return {k: (statistics.median(v) * 1e3, statistics.median(v) / base) for k, v in times.items()}


def torch_loop() -> dict[str, tuple[float, float]]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, TensorDataset

    import shapecontract as sc
    from shapecontract import Float, Int64

    torch.set_num_threads(1)
    torch.manual_seed(0)
    x = torch.randn(32 * BATCHES, 12, 8)
    y = torch.randint(0, 4, (32 * BATCHES,))

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(8, 32, batch_first=True)
            self.head = nn.Linear(32, 4)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    base = Classifier()
    spec = tuple[Float[sc.Array, "batch 12 8"], Int64[sc.Array, "batch"]]

    def setup(guard_model: bool, guard_loss: bool, guard_loader: bool) -> Callable[[], None]:
        model = copy.deepcopy(base)
        loss_fn: Any = nn.CrossEntropyLoss()
        loader: Any = DataLoader(TensorDataset(x, y), batch_size=32)
        if guard_model:
            model = sc.guard(model)
        if guard_loss:
            loss_fn = sc.guard(loss_fn)
        if guard_loader:
            loader = sc.guard(loader, spec)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)

        def epoch() -> None:
            for xb, yb in loader:
                opt.zero_grad()
                loss_fn(model(xb), yb).backward()
                opt.step()
        return epoch

    variants = {"bare": setup(False, False, False), "guarded": setup(True, True, True),
                "model": setup(True, False, False), "loss": setup(False, True, False),
                "loader": setup(False, False, True)}
    for run in variants.values():
        run()  # warm up (compiles the checkers, learns the types)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(ROUNDS):
        for k, run in variants.items():
            t = time.process_time()
            run()
            times[k].append(time.process_time() - t)
    return _median_ratio(times)


def keras_fit() -> dict[str, tuple[float, float]]:
    import keras
    import numpy as np

    import shapecontract as sc

    x = np.random.default_rng(0).standard_normal((32 * BATCHES, 24, 3)).astype("float32")
    y = np.zeros((32 * BATCHES, 1), "float32")

    def model() -> Any:
        m = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)])
        m.compile(loss="mse", optimizer="adam")
        return m

    variants = {"bare": model(), "guarded": sc.guard(model())}
    for m in variants.values():
        m.fit(x, y, batch_size=32, epochs=1, verbose=0)
    times: dict[str, list[float]] = {k: [] for k in variants}
    for _ in range(ROUNDS):
        for k, m in variants.items():
            t = time.process_time()
            m.fit(x, y, batch_size=32, epochs=1, verbose=0)
            times[k].append(time.process_time() - t)
    return _median_ratio(times)


def main() -> None:
    rows = [("PyTorch loop", k, ms, r) for k, (ms, r) in torch_loop().items()]
    rows += [("Keras fit", k, ms, r) for k, (ms, r) in keras_fit().items()]
    if "--markdown" in sys.argv:
        print("| loop | variant | median CPU ms / epoch | ratio to bare |\n|---|---|---|---|")
        for loop, k, ms, r in rows:
            print(f"| {loop} | {k} | {ms:.1f} | {r:.3f}x |")
        return
    for loop, k, ms, r in rows:
        print(f"{loop:13s} {k:8s} {ms:9.1f} ms  {r:.3f}x")


if __name__ == "__main__":
    main()
