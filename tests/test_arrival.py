"""Data as it really arrives in Keras (issue 9, part): tf.data windows with unknown sizes and
generators read in TensorFlow's threads still end in a ShapeContractError, in the caller's mode."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import warnings
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pytest
from keras import layers

from shapecontract import ShapeContractError, ShapeContractWarning, guard, scoped


def forecaster() -> Any:
    m = keras.Sequential([keras.Input((120, 7)), layers.LSTM(4), layers.Dense(1)])
    m.compile(loss="mse")
    return guard(m)


SERIES = np.zeros((1000, 7), np.float32)
TARGETS = np.zeros(1000, np.float32)


def test_timeseries_window_of_the_wrong_length_stops_fit() -> None:
    """sequence_length=720 into Input((120, 7)): element_spec is (None, None, 7), so nothing
    could be checked statically; the elements are checked as they flow (it trained silently)."""
    ds = keras.utils.timeseries_dataset_from_array(SERIES, TARGETS, sequence_length=720,
                                                   batch_size=32)
    assert ds.element_spec[0].shape.as_list() == [None, None, 7]
    with pytest.raises(ShapeContractError) as info:
        forecaster().fit(ds, epochs=1, verbose=0)
    e = info.value
    assert (e.dim, e.expected, e.actual) == ("timesteps", 120, 720)
    assert "dataset element 0" in e.function


def test_the_right_window_trains() -> None:
    """The same pipeline with sequence_length=120 trains (the check passes every element on)."""
    ds = keras.utils.timeseries_dataset_from_array(SERIES, TARGETS, sequence_length=120,
                                                   batch_size=32)
    history = forecaster().fit(ds, epochs=1, verbose=0)
    assert len(history.history["loss"]) == 1


def _batches(bad: int) -> Iterator[tuple[Any, Any]]:
    for i in range(6):
        yield (np.zeros((16, 120, 7 if i != bad else 2), np.float32), np.zeros((16, 1), np.float32))


def test_a_late_bad_generator_batch_is_our_error_not_tensorflows() -> None:
    """A bad 4th batch from a generator (read in a tf.data thread) arrives as ShapeContractError
    (it was an InvalidArgumentError, its message repeated three times)."""
    with pytest.raises(ShapeContractError) as info:
        forecaster().fit(_batches(bad=3), epochs=1, verbose=0, steps_per_epoch=6)
    assert "batch 3" in info.value.function and info.value.dim == "features"


def test_warn_mode_holds_in_tensorflows_threads() -> None:
    """`with scoped(mode="warn")` reaches the generator check in TensorFlow's thread: it warns
    (and the bad batch goes on to Keras, which rejects it itself)."""
    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(Exception) as info:
            forecaster().fit(_batches(bad=3), epochs=1, verbose=0, steps_per_epoch=6)
    assert not isinstance(info.value, ShapeContractError)
    assert [x.category for x in w if x.category is ShapeContractWarning]


def test_unbatched_and_twice_batched_datasets_get_the_batch_fix() -> None:
    """A dataset of single windows gets ds.batch(...); one batched twice gets ds.unbatch();
    applied, both train."""
    import tensorflow as tf

    windows = np.zeros((64, 120, 7), np.float32)
    targets = np.zeros((64, 1), np.float32)
    single = tf.data.Dataset.from_tensor_slices((windows, targets))
    with pytest.raises(ShapeContractError) as info:
        forecaster().fit(single, epochs=1, verbose=0)
    assert [f.code for f in info.value.suggestions] == ["ds.batch(32)"]  # the only fix
    forecaster().fit(single.batch(32), epochs=1, verbose=0)
    forecaster().fit(info.value.suggestions[0].op.apply(single), epochs=1, verbose=0)  # its op
    twice = single.batch(8).batch(4)
    with pytest.raises(ShapeContractError) as info:
        forecaster().fit(twice, epochs=1, verbose=0)
    assert info.value.suggestions[0].code == "ds.unbatch()"
    forecaster().fit(twice.unbatch(), epochs=1, verbose=0)
    forecaster().fit(info.value.suggestions[0].op.apply(twice), epochs=1, verbose=0)


def test_contract_generator_feeding_fit_keeps_the_mode_and_the_error_type() -> None:
    """Issue 9: a @contract generator's check runs in tf.data's thread: `scoped(mode="warn")`
    holds there, and into a guarded model its violation arrives as ShapeContractError."""
    from shapecontract import Array, Float, contract

    @contract
    def windows(bad: int) -> Iterator[tuple[Float[Array, "batch 120 7"], Float[Array, "batch 1"]]]:
        for i in range(6):
            yield (np.zeros((16, 120, 7 if i != bad else 2), np.float32),
                   np.zeros((16, 1), np.float32))

    def plain() -> Any:
        m = keras.Sequential([keras.Input((120, 7)), layers.LSTM(4), layers.Dense(1)])
        m.compile(loss="mse")
        return m

    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        with pytest.raises(Exception) as keras_error:  # Keras then rejects the bad batch
            plain().fit(windows(3), epochs=1, verbose=0, steps_per_epoch=6)
    assert not isinstance(keras_error.value, ShapeContractError)
    assert any(x.category is ShapeContractWarning and "element 3" in str(x.message) for x in w)
    with pytest.raises(ShapeContractError) as info:
        guard(plain()).fit(windows(3), epochs=1, verbose=0, steps_per_epoch=6)
    assert (info.value.expected, info.value.actual) == (7, 2)
