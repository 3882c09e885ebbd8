"""port.scaffold: the source of a port, exec'd, given the weights, and checked against the original."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
from keras import layers  # noqa: E402
from torch import nn  # noqa: E402

from shapecontract.port import (  # noqa: E402
    PortMismatch,
    assert_equivalent,
    compare,
    scaffold,
    transfer_weights,
)
from shapecontract.port.compare import keras_layers, torch_modules  # noqa: E402


# ------------------------------------------------------------------------------ helpers
def randomize_keras(km: Any, seed: int = 0) -> Any:
    """Every weight random (moving variances positive), so a transfer that drops or swaps one
    (gamma/beta, a moving statistic, a bias) changes the output."""
    rng = np.random.default_rng(seed)
    for w in km.weights:
        shape = tuple(w.shape)
        if "moving_variance" in w.path:
            w.assign(rng.uniform(0.5, 2.0, shape).astype(w.dtype))
        elif w.dtype.startswith("float"):
            w.assign((0.5 * rng.standard_normal(shape)).astype(w.dtype))
    return km


def randomize_torch(tm: Any, seed: int = 0) -> Any:
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in tm.parameters():
            if p.requires_grad:  # a frozen one stands for a Keras constant (scale=False: 1)
                p.copy_(0.5 * torch.randn(p.shape, generator=gen))
        for name, b in tm.named_buffers():
            if name.endswith("running_var"):
                b.copy_(torch.rand(b.shape, generator=gen) + 0.5)
            elif name.endswith("running_mean"):
                b.copy_(torch.randn(b.shape, generator=gen))
    return tm


def exec_torch(src: str) -> Any:
    """The nn.Module the source defines, instantiated."""
    ns: dict[str, Any] = {"__name__": "scaffolded"}
    exec(compile(src, "<scaffold>", "exec"), ns)
    (cls,) = [v for v in ns.values() if isinstance(v, type) and issubclass(v, nn.Module)
              and v.__module__ == "scaffolded"]
    return cls()


def exec_keras(src: str) -> Any:
    ns: dict[str, Any] = {}
    exec(compile(src, "<scaffold>", "exec"), ns)
    return ns["build_model"]()


def contract_differences(km: Any, tm: Any, known: tuple[str, ...] = ()) -> list[str]:
    """compare's differences, less the notes a faithful port always has (and `known` ones)."""
    return [d.what for d in compare(km, tm).differences
            if d.what not in ("layout", "bidirectional merge", *known)]


def tokens(n: int = 10, vocab: int = 20) -> np.ndarray:
    return np.random.default_rng(1).integers(0, vocab, (3, n)).astype("float32")


# ------------------------------------------------------------------ Keras -> torch: models
def seq(shape: tuple[int, ...], *ls: Any, dtype: str = "float32", name: str | None = None) -> Any:
    return keras.Sequential([keras.Input(shape, dtype=dtype), *ls], name=name)


def functional_conv() -> Any:
    x = keras.Input((10, 10, 3))
    h = layers.Conv2D(4, 3, activation="relu")(x)
    h = layers.MaxPooling2D(2)(h)
    h = layers.Flatten()(h)
    return keras.Model(x, layers.Dense(2)(h), name="functional_conv")


