"""Annotated model builders: Model[...] return annotations checked against the built model."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
from keras import layers  # noqa: E402

from shapecontract import ContractSyntaxError, Model, ShapeContractError, contract, unguard  # noqa: E402


@contract
def build(timesteps: int, features: int, units: int = 1
          ) -> Model[keras.Model, "batch timesteps features -> batch 1"]:
    return keras.Sequential([keras.Input((timesteps, features)), layers.LSTM(8), layers.Dense(units)])


def test_matching_builder_returns_the_model() -> None:
    """A builder whose model matches its annotation returns that very model."""
    m = build(24, 3)
    assert isinstance(m, keras.Model)
    assert tuple(m.inputs[0].shape) == (None, 24, 3)


def test_mismatch_names_the_layer() -> None:
    """Dense(10) where the annotation says 1: the error names the layer and its attribute."""
    with pytest.raises(ShapeContractError) as info:
        build(24, 3, units=10)
    e = info.value
    assert e.slot == "return (model output 0)" and (e.axis, e.expected, e.actual) == (1, 1, 10)
    assert "Dense 'dense" in e.violations[0].message and "has units=10; the annotation says 1" in str(e)


def test_dims_bound_by_builder_arguments() -> None:
    """The builder's int arguments bind the annotation's dims: a model ignoring them is caught."""
    @contract
    def sloppy(timesteps: int, features: int) -> Model[keras.Model, "batch timesteps features -> batch 1"]:
        return keras.Sequential([keras.Input((timesteps, 3)), layers.LSTM(4), layers.Dense(1)])

    sloppy(24, 3)
    with pytest.raises(ShapeContractError) as info:
        sloppy(24, 5)
    assert (info.value.dim, info.value.expected, info.value.actual) == ("features", 5, 3)


def test_guard_true_returns_a_guarded_model_with_pinned_dims() -> None:
    """guard=True: the model comes back guarded; dims the model leaves open are pinned."""
    @contract(guard=True)
    def open_time(timesteps: int, features: int) -> Model[keras.Model, "batch timesteps features -> batch 1"]:
        return keras.Sequential([keras.Input((None, features)), layers.LSTM(4), layers.Dense(1)])

    m = open_time(24, 3)
    m.predict(np.zeros((2, 24, 3), np.float32), verbose=0)
    with pytest.raises(ShapeContractError, match="dims=\\{'timesteps': 24\\}"):
        m.predict(np.zeros((2, 30, 3), np.float32), verbose=0)
    unguard(m)
    m.predict(np.zeros((2, 30, 3), np.float32), verbose=0)


def test_torch_builders() -> None:
    """Torch modules: known modules by attributes, custom ones by fake-tensor propagation."""
    class Net(torch.nn.Module):
        def __init__(self, features: int, out: int) -> None:
            super().__init__()
            self.lstm = torch.nn.LSTM(features, 8, batch_first=True)
            self.head = torch.nn.Linear(8, out)

        def forward(self, x: Any) -> Any:
            y, _ = self.lstm(x)
            return self.head(y[:, -1])

    @contract
    def make(timesteps: int, features: int, out: int) -> Model[torch.nn.Module, "batch timesteps features -> batch 1"]:
        return Net(features, out)

    make(24, 3, 1)
    with pytest.raises(ShapeContractError, match="Linear 'head' has out_features=2"):
        make(24, 3, 2)

    @contract
    def linear(features: int) -> Model[torch.nn.Module, "batch features -> batch 1"]:
        return torch.nn.Linear(features + 1, 1)

    with pytest.raises(ShapeContractError, match="Linear has in_features=4; the annotation says 3"):
        linear(3)


def test_wrong_model_type_and_bad_annotation() -> None:
    """A torch module where Keras is annotated is a type error; a bad spec fails at writing time."""
    @contract
    def wrong() -> Model[keras.Model, "batch 3 -> batch 1"]:
        return torch.nn.Linear(3, 1)

    with pytest.raises(ShapeContractError, match="expected Model"):
        wrong()
    with pytest.raises(ContractSyntaxError, match="inputs -> outputs"):
        Model[keras.Model, "batch 3 batch 1"]
