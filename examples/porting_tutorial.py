"""Porting a Keras forecaster to PyTorch, one classic mistake at a time, diagnosed by shapecontract.

The Keras model reads 24 hourly readings of 3 features (the seed scenario), smooths them with a
Conv1D, encodes them with a bidirectional GRU and forecasts one value. Each step below is a torch
port as people write it, with one mistake; the text under it is what `shapecontract.port` really
printed. `python examples/porting_tutorial.py --write` (`make docs-port`) rewrites the tutorial
section of docs/porting.md (between its markers); a test keeps the two in sync.
"""

from __future__ import annotations

import inspect
import os
import sys
import textwrap

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import keras
import numpy as np
import torch
from keras import layers
from torch import nn

from shapecontract.port import PortMismatch, assert_equivalent, compare, scaffold, transfer_weights


def keras_forecaster() -> Any:
    keras.utils.set_random_seed(0)
    return keras.Sequential([
        keras.Input((24, 3), name="window"),
        layers.Conv1D(8, 3, padding="same", activation="relu", name="smooth"),
        layers.Bidirectional(layers.GRU(16), name="encoder"),
        layers.Dense(1, name="forecast"),
    ], name="forecaster")


class Port(nn.Module):
    """The port everyone writes first: nn.GRU's defaults, the last step into the head."""

    def __init__(self, batch_first: bool = False) -> None:
        super().__init__()
        self.smooth = nn.Conv1d(3, 8, 3, padding="same")
        self.encoder = nn.GRU(8, 16, batch_first=batch_first, bidirectional=True)
        self.forecast = nn.Linear(32, 1)

    def forward(self, x: Any) -> Any:  # x: (batch, 24, 3), as Keras takes it
        h = self.smooth(x)
        out, _ = self.encoder(h)
        return self.forecast(out[:, -1, :])


class ChannelsFirst(Port):
    def forward(self, x: Any) -> Any:
        h = self.smooth(x.transpose(1, 2)).transpose(1, 2)  # Conv1d wants (batch, channels, length)
        out, _ = self.encoder(h)
        return self.forecast(out[:, -1, :])


class WithReLU(ChannelsFirst):
    def forward(self, x: Any) -> Any:
        h = torch.relu(self.smooth(x.transpose(1, 2))).transpose(1, 2)  # Keras: activation="relu"
        out, _ = self.encoder(h)
        return self.forecast(out[:, -1, :])


class FinalStates(WithReLU):
    def forward(self, x: Any) -> Any:
        h = torch.relu(self.smooth(x.transpose(1, 2))).transpose(1, 2)
        _, h_n = self.encoder(h)
        return self.forecast(torch.cat((h_n[-2], h_n[-1]), dim=1))  # both directions' final states


def copy_by_hand(km: Any, tm: Any) -> None:
    """Weights copied the way forum answers do: transposes right, GRU gates left in Keras order."""
    conv, bi, dense = km.get_layer("smooth"), km.get_layer("encoder"), km.get_layer("forecast")
    with torch.no_grad():
        tm.smooth.weight.copy_(torch.as_tensor(np.asarray(conv.kernel).transpose(2, 1, 0).copy()))
        tm.smooth.bias.copy_(torch.as_tensor(np.asarray(conv.bias)))
        for suffix, gru in (("_l0", bi.forward_layer), ("_l0_reverse", bi.backward_layer)):
            cell = gru.cell
            getattr(tm.encoder, "weight_ih" + suffix).copy_(torch.as_tensor(np.asarray(cell.kernel).T.copy()))
            getattr(tm.encoder, "weight_hh" + suffix).copy_(
                torch.as_tensor(np.asarray(cell.recurrent_kernel).T.copy()))
            bias = np.asarray(cell.bias)
            getattr(tm.encoder, "bias_ih" + suffix).copy_(torch.as_tensor(bias[0]))
            getattr(tm.encoder, "bias_hh" + suffix).copy_(torch.as_tensor(bias[1]))
        tm.forecast.weight.copy_(torch.as_tensor(np.asarray(dense.kernel).T.copy()))
        tm.forecast.bias.copy_(torch.as_tensor(np.asarray(dense.bias)))


def randomize(km: Any) -> None:
    """Trained-looking weights: Keras starts biases at zero, which would hide bias mistakes."""
    rng = np.random.default_rng(0)
    for v in km.weights:
        v.assign((0.3 * rng.standard_normal(tuple(v.shape))).astype("float32"))


def run(step: Any) -> str:
    try:
        return str(step())
    except PortMismatch as exc:
        return "PortMismatch: " + str(exc)