KERAS_MODELS: dict[str, Callable[[], Any]] = {
    "dense_activations": lambda: seq(
        (5,), *(layers.Dense(6, activation=a) for a in (
            "relu", "tanh", "sigmoid", "elu", "selu", "gelu", "silu", "softplus", "leaky_relu")),
        layers.Dense(3, activation="softmax", use_bias=False)),
    "activation_layers": lambda: seq(
        (5,), layers.Dense(6), layers.Activation("relu"), layers.Dense(6),
        layers.ReLU(negative_slope=0.1), layers.Dense(6), layers.ReLU(max_value=6.0),
        layers.LeakyReLU(0.3), layers.ELU(0.5), layers.Dense(4), layers.Softmax()),
    "lstm": lambda: seq((6, 3), layers.LSTM(8), layers.Dense(1)),
    "stacked_lstm": lambda: seq((6, 3), layers.LSTM(4, return_sequences=True), layers.LSTM(5),
                                layers.Dense(2)),
    "gru_sequences": lambda: seq((6, 3), layers.GRU(5, return_sequences=True), layers.GRU(4),
                                 layers.Dense(2)),
    "gru_dense_on_steps": lambda: seq((6, 3), layers.GRU(5, return_sequences=True),
                                      layers.Dense(2)),
    "simple_rnn": lambda: seq((6, 3), layers.SimpleRNN(4, activation="relu",
                                                       return_sequences=True),
                              layers.SimpleRNN(3, use_bias=False), layers.Dense(1)),
    "bidirectional": lambda: seq((6, 3), layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                                 layers.Bidirectional(layers.GRU(3)), layers.Dense(2)),
    "bidirectional_merges": lambda: seq(
        (6, 3), layers.Bidirectional(layers.SimpleRNN(4, return_sequences=True), merge_mode="sum"),
        layers.Bidirectional(layers.LSTM(3), merge_mode="ave"), layers.Dense(1)),
    "bidirectional_lstm_last": lambda: seq((6, 3), layers.Bidirectional(layers.LSTM(4)),
                                           layers.Dense(2)),
    "conv1d": lambda: seq(
        (16, 3), layers.Conv1D(4, 3, padding="same", activation="relu"),
        layers.Conv1D(5, 4, strides=2), layers.MaxPooling1D(2),
        layers.AveragePooling1D(2, strides=1), layers.Flatten(), layers.Dense(3)),
    "conv2d": lambda: seq(
        (12, 12, 2), layers.Conv2D(4, (3, 2), padding="same"),
        layers.Conv2D(6, 3, strides=2, activation="relu"), layers.AveragePooling2D(2),
        layers.Flatten(), layers.Dense(5)),
    "conv2d_even_kernel_dilation_groups": lambda: seq(
        (12, 12, 4), layers.Conv2D(4, 4, padding="same"),
        layers.Conv2D(6, 3, dilation_rate=2, groups=2), layers.MaxPooling2D(3, strides=2),
        layers.GlobalMaxPooling2D(), layers.Dense(2)),
    "conv2d_batchnorm_dropouts": lambda: seq(
        (12, 12, 1), layers.Conv2D(4, 3, activation="relu"), layers.BatchNormalization(),
        layers.MaxPooling2D(2), layers.SpatialDropout2D(0.2), layers.Dropout(0.2),
        layers.Flatten(), layers.Dropout(0.1), layers.Dense(10, activation="softmax")),
    "global_pooling": lambda: seq(
        (16, 3), layers.Conv1D(4, 3), layers.GlobalAveragePooling1D(keepdims=True),
        layers.Flatten(), layers.Dense(2)),
    "global_pooling_2d": lambda: seq(
        (8, 8, 3), layers.Conv2D(4, 3), layers.GlobalAveragePooling2D(), layers.Dense(2)),
    "global_max_1d_on_sequence": lambda: seq(
        (6, 3), layers.LSTM(4, return_sequences=True), layers.GlobalMaxPooling1D(),
        layers.Dense(1)),
    "batchnorm_2d_and_3d": lambda: seq(
        (6, 3), layers.LSTM(4, return_sequences=True), layers.BatchNormalization(momentum=0.9),
        layers.Dense(5), layers.Flatten(), layers.BatchNormalization(epsilon=1e-5, center=False),
        layers.Dense(2)),
    "embedding_lstm": lambda: seq((10,), layers.Embedding(20, 4), layers.LSTM(6),
                                  layers.Dense(2), dtype="int32"),
    "embedding_conv1d": lambda: seq((10,), layers.Embedding(20, 4), layers.Conv1D(3, 3),
                                    layers.Flatten(), layers.Dense(2), dtype="int32"),
    "layernorm": lambda: seq(
        (6, 4), layers.Dense(8), layers.LayerNormalization(epsilon=1e-5), layers.Flatten(),
        layers.LayerNormalization(scale=False), layers.Dense(2)),
    "conv_then_layernorm_flatten": lambda: seq(
        (10, 3), layers.Conv1D(4, 3), layers.LayerNormalization(), layers.Flatten(),
        layers.Dense(2)),
    "conv_flatten_batchnorm": lambda: seq(
        (8, 8, 2), layers.Conv2D(3, 3), layers.Flatten(), layers.BatchNormalization(),
        layers.Dense(2)),
    "conv1d_into_lstm": lambda: seq((12, 3), layers.Conv1D(5, 3, activation="tanh"),
                                    layers.MaxPooling1D(2), layers.LSTM(4), layers.Dense(1)),
    "pool_before_conv_and_map_output": lambda: seq(
        (8, 8, 3), layers.MaxPooling2D(2), layers.Conv2D(4, 3, padding="same"),
        layers.Softmax()),
    "dense_on_map_before_conv": lambda: seq((6, 6, 3), layers.Dense(4), layers.Conv2D(2, 3),
                                            layers.Flatten(), layers.Dense(1)),
    "variable_length": lambda: seq((None, 3), layers.Conv1D(4, 3, padding="same"),
                                   layers.LSTM(4), layers.Dense(1)),
    "functional_chain": functional_conv,
}

