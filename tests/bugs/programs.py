"""What the corpus's programs share (`tests.bugs`): the frameworks, imported only when a program
runs, seeded data, and the short training calls every case makes. A module of helpers: it
defines no `CASES`."""

from __future__ import annotations

from typing import Any

import numpy as np


def keras_modules() -> tuple[Any, Any]:
    """`keras` and `keras.layers`."""
    import keras
    from keras import layers

    return keras, layers


def torch_modules() -> tuple[Any, Any]:
    """`torch` (seeded) and `torch.nn`."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return torch, nn


def rng() -> np.random.Generator:
    return np.random.default_rng(0)


def f32(*shape: int) -> Any:
    """Seeded random float32 data of `shape`."""
    return rng().random(shape, dtype=np.float32)


def fit(m: Any, x: Any, y: Any = None, *, batch_size: int = 8, **kw: Any) -> Any:
    """One quiet epoch of Keras `fit`."""
    return m.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, **kw)


def predict(m: Any, x: Any) -> Any:
    return m.predict(x, verbose=0)


def step(torch: Any, params: Any, loss: Any) -> Any:
    """One optimizer step on `loss` (the programs train, briefly)."""
    opt = torch.optim.SGD(params, lr=0.01)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss
