"""Trust (issue 18): correct programs are never refused, and the notes about what the framework
would have done are true. Each test failed before its change."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from typing import Any

import numpy as np
import pytest

import shapecontract as sc
from shapecontract import Float, Integer, ShapeContractError

torch = pytest.importorskip("torch")
nn = torch.nn


class PackedClassifier(nn.Module):
    """The standard packed-sequence classifier: forward(text, lengths)."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, text: Any, lengths: Any) -> Any:
        packed = nn.utils.rnn.pack_padded_sequence(self.emb(text), lengths, batch_first=True,
                                                   enforce_sorted=False)
        _, (h, _) = self.lstm(packed)
        return self.fc(h[-1])


class WithHidden(nn.Module):
    """forward(x, hidden): a stateful LSTM whose caller carries the state."""

    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(4, 16, batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, x: Any, hidden: Any) -> Any:
        out, hidden = self.lstm(x, hidden)
        return self.fc(out[:, -1]), hidden


class WithContext(nn.Module):
    """forward(x, ctx): a decoder step with a context vector concatenated to its input."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(6, 3)

    def forward(self, x: Any, ctx: Any) -> Any:
        return self.fc(torch.cat([x, ctx], dim=-1))


class TokenClassifier(nn.Module):
    """Embedding -> LSTM -> Linear, fed int64 token ids."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 8)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 2)

    def forward(self, text: Any) -> Any:
        out, _ = self.lstm(self.emb(text))
        return self.fc(out[:, -1])


def test_forward_with_lengths_is_not_refused() -> None:
    """guard(m) of a packed-sequence classifier: every correct call passes, with both arguments."""
    m = PackedClassifier()
    g = sc.guard(m)
    x, lengths = torch.randint(0, 100, (3, 7)), torch.tensor([7, 5, 2])
    assert g(x, lengths).shape == (3, 2)
    assert g(x, lengths=lengths).shape == (3, 2)
    with pytest.raises(ShapeContractError, match="dtype"):
        g(x.float(), lengths)


def test_forward_with_hidden_state_is_not_refused() -> None:
    """forward(x, hidden): every call with a state passes; a bad x is still caught."""
    g = sc.guard(WithHidden())
    h = (torch.zeros(1, 3, 16), torch.zeros(1, 3, 16))
    out, _ = g(torch.zeros(3, 5, 4), h)
    assert out.shape == (3, 2)
    assert g(torch.zeros(3, 5, 4), hidden=h)[0].shape == (3, 2)
    with pytest.raises(ShapeContractError, match="expected 4, got 5"):
        g(torch.zeros(3, 5, 5), h)


def test_forward_with_context_gets_torchs_verdict_on_both_arguments() -> None:
    """forward(x, ctx): correct calls pass; a ctx of the wrong width is refused as torch does."""
    g = sc.guard(WithContext(), input_shape=(None, 4))
    assert g(torch.zeros(2, 4), torch.zeros(2, 2)).shape == (2, 3)
    with pytest.raises(ShapeContractError, match="PyTorch rejects it"):
        g(torch.zeros(2, 4), torch.zeros(2, 3))
    with pytest.raises(RuntimeError):
        WithContext()(torch.zeros(2, 4), torch.zeros(2, 3))  # torch agrees


def test_input_shape_leaves_the_dtype_to_torch() -> None:
    """input_shape=(None, 20) on an Embedding-first model takes int64 token ids (it refused
    them as not Float); floats are refused by torch's own verdict, with the cast torch accepts."""
    g = sc.guard(TokenClassifier(), input_shape=(None, 20))
    assert g(torch.randint(0, 100, (3, 20))).shape == (3, 2)
    with pytest.raises(ShapeContractError) as info:
        g(torch.zeros(3, 20))
    fix = next(s for v in info.value.violations for s in v.suggestions if s.code)
    assert fix.code == "x.long()"
    x = torch.zeros(3, 20)
    fixed = eval(fix.code, {"torch": torch, "text": x, "x": x})  # the fix as the user pastes it
    assert g(fixed).shape == (3, 2)
    assert g(fix.op.apply(x)).shape == (3, 2)  # the fix's operation itself


