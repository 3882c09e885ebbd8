"""`shapecontract.explain`: real Keras 3 (TensorFlow backend) and PyTorch shape errors, raised by
programs re-created from public Q&A threads, explained post mortem from their tracebacks; each
proven fix is applied here and the program re-run. Then the ways it is installed: `install()`,
`shapecontract run`, the pytest plugin and the IPython extension (IPython is not installed
here: a stand-in shell with `set_custom_exc` and `showtraceback` is used)."""

from __future__ import annotations

import gc
import importlib.metadata
import os
import subprocess
import sys
import textwrap
import weakref
from pathlib import Path
from typing import Any

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import shapecontract
from shapecontract import ShapeContractError, explain
from shapecontract.explain import Fresh
from shapecontract.fixes import Permute, SetSetting

SRC = str(Path(__file__).resolve().parent.parent / "src")
pytest_plugins = ["pytester"]


def _raised(f: Any, *args: Any) -> BaseException:
    try:
        f(*args)
    except Exception as e:
        return e
    raise AssertionError("no error raised")


# ------------------------------------------------------------------------------------ Keras
@pytest.fixture(scope="module")
def keras() -> Any:
    return pytest.importorskip("keras")


def test_keras_stacked_lstm_without_return_sequences(keras: Any) -> None:
    """https://stackoverflow.com/q/44583254 shape: the second LSTM gets (None, units) while the
    Sequential is built; the answer: return_sequences=True on the first."""
    layers = keras.layers

    def build(first: Any) -> Any:
        return keras.Sequential([layers.Input((10, 4)), first, layers.LSTM(8), layers.Dense(1)])

    exc = _raised(build, layers.LSTM(8))
    err = explain(exc)
    assert isinstance(err, ShapeContractError)
    v = err.violations[0]
    assert v.kind == "rank" and v.expected == 3 and v.actual == 2
    assert v.origin is not None and v.origin.attribute == "input_spec"
    assert "lstm" in (v.origin.layer or "")
    op = v.suggestions[0].op
    assert op == SetSetting(op.layer, "LSTM", "return_sequences", True)
    assert "return_sequences=True" in str(err) and "Keras raised ValueError" in str(err)
    model = build(layers.LSTM(8, **{op.setting: op.value}))  # the fix, applied
    assert model.predict(np.zeros((2, 10, 4), "float32"), verbose=0).shape == (2, 1)
    shapecontract.contract_of(model).check(np.zeros((2, 10, 4), "float32"))


def test_keras_functional_stacked_lstm(keras: Any) -> None:
    """The same mistake in a functional builder: the chain of layers from the input is read
    from the symbolic tensor's history."""
    layers = keras.layers

    def build(return_sequences: bool) -> Any:
        inp = keras.Input((10, 4))
        x = layers.LSTM(8, return_sequences=return_sequences)(inp)
        x = layers.LSTM(8)(x)
        return keras.Model(inp, layers.Dense(1)(x))

    err = explain(_raised(build, False))
    assert err is not None
    op = err.violations[0].suggestions[0].op
    assert (op.kind, op.setting, op.value) == ("LSTM", "return_sequences", True)
    assert "the layers from the input to" in str(err)
    build(op.value)  # the fix, applied: it builds


def test_keras_conv2d_input_without_channels(keras: Any) -> None:
    """https://stackoverflow.com/q/47665391 shape: Conv2D(input_shape=(28, 28)), no channel
    axis; the answer: (28, 28, 1), and the data reshaped to it."""
    layers = keras.layers

    def build(shape: tuple[int, ...]) -> Any:
        return keras.Sequential([layers.Conv2D(8, 3, input_shape=shape), layers.Flatten(),
                                 layers.Dense(10)])

    err = explain(_raised(build, (28, 28)))
    assert err is not None
    v = err.violations[0]
    assert v.dim == "channels" and v.expected == 4 and v.actual == 3
    fix = v.suggestions[0]  # written where the user declared it: input_shape= of the layer
    assert fix.op == SetSetting("Conv2D 'conv2d'", "Conv2D", "input_shape", (28, 28, 1)) or (
        fix.op.setting == "input_shape" and fix.op.value == (28, 28, 1))
    assert fix.code == "Conv2D(..., input_shape=(28, 28, 1))" and "x[..., None]" in fix
    model = build(fix.op.value)
    x = np.zeros((2, 28, 28), "float32")[..., None]
    shapecontract.contract_of(model).check(x)
    assert model.predict(x, verbose=0).shape == (2, 10)


def test_keras_input_vector_into_conv1d(keras: Any) -> None:
    """https://stackoverflow.com/q/43396572 shape: Input((30,)) into Conv1D; the answer:
    Input((30, 1))."""
    layers = keras.layers

    def build(shape: tuple[int, ...]) -> Any:
        inp = keras.Input(shape)
        x = layers.Conv1D(8, 3)(inp)
        return keras.Model(inp, layers.Dense(1)(layers.Flatten()(x)))

    err = explain(_raised(build, (30,)))
    assert err is not None
    op = err.violations[0].suggestions[0].op
    assert op.value == (30, 1)
    model = build(op.value)
    shapecontract.contract_of(model).check(np.zeros((3, 30, 1), "float32"))


def _sequential(keras: Any, shape: tuple[int, ...], *layers: Any) -> Any:
    return keras.Sequential([keras.Input(shape), *layers])


def test_keras_build_error_channels_first_input(keras: Any) -> None:
    """https://stackoverflow.com/q/41651628 shape: CIFAR images declared channels first,
    (3, 32, 32), for channels-last convolutions: a pooling layer's output size goes negative
    while the Sequential is built (not an input-spec error: Keras's size computation raises).
    The answer: input_shape=(32, 32, 3)."""
    layers = keras.layers

    def stack() -> list[Any]:
        return [layers.Conv2D(8, 3), layers.MaxPooling2D(2), layers.Conv2D(8, 3),
                layers.MaxPooling2D(2), layers.Flatten(), layers.Dense(2)]

    err = explain(_raised(_sequential, keras, (3, 32, 32), *stack()))
    assert err is not None
    v = err.violations[0]
    assert v.kind == "value" and "negative" in v.message and v.shape[1:3] == (1, 30)
    assert "MaxPooling2D" in (v.origin.layer or "")
    op = v.suggestions[0].op
    assert (op.setting, op.value) == ("shape", (32, 32, 3)) and "keras.Input((32, 32, 3))" in str(err)
    model = _sequential(keras, op.value, *stack())  # the fix, applied
    assert model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0).shape == (2, 2)


def test_keras_build_error_strides_given_positionally(keras: Any) -> None:
    """https://stackoverflow.com/q/51113327 shape: Conv2D(32, 3, 3), the Keras 1 habit of
    (filters, rows, cols), passes 3 as strides to every convolution: the sizes shrink to
    nothing. The repeated mistake is one change: strides=1 on every Conv2D that has 3."""
    layers = keras.layers

    def stack(strides: Any = 3) -> list[Any]:
        return [layers.Conv2D(16, 3, strides), layers.Conv2D(16, 3, strides),
                layers.Conv2D(16, 3, strides), layers.MaxPooling2D(2), layers.Flatten(),
                layers.Dense(2)]

    err = explain(_raised(_sequential, keras, (28, 28, 1), *stack()))
    assert err is not None
    fix = err.violations[0].suggestions[0]
    assert isinstance(fix.op, SetSetting) and fix.op.setting == "strides"
    assert fix.op.value == (1, 1) and fix.op.layer.count("Conv2D") == 3
    assert "every Conv2D that has strides=(3, 3)" in fix
    model = _sequential(keras, (28, 28, 1), *stack(fix.op.value))  # applied to every one
    shapecontract.contract_of(model).check(np.zeros((2, 28, 28, 1), "float32"))


def test_keras_build_error_batch_in_input_shape(keras: Any) -> None:
    """http://www.kouhan.cn/en/article/00042451 shape: input_shape=x.shape, the number of
    samples given as an axis; Keras 3 raises 'Kernel shape must have the same length as
    input'. The answer: x.shape[1:]."""
    layers = keras.layers
    x = np.zeros((6, 16, 16, 1), "float32")

    def build(shape: tuple[int, ...]) -> Any:
        return keras.Sequential([layers.Conv2D(4, 3, input_shape=shape), layers.Flatten(),
                                 layers.Dense(2)])

    err = explain(_raised(build, x.shape))
    assert err is not None
    op = err.violations[0].suggestions[0].op
    assert (op.setting, op.value) == ("input_shape", (16, 16, 1))
    assert err.violations[0].suggestions[0].code == "Conv2D(..., input_shape=(16, 16, 1))"
    shapecontract.contract_of(build(op.value)).check(x)


