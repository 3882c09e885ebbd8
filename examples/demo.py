"""The seed scenarios (../shared/seeds/), caught by @contract before any model sees the data.

Each data function states the shape its consumer needs; each is then fed the array from the
seed article that broke the model there. Run: `make demo`.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

from shapecontract import Array, Float, ShapeContractError, contract

rng = np.random.default_rng(0)


# -- Seed 000: an LSTM built with input_shape=(24, 3) ---------------------------------------
@contract
def lstm_batch(X: Float[Array, "batch timesteps=24 features=3"],
               y: Float[Array, "batch 1"]) -> Float[Array, "batch timesteps=24 features=3"]:
    """What an LSTM(50, input_shape=(24, 3)) accepts."""
    return X


# -- Seed 000, example 3: an LSTM built with input_shape=(24, 1) ------------------------------
@contract
def lstm_univariate(X: Float[Array, "batch timesteps=24 features=1"]) -> Float[Array, "batch 24 1"]:
    return X


# -- Seed 004: Dense(16, input_shape=(10,)) --------------------------------------------------
@contract
def dense_batch(X: Float[Array, "batch features=10"], y: Float[Array, "batch"]) -> Float[Array, "batch 10"]:
    return X


# -- Seed 004: Conv2D(32, (3, 3), input_shape=(64, 64, 1)) -----------------------------------
@contract
def conv_batch(images: Float[Array, "batch height=64 width=64 channels=1"]) -> Float[Array, "batch 64 64 1"]:
    return images


# -- Seed 004: LSTM(32, input_shape=(20, 5)) --------------------------------------------------
@contract
def rnn_batch(X: Float[Array, "batch timesteps=20 features=5"]) -> Float[Array, "batch 20 5"]:
    return X


# -- A windowing function whose output must keep its input's features -----------------------
@contract
def make_windows(series: Float[Array, "samples features"], timesteps: int
                 ) -> Float[Array, "windows timesteps features"]:
    n = series.shape[0] - timesteps + 1
    # Bug: the window axis is built from the wrong end (series.T), so features and time swap.
    return np.stack([series.T[:, i:i + timesteps] for i in range(n)])


SCENARIOS = [
    ("000 example 1: 1 feature where the LSTM expects 3",
     lambda: lstm_batch(rng.random((100, 24, 1)), rng.random((100, 1)))),
    ("000 example 2: 48 timesteps where the LSTM expects 24 (Keras 3 trains on it silently)",
     lambda: lstm_batch(rng.random((100, 48, 3)), rng.random((100, 1)))),
    ("000 example 3: a 2-D array where the LSTM expects (batch, 24, 1)",
     lambda: lstm_univariate(rng.random((100, 24)))),
    ("004 example 1: Dense(input_shape=(10,)) fed 12 features",
     lambda: dense_batch(rng.random((200, 12)), rng.random(200))),
    ("004 example 2: grayscale images without the channel axis",
     lambda: conv_batch(rng.random((100, 64, 64)))),
    ("004 example 3: 3 features where LSTM(input_shape=(20, 5)) expects 5",
     lambda: rnn_batch(rng.random((150, 20, 3)))),
    ("windowing bug: time and features swapped in the output",
     lambda: make_windows(rng.random((30, 3)), 5)),
]


def main() -> int:
    caught = 0
    print("shapecontract demo: the seed scenarios, each caught before a model runs\n")
    ok = dense_batch(rng.random((200, 10)), rng.random(200))
    print(f"[ok] 004 example 1 as written: (200, 10) passes the Dense contract -> {ok.shape}\n")
    for title, run in SCENARIOS:
        print(f"== {title}")
        try:
            run()
        except ShapeContractError as e:
            caught += 1
            print(e)
        else:
            print("!! not caught")
        print()
    print(f"{caught}/{len(SCENARIOS)} scenarios caught")
    return 0 if caught == len(SCENARIOS) else 1


if __name__ == "__main__":
    raise SystemExit(main())
