"""What a new input shape costs a guarded torch model, in forwards of the same model, in one run.

A guarded module whose contract does not state every relation (a container, a custom module)
asks torch about each new input signature on fake tensors. Cases (CPU, one thread, no_grad):
  batch varies     a 20-Linear nn.Sequential fed batch sizes 2..201, one call each: guarded
                   time per call / bare time per call (torch's acceptance of a shape holds for
                   every batch size, so no fake pass after the first)
  length varies    a custom LSTM classifier fed sequence lengths 2..41: the same ratio (each
                   new length is one fake pass: not generalized, a Flatten after an RNN would
                   depend on it)
  guard a GRU      `guard()` of a custom 2-layer GRU model, in forwards of that model
  contract_of CNN  `contract_of` of an 82-module custom CNN (stem, 19 residual blocks, head),
                   warm (torch's fake-tensor modules already imported), in forwards of it

Medians over ROUNDS rounds of CPU time (`time.process_time`); ratios, not milliseconds, are
the figures. Run: .venv/bin/python benchmarks/bench_new_shapes.py [--quick]
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

QUICK = bool(os.environ.get("SHAPECONTRACT_BENCH_QUICK")) or "--quick" in sys.argv
ROUNDS = 1 if QUICK else 5


def _cpu(fn: Callable[[], Any]) -> float:
    t = time.process_time()
    fn()
    return time.process_time() - t


def _median(fn: Callable[[], Any]) -> float:
    return statistics.median(_cpu(fn) for _ in range(ROUNDS))


def main() -> None:
    import torch
    from torch import nn

    import shapecontract as sc

    torch.set_num_threads(1)

    class Classifier(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 3)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    class GRUModel(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.gru = nn.GRU(5, 16, 2, batch_first=True)
            self.fc = nn.Linear(16, 1)

        def forward(self, x: Any) -> Any:
            out, _ = self.gru(x)
            return self.fc(out[:, -1, :])

    class Block(nn.Module):
        def __init__(self, c: int) -> None:
            super().__init__()
            self.conv = nn.Conv2d(c, c, 3, padding=1)
            self.bn = nn.BatchNorm2d(c)
            self.act = nn.ReLU()

        def forward(self, x: Any) -> Any:
            return self.act(self.bn(self.conv(x))) + x

    class CNN(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.stem = nn.Conv2d(3, 16, 3, padding=1)
            self.blocks = nn.Sequential(*[Block(16) for _ in range(19)])
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.flat = nn.Flatten()
            self.fc = nn.Linear(16, 10)

        def forward(self, x: Any) -> Any:
            return self.fc(self.flat(self.pool(self.blocks(self.stem(x)))))

    rows = []
    with torch.no_grad():
        def stack() -> Any:
            return nn.Sequential(*[nn.Linear(16, 16) for _ in range(20)]).eval()

        def feed(make: Callable[[], Any], sizes: range,
                 shape: Callable[[int], tuple[int, ...]]) -> float:
            """CPU time of one call per size on a fresh model (made and guarded untimed)."""
            times = []
            for _ in range(ROUNDS):
                m = make()
                m(torch.zeros(shape(sizes[0] - 1)))  # the first call: checkers compiled
                times.append(_cpu(lambda m=m: [m(torch.zeros(shape(n))) for n in sizes]))
            return statistics.median(times)

        sizes = range(2, 202)
        bare = feed(stack, sizes, lambda n: (n, 16))
        guarded = feed(lambda: sc.guard(stack()), sizes, lambda n: (n, 16))
        rows.append(("batch varies (20-Linear stack, 200 sizes)", guarded / bare, "x bare"))
        lengths = range(3, 43)
        bare = feed(lambda: Classifier().eval(), lengths, lambda n: (4, n, 8))
        guarded = feed(lambda: sc.guard(Classifier().eval()), lengths, lambda n: (4, n, 8))
        rows.append(("length varies (LSTM classifier, 40 lengths)", guarded / bare, "x bare"))
        x = torch.zeros(4, 10, 5)
        forward = _median(lambda: [GRUModel()(x) for _ in range(10)]) / 10
        rows.append(("guard() of a 2-layer GRU model", _median(lambda: sc.guard(GRUModel()))
                     / forward, "forwards"))
        cnn, img = CNN().eval(), torch.zeros(2, 3, 32, 32)
        sc.contract_of(CNN().eval())  # warm: torch's fake-tensor modules imported
        forward = _median(lambda: cnn(img))
        rows.append(("contract_of an 82-module CNN", _median(lambda: sc.contract_of(CNN().eval()))
                     / forward, "forwards"))
    for what, ratio, unit in rows:
        print(f"{what:48s} {ratio:8.2f} {unit}")


if __name__ == "__main__":
    main()