def test_keras_build_error_steps_and_features_swapped(keras: Any) -> None:
    """https://stackoverflow.com/q/53426412 shape: Conv1D(input_shape=(1, 101)), one step of
    101 features, where the series has 101 steps of one feature: the kernel cannot fit in one
    step. The axes turned, (101, 1), comes before padding='same' (both build: the smaller
    change to what the user declared is first)."""
    layers = keras.layers

    def build(shape: tuple[int, ...]) -> Any:
        return keras.Sequential([layers.Conv1D(8, 5, input_shape=shape),
                                 layers.GlobalMaxPooling1D(), layers.Dense(1)])

    err = explain(_raised(build, (1, 101)))
    assert err is not None
    ops = [f.op for f in err.violations[0].suggestions]
    assert (ops[0].setting, ops[0].value) == ("input_shape", (101, 1))
    assert any(o.setting == "padding" and o.value == "same" for o in ops[1:])
    shapecontract.contract_of(build(ops[0].value)).check(np.zeros((2, 101, 1), "float32"))


@pytest.mark.parametrize("layer, n, want", [("Dense", 3, (3,)), ("LSTM", 1, (1, 1))])
def test_keras_input_shape_given_as_a_number(keras: Any, layer: str, n: int,
                                             want: tuple[int, ...]) -> None:
    """https://stackoverflow.com/q/44747343 shape: `input_shape=(3)` is the number 3 (the
    comma of a one-item tuple forgotten): Keras 'cannot convert 3 to a shape'. The first shape
    the number can mean under which the layers build is the fix: (3,) for a Dense, (1, 1) for
    an LSTM (which takes steps of features); applied here."""
    cls = getattr(keras.layers, layer)

    def build(shape: Any) -> Any:
        return keras.Sequential([cls(4, input_shape=shape), keras.layers.Dense(1)])

    err = explain(_raised(build, n))
    assert err is not None
    fix = err.violations[0].suggestions[0]
    assert (fix.op.setting, fix.op.value) == ("input_shape", want)
    assert fix.code == f"{layer}(..., input_shape={want!r})"
    model = build(fix.op.value)
    assert model.predict(np.zeros((2, *want), "float32"), verbose=0).shape == (2, 1)


def test_keras_time_distributed_after_a_last_state_gets_return_sequences(keras: Any) -> None:
    """https://stackoverflow.com/q/42755820 shape: TimeDistributed(Dense) after an LSTM that
    returns its last state only: TimeDistributed raises while the Sequential is built (it has
    no input spec of its own; its sentence is the violation). The LSTM before it is built with
    return_sequences=True, proven by rebuilding."""
    layers = keras.layers

    def build(seq: bool) -> Any:
        return keras.Sequential([layers.Input((8, 4)), layers.LSTM(6, return_sequences=seq),
                                 layers.TimeDistributed(layers.Dense(3))])

    err = explain(_raised(build, False))
    assert err is not None
    op = err.violations[0].suggestions[0].op
    assert (op.kind, op.setting, op.value) == ("LSTM", "return_sequences", True)
    assert build(op.value).output_shape == (None, 8, 3)


def test_keras_build_error_nothing_proven_is_not_explained(keras: Any) -> None:
    """A Concatenate of a vector and a matrix: no setting the library knows makes it build, so
    there is no explanation (not a guess)."""
    layers = keras.layers

    def build() -> Any:
        a, b = keras.Input((4,)), keras.Input((3, 5))
        return keras.Model([a, b], layers.Concatenate()([a, b]))

    assert explain(_raised(build)) is None


# ------------------------------------------------------------------------------------ torch
@pytest.fixture(scope="module")
def torch() -> Any:
    return pytest.importorskip("torch")


def _lenet(torch: Any, flatten: bool) -> Any:
    nn, F = torch.nn, torch.nn.functional

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv1, self.pool, self.conv2 = nn.Conv2d(3, 6, 5), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5)
            self.fc1, self.fc2 = nn.Linear(16 * 5 * 5, 120), nn.Linear(120, 10)

        def forward(self, x: Any) -> Any:
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))
            x = torch.flatten(x, 1) if flatten else x.view(-1, 16 * 5 * 5)
            return self.fc2(F.relu(self.fc1(x)))

    return Net()


