"""The pictures in docs/pictures.md, drawn by the real code (`shapecontract.picture`).

`python examples/pictures.py` writes docs/img/*.svg; a test checks that the committed files are
what this script draws today. Every model and layer is named, so the pictures do not depend on
how many models were built before them.
"""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import numpy as np

from shapecontract import Array, Float, ShapeContractError, contract, contract_of, guard
from shapecontract.picture import to_svg

IMG = Path(__file__).resolve().parent.parent / "docs" / "img"


def _raised(call: Any) -> ShapeContractError:
    try:
        call()
    except ShapeContractError as e:
        return e
    raise AssertionError("the scenario passed: it should have broken its contract")


@contract
def make_windows(series: Float[Array, "samples features"], timesteps: int
                 ) -> Float[Array, "windows timesteps features"]:
    """Windows of `timesteps` steps over a series; the bug swaps time and features."""
    n = series.shape[0] - timesteps + 1
    return np.stack([series.T[:, i:i + timesteps] for i in range(n)])


def keras_lstm() -> Any:
    """Seed 000: an LSTM regressor built for 24 timesteps of 3 features."""
    import keras
    from keras import layers

    m = keras.Sequential([keras.Input((24, 3), name="window"), layers.LSTM(50, name="lstm"),
                          layers.Dense(1, name="forecast")], name="regressor")
    m.compile(optimizer="adam", loss="mse")
    return m


def torch_cnn() -> Any:
    """A small CNN for 28 x 28 grayscale images: its Linear fixes the image size."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(32 * 7 * 7, 10))


def pictures() -> dict[str, str]:
    """File name -> SVG text, for every picture of the docs page."""
    import torch

    warnings.filterwarnings("ignore")
    rng = np.random.default_rng(0)
    lstm = keras_lstm()
    cnn = torch_cnn()
    seed = _raised(lambda: guard(keras_lstm()).fit(rng.random((100, 24, 1)), rng.random((100, 1)),
                                                   verbose=0))
    other_size = _raised(lambda: guard(torch_cnn())(torch.zeros(4, 1, 32, 32)))
    windows = _raised(lambda: make_windows(rng.random((30, 3)), 5))
    return {
        "keras-lstm.svg": to_svg(contract_of(lstm)),
        "torch-cnn.svg": to_svg(contract_of(cnn, input_shape=(None, 1, 28, 28))),
        "make-windows.svg": to_svg(contract_of(make_windows)),
        "error-seed-features.svg": to_svg(seed),
        "error-cnn-image-size.svg": to_svg(other_size),
        "error-windows.svg": to_svg(windows),
    }


def main() -> None:
    IMG.mkdir(parents=True, exist_ok=True)
    for name, svg in pictures().items():
        (IMG / name).write_text(svg, encoding="utf-8")
        print(f"wrote docs/img/{name}", file=sys.stderr)


if __name__ == "__main__":
    main()