def _keras_note(model: Any, data: np.ndarray) -> tuple[bool, str]:
    """(Keras accepts `data` itself, our error text) for a guarded copy of the same model."""
    import keras

    try:
        keras.models.clone_model(model).predict(data, verbose=0)
        accepted = True
    except Exception:
        accepted = False
    with pytest.raises(ShapeContractError) as info:
        sc.guard(model).predict(data, verbose=0)
    return accepted, str(info.value)


@pytest.mark.parametrize("case", ["conv1d_images", "conv2d_no_channels"])
def test_unbuilt_keras_model_note_is_true(case: str) -> None:
    """An unbuilt model fed a shape Keras rejects once it builds gets no 'would have accepted'."""
    keras = pytest.importorskip("keras")
    layer = keras.layers.Conv1D(4, 3) if case == "conv1d_images" else keras.layers.Conv2D(4, 3)
    model = keras.Sequential([layer, keras.layers.Flatten(), keras.layers.Dense(1)])
    data = np.zeros((2, 28, 28, 1) if case == "conv1d_images" else (2, 28, 28), "float32")
    accepted, text = _keras_note(model, data)
    assert not accepted
    assert "would have accepted" not in text
    assert not model.built  # asking Keras did not build the user's model


def test_subclassed_keras_model_is_asked_not_refused() -> None:
    """A subclassed keras.Model whose call adds the channel axis before its Conv2D, fed
    (n, 28, 28): accepted built or not, in predict and fit; a bad size is refused with the
    words of the layer Keras names."""
    keras = pytest.importorskip("keras")

    class Net(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.conv = keras.layers.Conv2D(4, 3)
            self.flat = keras.layers.Flatten()
            self.out = keras.layers.Dense(10)

        def call(self, x: Any) -> Any:
            return self.out(self.flat(self.conv(keras.ops.expand_dims(x, -1))))

    x = np.zeros((5, 28, 28), "float32")
    assert sc.guard(Net()).predict(x, verbose=0).shape == (5, 10)
    fitted = Net()
    fitted.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    sc.guard(fitted).fit(x, np.zeros(5), epochs=1, verbose=0)
    built = Net()
    built.predict(x, verbose=0)
    g = sc.guard(built)
    assert g.predict(x, verbose=0).shape == (5, 10)
    with pytest.raises(ShapeContractError, match=r"dense.*expected axis -1 of input shape to "
                                                 r"have value 2704"):
        g.predict(np.zeros((5, 30, 30), "float32"), verbose=0)


class NllOfLogits(nn.Module):
    """A custom loss whose forward calls F.nll_loss."""

    def forward(self, log_probs: Any, target: Any) -> Any:
        return nn.functional.nll_loss(log_probs, target)


@pytest.mark.parametrize("case", ["lstm_cell", "custom_loss", "padding_first"])
def test_guard_never_refuses_a_module_of_no_known_kind(case: str) -> None:
    """guard() of an nn.LSTMCell, a custom loss, a Sequential starting with ReflectionPad2d:
    guarded at torch's own word; correct calls pass, what torch rejects stops before torch."""
    m, good, bad, words = {
        "lstm_cell": (nn.LSTMCell(4, 8), (torch.zeros(3, 4),), (torch.zeros(3, 5),),
                      "input_size"),
        "custom_loss": (NllOfLogits(), (torch.zeros(3, 5), torch.zeros(3, dtype=torch.long)),
                        (torch.zeros(3, 5), torch.zeros(4, dtype=torch.long)), "batch_size"),
        "padding_first": (nn.Sequential(nn.ReflectionPad2d(3), nn.Conv2d(1, 8, 7)),
                          (torch.zeros(2, 1, 28, 28),), (torch.zeros(2, 3, 28, 28),),
                          "in_channels=1"),
    }[case]
    g = sc.guard(m)
    g(*good)
    with pytest.raises(ShapeContractError, match=words) as info:
        g(*bad)
    assert "PyTorch rejects it" in str(info.value)


class Sentiment(nn.Module):
    """Embedding -> LSTM -> Linear whose forward states its contract with @contract."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(100, 16)
        self.lstm = nn.LSTM(16, 32, batch_first=True)
        self.fc = nn.Linear(32, 2)

    @sc.contract
    def forward(self, text: Integer[sc.Array, "batch timesteps"]) -> Float[sc.Array, "batch 2"]:
        out, _ = self.lstm(self.emb(text))
        return self.fc(out[:, -1])


def test_a_contract_on_forward_is_the_models_contract() -> None:
    """@contract on forward: contract_of/guard state its annotations (no first-layer guess) and
    a violation is one error, not one nested inside another."""
    m = Sentiment()
    c = sc.contract_of(m)
    assert str(c).startswith('Sentiment(text: Integer[Array, "batch timesteps"])')
    g = sc.guard(m)
    assert g(torch.randint(0, 100, (4, 9))).shape == (4, 2)
    with pytest.raises(ShapeContractError) as info:
        g(torch.randint(0, 100, (4, 9, 2)))
    text = str(info.value)
    assert text.count("contract violation") == 1 and "expected 2 axes, got 3" in text


def test_a_contract_on_keras_call_is_the_models_contract() -> None:
    """@contract on a subclassed Keras model's call: guard checks its annotations (24 steps,
    which no layer states: Keras itself takes 48)."""
    keras = pytest.importorskip("keras")

    class Sub(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.lstm = keras.layers.LSTM(5)
            self.d = keras.layers.Dense(1)

        def call(self, x: Any) -> Any:
            return self.d(self.lstm(x))

    Sub.call = sc.contract(_keras_call)  # type: ignore[method-assign]
    m = Sub()
    m.compile(loss="mse")
    g = sc.guard(m)
    g.fit(np.zeros((4, 24, 3), "float32"), np.zeros((4, 1)), verbose=0)
    with pytest.raises(ShapeContractError, match="expected 24, got 48"):
        g.predict(np.zeros((2, 48, 3), "float32"), verbose=0)


def _keras_call(self: Any, x: Float[sc.Array, "batch 24 3"]) -> Any:
    return self.d(self.lstm(x))


# ------------------------------------------------------------------ targets from every source
def _regressor(units: int = 1, loss: str = "mse", activation: str | None = None) -> Any:
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(4),
                          keras.layers.Dense(units, activation=activation)])
    m.compile(loss=loss)
    return m


X = np.zeros((16, 24, 3), "float32")


@pytest.mark.parametrize("entry", ["fit", "evaluate"])
def test_tf_data_targets_are_checked_against_the_loss(entry: str) -> None:
    """(x, y) from tf.data with y (batch, 7) for an mse output (batch, 1): refused before Keras
    broadcasts it and trains silently; the right y passes."""
    tf = pytest.importorskip("tensorflow")
    bad = tf.data.Dataset.from_tensor_slices((X, np.zeros((16, 7), "float32"))).batch(4)
    good = tf.data.Dataset.from_tensor_slices((X, np.zeros((16, 1), "float32"))).batch(4)
    g = sc.guard(_regressor())
    kwargs: dict[str, Any] = {"epochs": 1} if entry == "fit" else {}
    with pytest.raises(ShapeContractError, match="expected 1, got 7"):
        getattr(g, entry)(bad, verbose=0, **kwargs)
    getattr(g, entry)(good, verbose=0, **kwargs)


def test_tf_data_targets_of_unknown_size_are_checked_as_they_flow() -> None:
    """A tf.data pipeline whose y sizes are unknown (from a generator): each batch's y is
    checked when it flows, with our error."""
    tf = pytest.importorskip("tensorflow")

    def batches() -> Any:
        for _ in range(2):
            yield X[:4], np.zeros((4, 7), "float32")

    ds = tf.data.Dataset.from_generator(batches, output_signature=(
        tf.TensorSpec((None, 24, 3), tf.float32), tf.TensorSpec((None, None), tf.float32)))
    with pytest.raises(ShapeContractError, match="expected 1, got 7"):
        sc.guard(_regressor()).fit(ds, epochs=1, verbose=0)


def test_generator_and_py_dataset_targets_are_checked_against_the_loss() -> None:
    """One-hot y (batch, 2) for Dense(1) + binary cross-entropy, from a generator and from a
    keras.utils.PyDataset: refused with our error; the dataset object is not changed."""
    keras = pytest.importorskip("keras")
    onehot = np.eye(2, dtype="float32")[np.zeros(4, int)]

    def batches() -> Any:
        for _ in range(3):
            yield X[:4], onehot

    class Batches(keras.utils.PyDataset):
        def __len__(self) -> int:
            return 3

        def __getitem__(self, i: int) -> Any:
            return X[:4], onehot

    with pytest.raises(ShapeContractError, match="expected 1, got 2"):
        sc.guard(_regressor(1, "binary_crossentropy", "sigmoid")).fit(
            batches(), epochs=1, steps_per_epoch=3, verbose=0)
    ds = Batches()
    before = dict(vars(ds))
    with pytest.raises(ShapeContractError, match="expected 1, got 2"):
        sc.guard(_regressor(1, "binary_crossentropy", "sigmoid")).fit(ds, epochs=1, verbose=0)
    assert vars(ds) == before and type(ds) is Batches

    class Good(Batches):
        def __getitem__(self, i: int) -> Any:
            return X[:4], np.zeros((4, 1), "float32")

    sc.guard(_regressor(1, "binary_crossentropy", "sigmoid")).fit(Good(), epochs=1, verbose=0)


def test_unbuilt_sequential_targets_are_checked_before_the_first_step() -> None:
    """An unbuilt Sequential (no Input) fit on integer labels with categorical cross-entropy:
    our error, with the to_categorical / sparse hint, before Keras runs."""
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.layers.Embedding(50, 8), keras.layers.LSTM(4),
                          keras.layers.Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy")
    with pytest.raises(ShapeContractError, match="sparse_categorical_crossentropy"):
        sc.guard(m).fit(np.zeros((8, 10), "int32"), np.zeros((8,), "int32"), epochs=1,
                        verbose=0)


# ------------------------------------------------------------------ arity and containers
def test_one_array_for_two_inputs_or_three_outputs_names_them() -> None:
    """validation_data with one array for a two-input model, one y for a three-output model:
    our error naming the inputs/outputs, before Keras's 'expects 2 inputs' or a KeyError."""
    keras = pytest.importorskip("keras")
    a, b = keras.Input((4,), name="a"), keras.Input((3,), name="b")
    two = keras.Model([a, b], keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    two.compile(loss="mse")
    xa, xb, y = np.zeros((8, 4)), np.zeros((8, 3)), np.zeros((8, 1))
    with pytest.raises(ShapeContractError, match=r"2 inputs \(a, b\)"):
        sc.guard(two).fit([xa, xb], y, validation_data=(xa, y), epochs=1, verbose=0)
    i = keras.Input((4,))
    h = keras.layers.Dense(3)(i)
    three = keras.Model(i, [keras.layers.Dense(1, name=f"o{k}")(h) for k in range(3)])
    three.compile(loss="mse")
    with pytest.raises(ShapeContractError, match=r"3 outputs \(o0, o1, o2\)"):
        sc.guard(three).fit(xa, y, epochs=1, verbose=0)
    sc.guard(three).fit(xa, [y, y, y], epochs=1, verbose=0)


def _first_code(err: ShapeContractError) -> str:
    return next(s.code for v in err.violations for s in v.suggestions if s.code)


def test_a_list_of_samples_gets_the_stack_fix_that_works() -> None:
    """A list of (24, 3) samples into a one-input model: the fix is np.stack(x), and it works."""
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.Input((24, 3)), keras.layers.LSTM(2), keras.layers.Dense(1)])
    g = sc.guard(m)
    x = [np.zeros((24, 3), "float32")] * 5
    with pytest.raises(ShapeContractError) as info:
        g.predict(x, verbose=0)
    fixed = eval(_first_code(info.value), {"np": np, "x": x})
    assert g.predict(fixed, verbose=0).shape == (5, 1)