def test_torch_linear_after_convs_on_other_images(torch: Any) -> None:
    """https://stackoverflow.com/q/60115633 shape: the CIFAR tutorial's Net on 36x36 images:
    torch raises in Linear ("mat1 and mat2 shapes cannot be multiplied"); the answer: build
    fc1 for 16*6*6 = 576 features."""
    net = _lenet(torch, flatten=True)
    x = torch.zeros(4, 3, 36, 36)
    exc = _raised(net, x)
    assert "mat1 and mat2" in str(exc)
    err = explain(exc)
    assert err is not None
    v = err.violations[0]
    assert (v.axis, v.expected, v.actual) == (1, 400, 576)
    assert v.origin is not None and "in_features" in v.origin
    assert "Linear 'fc1'" in err.function and "torch.flatten(x, 1)" not in err.function
    assert "return self.fc2(F.relu(self.fc1(x)))" in str(err)  # the failing line
    op = v.suggestions[0].op
    assert op == SetSetting("Linear 'fc1'", "Linear", "in_features", 576)
    net.fc1 = torch.nn.Linear(op.value, net.fc1.out_features)  # the fix, applied
    assert net(x).shape == (4, 10)


def test_torch_view_with_a_fixed_size_is_placed_at_its_line_and_repaired(torch: Any) -> None:
    """https://stackoverflow.com/q/53828329 shape: LeNet's `x.view(-1, 16*5*5)` on 36x36
    images fails in `view` itself, in the user's own line, not in the layer before it. The
    answer: keep the batch axis (`x.view(x.size(0), -1)`) and give fc1 the size the
    convolutions now give (16*6*6). Both edits are proven together on fake tensors, and
    applied here."""
    exc = _raised(_lenet(torch, flatten=False), torch.zeros(4, 3, 36, 36))
    assert "is invalid for input of size" in str(exc)
    err = explain(exc)
    assert err is not None
    v = err.violations[0]
    assert "x.view(-1, 16 * 5 * 5)" in v.message and "test_explain.py" in v.message
    fixes = v.suggestions
    assert [f.code for f in fixes] == ["x.view(x.size(0), -1)",
                                       "self.fc1 = nn.Linear(in_features=576, out_features=120)"]
    assert isinstance(fixes[1].op, SetSetting) and fixes[1].op.value == 576
    net = _lenet(torch, flatten=True)  # applied: torch.flatten(x, 1), the same reshape
    net.fc1 = torch.nn.Linear(in_features=576, out_features=120)
    assert net(torch.zeros(4, 3, 36, 36)).shape == (4, 10)


def test_torch_forward_failure_with_nothing_proven_is_not_explained(torch: Any) -> None:
    """A forward that adds two tensors of different sizes (no reshape at that line, no layer
    refusing): nothing the library knows makes it complete, so nothing is said."""
    nn = torch.nn

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(4, 3), nn.Linear(4, 5)

        def forward(self, x: Any) -> Any:
            return self.a(x) + self.b(x)

    assert explain(_raised(Odd(), torch.zeros(2, 4))) is None


def _text_conv(torch: Any) -> Any:
    nn = torch.nn

    class TextConv(nn.Module):
        fix: Any = None

        def __init__(self) -> None:
            super().__init__()
            self.emb, self.conv = nn.Embedding(100, 32), nn.Conv1d(32, 16, 3)
            self.pool, self.fc = nn.AdaptiveMaxPool1d(1), nn.Linear(16, 2)

        def forward(self, ids: Any) -> Any:
            x = self.emb(ids)
            if self.fix is not None:
                x = self.fix.apply(x)
            x = self.conv(x)
            return self.fc(self.pool(torch.relu(x)).squeeze(-1))

    return TextConv()