# Samples for models whose input is not random floats
SAMPLES: dict[str, Callable[[], np.ndarray]] = {"embedding_lstm": tokens, "embedding_conv1d": tokens}

# What each scaffold must contain (beyond being equivalent)
EXPECTED: dict[str, list[str]] = {
    "dense_activations": ["nn.Softmax(dim=-1)", "nn.LeakyReLU(0.2)", "nn.GELU()", "bias=False"],
    "activation_layers": ["nn.LeakyReLU(0.1)", "nn.ReLU6()", "nn.ELU(0.5)", "nn.Softmax(dim=-1)"],
    "lstm": ["nn.LSTM(3, 8, batch_first=True)", "x = x[:, -1]"],
    "bidirectional": ["_, h_n = self.", "torch.cat((h_n[-2], h_n[-1]), dim=1)"],
    "bidirectional_lstm_last": ["_, (h_n, _) = self."],
    "bidirectional_merges": ["x = x[..., :4] + x[..., 4:]", "(h_n[-2] + h_n[-1]) / 2"],
    "simple_rnn": ["nonlinearity='relu'", "bias=False"],
    "conv1d": ["nn.Conv1d(3, 4, kernel_size=3, padding='same')", "stride=2", "nn.AvgPool1d(2, stride=1)",
               "transfer_weights reorders"],
    "conv2d": ["nn.Conv2d(2, 4, kernel_size=(3, 2), padding='same')", "nn.AvgPool2d(2)"],
    "conv2d_even_kernel_dilation_groups": ["dilation=2, groups=2", "x.amax(dim=(2, 3))",
                                           "nn.MaxPool2d(3, stride=2)"],
    "conv2d_batchnorm_dropouts": ["nn.BatchNorm2d(4, eps=0.001, momentum=0.01)",
                                  "nn.Dropout2d(0.2)", "transfer_weights reorders"],
    "global_pooling": ["x.mean(dim=2, keepdim=True)"],
    "batchnorm_2d_and_3d": ["nn.BatchNorm1d(4, eps=0.001, momentum=0.1)", "x = x.permute(0, 2, 1)",
                            "nn.BatchNorm1d(30, eps=1e-05, momentum=0.01)",
                            ".bias.requires_grad_(False)  # Keras center=False: stays 0"],
    "embedding_lstm": ["nn.Embedding(20, 4)", "(x.long())"],
    "layernorm": ["nn.LayerNorm(8, eps=1e-05)", "nn.LayerNorm(48, eps=0.001)",
                  ".weight.requires_grad_(False)  # Keras scale=False: stays 1"],
    "conv_then_layernorm_flatten": ["channels last again: nn.LayerNorm"],
    "conv_flatten_batchnorm": ["channels last again: flattened in Keras's order"],
    "pool_before_conv_and_map_output": ["# x: (batch, 3, 8, 8)", "nn.Softmax(dim=1)",
                                        "x = x.permute(0, 2, 3, 1)"],
}


