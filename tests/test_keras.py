"""Keras 3 adapter: contracts from layer metadata, guarded entry points, the seed scenarios."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from shapecontract import ShapeContractError, contract_of, guard, unguard  # noqa: E402


def lstm_model(timesteps: int = 24, features: int = 3) -> Any:
    m = keras.Sequential([keras.Input((timesteps, features)), layers.LSTM(8), layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    return m


def conv_model(data_format: str = "channels_last") -> Any:
    shape = (16, 16, 1) if data_format == "channels_last" else (1, 16, 16)
    m = keras.Sequential([keras.Input(shape), layers.Conv2D(4, 3, data_format=data_format),
                          layers.MaxPooling2D(2, data_format=data_format), layers.Flatten(),
                          layers.Dense(3)])
    m.compile(optimizer="adam", loss="mse")
    return m


def _err(fn: Any, *args: Any, **kwargs: Any) -> ShapeContractError:
    with pytest.raises(ShapeContractError) as info:
        fn(*args, **kwargs)
    return info.value


# ------------------------------------------------------------------------- contracts
def test_sequential_contract_names_dims_and_shows_the_chain() -> None:
    """str() reads like model.summary() with named dims; fixed sizes keep their origin."""
    m = lstm_model()
    lstm, dense = (layer.name for layer in m.layers)
    c = contract_of(m)
    assert str(c) == f"(batch, 24, 3) -> {lstm} -> (batch, 8) -> {dense} -> (batch, 1)"
    spec = c.inputs()[0].spec
    assert [getattr(d, "label", None) or d.name for d in spec.dims] == ["batch", "timesteps", "features"]
    assert spec.origins[1].startswith("Input((24, 3))")
    assert spec.origins[2].endswith("kernel (3, 32)")
    rows = [line.split() for line in c.table().splitlines()[2:]]
    assert rows[0] == [lstm, "LSTM", "(batch,", "24,", "3)", "(batch,", "8)"]


def test_unbuilt_sequential_knows_rank_and_names() -> None:
    """An unbuilt Sequential still states rank 3 and the LSTM's dim names."""
    c = contract_of(keras.Sequential([layers.LSTM(5), layers.Dense(1)]))
    assert str(c.inputs()[0].spec) == 'Num[Any, "batch timesteps features"]'
    with pytest.raises(ShapeContractError, match="expected 3 axes, got 2"):
        c.check(np.zeros((4, 7)))
    c.check(np.zeros((4, 7, 2)))


@pytest.mark.parametrize("fmt, names", [
    ("channels_last", ["batch", "height", "width", "channels"]),
    ("channels_first", ["batch", "channels", "height", "width"]),
])
def test_conv2d_layouts(fmt: str, names: list[str]) -> None:
    """Conv2D names its axes by data_format; the channel count comes from the layer."""
    c = contract_of(conv_model(fmt))
    dims = c.inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == names
    ch = names.index("channels")
    assert dims[ch].size == 1
    assert c.outputs()[0].spec.dims[-1].size == 3


def _functional(inner: Any, shape: tuple[int, ...], dtype: str = "float32") -> Any:
    inp = keras.Input(shape, dtype=dtype)
    return keras.Model(inp, inner(inp))