def test_torch_conv1d_fed_batch_length_embedding(torch: Any) -> None:
    """https://stackoverflow.com/q/62372938 shape: an embedding (B, L, E) into nn.Conv1d; the
    answer: x.permute(0, 2, 1). The permutation is proven and shown before the knob that would
    also run (in_channels=L, which convolves over the wrong axis)."""
    model, ids = _text_conv(torch), torch.zeros(4, 50, dtype=torch.long)
    err = explain(_raised(model, ids))
    assert err is not None
    v = err.violations[0]
    assert (v.dim, v.expected, v.actual) == ("channels", 32, 50)
    assert [s.op for s in v.suggestions] == [Permute((0, 2, 1))]
    assert v.suggestions[0].code == "x.transpose(1, 2)"  # named as the caller names it
    model.fix = v.suggestions[0].op  # the fix, applied at the failing line
    assert model(ids).shape == (4, 2)


def test_torch_lstm_state_made_for_another_batch(torch: Any) -> None:
    """https://discuss.pytorch.org/t/18036 shape: h0 made for batch 32, a last batch of 8;
    the answer: make the state per call from x.size(0)."""
    nn = torch.nn

    class Seq(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.lstm, self.fc = nn.LSTM(5, 64, batch_first=True), nn.Linear(64, 1)
            self.h0, self.c0 = torch.zeros(1, 32, 64), torch.zeros(1, 32, 64)

        def forward(self, x: Any) -> Any:
            out, _ = self.lstm(x, (self.h0, self.c0))
            return self.fc(out[:, -1])

    model, x = Seq(), torch.zeros(8, 7, 5)
    err = explain(_raised(model, x))
    assert err is not None
    assert [(v.slot, v.axis, v.expected, v.actual) for v in err.violations] == [
        ("argument hx[0]", 1, 8, 32), ("argument hx[1]", 1, 8, 32)]
    fix = err.violations[0].suggestions[0]
    assert fix.op == Fresh((1, 8, 64)) and fix.code == "torch.zeros(1, x.size(0), 64)"
    model.h0, model.c0 = fix.op.apply(model.h0), fix.op.apply(model.c0)  # the fix, applied
    assert model(x).shape == (8, 1)


def test_torch_ids_beyond_the_embedding_get_the_vocabulary_they_need(torch: Any) -> None:
    """https://discuss.pytorch.org/t/embeddings-index-out-of-range-error/12582 shape: a
    vocabulary of 10 words numbered from 1 (0 is padding) into nn.Embedding(10, ...): the id
    10 is 'index out of range in self', a value fake tensors cannot see. The layer built for
    the largest id is proven by running it on the ids, and applied here."""
    ids = torch.tensor([[1, 2, 10], [3, 10, 5]])
    emb = torch.nn.Embedding(10, 4, padding_idx=0)
    err = explain(_raised(emb, ids))
    assert err is not None
    v = err.violations[0]
    assert "largest id given is 10" in v.message and v.origin.attribute == "num_embeddings"
    fix = v.suggestions[0]
    assert (fix.op.setting, fix.op.value) == ("num_embeddings", 11)
    fixed = torch.nn.Embedding(fix.op.value, 4, padding_idx=0)
    assert fixed(ids).shape == (2, 3, 4)


def test_torch_class_indices_beyond_the_scores_are_repaired_in_the_model(torch: Any) -> None:
    """https://github.com/huggingface/transformers/issues/3400 shape: an intent classifier
    built for 12 labels trained on 50: 'Target 17 is out of bounds'. The scores came from the
    last guarded call (confirmed on fake tensors); its Linear built for the classes the
    targets hold is proven by the loss on scores of that size, and applied here."""
    head = shapecontract.guard(torch.nn.Linear(16, 12))
    loss = torch.nn.CrossEntropyLoss()
    x, y = torch.randn(4, 16), torch.tensor([3, 17, 49, 0])
    err = explain(_raised(lambda: loss(head(x), y)))
    assert err is not None
    v = err.violations[0]
    assert "holds class 49" in v.message and "12 classes" in v.message
    fix = v.suggestions[0]
    assert (fix.op.setting, fix.op.value) == ("out_features", 50)
    loss(torch.nn.Linear(16, fix.op.value)(x), y).backward()


def test_explain_keeps_nothing_alive(torch: Any) -> None:
    model = _text_conv(torch)
    ref = weakref.ref(model)
    exc = _raised(model, torch.zeros(4, 50, dtype=torch.long))
    assert explain(exc) is not None
    del model, exc
    gc.collect()
    assert ref() is None


def test_what_it_does_not_explain() -> None:
    """Not a framework's layer error: None. Our own error: itself."""
    assert explain(_raised(np.dot, np.zeros((3, 4)), np.zeros((5, 6)))) is None
    assert explain(ValueError("no traceback")) is None
    ours = ShapeContractError("a message")
    assert explain(ours) is ours


# ------------------------------------------------------------------------------- installing
SCRIPT = '''
import sys
import torch
{head}
class TextConv(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb, self.conv = torch.nn.Embedding(100, 32), torch.nn.Conv1d(32, 16, 3)

    def forward(self, ids):
        x = self.emb(ids)
        return self.conv(x)

print("args", sys.argv[1:])
TextConv()(torch.zeros(4, 50, dtype=torch.long))
'''


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}