@pytest.fixture(scope="module")
def keras_models() -> dict[str, Any]:
    """Each model built once (and its weights randomised) for the whole module."""
    return {name: randomize_keras(make(), seed=i)
            for i, (name, make) in enumerate(sorted(KERAS_MODELS.items()))}


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's note
@pytest.mark.parametrize("name", sorted(KERAS_MODELS))
def test_keras_to_torch_scaffold_is_equivalent(name: str, keras_models: dict[str, Any]) -> None:
    """The scaffold of each model, exec'd and given the Keras weights, agrees within 1e-5."""
    km = keras_models[name]
    src = scaffold(km)
    for snippet in ["import torch", "from torch import nn", "def forward(self, x",
                    *EXPECTED.get(name, [])]:
        assert snippet in src, f"{snippet!r} not in\n{src}"
    tm = exec_torch(src)
    assert len(torch_modules(tm)) == len(keras_layers(km))
    assert contract_differences(km, tm) == [], str(compare(km, tm))
    transfer_weights(km, tm)
    sample = SAMPLES[name]() if name in SAMPLES else None
    eq = assert_equivalent(km, tm, sample=sample, atol=1e-5)
    assert max(eq.max_abs_diff) < 1e-5


@pytest.mark.parametrize("name", ["conv2d_batchnorm_dropouts", "bidirectional", "layernorm"])
def test_keras_to_torch_scaffold_takes_torch_weights(name: str, keras_models: dict[str, Any]) -> None:
    """The other way: random torch weights, transferred torch -> Keras, agree within 1e-5."""
    km = KERAS_MODELS[name]()
    tm = randomize_torch(exec_torch(scaffold(km)), seed=3)
    transfer_weights(km, tm, direction="torch_to_keras")
    assert_equivalent(km, tm, atol=1e-5)


def test_scaffold_without_the_weights_diverges(keras_models: dict[str, Any]) -> None:
    """The equivalence check is real: the scaffold with torch's own init does not match."""
    km = keras_models["conv2d_batchnorm_dropouts"]
    with pytest.raises(PortMismatch):
        assert_equivalent(km, exec_torch(scaffold(km)), atol=1e-5)


def test_the_source_is_tidy() -> None:
    """The whole source for a small classifier: what a user keeps."""
    km = keras.Sequential([
        keras.Input((12, 12, 1)), layers.Conv2D(4, 3, activation="relu", name="conv"),
        layers.MaxPooling2D(2, name="pool"), layers.Flatten(name="flatten"),
        layers.Dense(10, activation="softmax", name="head")], name="digit_classifier")
    assert scaffold(km) == '''"""PyTorch port of the Keras model 'digit_classifier' (scaffolded by shapecontract.port.scaffold).

Copy the Keras weights and check the port:
    model = DigitClassifier()
    shapecontract.port.transfer_weights(keras_model, model)
    shapecontract.port.assert_equivalent(keras_model, model)
"""

import torch
from torch import nn


class DigitClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(1, 4, kernel_size=3)
        self.conv_relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(100, 10)
        self.head_softmax = nn.Softmax(dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (batch, 1, 12, 12), the Keras input with channels first
        x = self.conv(x)
        x = self.conv_relu(x)
        x = self.pool(x)
        x = self.flatten(x)  # (channels, ...) order: transfer_weights reorders the rows of 'head'
        x = self.head(x)
        x = self.head_softmax(x)
        return x
'''


def test_names_become_identifiers() -> None:
    """Layer and model names that are not identifiers, keywords or nn.Module attributes are
    sanitised, and stay unique."""
    km = keras.Sequential([keras.Input((4,)), layers.Dense(3, name="class"),
                           layers.Dense(3, name="forward"), layers.Dense(3, name="2nd-dense"),
                           layers.Dense(2, name="Class")], name="my model-v2")
    src = scaffold(km)
    assert "class MyModelV2(nn.Module):" in src
    for attr in ("self.class_ =", "self.forward_layer =", "self.layer_2nd_dense =",
                 "self.class__1 ="):
        assert attr in src, src
    tm = exec_torch(src)
    transfer_weights(km, tm)
    assert_equivalent(km, tm)