LAYERS = {
    "LSTM": (lambda: layers.LSTM(4), (6, 3), ["batch", "timesteps", "features"]),
    "GRU": (lambda: layers.GRU(4), (6, 3), ["batch", "timesteps", "features"]),
    "SimpleRNN": (lambda: layers.SimpleRNN(4), (6, 3), ["batch", "timesteps", "features"]),
    "Bidirectional": (lambda: layers.Bidirectional(layers.LSTM(4)), (6, 3),
                      ["batch", "timesteps", "features"]),
    "TimeDistributed": (lambda: layers.TimeDistributed(layers.Dense(2)), (6, 3),
                        ["batch", "timesteps", "features"]),
    "Dense": (lambda: layers.Dense(2), (3,), ["batch", "features"]),
    "Conv1D": (lambda: layers.Conv1D(2, 3), (10, 3), ["batch", "length", "channels"]),
    "Conv2D": (lambda: layers.Conv2D(2, 3), (8, 8, 3), ["batch", "height", "width", "channels"]),
    "MaxPooling1D": (lambda: layers.MaxPooling1D(2), (10, 3), ["batch", "length", "channels"]),
    "AveragePooling2D": (lambda: layers.AveragePooling2D(2), (8, 8, 3),
                         ["batch", "height", "width", "channels"]),
    "Embedding": (lambda: layers.Embedding(10, 4), (5,), ["batch", "length"]),
    "Flatten": (lambda: layers.Flatten(), (4, 3), ["batch", "axis1", "axis2"]),
    "Reshape": (lambda: layers.Reshape((12,)), (4, 3), ["batch", "axis1", "axis2"]),
    "Dropout": (lambda: layers.Dropout(0.1), (3,), ["batch", "axis1"]),
    "BatchNormalization": (lambda: layers.BatchNormalization(), (3,), ["batch", "axis1"]),
    "LayerNormalization": (lambda: layers.LayerNormalization(), (3,), ["batch", "axis1"]),
    "Masking": (lambda: layers.Masking(), (6, 3), ["batch", "axis1", "axis2"]),
    "Conv3D": (lambda: layers.Conv3D(2, 3), (5, 5, 5, 2),
               ["batch", "depth", "height", "width", "channels"]),
}


def test_layer_table_kinds_are_all_tested() -> None:
    """Every kind in the Keras layer table has a row in LAYERS above (or is the InputLayer)."""
    from shapecontract.frameworks.keras import LAYERS as TABLE
    from shapecontract.frameworks.keras import rule_of

    tested = {rule_of(make()).kind for make, _, _ in LAYERS.values() if rule_of(make())}
    assert tested | {"input"} == {r.kind for r in TABLE.values()}


def test_user_subclass_of_a_keras_layer_is_recognised() -> None:
    """Issue 8.4: a subclass of keras.layers.LSTM names its input like an LSTM; a layer that is
    merely named LSTM does not."""
    class MyLSTM(layers.LSTM):
        pass

    class LSTM(layers.Layer):
        def call(self, x: Any) -> Any:
            return x

    model = _functional(MyLSTM(4), (6, 3), "float32")
    dims = contract_of(model).inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == ["batch", "timesteps", "features"]
    other = _functional(LSTM(), (6, 3), "float32")
    dims = contract_of(other).inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == ["batch", "axis1", "axis2"]


@pytest.mark.parametrize("kind", sorted(LAYERS))
def test_every_supported_layer(kind: str) -> None:
    """Each layer kind gets canonical names; a good input runs in Keras, a bad one is caught first."""
    make, shape, names = LAYERS[kind]
    dtype = "int32" if kind == "Embedding" else "float32"
    model = _functional(make(), shape, dtype)
    c = contract_of(model)
    dims = c.inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == names
    good = np.zeros((2, *shape), dtype)
    c.check(good)
    model(good)  # Keras agrees it is fine
    bad = np.zeros((2, *shape[:-1], shape[-1] + 1), dtype)
    with pytest.raises(ShapeContractError):
        c.check(bad)


def test_masking_then_lstm_takes_names_from_the_lstm() -> None:
    """Shape-preserving layers pass naming on to the layer behind them."""
    model = keras.Sequential([keras.Input((6, 3)), layers.Masking(), layers.LSTM(4)])
    dims = contract_of(model).inputs()[0].spec.dims
    assert [d.label or d.name for d in dims[1:]] == ["timesteps", "features"]


# ------------------------------------------------------------------------- the seeds
def test_seed_wrong_feature_count_caught_before_keras() -> None:
    """Seed 000/1: (100, 24, 1) into Input((24, 3)): features, expected 3, from the LSTM kernel."""
    m = guard(lstm_model())
    e = _err(m.fit, np.random.rand(100, 24, 1), np.random.rand(100, 1), epochs=1, verbose=0)
    assert e.slot.startswith("input 'input_layer")
    assert (e.axis, e.dim, e.expected, e.actual) == (2, "features", 3, 1)
    assert e.origin.startswith("LSTM 'lstm") and "kernel (3, 32)" in e.origin
    assert any("A reshape cannot fix this" in s for s in e.suggestions)