def test_install_explains_an_uncaught_error(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(head="import shapecontract\nshapecontract.install()"))
    r = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                       env=_env(), timeout=120)
    assert r.returncode == 1
    assert r.stderr.index("RuntimeError: Given groups=1") < r.stderr.index(
        "shapecontract explains the error above")
    assert "x.transpose(1, 2)" in r.stderr


def test_run_command_explains_a_script_nobody_guarded(tmp_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(SCRIPT.format(head=""))
    r = subprocess.run([sys.executable, "-m", "shapecontract", "run", str(script), "--epochs",
                        "3"], capture_output=True, text=True, env=_env(), timeout=120)
    assert r.returncode == 1
    assert "args ['--epochs', '3']" in r.stdout
    assert 'train.py", line 12, in forward' in r.stderr and "runpy" not in r.stderr
    assert "Conv1d 'conv' rejects its input" in r.stderr and "x.transpose(1, 2)" in r.stderr


def test_run_command_passes_the_scripts_exit_code(tmp_path: Path) -> None:
    from shapecontract.cli import main

    (tmp_path / "ok.py").write_text("import sys\nsys.exit(3 if sys.argv[1:] == ['a'] else 0)\n")
    assert main(["run", str(tmp_path / "ok.py"), "a"]) == 3
    assert main(["run", str(tmp_path / "ok.py")]) == 0
    assert main(["run", str(tmp_path / "missing.py")]) == 2


def _plugin_args() -> list[str]:
    eps = importlib.metadata.entry_points(group="pytest11")
    if any(ep.value == "shapecontract.pytest_plugin" for ep in eps):
        return []
    return ["-p", "shapecontract.pytest_plugin"]


def test_pytest_plugin_adds_the_explanation(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_model=textwrap.dedent('''
        import torch

        def test_conv():
            torch.nn.Conv1d(32, 16, 3)(torch.zeros(4, 50, 32))

        def test_other():
            assert 1 == 2
    '''))
    r = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    r.assert_outcomes(failed=2)
    out = r.stdout.str()
    assert out.count("shapecontract explanation") == 1
    assert "input.transpose(1, 2)" in out
    pytester.makeini("[pytest]\nshapecontract_explain = false\n")
    r = pytester.runpytest_subprocess(*_plugin_args(), "-p", "no:cacheprovider")
    assert "shapecontract explanation" not in r.stdout.str()


class _Shell:
    """A stand-in for IPython's InteractiveShell (IPython is not installed here): the two
    methods the extension uses, as IPython documents them."""

    def __init__(self) -> None:
        self.handler: Any = None
        self.types: tuple[type, ...] = ()
        self.shown: list[Any] = []

    def set_custom_exc(self, exc_tuple: tuple[type, ...], handler: Any) -> None:
        self.types, self.handler = exc_tuple, handler

    def showtraceback(self, exc_tuple: Any = None, tb_offset: int | None = None) -> None:
        self.shown.append(exc_tuple[1])


def test_ipython_extension(torch: Any, capsys: pytest.CaptureFixture[str]) -> None:
    shell = _Shell()
    shapecontract.load_ipython_extension(shell)
    assert shell.types == (Exception,)
    exc = _raised(torch.nn.Conv1d(32, 16, 3), torch.zeros(4, 50, 32))
    shell.handler(shell, type(exc), exc, exc.__traceback__, tb_offset=None)
    assert shell.shown == [exc]
    assert "input.transpose(1, 2)" in capsys.readouterr().out
    shapecontract.unload_ipython_extension(shell)
    assert shell.types == () and shell.handler is None