def test_a_flat_list_of_token_ids_gets_the_padding_fix_that_works() -> None:
    """predict on one flat Python list of token ids: a batch of one, padded to the model's
    length, is the fix, and it works."""
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.Input((20,), dtype="int32"), keras.layers.Embedding(50, 4),
                          keras.layers.LSTM(2), keras.layers.Dense(1)])
    g = sc.guard(m)
    x = [3, 4, 5, 6]
    with pytest.raises(ShapeContractError) as info:
        g.predict(x, verbose=0)
    fixed = eval(_first_code(info.value), {"np": np, "keras": keras, "x": x})
    assert g.predict(fixed, verbose=0).shape == (1, 1)


# ------------------------------------------------------------------ cost
def test_a_class_loss_is_decided_on_the_fast_path() -> None:
    """A guarded nn.CrossEntropyLoss (targets of class indices or probabilities, told apart by
    dtype) has a fast path; each kind of target still gets the verdict torch gives."""
    g = sc.guard(nn.CrossEntropyLoss())
    source = sc.checker_source(g)
    assert "slow path only" not in source and "target" in source
    x = torch.randn(4, 5)
    g(x, torch.randint(0, 5, (4,)))
    g(x, torch.softmax(torch.randn(4, 5), 1))
    with pytest.raises(ShapeContractError):
        g(x, torch.randint(0, 5, (3,)))
    with pytest.raises(ShapeContractError):
        g(x, torch.rand(4, 6))