def test_seed_wrong_timesteps_caught_although_keras_accepts_it() -> None:
    """Seed 000/2: 48 timesteps into Input((24, 3)): strict catches what Keras runs silently."""
    m = lstm_model()
    m(np.zeros((2, 48, 3), np.float32))  # Keras itself runs it
    guard(m)
    e = _err(m.fit, np.random.rand(100, 48, 3), np.random.rand(100, 1), epochs=1, verbose=0)
    assert (e.axis, e.dim, e.expected, e.actual) == (1, "timesteps", 24, 48)
    assert any("Keras itself would have accepted" in n for n in e.notes)


def test_seed_2d_input_to_lstm_suggests_expand_dims() -> None:
    """Seed 000/3: (100, 24) into Input((24, 1)): the missing features axis, x[..., None]."""
    m = guard(lstm_model(24, 1))
    e = _err(m.fit, np.random.rand(100, 24), np.random.rand(100, 1), epochs=1, verbose=0)
    assert (e.axis, e.dim) == (2, "features")
    assert any("x[..., None]" in s for s in e.suggestions)
    assert any("expands a missing trailing axis" in n for n in e.notes)


def test_seed_dense_ok_and_wrong() -> None:
    """Seed 004/1: Dense(input_shape=(10,)) takes (200, 10) and rejects (200, 12)."""
    m = keras.Sequential([keras.Input((10,)), layers.Dense(16), layers.Dense(1)])
    m.compile(optimizer="adam", loss="mse")
    guard(m)
    m.fit(np.random.rand(200, 10), np.random.rand(200), epochs=1, verbose=0)
    e = _err(m.predict, np.random.rand(200, 12), verbose=0)
    assert (e.dim, e.expected, e.actual) == ("features", 10, 12)


def test_seed_conv2d_missing_channel_axis() -> None:
    """Seed 004/2: grayscale (100, 64, 64) into Conv2D (64, 64, 1): channels axis 3 missing."""
    m = keras.Sequential([keras.Input((64, 64, 1)), layers.Conv2D(2, 3), layers.Flatten(),
                          layers.Dense(2)])
    guard(m)
    e = _err(m.predict, np.random.rand(4, 64, 64), verbose=0)
    assert (e.axis, e.dim) == (3, "channels")
    assert any("x[..., None]" in s and "np.expand_dims(x, -1)" in s for s in e.suggestions)
    assert any("Keras itself would have accepted" in n for n in e.notes)


def test_seed_three_vs_five_features() -> None:
    """Seed 004/3: LSTM(input_shape=(20, 5)) fed 3 features."""
    m = guard(lstm_model(20, 5))
    e = _err(m.fit, np.random.rand(150, 20, 3), np.random.rand(150, 1), epochs=1, verbose=0)
    assert (e.dim, e.expected, e.actual) == ("features", 5, 3)


# ---------------------------------------------------------------------- guard mechanics
def test_every_entry_point_is_guarded_and_unguard_restores() -> None:
    """fit/predict/evaluate/*_on_batch/__call__ check; unguard restores the class and behaviour."""
    m = lstm_model()
    cls = type(m)
    guard(m)
    bad = np.zeros((4, 48, 3), np.float32)
    y = np.zeros((4, 1), np.float32)
    for call in (lambda: m(bad), lambda: m.predict(bad, verbose=0), lambda: m.evaluate(bad, y, verbose=0),
                 lambda: m.train_on_batch(bad, y), lambda: m.predict_on_batch(bad),
                 lambda: m.test_on_batch(bad, y), lambda: m.fit(x=bad, y=y, verbose=0)):
        with pytest.raises(ShapeContractError):
            call()
    good = np.zeros((4, 24, 3), np.float32)
    assert m.predict(good, verbose=0).shape == (4, 1)
    assert isinstance(m, cls) and type(m).__name__ == cls.__name__
    unguard(m)
    assert type(m) is cls
    m.predict(bad, verbose=0)  # Keras's own behaviour again