# ------------------------------------------------------------------ Keras -> torch: refusals
def _branching() -> Any:
    x = keras.Input((4,))
    return keras.Model(x, layers.Add()([layers.Dense(3)(x), layers.Dense(3)(x)]))


def _two_outputs() -> Any:
    x = keras.Input((4,))
    h = layers.Dense(3)(x)
    return keras.Model(x, [layers.Dense(1)(h), layers.Dense(2)(h)])


def _skip() -> Any:  # a residual: Dense 'b' does not take the previous layer's output
    x = keras.Input((4,))
    a = layers.Dense(4, name="a")(x)
    b = layers.Dense(4, name="b")(x)
    return keras.Model(x, layers.Dense(1)(layers.Dense(4)(a) * 0 + b))


class Custom(keras.layers.Layer):
    def call(self, x: Any) -> Any:
        return x * 2


REFUSED: dict[str, tuple[Callable[[], Any], str]] = {
    "branching": (_branching, r"Add '.*': 2 inputs \(a merge of branches\): the scaffold ports single chains"),
    "two_outputs": (_two_outputs, r"1 inputs and 2 outputs"),
    "gru_reset_after_false": (
        lambda: seq((6, 3), layers.GRU(4, reset_after=False), layers.Dense(1)),
        r"GRU '.*': reset_after=False: torch's nn.GRU applies the reset gate after"),
    "unsupported_layer": (lambda: seq((4, 4, 3), layers.Conv2DTranspose(2, 3)),
                          r"Conv2DTranspose '.*': the scaffold has no torch counterpart"),
    "custom_layer": (lambda: seq((4,), Custom(name="doubler")),
                     r"Custom 'doubler': the scaffold has no torch counterpart"),
    "same_padding_with_stride": (lambda: seq((8, 8, 3), layers.Conv2D(2, 3, strides=2, padding="same")),
                                 r"padding='same' with strides \(2, 2\): torch's padding='same' needs stride 1"),
    "causal": (lambda: seq((8, 3), layers.Conv1D(2, 3, padding="causal")), r"padding='causal'"),
    "pool_same": (lambda: seq((8, 3), layers.MaxPooling1D(2, padding="same")), r"padding='same'"),
    "lstm_relu": (lambda: seq((6, 3), layers.LSTM(4, activation="relu")),
                  r"activation='relu', recurrent_activation='sigmoid'"),
    "return_state": (lambda: seq((6, 3), layers.LSTM(4, return_state=True)), r"return_state=True"),
    "mask_zero": (lambda: seq((5,), layers.Embedding(10, 3, mask_zero=True), layers.LSTM(2),
                              dtype="int32"), r"mask_zero=True"),
    "batchnorm_axis": (lambda: seq((4, 5), layers.BatchNormalization(axis=1)), r"axis=1"),
    "merge_none": (lambda: seq((6, 3), layers.Bidirectional(layers.LSTM(2), merge_mode=None)),
                   r"merge_mode=None"),
    "shared_layer": (lambda: (lambda d: keras.Model(x := keras.Input((3,)), d(d(x))))(
        layers.Dense(3)), r"Dense '.*': called more than once \(shared weights\)"),
    "residual": (_skip, r"Dense 'b': its input is not the previous layer's output \(a branch\)"),
    "channels_first": (lambda: seq((3, 8, 8), layers.MaxPooling2D(2, data_format="channels_first")),
                       r"MaxPooling2D '.*': data_format='channels_first'"),
    "stateful": (lambda: keras.Sequential([keras.Input(batch_shape=(2, 6, 3)),
                                           layers.LSTM(4, stateful=True)]), r"stateful=True"),
    "renorm": (lambda: seq((4,), layers.BatchNormalization(renorm=True)), r"renorm=True"),
    "layernorm_middle_axis": (lambda: seq((4, 5), layers.LayerNormalization(axis=1)),
                              r"LayerNormalization '.*': axis=\[1\]: nn.LayerNorm normalises trailing"),
    "activation_without_module": (lambda: seq((4,), layers.Dense(2, activation="exponential")),
                                  r"Dense '.*': activation 'exponential' has no torch module"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_keras_to_torch_refusals(name: str) -> None:
    """What the scaffold cannot port exactly is refused with a ValueError naming the layer and why."""
    make, message = REFUSED[name]
    with pytest.raises(ValueError, match=message):
        scaffold(make())


def test_subclassed_models_and_torch_modules_are_refused() -> None:
    class Sub(keras.Model):
        def call(self, x: Any) -> Any:
            return x

    with pytest.raises(ValueError, match=r"only keras\.Sequential and functional models"):
        scaffold(Sub())
    with pytest.raises(ValueError, match="for a torch module pass to='keras'"):
        scaffold(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="to is 'torch' or 'keras'"):
        scaffold(seq((2,), layers.Dense(1)), to="jax")


# ------------------------------------------------------------------ torch -> Keras
def torch_cases() -> dict[str, tuple[Callable[[], Any], tuple[int, ...] | None]]:
    return {
        "mlp": (lambda: nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.1),
                                      nn.Linear(8, 8), nn.Tanh(), nn.LayerNorm(8, eps=1e-5),
                                      nn.Linear(8, 6), nn.GELU(), nn.Linear(6, 3),
                                      nn.Softmax(dim=1)), None),
        "conv2d": (lambda: nn.Sequential(
            nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, stride=2), nn.SiLU(), nn.AvgPool2d(2, stride=1), nn.Flatten(),
            nn.Dropout(0.2), nn.Linear(24, 5)), (16, 16, 2)),
        "conv1d_adaptive_pool": (lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3), nn.ReLU(), nn.Conv1d(4, 4, 3, dilation=2, padding=2),
            nn.BatchNorm1d(4), nn.AdaptiveAvgPool1d(1), nn.Flatten(), nn.Linear(4, 2)), (16, 3)),
        "conv_to_map_output": (lambda: nn.Sequential(
            nn.Conv2d(3, 4, 3, padding="same"), nn.LeakyReLU(0.1), nn.Softmax(dim=1)), (6, 6, 3)),
        "embedding_flatten": (lambda: nn.Sequential(
            nn.Embedding(20, 4), nn.Flatten(), nn.Linear(40, 2)), (10,)),
        "nested": (lambda: nn.Sequential(
            nn.Sequential(nn.Linear(3, 4), nn.Sigmoid()), nn.Identity(), nn.Linear(4, 2),
            nn.Dropout(0.1), nn.Softplus()), None),
        "batchnorm1d_on_steps_then_flatten": (lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3), nn.BatchNorm1d(4), nn.Flatten(), nn.Linear(32, 2)), (10, 3)),
        "layernorm_after_conv": (lambda: nn.Sequential(
            nn.Conv1d(3, 4, 3), nn.LayerNorm(8), nn.Flatten(), nn.Linear(32, 2)), (10, 3)),
    }