def test_verdict_caches_are_bounded() -> None:
    """A container guarded through torch's verdict, fed a new batch size 1,100 times, keeps at
    most CACHE_SIZE verdicts (variable-length batches do not grow memory for ever)."""
    from shapecontract.frameworks._cache import CACHE_SIZE

    m = nn.Sequential(nn.Linear(3, 2))
    c = sc.contract_of(m)
    for n in range(1, 1101):
        c.check(torch.zeros(n, 3))
    verdict: Any = c.framework
    assert 0 < len(verdict._fast) <= CACHE_SIZE and len(verdict._cache) <= CACHE_SIZE


def test_guarding_a_loader_leaves_it_as_it_was() -> None:
    """guard(loader) does not replace the loader's collate_fn (the caller's object is never
    changed); the guarded stream still explains samples that do not stack."""
    from torch.utils.data import DataLoader, default_collate

    from shapecontract import Float

    ragged = [torch.zeros(5, 3), torch.zeros(4, 3), torch.zeros(5, 3), torch.zeros(5, 3)]
    loader = DataLoader(ragged, batch_size=2)
    g = sc.guard(loader, Float[sc.Array, "batch t 3"])
    assert loader.collate_fn is default_collate
    with pytest.raises(ShapeContractError, match="samples 0 and 1 of batch 0"):
        list(g)
    assert [b.shape for b in DataLoader(ragged[2:], batch_size=2)] == [(2, 5, 3)]


