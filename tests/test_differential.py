"""level='framework' accepts exactly what the framework accepts: checked differentially.

For generated (layer config, input shape) pairs, the guard's verdict (before the framework
runs) must equal whether the unguarded framework itself raises on that input. The agreement
rate is printed and must be 100%.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from shapecontract import ShapeContractError, guard

CASES = int(os.environ.get("SHAPECONTRACT_DIFF_CASES", "40"))


def _perturb(rng: random.Random, shape: tuple[int, ...]) -> tuple[int, ...]:
    s = list(shape)
    kind = rng.choice(["same", "axis", "axis", "drop_last", "add_one", "add_axis", "last_one"])
    if kind == "axis" and len(s) > 1:
        i = rng.randrange(1, len(s))
        s[i] = max(1, s[i] + rng.choice([-2, -1, 1, 2, 5]))
    elif kind == "drop_last" and len(s) > 1:
        s.pop()
    elif kind == "add_one":
        s.append(1)
    elif kind == "add_axis":
        s.insert(rng.randrange(1, len(s) + 1), rng.choice([1, 2, 3]))
    elif kind == "last_one":
        s[-1] = 1
    return tuple(s)


def _agreement(cases: list[tuple[str, bool, bool]]) -> float:
    return sum(real == ours for _, real, ours in cases) / len(cases)


def _keras_case(rng: random.Random) -> tuple[Callable[[], Any], tuple[int, ...], str]:
    import keras
    from keras import layers

    kind = rng.choice(["Dense", "LSTM", "GRU", "SimpleRNN", "Conv1D", "Conv2D", "ConvFlatDense",
                       "TimeDistributed", "Bidirectional"])
    n = rng.choice([1, 2, 3, 4])
    if kind == "Dense":
        shape: tuple[int, ...] = (n + 2,)
        body: list[Any] = [layers.Dense(rng.choice([1, 3]))]
    elif kind in ("LSTM", "GRU", "SimpleRNN"):
        shape = (rng.choice([4, 6]), n)
        body = [getattr(layers, kind)(3)]
    elif kind == "Bidirectional":
        shape = (5, n)
        body = [layers.Bidirectional(layers.GRU(2))]
    elif kind == "TimeDistributed":
        shape = (5, n)
        body = [layers.TimeDistributed(layers.Dense(2))]
    elif kind == "Conv1D":
        shape = (8, n)
        body = [layers.Conv1D(2, 3)]
    elif kind == "Conv2D":
        # channels_last only: TensorFlow's CPU kernels cannot run channels_first convolutions
        # for any input (a device limit, not a shape rule; see docs/semantics.md)
        shape = (7, 7, n)
        body = [layers.Conv2D(2, 3)]
    else:
        shape = (8, 8, n)
        body = [layers.Conv2D(2, 3), layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)]

    def build() -> Any:
        return keras.Sequential([keras.Input(shape), *body])

    return build, shape, kind


def _verdicts(model: Any, x: Any) -> tuple[bool, bool]:
    """(does the framework accept x, does guard(level='framework') let x through)."""
    try:
        model(x)
        real = True
    except Exception:
        real = False
    guard(model, level="framework")
    try:
        model(x)
        ours = True
    except ShapeContractError:
        ours = False
    except Exception:
        ours = True  # our check passed; the framework raised afterwards
    return real, ours


def _report(name: str, results: list[tuple[str, bool, bool]], capsys: pytest.CaptureFixture[str]) -> None:
    rate = _agreement(results)
    with capsys.disabled():
        print(f"\n{name} framework-level agreement: {sum(r == o for _, r, o in results)}/"
              f"{len(results)} ({rate:.0%}); {name} accepted {sum(r for _, r, _ in results)}")
    assert rate == 1.0, [c for c in results if c[1] != c[2]]
    assert 0 < sum(r for _, r, _ in results) < len(results)  # both verdicts occur


@pytest.mark.filterwarnings("ignore")
def test_keras_framework_level_agrees_with_keras(capsys: pytest.CaptureFixture[str]) -> None:
    """Guard(level='framework') raises before Keras exactly when Keras itself would raise."""
    rng = random.Random(1234)
    results = []
    for _ in range(CASES):
        build, declared, kind = _keras_case(rng)
        shape = (2, *_perturb(rng, declared))
        real, ours = _verdicts(build(), np.zeros(shape, np.float32))
        results.append((f"{kind} declared {declared} fed {shape}", real, ours))
    _report("Keras", results, capsys)


def _torch_case(rng: random.Random) -> tuple[Any, tuple[int, ...], str]:
    import torch.nn as nn

    kind = rng.choice(["LSTM", "GRU", "Linear", "Conv1d", "Conv2d", "ConvFlatLinear"])
    n = rng.choice([1, 2, 3])
    if kind in ("LSTM", "GRU"):
        bf = rng.random() < 0.5
        return getattr(nn, kind)(n, 3, batch_first=bf), ((2, 5, n) if bf else (5, 2, n)), kind
    if kind == "Linear":
        return nn.Linear(n, 2), (2, rng.choice([1, 3]), n), kind
    if kind == "Conv1d":
        return nn.Conv1d(n, 2, 3), (2, n, 8), kind
    if kind == "Conv2d":
        return nn.Conv2d(n, 2, 3), (2, n, 7, 7), kind
    return nn.Sequential(nn.Conv2d(n, 2, 3), nn.Flatten(), nn.Linear(2 * 6 * 6, 2)), (2, n, 8, 8), kind


def test_torch_framework_level_agrees_with_torch(capsys: pytest.CaptureFixture[str]) -> None:
    """Guard(level='framework') raises before torch exactly when torch itself would raise."""
    import torch

    rng = random.Random(4321)
    results = []
    for _ in range(CASES):
        model, declared, kind = _torch_case(rng)
        shape = (declared[0], *_perturb(rng, declared[1:]))
        real, ours = _verdicts(model, torch.zeros(shape))
        results.append((f"{kind} fed {shape}", real, ours))
    _report("PyTorch", results, capsys)


def test_the_agreement_measure_can_fail() -> None:
    """Meta-test: a disagreeing case lowers the rate below 100%."""
    assert _agreement([("a", True, True), ("b", True, False)]) == 0.5


def _cnn_case(rng: random.Random) -> tuple[Any, int, int]:
    """A random Conv/Pool/Flatten/Linear stack built for one square input size."""
    import torch
    from torch import nn

    c_in = rng.choice([1, 3])
    size = rng.choice([16, 20, 28, 32])
    mods: list[Any] = []
    c = c_in
    for _ in range(rng.randint(1, 3)):
        out = rng.choice([2, 4, 8])
        k, s, p = rng.choice([3, 5]), rng.choice([1, 2]), rng.choice([0, 1])
        mods.append(nn.Conv2d(c, out, k, stride=s, padding=p))
        mods.append(nn.ReLU())
        if rng.random() < 0.5:
            mods.append(nn.MaxPool2d(2))
        c = out
    mods.append(nn.Flatten())
    probe = nn.Sequential(*mods)
    with torch.no_grad():
        try:
            feats = probe(torch.zeros(1, c_in, size, size)).shape[1]
        except RuntimeError:
            return _cnn_case(rng)  # this stack does not fit its own size: draw again
    mods.append(nn.Linear(feats, 4))
    return nn.Sequential(*mods), c_in, size


@pytest.mark.parametrize("level", ["strict", "framework"])
def test_conv_flatten_linear_relations_agree_with_torch(level: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 9: for random Conv/Pool/Flatten/Linear stacks and input sizes (right channels),
    `contract_of(stack, level).check(x)` accepts exactly what the stack's forward accepts."""
    import torch

    from shapecontract import contract_of

    rng = random.Random(97 if level == "strict" else 98)
    results = []
    for _ in range(CASES):
        model, c_in, size = _cnn_case(rng)
        for new in (size, size + rng.choice([-4, -1, 1, 4, 8]), rng.choice([5, 8, 64])):
            x = torch.zeros(2, c_in, new, new)
            try:
                model(x)
                real = True
            except RuntimeError:
                real = False
            try:
                contract_of(model, level=level).check(x)
                ours = True
            except ShapeContractError:
                ours = False
            results.append((f"{model} fed {tuple(x.shape)}", real, ours))
    _report(f"PyTorch CNN stacks ({level})", results, capsys)