def test_framework_level_accepts_what_keras_accepts() -> None:
    """level='framework': 48 timesteps pass (Keras runs them); 1 feature still fails."""
    m = guard(lstm_model(), level="framework")
    m.predict(np.zeros((2, 48, 3), np.float32), verbose=0)
    e = _err(m.predict, np.zeros((2, 24, 1), np.float32), verbose=0)
    assert e.dim == "features"
    assert any("Keras rejects it" in n for n in e.notes)


def test_dims_pin_an_open_dim() -> None:
    """guard(dims=...) pins a size the model leaves open (Input((None, 3)))."""
    m = keras.Sequential([keras.Input((None, 3)), layers.LSTM(4)])
    m.predict(np.zeros((2, 30, 3), np.float32), verbose=0)
    guard(m, dims={"timesteps": 24})
    e = _err(m.predict, np.zeros((2, 30, 3), np.float32), verbose=0)
    assert e.origin == "timesteps=24 from dims={'timesteps': 24}"
    m.predict(np.zeros((2, 24, 3), np.float32), verbose=0)


def test_tf_data_checked_statically_from_element_spec() -> None:
    """A tf.data dataset is checked from element_spec, before any element is read."""
    import tensorflow as tf

    reads = []

    def gen():  # type: ignore[no-untyped-def]
        reads.append(1)
        yield np.zeros((24, 1), np.float32), np.zeros((1,), np.float32)

    ds = tf.data.Dataset.from_generator(gen, output_signature=(
        tf.TensorSpec((24, 1), tf.float32), tf.TensorSpec((1,), tf.float32))).batch(2)
    m = guard(lstm_model())
    e = _err(m.fit, ds, epochs=1, verbose=0)
    assert "dataset.element_spec" in e.function and e.dim == "features"
    assert reads == []


def test_generator_input_checked_lazily_and_passed_through() -> None:
    """A generator is checked batch by batch; the batches reach Keras unchanged."""
    m = guard(lstm_model())
    batches = [(np.zeros((2, 24, 3), np.float32), np.zeros((2, 1), np.float32)) for _ in range(2)]
    batches.append((np.zeros((2, 24, 2), np.float32), np.zeros((2, 1), np.float32)))
    wrapped = m.__dict__["_shapecontract_guard"].keras_input(m, "fit", iter(batches))
    assert next(wrapped) is batches[0]
    assert next(wrapped) is batches[1]
    with pytest.raises(ShapeContractError, match=r"batch 2"):
        next(wrapped)


