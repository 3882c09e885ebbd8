"""The shape bugs people ask about, in Keras and PyTorch, and what shapecontract says.

Each scenario re-creates one classic mistake (from widely copied tutorials) with a guarded model,
loss or pipeline, and prints the error shapecontract raises before the framework runs (or that
it accepts what is right). `python examples/common_bugs.py --markdown` writes the page
docs/common-bugs.md; a test keeps the two in sync.
"""

from __future__ import annotations

import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from shapecontract import Array, Float, ShapeContractError, compatible, contract, guard

Scenario = tuple[str, str, Callable[[], Any]]


def keras_scenarios() -> list[Scenario]:
    import keras
    from keras import layers

    def classifier(loss: Any) -> Any:
        m = keras.Sequential([keras.Input((784,), name="pixels"),
                              layers.Dense(16, activation="relu", name="hidden"),
                              layers.Dense(10, activation="softmax", name="digits")], name="mnist")
        m.compile(loss=loss)
        return guard(m)

    def forecaster() -> Any:
        m = keras.Sequential([keras.Input((120, 7), name="window"), layers.LSTM(8, name="lstm"),
                              layers.Dense(1, name="forecast")], name="weather")
        m.compile(loss="mse")
        return guard(m)

    x = np.zeros((64, 784), np.float32)
    labels = np.arange(64) % 10

    def fit(m: Any, *a: Any, **k: Any) -> Any:
        return m.fit(*a, epochs=1, verbose=0, **k)

    def window_720() -> Any:
        ds = keras.utils.timeseries_dataset_from_array(
            np.zeros((1000, 7), np.float32), np.zeros(1000, np.float32), sequence_length=720,
            batch_size=32)
        return fit(forecaster(), ds)

    def late_bad_batch() -> Any:
        def batches() -> Iterator[Any]:
            for i in range(6):
                yield (np.zeros((16, 120, 7 if i != 3 else 2), np.float32),
                       np.zeros((16, 1), np.float32))
        return fit(forecaster(), batches(), steps_per_epoch=6)

    def tokens() -> Any:
        m = keras.Sequential([keras.Input((None,), dtype="int32", name="tokens"),
                              layers.Embedding(100, 8, name="embed"), layers.LSTM(4, name="lstm"),
                              layers.Dense(1, name="sentiment")], name="imdb")
        return guard(m).predict_on_batch([[1, 2, 3], [4, 5], [6, 7, 8, 9]])

    def three_readings() -> Any:
        m = keras.Sequential([keras.Input((3, 1), name="readings"), layers.LSTM(4, name="lstm"),
                              layers.Dense(1, name="next")], name="univariate")
        return guard(m).predict_on_batch(np.array([70.0, 80.0, 90.0], np.float32))

    def functional_48() -> Any:
        inp = keras.Input((24, 3), name="series")
        m = keras.Model(inp, layers.Dense(1, name="out")(layers.LSTM(4, name="lstm")(inp)),
                        name="functional_forecaster")
        return guard(m).predict_on_batch(np.zeros((2, 48, 3), np.float32))

    def keras_input_block() -> Any:
        @contract
        def block(x: Float[Array, "batch timesteps features"], units: int
                  ) -> Float[Array, "batch units"]:
            return layers.LSTM(units, name="block_lstm")(x)

        out = block(keras.Input((24, 3), name="block_in"), 8)
        return f"accepted: a @contract block built a functional model; its output is {out.shape}"

    return [
        ("Keras", "categorical_crossentropy with integer labels (n,)",
         lambda: fit(classifier("categorical_crossentropy"), x, labels)),
        ("Keras", "sparse_categorical_crossentropy with one-hot labels (n, 10)",
         lambda: fit(classifier("sparse_categorical_crossentropy"), x,
                     keras.utils.to_categorical(labels, 10))),
        ("Keras", "regression output (batch, 1), y of shape (n, 5), loss mse (trains silently)",
         lambda: fit(forecaster(), np.zeros((8, 120, 7), np.float32),
                     np.zeros((8, 5), np.float32))),
        ("Keras", "x with 64 rows, y with 32",
         lambda: fit(classifier("categorical_crossentropy"), x, np.zeros((32, 10), np.float32))),
        ("Keras", "timeseries_dataset_from_array(sequence_length=720) into Input((120, 7)) "
                  "(trains silently)", window_720),
        ("Keras", "fit(validation_data=(bad_x, y)): caught before the first epoch",
         lambda: fit(forecaster(), np.zeros((8, 120, 7), np.float32), np.zeros((8, 1), np.float32),
                     validation_data=(np.zeros((4, 100, 7), np.float32),
                                      np.zeros((4, 1), np.float32)))),
        ("Keras", "a generator feeding fit yields a bad 4th batch", late_bad_batch),
        ("Keras", "un-padded token lists into an Embedding model", tokens),
        ("Keras", "predict(np.array([70, 80, 90])) for Input((3, 1))", three_readings),
        ("Keras", "a functional model fed 48 steps for Input((24, 3))", functional_48),
        ("Keras", "a @contract block called on keras.Input(...)", keras_input_block),
    ]