TORCH_EXPECTED: dict[str, list[str]] = {
    "mlp": ['layers.Dense(8, activation="relu")', "layers.LayerNormalization(epsilon=1e-05)",
            'activation="gelu"', 'activation="softmax"', "keras.Input((5,))"],
    "conv2d": ['layers.Conv2D(4, 3, padding="same")', "momentum=0.9", "strides=2",
               "layers.AveragePooling2D(2, strides=1)", "transfer_weights reorders",
               "keras.Input((16, 16, 2))"],
    "conv_to_map_output": ["layers.LeakyReLU(negative_slope=0.1)", "layers.Permute((3, 1, 2))"],
    "embedding_flatten": ['keras.Input((10,), dtype="int32")', "layers.Embedding(20, 4)"],
    "nested": ['layers.Dense(4, activation="sigmoid")', 'layers.Activation("softplus")'],
    "layernorm_after_conv": ["layers.Permute((2, 1))"],
}


@pytest.mark.parametrize("direction", ["torch_to_keras", "keras_to_torch"])
@pytest.mark.parametrize("name", sorted(torch_cases()))
def test_torch_to_keras_scaffold_is_equivalent(name: str, direction: str) -> None:
    """nn.Sequential chains scaffolded to Keras, built, given the weights, agree within 1e-5."""
    make, shape = torch_cases()[name]
    tm = randomize_torch(make().eval(), seed=5)
    src = scaffold(tm, to="keras", input_shape=shape)
    for snippet in ["import keras", "def build_model() -> keras.Model:", *TORCH_EXPECTED.get(name, [])]:
        assert snippet in src, f"{snippet!r} not in\n{src}"
    km = exec_keras(src)
    assert contract_differences(km, tm, COMPARE_FALSE_POSITIVES.get(name, ())) == [], \
        str(compare(km, tm))
    if direction == "keras_to_torch":
        randomize_keras(km, seed=6)
    transfer_weights(km, tm, direction=direction)
    sample = None
    if name.startswith("embedding"):
        # assert_equivalent casts the sample to float32 (on this branch): give nn.Embedding
        # its integer indices, as a user's forward would
        sample, tm = tokens(), LongIndices(tm)
    assert_equivalent(km, tm, sample=sample, atol=1e-5)