def test_keras_with_the_torch_backend() -> None:
    """KERAS_BACKEND=torch: the same contract and the same catch (separate process)."""
    code = (
        "import numpy as np, keras\n"
        "from keras import layers\n"
        "from shapecontract import guard, contract_of, ShapeContractError\n"
        "assert keras.backend.backend() == 'torch'\n"
        "m = keras.Sequential([keras.Input((24, 3)), layers.LSTM(4), layers.Dense(1)])\n"
        "print(contract_of(m))\n"
        "guard(m)\n"
        "m.predict(np.zeros((2, 24, 3), np.float32), verbose=0)\n"
        "try:\n"
        "    m.predict(np.zeros((2, 24, 1), np.float32), verbose=0)\n"
        "except ShapeContractError as e:\n"
        "    print('caught', e.dim, e.expected, e.actual)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "KERAS_BACKEND": "torch"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert "(batch, 24, 3) -> lstm -> (batch, 4) -> dense -> (batch, 1)" in out.stdout
    assert "caught features 3 1" in out.stdout


def test_warn_mode_lets_keras_run() -> None:
    """In warn mode a guarded model warns and Keras still runs the (accepted) input."""
    from shapecontract import ShapeContractWarning, scoped

    m = guard(lstm_model())
    with scoped(mode="warn"), warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        out = m.predict(np.zeros((2, 48, 3), np.float32), verbose=0)
    assert out.shape == (2, 1)
    assert any(issubclass(x.category, ShapeContractWarning) for x in w)


def test_multi_input_functional_model() -> None:
    """Two named inputs: lists and dicts are checked per input; a graph is not drawn as a chain."""
    a = keras.Input((24, 3), name="seq")
    b = keras.Input((5,), name="static")
    out = layers.Dense(1)(layers.Concatenate()([layers.LSTM(4)(a), layers.Dense(2)(b)]))
    m = guard(keras.Model([a, b], out))
    c = contract_of(m)
    assert " -> " not in str(c).split(")")[0] and "x1: Num[Any" in str(c)
    assert len(c.table().splitlines()) == 2 + 4
    good = [np.zeros((2, 24, 3)), np.zeros((2, 5))]
    assert m.predict(good, verbose=0).shape == (2, 1)
    assert m.predict({"seq": good[0], "static": good[1]}, verbose=0).shape == (2, 1)
    e = _err(m.predict, [good[0], np.zeros((2, 6))], verbose=0)
    assert (e.slot, e.dim, e.expected) == ("input 'static'", "features", 5)
    e = _err(m.predict, {"seq": np.zeros((2, 24, 2)), "static": good[1]}, verbose=0)
    assert (e.slot, e.dim, e.expected) == ("input 'seq'", "features", 3)


def test_framework_level_pins_next_to_a_pin_the_model_fixes() -> None:
    """A pin the model already fixes (features=3) does not shift the others (timesteps=24)."""
    m = guard(keras.Sequential([keras.Input((None, 3)), layers.LSTM(4)]), level="framework",
              dims={"features": 3, "timesteps": 24})
    m.predict(np.zeros((2, 24, 3), np.float32), verbose=0)
    e = _err(m.predict, np.zeros((2, 30, 3), np.float32), verbose=0)
    assert (e.dim, e.expected, e.actual) == ("timesteps", 24, 30)


def test_batch_size_seen_when_fit_builds_the_model_is_not_enforced() -> None:
    """A Sequential built by fit on 64 samples (batch_size 32) takes a batch of 10 afterwards:
    Keras records the first batch size, but only a stateful layer needs it."""
    m = keras.Sequential([layers.LSTM(4), layers.Dense(1)])
    m.compile(loss="mse")
    guard(m)
    m.fit(np.zeros((64, 24, 3), np.float32), np.zeros((64, 1), np.float32), epochs=1, verbose=0)
    m.predict_on_batch(np.zeros((10, 24, 3), np.float32))
    with pytest.raises(ShapeContractError):
        m.predict_on_batch(np.zeros((10, 24, 2), np.float32))


def test_keyword_and_list_inputs_are_checked() -> None:
    """`model(inputs=x)` is checked like `model(x)`; a list of two arrays into a one-input model
    is refused before Keras guesses."""
    m = guard(lstm_model())
    with pytest.raises(ShapeContractError):
        m(inputs=np.zeros((2, 24, 2), np.float32))
    with pytest.raises(ShapeContractError, match="takes 1 input"):
        m.predict_on_batch([np.zeros((2, 24, 3), np.float32), np.zeros((2, 24, 2), np.float32)])


def test_pins_must_be_sizes() -> None:
    """dims= values are validated: a string, a negative size or a bool is a ContractSyntaxError."""
    from shapecontract import ContractSyntaxError

    for bad in ("64", -1, True, 2.5):
        with pytest.raises(ContractSyntaxError, match="non-negative int"):
            guard(lstm_model(), dims={"batch": bad})


def test_contract_blocks_build_functional_models_from_keras_inputs() -> None:
    """Issue 9: a `@contract` block accepts `keras.Input(...)` by its known dims, so decorated
    blocks can build functional models; a wrong rank is still caught, with a Keras-idiom fix."""
    from shapecontract import Array, Float, contract

    @contract
    def block(x: Float[Array, "batch timesteps features"], units: int) -> Float[Array, "batch units"]:
        return layers.LSTM(units)(x)

    inp = keras.Input((24, 3))
    model = keras.Model(inp, block(inp, 8))
    assert model.output_shape == (None, 8)
    x = keras.Input((24,))
    with pytest.raises(ShapeContractError) as info:
        block(x, 8)
    assert "keras.ops.expand_dims(x, -1)" in str(info.value)
    assert block(keras.ops.expand_dims(x, -1), 8).shape == (None, 8)  # the fix, applied


def test_ragged_tokens_into_a_fixed_length_input_pad_to_that_length() -> None:
    """[[3, 9], [7, 1, 4]] into Input((6,)): the padding fix pads to maxlen=6, and it works."""
    m = guard(keras.Sequential([keras.Input((6,), dtype="int32"), layers.Embedding(20, 4),
                                layers.Flatten(), layers.Dense(1)]))
    x = [[3, 9], [7, 1, 4]]
    with pytest.raises(ShapeContractError) as info:
        m.predict_on_batch(x)
    assert info.value.suggestions[0].code == "keras.utils.pad_sequences(x, padding='post', maxlen=6)"
    m.predict_on_batch(keras.utils.pad_sequences(x, padding="post", maxlen=6))


def test_a_sequential_loaded_from_a_keras_file_is_still_a_chain(tmp_path: Any) -> None:
    """Keras builds a loaded Sequential twice (its first layer gets two inbound nodes on the same
    input): the contract is still the layer chain, not the function form (before: the function
    form, and port.scaffold refused the layer as shared)."""
    import keras

    m = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(5, name="lstm_c"),
                          keras.layers.Dense(1, name="dense_c")])
    path = tmp_path / "m.keras"
    m.save(path)
    loaded = keras.saving.load_model(path)
    assert str(contract_of(loaded)) == str(contract_of(m))
    assert "-> lstm_c ->" in str(contract_of(loaded))