def torch_scenarios() -> list[Scenario]:
    import torch
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
            self.pool = nn.MaxPool2d(2)
            self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
            self.flat = nn.Flatten()
            self.fc1 = nn.Linear(16 * 7 * 7, 32)
            self.fc2 = nn.Linear(32, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(torch.relu(self.conv1(x)))
            x = self.pool(torch.relu(self.conv2(x)))
            return self.fc2(torch.relu(self.fc1(self.flat(x))))

    class Sequences(Dataset):  # type: ignore[type-arg]
        lengths = (8, 8, 5, 8)

        def __len__(self) -> int:
            return len(self.lengths)

        def __getitem__(self, i: int) -> Any:
            return torch.zeros(self.lengths[i], 3)

    def unequal() -> Any:
        return [b.shape for b in guard(DataLoader(Sequences(), batch_size=2),
                                       Float[Array, "batch timesteps 3"])]

    @contract
    def windows(n: int, timesteps: int) -> Iterator[Float[Array, "batch timesteps 1"]]:
        yield np.zeros((n, timesteps, 1))

    def packed() -> Any:
        from torch.nn.utils.rnn import pack_padded_sequence

        lstm = guard(nn.LSTM(3, 5, batch_first=True))
        lstm(pack_padded_sequence(torch.zeros(2, 4, 3), [4, 2], batch_first=True))
        return "accepted: a PackedSequence with 3 features into nn.LSTM(3, 5)"

    def mse_trap() -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return guard(nn.MSELoss())(torch.zeros(16, 1), torch.zeros(16))

    return [
        ("PyTorch", "MNIST CNN (Flatten into Linear(16*7*7, 32)) fed 32x32 images",
         lambda: guard(Net())(torch.zeros(8, 1, 32, 32))),
        ("PyTorch", "the same CNN fed one unbatched image (1, 28, 28)",
         lambda: guard(Net())(torch.zeros(1, 28, 28))),
        ("PyTorch", "CrossEntropyLoss with float class labels",
         lambda: guard(nn.CrossEntropyLoss())(torch.zeros(16, 10), torch.zeros(16))),
        ("PyTorch", "MSELoss(out (16, 1), target (16,)) (trains on a (16, 16) broadcast)",
         mse_trap),
        ("PyTorch", "a DataLoader over sequences of different lengths", unequal),
        ("PyTorch", "compatible(batch-major generator, nn.LSTM(1, 50)) with timesteps=4",
         lambda: str(compatible(windows, nn.LSTM(1, 50), dims={"timesteps": 4}))),
        ("PyTorch", "NHWC images into nn.Conv2d(3, 8, 3)",
         lambda: guard(nn.Conv2d(3, 8, 3))(torch.zeros(2, 28, 32, 3))),
        ("PyTorch", "a PackedSequence into a guarded nn.LSTM", packed),
    ]


def run(scenario: Scenario) -> str:
    """What shapecontract says: the error's text, or what was accepted."""
    try:
        out = scenario[2]()
    except ShapeContractError as e:
        return e.render()
    return out if isinstance(out, str) else f"accepted: {out!r}"


def markdown() -> str:
    lines = ["# Common shape bugs and what shapecontract says", "",
             "Generated by `python examples/common_bugs.py --markdown` from real runs (Keras 3 on",
             "TensorFlow, PyTorch CPU); `tests/test_common_bugs.py` keeps this page in sync. Each",
             "error is raised before the framework runs the bad input.", ""]
    for framework, title, fn in keras_scenarios() + torch_scenarios():
        lines += [f"## {framework}: {title}", "", "```", run((framework, title, fn)), "```", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    if "--markdown" in sys.argv:
        print(markdown(), end="")
    else:
        for s in keras_scenarios() + torch_scenarios():
            print(f"== {s[0]}: {s[1]}\n{run(s)}\n")