class LongIndices(nn.Module):
    def __init__(self, inner: Any) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Any) -> Any:
        return self.inner(x.long())


# compare's rule for conv padding says Keras 'same' differs from torch padding=(1, 1), though
# for an odd kernel at stride 1 they are the same padding (assert_equivalent agrees)
COMPARE_FALSE_POSITIVES: dict[str, tuple[str, ...]] = {}  # none left


TORCH_REFUSED: dict[str, tuple[Callable[[], Any], dict[str, Any], str]] = {
    "unsupported_module": (lambda: nn.Sequential(nn.Linear(4, 4), nn.Upsample(scale_factor=2)),
                           {}, r"Upsample '1': the scaffold has no Keras counterpart"),
    "rnn": (lambda: nn.Sequential(nn.LSTM(3, 4, batch_first=True), nn.Linear(4, 1)),
            {}, r"LSTM '0': an RNN returns \(output, h_n\), which nn.Sequential passes on"),
    "rnn_last": (lambda: nn.Sequential(nn.Linear(3, 3), nn.GRU(3, 4, batch_first=True)),
                 {"input_shape": (5, 3)}, r"GRU '1': an RNN returns \(output, h_n\)"),
    "conv_needs_input_shape": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3)), {},
                               r"input_shape is required: the first module Conv2d '0'"),
    "input_shape_mismatch": (lambda: nn.Sequential(nn.Linear(3, 4)), {"input_shape": (5,)},
                             r"does not fit the first module Linear '0'"),
    "asymmetric_padding": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1)),
                           {"input_shape": (8, 8, 3)}, r"neither 'valid' nor 'same'"),
    "custom_forward": (lambda: nn.Linear(3, 2), {}, r"only nn.Sequential chains"),
    "pool_padding": (lambda: nn.Sequential(nn.MaxPool2d(2, padding=1), nn.Flatten()),
                     {"input_shape": (8, 8, 3)}, r"MaxPool2d '0': padding: no Keras pooling form"),
    "batchnorm_batch_stats": (lambda: nn.Sequential(nn.BatchNorm1d(4, track_running_stats=False)),
                              {"input_shape": (4,)}, r"BatchNorm1d '0': track_running_stats=False"),
    "embedding_max_norm": (lambda: nn.Sequential(nn.Embedding(10, 3, max_norm=1.0)), {},
                           r"Embedding '0': max_norm"),
    "padding_mode": (lambda: nn.Sequential(nn.Conv1d(3, 4, 3, padding=1, padding_mode="reflect")),
                     {"input_shape": (8, 3)}, r"Conv1d '0': padding_mode='reflect'"),
    "softmax_without_dim": (lambda: nn.Sequential(nn.Linear(3, 2), nn.Softmax()), {},
                            r"Softmax '1': nn.Softmax\(\) without dim"),
}


