"""Guarded models keep their guard through pickle, copy.deepcopy and torch.save; formats that
hold configs and weights only (`model.save`, `clone_model`, `state_dict`) give unguarded models."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import copy
import io
import pickle
from collections.abc import Callable
from typing import Any

import keras
import numpy as np
import pytest
import torch
from keras import layers
from torch import nn

from shapecontract import ShapeContractError, guard, unguard
from shapecontract.frameworks import adapter_of


def _torch_save(m: nn.Module) -> nn.Module:
    buf = io.BytesIO()
    torch.save(m, buf)
    buf.seek(0)
    return torch.load(buf, weights_only=False)  # type: ignore[no-any-return]


def _pickle(m: Any) -> Any:
    return pickle.loads(pickle.dumps(m))


@pytest.mark.parametrize("route", [_pickle, copy.deepcopy, _torch_save],
                         ids=["pickle", "deepcopy", "torch.save"])
def test_guarded_torch_module_keeps_its_guard(route: Callable[[Any], Any]) -> None:
    """Issue 8.9: a guarded nn.Linear / nn.LSTM survives the route with its guard and level."""
    for m, good, bad in ((nn.Linear(3, 1), torch.zeros(4, 3), torch.zeros(4, 2)),
                         (nn.LSTM(3, 4, batch_first=True), torch.zeros(2, 5, 3), torch.zeros(2, 5, 2))):
        guard(m, level="framework", dims={"batch": 2} if isinstance(m, nn.LSTM) else None)
        c = route(m)
        g = adapter_of(c).guard_of(c)  # type: ignore[union-attr]
        assert g is not None and g.level == "framework"
        c(good)
        with pytest.raises(ShapeContractError):
            c(bad)
        unguard(c)
        with pytest.raises(RuntimeError):  # now torch's own error, not ours
            c(bad)


def test_unguarded_torch_module_pickles_as_if_never_guarded() -> None:
    """guard + unguard leaves no trace in the module's pickled state."""
    torch.manual_seed(0)
    a = nn.Linear(3, 1)
    before = set(vars(a))
    unguard(guard(a))
    assert set(vars(a)) == before
    assert not a._forward_pre_hooks and not a._forward_pre_hooks_with_kwargs


def test_state_dict_holds_no_guard() -> None:
    """`torch.save(m.state_dict())` carries weights only: by design a loaded module is unguarded."""
    m = guard(nn.Linear(3, 1))
    fresh = nn.Linear(3, 1)
    fresh.load_state_dict(m.state_dict())
    assert adapter_of(fresh).guard_of(fresh) is None  # type: ignore[union-attr]


def _keras_model() -> Any:
    model = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)])
    model.compile(loss="mse")
    return model


@pytest.mark.parametrize("route", [_pickle, copy.deepcopy], ids=["pickle", "deepcopy"])
def test_guarded_keras_model_keeps_its_guard(route: Callable[[Any], Any]) -> None:
    """Issue 8.9: pickle and deepcopy of a guarded Keras model give a guarded, working copy."""
    m = guard(_keras_model(), dims={"batch": 2})
    c = route(m)
    assert adapter_of(c).guard_of(c).dims == {"batch": 2}  # type: ignore[union-attr]
    x = np.zeros((2, 24, 3), np.float32)
    np.testing.assert_allclose(c.predict_on_batch(x), m.predict_on_batch(x), atol=1e-6)
    c.fit(x, np.zeros((2, 1), np.float32), epochs=1, verbose=0)
    with pytest.raises(ShapeContractError):
        c.predict_on_batch(np.zeros((2, 48, 3), np.float32))


def test_saved_and_cloned_keras_models_are_unguarded_by_design(tmp_path: Any) -> None:
    """`model.save` of a guarded model loads (as the plain class, unguarded); `clone_model`
    gives an unguarded model too. Neither format can carry a Python guard."""
    m = guard(_keras_model())
    path = tmp_path / "m.keras"
    m.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is keras.Sequential
    loaded.predict_on_batch(np.zeros((2, 48, 3), np.float32))  # Keras accepts it, unguarded
    clone = keras.models.clone_model(m)
    assert adapter_of(clone).guard_of(clone) is None  # type: ignore[union-attr]


def test_unguard_restores_the_keras_class_exactly() -> None:
    """guard + unguard: same class, same attributes; a guarded model reports its own class."""
    m = _keras_model()
    cls, keys = type(m), set(vars(m))
    guard(m)
    assert m.__class__ is cls and type(m) is not cls
    unguard(m)
    assert type(m) is cls and set(vars(m)) == keys