def test_a_new_batch_size_costs_no_shape_pass_once_accepted() -> None:
    """A container fed batch sizes 1..50 runs torch's shape-only pass for the first 4 batch
    sizes only (a forward can depend on the batch size: the last, smaller batch of an epoch is
    the second size it sees, and is checked); after that an acceptance holds for every batch
    size of that rank. A rejected shape is not generalized, and a new non-batch size is asked
    again."""
    from shapecontract.frameworks.torch import guard_of
    from shapecontract.frameworks.torch.verdict import _SIZES_CHECKED

    m = nn.Sequential(nn.Flatten(), nn.Linear(12, 2))
    g = sc.guard(m)
    verdict: Any = guard_of(g).contract(g).framework
    for n in range(1, 51):
        g(torch.zeros(n, 3, 4))
    assert len(verdict._cache) == _SIZES_CHECKED == 4
    with pytest.raises(ShapeContractError, match="PyTorch rejects it"):
        g(torch.zeros(7, 3, 5))
    with pytest.raises(ShapeContractError, match="PyTorch rejects it"):
        g(torch.zeros(8, 3, 5))
    assert len(verdict._cache) == _SIZES_CHECKED + 2


# ------------------------------------------------------------------ corpus findings (Keras)
def test_open_sizes_of_two_inputs_are_their_own() -> None:
    """A seq2seq model whose encoder and decoder Inputs both leave timesteps open: 7 encoder
    steps and 6 decoder steps are not forced to agree."""
    keras = pytest.importorskip("keras")
    e, d = keras.Input((None, 5)), keras.Input((None, 7))
    _, h, c = keras.layers.LSTM(4, return_state=True)(e)
    out = keras.layers.Dense(7)(keras.layers.LSTM(4, return_sequences=True)(d, initial_state=[h, c]))
    m = keras.Model([e, d], out)
    m.compile(loss="mse")
    sc.guard(m).fit([np.zeros((4, 7, 5)), np.zeros((4, 6, 7))], np.zeros((4, 6, 7)), epochs=1,
                    verbose=0)