def steps() -> list[tuple[str, str, Any, Any]]:
    """(title, what the user did, the code shown, the call whose output is shown)."""
    km = keras_forecaster()
    randomize(km)

    def source(cls: type) -> str:
        return textwrap.dedent(inspect.getsource(cls.forward))  # type: ignore[attr-defined]

    def first() -> Any:
        return compare(km, Port())

    def layout() -> Any:
        return compare(km, ChannelsFirst())

    def activation() -> Any:
        tm = ChannelsFirst(batch_first=True)
        transfer_weights(km, tm)
        return assert_equivalent(km, tm)

    def final_state() -> Any:
        tm = WithReLU(batch_first=True)
        transfer_weights(km, tm)
        return assert_equivalent(km, tm)

    def gates() -> Any:
        tm = FinalStates(batch_first=True)
        copy_by_hand(km, tm)
        return assert_equivalent(km, tm)

    def done() -> Any:
        tm = FinalStates(batch_first=True)
        transfer_weights(km, tm)
        report = compare(km, tm)
        return f"{report}\n\n{assert_equivalent(km, tm, atol=1e-5)}"

    def scaffolded() -> Any:
        namespace: dict[str, Any] = {}
        exec(scaffold(km), namespace)  # the source shown above, as a user would save it
        tm = namespace["Forecaster"]()
        transfer_weights(km, tm)
        return f"{compare(km, tm)}\n\n{assert_equivalent(km, tm, atol=1e-5)}"

    return [
        ("The Keras model", "The forecaster to port (its summary is the contract the port must keep).",
         "from typing import Any\n\nimport keras\nimport torch\nfrom keras import layers\n\n"
         "keras_model = keras.Sequential([\n    keras.Input((24, 3), name=\"window\"),\n"
         "    layers.Conv1D(8, 3, padding=\"same\", activation=\"relu\", name=\"smooth\"),\n"
         "    layers.Bidirectional(layers.GRU(16), name=\"encoder\"),\n"
         "    layers.Dense(1, name=\"forecast\"),\n], name=\"forecaster\")",
         lambda: "\n".join(f"{layer.name}: {type(layer).__name__} -> {tuple(layer.output.shape)}"
                           for layer in km.layers)),
        ("1. The first port", "nn.Conv1d fed (batch, 24, 3), nn.GRU at its default batch_first=False, "
         "the last step of the output into the head. `compare(keras_model, torch_model)` reads "
         "the layers and traces one run of the forward on a probe batch:", source(Port), first),
        ("2. Channels first for Conv1d", "Transposing around the Conv1d makes the forward run; "
         "the GRU is still time-major and now receives batch-major data:",
         source(ChannelsFirst), layout),
        ("3. batch_first=True, and the weights", "With `nn.GRU(..., batch_first=True)` and "
         "`transfer_weights(keras_model, torch_model)`, `assert_equivalent` runs both models on the "
         "same data and explains the first pair that differs:", source(ChannelsFirst), activation),
        ("4. The activation", "With `torch.relu` applied in the forward (found by tracing, a "
         "function call counts like an `nn.ReLU`), the next difference is what reaches the head:",
         source(WithReLU), final_state),
        ("5. Weights copied by hand", "With the final states read right, the weights are copied "
         "by hand as forum answers do (transposes right, the GRU gate blocks left in Keras's "
         "z, r, h order):", source(FinalStates), gates),
        ("6. The port", "With `transfer_weights` (it reorders the gates, splits the GRU bias "
         "rows and lays out the conv kernel), the port is equivalent:", source(FinalStates), done),
        ("7. Or start from the scaffold", "`scaffold(keras_model)` writes the port's source "
         "(named layers, the layout handled in `forward`, the final states read right); with "
         "`transfer_weights` it is equivalent at once. The source it wrote:",
         scaffold(km).strip(), scaffolded),
    ]


START, END = "<!-- tutorial:start -->", "<!-- tutorial:end -->"


def markdown() -> str:
    """The tutorial section of docs/porting.md, from a real run."""
    torch.manual_seed(0)
    parts = []
    for title, text, code, call in steps():
        parts.append(f"### {title}\n\n{text}\n\n```python\n{code.rstrip()}\n```\n\n"
                     f"```text\n{run(call)}\n```\n")
    return "\n".join(parts)


def write(path: str = "docs/porting.md") -> None:
    """Replace the section between the markers of `path` with a fresh run."""
    with open(path) as f:
        page = f.read()
    head, rest = page.split(START, 1)
    _, tail = rest.split(END, 1)
    with open(path, "w") as f:
        f.write(f"{head}{START}\n{markdown()}{END}{tail}")


if __name__ == "__main__":
    if "--write" in sys.argv:
        write()
    elif "--markdown" in sys.argv:
        print(markdown())
    else:
        torch.manual_seed(0)
        for title, _, code, call in steps():
            print(f"== {title}\n{code}\n--\n{run(call)}\n")
