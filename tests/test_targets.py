"""Keras targets against the compiled loss (issue 9, part): `fit(x, y)` checks `y` as the loss
takes it and the sample counts, before Keras runs; the hinted conversions work."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import keras
import numpy as np
import pytest
from keras import layers

from shapecontract import ShapeContractError, guard

X = np.zeros((64, 784), np.float32)
LABELS = np.arange(64) % 10


def classifier(loss: Any) -> Any:
    m = keras.Sequential([keras.Input((784,)), layers.Dense(16, activation="relu"),
                          layers.Dense(10, activation="softmax")])
    m.compile(loss=loss)
    return guard(m)


def regressor() -> Any:
    """A guarded LSTM regressor, output (batch, 1), compiled with mse."""
    m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)])
    m.compile(loss="mse")
    return guard(m)


def _fit(m: Any, x: Any, y: Any, **kw: Any) -> None:
    m.fit(x, y, epochs=1, verbose=0, **kw)


def test_categorical_crossentropy_with_integer_labels() -> None:
    """Keras says 'Arguments target and output must have the same rank'; we say which loss takes
    which labels, and the conversion we name works."""
    m = classifier("categorical_crossentropy")
    with pytest.raises(ShapeContractError) as info:
        _fit(m, X, LABELS)
    e = info.value
    assert e.slot.startswith("target") and e.violations[0].kind == "rank"
    assert "keras.utils.to_categorical(y, 10)" in str(e)
    _fit(m, X, keras.utils.to_categorical(LABELS, 10))


def test_sparse_categorical_crossentropy_with_one_hot_labels() -> None:
    """One-hot labels into the sparse loss: the hint says argmax or the other loss; both work."""
    m = classifier("sparse_categorical_crossentropy")
    one_hot = keras.utils.to_categorical(LABELS, 10)
    with pytest.raises(ShapeContractError) as info:
        _fit(m, X, one_hot)
    assert "y.argmax(-1)" in str(info.value)
    _fit(m, X, one_hot.argmax(-1))
    # (batch, 1) labels are fine too (a fresh model: Keras cannot refit with another label rank)
    _fit(classifier("sparse_categorical_crossentropy"), X, LABELS.reshape(-1, 1))


def test_regression_target_that_keras_would_broadcast() -> None:
    """Output (batch, 1), y (n, 5), loss mse: Keras trains silently on a broadcast; we refuse."""
    m = regressor()
    x = np.zeros((8, 24, 3), np.float32)
    with pytest.raises(ShapeContractError) as info:
        _fit(m, x, np.zeros((8, 5), np.float32))
    assert info.value.dim == "units" and info.value.expected == 1
    _fit(m, x, np.zeros((8, 1), np.float32))


def test_sample_counts_of_x_and_y_must_agree() -> None:
    """x with 64 rows, y with 32: named as a batch mismatch (Keras: 'Data cardinality is
    ambiguous'), for the loss object form of compile too."""
    m = classifier(keras.losses.CategoricalCrossentropy())
    with pytest.raises(ShapeContractError) as info:
        _fit(m, X, np.zeros((32, 10), np.float32))
    assert info.value.dim == "batch" and (info.value.expected, info.value.actual) == (64, 32)


def test_validation_data_is_checked_before_the_first_epoch() -> None:
    """A bad validation_data fails fit before any epoch runs (it used to fail after one)."""
    m = classifier("sparse_categorical_crossentropy")
    epochs: list[int] = []
    cb = keras.callbacks.LambdaCallback(on_epoch_begin=lambda e, logs: epochs.append(e))
    with pytest.raises(ShapeContractError) as info:
        m.fit(X, LABELS, epochs=1, verbose=0, callbacks=[cb],
              validation_data=(X[:8], np.zeros((9,), np.int64)))
    assert epochs == [] and "validation_data" in info.value.function


def test_uncompiled_or_unknown_loss_is_left_alone() -> None:
    """No compiled loss, or a loss the table does not know: y is not checked (never guessed)."""
    m = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    m.compile(loss=lambda y_true, y_pred: keras.ops.mean(y_pred))
    guard(m)
    _fit(m, np.zeros((4, 3), np.float32), np.zeros((4, 7), np.float32))


def test_regression_target_without_the_trailing_axis_is_fine() -> None:
    """y (n,) for an output (batch, 1) with mse is what Keras expects too (its losses add the
    axis back): accepted; y (n, 1) as well."""
    for y in (np.zeros(8, np.float32), np.zeros((8, 1), np.float32)):
        m = keras.Sequential([keras.Input((3,)), layers.Dense(1)])  # Keras cannot refit with
        m.compile(loss="mse")                                      # another target rank
        _fit(guard(m), np.zeros((8, 3), np.float32), y)


def test_sample_weight_has_one_weight_per_sample() -> None:
    """sample_weight of another length than x is named as a batch mismatch; the right one fits."""
    m = classifier("sparse_categorical_crossentropy")
    with pytest.raises(ShapeContractError) as info:
        _fit(m, X, LABELS, sample_weight=np.ones(60, np.float32))
    assert info.value.slot == "argument sample_weight" and info.value.dim == "batch"
    _fit(m, X, LABELS, sample_weight=np.ones(64, np.float32))


def test_multi_output_losses_by_name() -> None:
    """A two-output model compiled with a loss dict: each target is checked against its output."""
    inp = keras.Input((8,), name="features")
    cls = layers.Dense(3, activation="softmax", name="cls")(inp)
    reg = layers.Dense(1, name="reg")(inp)
    m = keras.Model(inp, {"cls": cls, "reg": reg})
    m.compile(loss={"cls": "sparse_categorical_crossentropy", "reg": "mse"})
    guard(m)
    x = np.zeros((16, 8), np.float32)
    with pytest.raises(ShapeContractError) as info:
        _fit(m, x, {"cls": np.zeros(16, np.int64), "reg": np.zeros((16, 4), np.float32)})
    assert info.value.slot == "target 'reg'"
    _fit(m, x, {"cls": np.zeros(16, np.int64), "reg": np.zeros((16, 1), np.float32)})


def test_masking_keeps_working_under_a_guard() -> None:
    """Keras masking (Embedding(mask_zero=True)) trains under a guard; padded ids pass."""
    m = keras.Sequential([keras.Input((None,), dtype="int32"), layers.Embedding(50, 4, mask_zero=True),
                          layers.LSTM(3), layers.Dense(1)])
    m.compile(loss="mse")
    guard(m)
    _fit(m, np.array([[1, 2, 0, 0], [3, 4, 5, 0]], np.int32), np.zeros((2, 1), np.float32))


def test_a_sample_count_mismatch_says_so_and_the_loss_hint_goes_to_the_shape() -> None:
    """fit(x of 64, y of 32): the fix said 'change the contract' and the mse hint ('y.reshape(-1,
    1)') sat under the batch violation, where neither helps. Now the fix names the count x gave
    and the hint goes to the violation about y's shape (y (32, 5): the units axis)."""
    m = regressor()
    x = np.zeros((64, 24, 3), np.float32)
    with pytest.raises(ShapeContractError) as info:
        _fit(m, x, np.zeros((32, 1), np.float32))
    (v,) = info.value.violations
    assert v.dim == "batch"
    assert [f.kind for f in v.suggestions] == ["no_reshape"]
    assert "gives batch=64: they must agree" in v.suggestions[0]
    with pytest.raises(ShapeContractError) as info:
        _fit(m, x, np.zeros((32, 5), np.float32))
    batch, units = info.value.violations
    assert (batch.dim, units.dim) == ("batch", "units")
    assert not any(f.kind == "advice" for f in batch.suggestions)
    assert any(f.kind == "advice" and "mse" in f for f in units.suggestions)