def test_a_column_of_scalars_and_bool_inputs_are_taken_as_keras_takes_them() -> None:
    """Input(shape=(1,)) fed (batch,) columns (keras.io structured data) and a bool one-hot
    array into a float Input (keras.io char LSTM): accepted; a (batch, 24) series into
    Input((24, 1)) is still refused (the seed's missing feature axis)."""
    keras = pytest.importorskip("keras")
    a, b = keras.Input((1,), name="age"), keras.Input((1,), name="fare")
    cols = keras.Model({"age": a, "fare": b},
                       keras.layers.Dense(1)(keras.layers.Concatenate()([a, b])))
    cols.compile(loss="mse")
    sc.guard(cols).fit({"age": np.zeros(8), "fare": np.zeros(8)}, np.zeros(8), epochs=1,
                       verbose=0)
    m = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(2),
                          keras.layers.Dense(3, activation="softmax")])
    m.compile(loss="categorical_crossentropy")
    sc.guard(m).fit(np.zeros((4, 5, 3), bool), np.zeros((4, 3), bool), epochs=1, verbose=0)
    series = keras.Sequential([keras.Input((24, 1)), keras.layers.LSTM(2), keras.layers.Dense(1)])
    with pytest.raises(ShapeContractError, match="expected 3 axes, got 2"):
        sc.guard(series).predict(np.zeros((4, 24)), verbose=0)


def test_a_subclassed_model_taking_a_list_is_not_refused() -> None:
    """A subclassed model whose call unpacks (a, b): fit([a, b], y) runs guarded."""
    keras = pytest.importorskip("keras")

    class Two(keras.Model):
        def __init__(self) -> None:
            super().__init__()
            self.d = keras.layers.Dense(1)

        def call(self, inputs: Any) -> Any:
            a, b = inputs
            return self.d(keras.ops.concatenate([a, b], axis=-1))

    m = Two()
    m.compile(loss="mse")
    sc.guard(m).fit([np.zeros((4, 2)), np.zeros((4, 3))], np.zeros((4, 1)), epochs=1,
                    verbose=0)