def test_no_false_would_have_accepted_note_for_a_built_subclassed_model() -> None:
    """A built subclassed model refused for 1 feature instead of 3 carried the note 'Keras
    itself would have accepted this input silently: the model is not built' -- false on both
    counts (it is built, and Keras raises). A built subclassed model has no graph to ask on
    shapes: no note is made up."""
    import keras

    from shapecontract import Array, Float

    class Sub(keras.Model):
        def __init__(self) -> None:
            super().__init__(name="sub")
            self.lstm = keras.layers.LSTM(5, name="lstm_s")
            self.d = keras.layers.Dense(1, name="dense_s")

        def call(self, x: Float[Array, "batch timesteps 3"]) -> Any:
            return self.d(self.lstm(x))

    m = Sub()
    m.compile(loss="mse")
    m.fit(np.zeros((4, 24, 3)), np.zeros((4, 1)), verbose=0)
    assert m.built
    guard(m)
    with pytest.raises(ShapeContractError) as info:
        m.predict(np.zeros((2, 24, 1)), verbose=0)
    assert info.value.dim == "features"
    assert "would have accepted" not in str(info.value)
    unguard(m)
    with pytest.raises(Exception):  # noqa: B017 -- and indeed Keras does not accept it
        m.predict(np.zeros((2, 24, 1)), verbose=0)


def test_a_subclassed_model_whose_first_layer_takes_any_rank_keeps_its_built_input() -> None:
    """https://stackoverflow.com/questions/65356923 (SFData) shape: a subclassed MLP whose
    call starts with Flatten (its input spec says only 'at least one axis') trained with
    validation data. The guarded __call__ in Keras's own evaluation step was refused with a
    made-up contract of one axis, (batch,): a lower bound read as the rank. The input is the
    one Keras built the model on."""
    import keras

    class LeNet300(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.flatten = keras.layers.Flatten()
            self.dense = keras.layers.Dense(10, activation="softmax")

        def call(self, inputs: Any) -> Any:
            return self.dense(self.flatten(inputs))

    m = LeNet300()
    m.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    x, y = rng.random((16, 28, 28), dtype=np.float32), rng.integers(0, 10, 16)
    guard(m).fit(x, y, epochs=1, verbose=0, validation_data=(x[:8], y[:8]))
    assert str(contract_of(m)).startswith("(batch, 28, 28)")
    with pytest.raises(ShapeContractError):
        m.predict(np.zeros((2, 28, 27), "float32"), verbose=0)
