"""The seed scenarios, caught by @contract before any model sees the data (layer L7).

Each data function states the shape its consumer needs; each is then fed the array from the
seed article that broke the model there. Run: `shapecontract demo` or `make demo`. It lives in
the package (not only in examples/) so that an installed package can run it.
"""
# The scenarios are user code as a user writes it: numpy arrays passed where the annotations
# say `Array`, a guarded model's `fit`. Static checkers read `Float[Array, ...]` as jaxtyping's
# annotation of shapecontract's `Array` class, so mypy would flag every call; the checking
# that matters here is the runtime one.
# mypy: disable-error-code="arg-type, attr-defined, return-value, misc, no-any-return, operator"

from __future__ import annotations

import os
from typing import TYPE_CHECKING

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

# The package's own modules, not `shapecontract` itself: the demo is a module of the package
# (layer L7) and nothing imports upward into __init__ (L8). These are the very objects the
# public names are (`shapecontract.Float` is `DtypeAnnotation("Float")`), typed as __init__
# types them for static checkers.
from ._decorator import contract
from ._errors import ShapeContractError
from ._types import Array

if TYPE_CHECKING:
    from typing import Annotated as Model

    from jaxtyping import Float
else:
    from ._types import DtypeAnnotation, Model

    Float = DtypeAnnotation("Float")

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


# -- The same seeds against real models: Keras 3 and the equivalent PyTorch ports -----------
def model_scenarios() -> list[tuple[str, object]]:
    import warnings

    warnings.filterwarnings("ignore")
    import keras
    import torch
    from keras import layers
    from torch import nn

    from ._guard import guard
    from .frameworks import contract_of

    def keras_lstm(timesteps: int, features: int) -> object:
        m = keras.Sequential([keras.Input((timesteps, features)), layers.LSTM(50), layers.Dense(1)])
        m.compile(optimizer="adam", loss="mse")
        return guard(m)

    keras_conv = guard(keras.Sequential([
        keras.Input((64, 64, 1)), layers.Conv2D(32, (3, 3), activation="relu"),
        layers.MaxPool2D((2, 2)), layers.Flatten(), layers.Dense(10, activation="softmax")]))
    keras_dense = keras.Sequential([keras.Input((10,)), layers.Dense(16), layers.Dense(1)])
    print("Keras contracts, read from the models' own metadata:")
    print("  ", contract_of(keras_lstm(24, 3)))
    print("  ", contract_of(keras_conv))
    print()

    class TorchRegressor(nn.Module):  # the PyTorch port of the Keras LSTM -> Dense regressor
        def __init__(self, features: int, batch_first: bool = True) -> None:
            super().__init__()
            self.lstm = nn.LSTM(features, 50, batch_first=batch_first)
            self.head = nn.Linear(50, 1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.head(out[:, -1])

    torch_conv = guard(nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                     nn.Linear(32 * 31 * 31, 10)))
    time_major = guard(nn.LSTM(3, 50), dims={"timesteps": 24})
    t = torch.rand
    return [
        ("Keras 000/1: LSTM Input((24, 3)) fit on (100, 24, 1)",
         lambda: keras_lstm(24, 3).fit(rng.random((100, 24, 1)), rng.random((100, 1)), verbose=0)),
        ("Keras 000/2: LSTM Input((24, 3)) fit on (100, 48, 3) -- Keras alone trains on it silently",
         lambda: keras_lstm(24, 3).fit(rng.random((100, 48, 3)), rng.random((100, 1)), verbose=0)),
        ("Keras 000/3: LSTM Input((24, 1)) fit on (100, 24)",
         lambda: keras_lstm(24, 1).fit(rng.random((100, 24)), rng.random((100, 1)), verbose=0)),
        ("Keras 004/1: Dense Input((10,)) predict on (200, 12)",
         lambda: guard(keras_dense).predict(rng.random((200, 12)), verbose=0)),
        ("Keras 004/2: Conv2D Input((64, 64, 1)) predict on grayscale (100, 64, 64)",
         lambda: keras_conv.predict(rng.random((100, 64, 64)), verbose=0)),
        ("Keras 004/3: LSTM Input((20, 5)) fit on (150, 20, 3)",
         lambda: keras_lstm(20, 5).fit(rng.random((150, 20, 3)), rng.random((150, 1)), verbose=0)),
        ("PyTorch 000/1: nn.LSTM(input_size=3) port fed (100, 24, 1)",
         lambda: guard(TorchRegressor(3))(t(100, 24, 1))),
        ("PyTorch 000/2: the port guarded with dims={'timesteps': 24} fed (100, 48, 3)",
         lambda: guard(TorchRegressor(3), dims={"timesteps": 24})(t(100, 48, 3))),
        ("PyTorch 000/3: nn.LSTM(input_size=1) port fed a 2-D (100, 24)",
         lambda: guard(TorchRegressor(1))(t(100, 24))),
        ("PyTorch 004/1: nn.Linear(10, 16) fed (200, 12)",
         lambda: guard(nn.Sequential(nn.Linear(10, 16), nn.ReLU(), nn.Linear(16, 1)))(t(200, 12))),
        ("PyTorch: nn.LSTM(3, 50) left at batch_first=False, fed batch-major (100, 24, 3)",
         lambda: time_major(t(100, 24, 3))),
        ("PyTorch 004/2: Conv2d(1, 32, 3) fed grayscale (100, 64, 64) without the channel axis",
         lambda: torch_conv(t(100, 64, 64))),
        ("PyTorch 004/3: nn.LSTM(input_size=5) port fed (150, 20, 3)",
         lambda: guard(TorchRegressor(5))(t(150, 20, 3))),
    ]