# ------------------------------------------------------------------ corpus findings (torch)
class _Coin(nn.Module):
    """A forward that draws a random number (teacher forcing) and counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, src: Any) -> Any:
        import random

        self.draws = getattr(self, "draws", 0) + 1
        return self.fc(self.emb(src).mean(0)) * (2.0 if random.random() < 0.5 else 1.0)


class _CachedMask(nn.Module):
    """A forward that caches a mask on self (pytorch/examples' Transformer src_mask)."""

    def __init__(self) -> None:
        super().__init__()
        self.src_mask: Any = None
        self.proj = nn.Linear(4, 4)

    def forward(self, src: Any) -> Any:
        if self.src_mask is None or self.src_mask.size(0) != len(src):
            self.src_mask = torch.triu(torch.full((len(src), len(src)), float("-inf")), 1)
        return (torch.einsum("sbd,tbd->bst", src, self.proj(src)) + self.src_mask).softmax(-1)


def test_asking_torch_leaves_no_trace_in_the_program() -> None:
    """torch's shape-only pass leaves the module and the RNGs as they were: a forward that
    draws a random number draws the same one guarded; a mask cached on self stays a real tensor
    (it stayed a FakeTensor and corrupted every later result); BatchNorm counts real batches."""
    import random

    m = sc.guard(_Coin())
    random.seed(0)
    m.draws = 0
    m(torch.randint(0, 10, (7, 3)))
    after = random.random()
    random.seed(0)
    random.random()
    assert (m.draws, after) == (1, random.random())
    masked = sc.guard(_CachedMask())
    out = masked(torch.randn(6, 3, 4))
    assert type(out) is torch.Tensor and type(masked.src_mask) is torch.Tensor
    assert torch.isfinite(out).all()
    bn = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(1352, 1))
    sc.guard(bn)(torch.zeros(2, 1, 28, 28))
    assert bn[1].num_batches_tracked.item() == 1


def test_a_flat_list_for_an_open_length_gets_a_batch_of_one_that_works() -> None:
    """A flat list of token ids into a model whose length is open: np.array([x]), applied."""
    keras = pytest.importorskip("keras")
    m = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(50, 4),
                          keras.layers.LSTM(2), keras.layers.Dense(1)])
    g = sc.guard(m)
    x = [3, 4, 5, 6]
    with pytest.raises(ShapeContractError) as info:
        g.predict(x, verbose=0)
    assert _first_code(info.value) == "np.array([x])"
    fixed = eval(_first_code(info.value), {"np": np, "x": x})
    assert g.predict(fixed, verbose=0).shape == (1, 1)


def test_an_unbuilt_dense_first_model_takes_any_rank() -> None:
    """tensorflow.org's time-series `linear` model (an unbuilt Sequential([Dense(1)])) fit on
    (batch, 1, features) windows: accepted (Dense maps the last axis of any rank)."""
    keras = pytest.importorskip("keras")
    tf = pytest.importorskip("tensorflow")
    m = keras.Sequential([keras.layers.Dense(1)])
    m.compile(loss="mse")
    ds = tf.data.Dataset.from_tensor_slices((np.zeros((8, 1, 5), "float32"),
                                             np.zeros((8, 1, 1), "float32"))).batch(4)
    sc.guard(m).fit(ds, epochs=1, verbose=0)


def test_asking_keras_through_a_clone_leaves_randomness_as_it_was() -> None:
    """An unbuilt model guarded and fit on arrays (its targets asked of a clone, whose layers
    draw seeds) ends with the very weights of the same program unguarded."""
    keras = pytest.importorskip("keras")

    def run(guarded: bool) -> list[Any]:
        keras.utils.set_random_seed(3)
        m = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])
        m.compile(loss="mse", optimizer="sgd")
        model = sc.guard(m) if guarded else m
        model.fit(np.ones((8, 5), "float32"), np.ones((8, 1), "float32"), epochs=1, verbose=0)
        extra = keras.layers.Dense(2)  # a layer made after: the next draws agree too
        extra.build((None, 3))
        return [w.copy() for w in m.get_weights() + extra.get_weights()]

    for a, b in zip(run(False), run(True)):
        np.testing.assert_array_equal(a, b)