@pytest.mark.parametrize("name", sorted(TORCH_REFUSED))
def test_torch_to_keras_refusals(name: str) -> None:
    make, kwargs, message = TORCH_REFUSED[name]
    with pytest.raises(ValueError, match=message):
        scaffold(make(), to="keras", **kwargs)


# ------------------------------------------ transfer_weights and compare, by hand-written ports
def test_flatten_reorder_looks_through_dropout_and_batchnorm() -> None:
    """A hand-written port with BatchNorm/Dropout between the conv map and Flatten, and Dropout
    between Flatten and Dense: transfer_weights still reorders the Dense rows (both ways)."""
    km = randomize_keras(seq((8, 8, 2), layers.Conv2D(3, 3), layers.BatchNormalization(),
                             layers.Activation("relu"), layers.MaxPooling2D(2),
                             layers.Dropout(0.3), layers.Flatten(), layers.Dropout(0.3),
                             layers.Dense(4)))
    tm = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3, eps=1e-3, momentum=0.01), nn.ReLU(),
                       nn.MaxPool2d(2), nn.Dropout(0.3), nn.Flatten(), nn.Dropout(0.3),
                       nn.Linear(27, 4))
    transfer_weights(km, tm)
    assert_equivalent(km, tm, atol=1e-5)
    randomize_torch(tm, seed=9)
    transfer_weights(km, tm, direction="torch_to_keras")
    assert_equivalent(km, tm, atol=1e-5)


def test_layernorm_is_paired_checked_and_transferred() -> None:
    """LayerNormalization <-> nn.LayerNorm: epsilon, normalised shape and affine are compared;
    gamma/beta travel both ways."""
    km = randomize_keras(seq((6, 4), layers.LayerNormalization(epsilon=1e-5), layers.Dense(2)))
    good = nn.Sequential(nn.LayerNorm(4, eps=1e-5), nn.Linear(4, 2))
    assert compare(km, good).ok, str(compare(km, good))
    transfer_weights(km, good)
    assert_equivalent(km, good, atol=1e-5)
    randomize_torch(good, seed=2)
    transfer_weights(km, good, direction="torch_to_keras")
    assert_equivalent(km, good, atol=1e-5)
    bad = nn.Sequential(nn.LayerNorm(4, eps=1e-3, elementwise_affine=False), nn.Linear(4, 2))
    found = {d.what: d for d in compare(km, bad).differences}
    assert set(found) == {"epsilon", "scale / center (weight / bias)"}
    assert "eps=1e-05" in found["epsilon"].fix
    assert "elementwise_affine=True, bias=True" in found["scale / center (weight / bias)"].fix
    wrong_shape = seq((6, 4), layers.LayerNormalization(axis=[1, 2]), layers.Dense(2))
    found = {d.what: d for d in compare(wrong_shape, nn.Sequential(
        nn.LayerNorm(4, eps=1e-3), nn.Linear(4, 2))).differences}
    assert (found["normalized shape"].keras_value, found["normalized shape"].torch_value) == ((6, 4), (4,))
    middle = seq((6, 4), layers.LayerNormalization(axis=1), layers.Dense(2))
    found = {d.what: d for d in compare(middle, nn.Sequential(
        nn.LayerNorm(6, eps=1e-3), nn.Linear(4, 2))).differences}
    assert "normalized axes" in found


def test_torch_scaffold_leaves_the_module_as_it_was() -> None:
    """Reading shapes runs the chain on fake tensors in eval mode: a training BatchNorm does not
    count a batch, and every module keeps its training flag."""
    tm = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5), nn.Linear(4, 2))
    tm[2].eval()
    scaffold(tm, to="keras")
    assert int(tm[1].num_batches_tracked) == 0
    assert [m.training for m in tm] == [True, True, False, True]