# -- A pipeline caught before training starts -----------------------------------------------
def pipeline_scenarios() -> list[tuple[str, object]]:
    from collections.abc import Iterator

    import keras
    import tensorflow as tf

    from ._guard import guard
    from .pipeline import compatible, validate

    XY = tuple[Float[Array, "batch timesteps features"], Float[Array, "batch 1"]]

    @contract(stable=("timesteps", "features"))
    def train_batches(n: int) -> Iterator[XY]:
        for i in range(n):  # batch 137 was cut from a shorter file: 23 steps
            yield rng.random((32, 23 if i == 137 else 24, 3)), rng.random((32, 1))

    model = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(8), keras.layers.Dense(1)])
    ds = tf.data.Dataset.from_tensor_slices((rng.random((64, 24, 1)).astype("float32"),
                                             rng.random((64, 1)).astype("float32"))).batch(32)

    def validate_first() -> None:
        report = validate(train_batches.__wrapped__(300), XY, stable=("timesteps",), progress=False)
        print(report)
        for _, err in report.failures:
            raise err

    def check_before_fit() -> None:
        print(compatible(ds, model))
        guard(ds, tuple[Float[Array, "batch 24 features=3"], Float[Array, "batch 1"]])

    return [
        ("pipeline: validate() reads the whole stream before training; batch 137 is short",
         validate_first),
        ("pipeline: a tf.data dataset with 1 feature, checked against the model before fit",
         check_before_fit),
        ("pipeline: the same generator, guarded while training, stops at batch 137",
         lambda: [None for _ in train_batches(300)]),
    ]


# -- Model builders and a Keras -> PyTorch port --------------------------------------------
def porting_demo() -> bool:
    import keras
    import torch
    from keras import layers
    from torch import nn

    from .port import assert_equivalent, compare, transfer_weights

    print("== builder: Model[...] says the regressor returns (batch, 1); the builder used Dense(10)")

    @contract
    def build(timesteps: int, features: int) -> Model[keras.Model, "batch timesteps features -> batch 1"]:
        return keras.Sequential([keras.Input((timesteps, features)), layers.LSTM(50), layers.Dense(10)])

    try:
        build(24, 3)
        return False
    except ShapeContractError as e:
        print(e, "\n")

    keras_model = keras.Sequential([keras.Input((24, 3)), layers.LSTM(50), layers.Dense(1)])

    class Port(nn.Module):
        def __init__(self, batch_first: bool, last_step: bool) -> None:
            super().__init__()
            self.lstm = nn.LSTM(3, 50, batch_first=batch_first)
            self.dense = nn.Linear(50, 1)
            self.last_step = last_step

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out, _ = self.lstm(x)
            return self.dense(out[:, -1] if self.last_step else out)

    print("== port: a first PyTorch port of the LSTM regressor (batch_first left False, no [:, -1])")
    report = compare(keras_model, Port(batch_first=False, last_step=False))
    print(report, "\n")
    print("== port: fixed as the report says, weights transferred, outputs compared")
    port = Port(batch_first=True, last_step=True)
    print(compare(keras_model, port))
    transfer_weights(keras_model, port)
    print(assert_equivalent(keras_model, port, atol=1e-5), "\n")
    return not report.ok


def main() -> int:
    caught = 0
    print("shapecontract demo: the seed scenarios, each caught before a model runs\n")
    ok = dense_batch(rng.random((200, 10)), rng.random(200))
    print(f"[ok] 004 example 1 as written: (200, 10) passes the Dense contract -> {ok.shape}\n")
    scenarios = SCENARIOS + model_scenarios() + pipeline_scenarios()
    for title, run in scenarios:
        print(f"== {title}")
        try:
            run()
        except ShapeContractError as e:
            caught += 1
            print(e)
        else:
            print("!! not caught")
        print()
    print(f"{caught}/{len(scenarios)} scenarios caught\n")
    ported = porting_demo()
    return 0 if caught == len(scenarios) and ported else 1


if __name__ == "__main__":
    raise SystemExit(main())
