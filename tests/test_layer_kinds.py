"""Layer kinds are objects: a toy kind registered from here is used by contract_of, guard and the
port; every registered kind has consistent knobs that read back a real layer's values."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import pytest

keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
import numpy as np  # noqa: E402
from torch import nn  # noqa: E402

from shapecontract import ShapeContractError, contract_of, guard, unguard  # noqa: E402
from shapecontract.frameworks import keras as keras_kinds  # noqa: E402
from shapecontract.frameworks import torch as torch_kinds  # noqa: E402
from shapecontract.frameworks.kinds import Knob  # noqa: E402
from shapecontract.frameworks.pairing import KerasPort, Pair, TorchPort  # noqa: E402
from shapecontract.frameworks.scaffolding import KerasScaffold  # noqa: E402
from shapecontract.port import compare, scaffold, transfer_weights  # noqa: E402
from shapecontract.port.rules import Attr  # noqa: E402

layers = keras.layers


# ------------------------------------------------------------------- the toy kind
class ToyDense(keras.layers.Layer):
    """A user's own layer: (..., features) -> (..., units), one kernel, no bias."""

    def __init__(self, units: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape: Any) -> None:
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")

    def call(self, x: Any) -> Any:
        return keras.ops.matmul(x, self.kernel)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return (*input_shape[:-1], self.units)


class Toy(nn.Module):
    """Its torch port: weight (out, in), like nn.Linear without a bias."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.randn(out_features, in_features))

    def forward(self, x: Any) -> Any:
        return x @ self.weight.T


def _transfer(p: Pair, to_torch: bool, flattened: Any) -> None:
    k, m = p.keras[0], p.module
    if to_torch:
        with torch.no_grad():
            m.weight.copy_(torch.as_tensor(np.asarray(k.kernel.numpy()).T))
    else:
        k.kernel.assign(m.weight.detach().numpy().T)


def _write(em: Any, layer: Any) -> None:
    """The toy's scaffold writer: its torch module and its forward line."""
    em.channels_last("Toy acts on the last axis")
    attr = em.attr(layer.name, f"Toy({layer.input.shape[-1]}, {layer.units})")
    em.line(f"x = self.{attr}(x)")


UNITS = Attr("units / out_features", lambda k: k.units, lambda m: m.out_features,
             "Toy(..., out_features={})")


@pytest.fixture
def toy_kinds() -> Iterator[tuple[Any, Any]]:
    """The toy kind on each side: one object each, registered, removed after the test."""
    keras_kind = keras_kinds.register(keras_kinds.DenseKind(
        "dense", ToyDense, output_attr="units", knobs=(Knob("units", "units"),),
        port=KerasPort("toy", "Toy", (UNITS,), _transfer), scaffold=KerasScaffold(_write)))
    linear = torch_kinds.kind_of(nn.Linear(1, 1))
    torch_kind = torch_kinds.register(torch_kinds.LinearKind(
        "linear", Toy, specs=linear.specs, output_attr="out_features",
        knobs=(Knob("in_features", "features", "input", position=0),
               Knob("out_features", "units", "output", position=1)),
        port=TorchPort("toy")))
    yield keras_kind, torch_kind
    keras_kinds.unregister(keras_kind)
    torch_kinds.unregister(torch_kind)


def _keras_toy(units: int = 4) -> Any:
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((6, 3)), ToyDense(units, name="toy")], name="toy_model")


def test_an_unregistered_toy_is_a_layer_of_no_kind() -> None:
    """Without its kind the toy's axes are generic: the kind is what names them."""
    c = contract_of(_keras_toy())
    dims = c.inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == ["batch", "axis1", "axis2"]
    assert keras_kinds.rule_of(ToyDense(2)) is None
    assert torch_kinds.known(Toy(3, 4), "") is None


def test_contract_of_reads_the_registered_kind(toy_kinds: Any) -> None:
    keras_kind, torch_kind = toy_kinds
    assert keras_kinds.kind_of(ToyDense(2)) is keras_kind
    assert torch_kinds.kind_of(Toy(3, 4)) is torch_kind
    c = contract_of(_keras_toy())
    dims = c.inputs()[0].spec.dims
    assert [getattr(d, "label", None) or d.name for d in dims] == ["batch", "timesteps",
                                                                  "features"]
    assert c.inputs()[0].spec.origins[-1].attribute == "kernel"  # the kind's kernel origin
    assert c.outputs()[0].spec.origins[-1].attribute == "units"  # the kind's output_attr
    tc = contract_of(Toy(3, 4))
    assert tc.inputs()[0].spec.dims[-1].size == 3
    with pytest.raises(ShapeContractError) as info:
        tc.check(torch.zeros(2, 5))
    assert info.value.origin.attribute == "in_features"


def test_guard_reads_the_registered_kind(toy_kinds: Any) -> None:
    model = guard(_keras_toy())
    try:
        model.predict(np.zeros((2, 6, 3)), verbose=0)
        with pytest.raises(ShapeContractError) as info:
            model.predict(np.zeros((2, 6, 5)), verbose=0)
        assert info.value.dim == "features"
    finally:
        unguard(model)
    toy = guard(Toy(3, 4))
    toy(torch.zeros(2, 3))
    with pytest.raises(ShapeContractError):
        toy(torch.zeros(2, 5))


def test_port_pairs_checks_and_transfers_the_registered_kind(toy_kinds: Any) -> None:
    km = _keras_toy()
    good = nn.Sequential(Toy(3, 4))
    report = compare(km, good)
    assert report.pairs and "Toy" in report.pairs[0][1]
    assert not report.differences, report
    bad = compare(km, nn.Sequential(Toy(3, 5)))
    assert [d.what for d in bad.differences][:1] == ["units / out_features"]
    transfer_weights(km, good)
    x = np.random.default_rng(0).random((2, 6, 3)).astype("float32")
    out = good(torch.as_tensor(x)).detach().numpy()
    np.testing.assert_allclose(out, np.asarray(km(x)), rtol=1e-5, atol=1e-5)


def test_scaffold_writes_the_registered_kind(toy_kinds: Any) -> None:
    km = _keras_toy()
    source = scaffold(km)
    assert "self.toy = Toy(3, 4)" in source
    namespace: dict[str, Any] = {"Toy": Toy}
    exec(compile(source, "<scaffold>", "exec"), namespace)
    port = namespace["ToyModel"]()
    transfer_weights(km, port)
    x = np.random.default_rng(1).random((2, 6, 3)).astype("float32")
    np.testing.assert_allclose(port(torch.as_tensor(x)).detach().numpy(), np.asarray(km(x)),
                               rtol=1e-5, atol=1e-5)


def test_a_kind_is_refused_twice_and_must_match_its_framework(toy_kinds: Any) -> None:
    _, torch_kind = toy_kinds
    with pytest.raises(ValueError, match="already has"):
        keras_kinds.register(keras_kinds.DenseKind("dense", ToyDense))
    with pytest.raises(TypeError):
        keras_kinds.register(torch_kind)


# ------------------------------------------------------------ every registered kind
KERAS_EXAMPLES: dict[str, Any] = {
    "LSTM": lambda: layers.LSTM(5, return_sequences=True, return_state=False),
    "GRU": lambda: layers.GRU(5, return_sequences=False, return_state=True),
    "SimpleRNN": lambda: layers.SimpleRNN(5, return_sequences=True),
    "RNN": lambda: layers.RNN(layers.LSTMCell(3), return_sequences=True),
    "Bidirectional": lambda: layers.Bidirectional(layers.LSTM(4), merge_mode="sum"),
    "Conv1D": lambda: layers.Conv1D(4, 3, strides=2, padding="same"),
    "Conv2D": lambda: layers.Conv2D(4, (3, 2), data_format="channels_first"),
    "SeparableConv1D": lambda: layers.SeparableConv1D(4, 3, depth_multiplier=2),
    "SeparableConv2D": lambda: layers.SeparableConv2D(4, 3),
    "DepthwiseConv1D": lambda: layers.DepthwiseConv1D(3, depth_multiplier=2),
    "DepthwiseConv2D": lambda: layers.DepthwiseConv2D(3),
    "Conv1DTranspose": lambda: layers.Conv1DTranspose(4, 3, strides=2),
    "Conv2DTranspose": lambda: layers.Conv2DTranspose(4, 3),
    "MaxPooling1D": lambda: layers.MaxPooling1D(3, padding="same"),
    "AveragePooling1D": lambda: layers.AveragePooling1D(2),
    "MaxPooling2D": lambda: layers.MaxPooling2D((2, 3)),
    "AveragePooling2D": lambda: layers.AveragePooling2D(2, strides=1),
    "GlobalMaxPooling1D": lambda: layers.GlobalMaxPooling1D(keepdims=True),
    "GlobalAveragePooling1D": lambda: layers.GlobalAveragePooling1D(),
    "GlobalMaxPooling2D": lambda: layers.GlobalMaxPooling2D(data_format="channels_first"),
    "GlobalAveragePooling2D": lambda: layers.GlobalAveragePooling2D(),
    "UpSampling1D": lambda: layers.UpSampling1D(3),
    "UpSampling2D": lambda: layers.UpSampling2D((2, 3)),
    "ZeroPadding1D": lambda: layers.ZeroPadding1D(2),
    "ZeroPadding2D": lambda: layers.ZeroPadding2D(1),
    "Cropping1D": lambda: layers.Cropping1D((1, 2)),
    "Cropping2D": lambda: layers.Cropping2D(1),
    "Conv3D": lambda: layers.Conv3D(2, 3),
    "MaxPooling3D": lambda: layers.MaxPooling3D(2),
    "AveragePooling3D": lambda: layers.AveragePooling3D(2),
    "Dense": lambda: layers.Dense(7),
    "EinsumDense": lambda: layers.EinsumDense("ab,bc->ac", output_shape=4),
    "Embedding": lambda: layers.Embedding(10, 4),
    "Flatten": lambda: layers.Flatten(),
    "TimeDistributed": lambda: layers.TimeDistributed(layers.Dense(2)),
    "BatchNormalization": lambda: layers.BatchNormalization(),
    "LayerNormalization": lambda: layers.LayerNormalization(),
    **{n: (lambda n=n: getattr(layers, n)()) for n in (
        "Masking", "GaussianNoise", "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D",
        "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU", "UnitNormalization",
        "Normalization", "Rescaling")},
    "Dropout": lambda: layers.Dropout(0.1),
    "Activation": lambda: layers.Activation("relu"),
    "GaussianNoise": lambda: layers.GaussianNoise(0.1),
    "GaussianDropout": lambda: layers.GaussianDropout(0.1),
    "SpatialDropout1D": lambda: layers.SpatialDropout1D(0.1),
    "SpatialDropout2D": lambda: layers.SpatialDropout2D(0.1),
    "Rescaling": lambda: layers.Rescaling(0.5),
    "GroupNormalization": lambda: layers.GroupNormalization(groups=1),
    "InputLayer": lambda: layers.InputLayer(shape=(3,)),
}
"""One constructed layer per Keras class name a built-in kind covers (knob values chosen to
differ from the defaults where they can)."""

TORCH_EXAMPLES: dict[str, Any] = {
    "LSTM": lambda: nn.LSTM(3, 8, num_layers=2, bidirectional=True, batch_first=True, proj_size=4),
    "GRU": lambda: nn.GRU(3, 5, batch_first=True),
    "RNN": lambda: nn.RNN(3, 5, num_layers=3),
    "Linear": lambda: nn.Linear(3, 4),
    "Conv1d": lambda: nn.Conv1d(2, 4, 3, stride=2, padding=1),
    "Conv2d": lambda: nn.Conv2d(2, 4, (3, 2), dilation=2),
    "Embedding": lambda: nn.Embedding(10, 4),
    "Flatten": lambda: nn.Flatten(2, -1),
    "Sequential": lambda: nn.Sequential(),
    "LayerNorm": lambda: nn.LayerNorm((4, 5)),
    "BatchNorm1d": lambda: nn.BatchNorm1d(6),
    "BatchNorm2d": lambda: nn.BatchNorm2d(6),
    "NonDynamicallyQuantizableLinear": lambda: nn.MultiheadAttention(4, 1).out_proj,
    "MaxPool1d": lambda: nn.MaxPool1d(3, stride=2, padding=1),
    "MaxPool2d": lambda: nn.MaxPool2d(2),
    "AvgPool1d": lambda: nn.AvgPool1d(2),
    "AvgPool2d": lambda: nn.AvgPool2d((2, 3)),
    "AdaptiveAvgPool1d": lambda: nn.AdaptiveAvgPool1d(1),
    "AdaptiveAvgPool2d": lambda: nn.AdaptiveAvgPool2d((1, 1)),
    "AdaptiveMaxPool1d": lambda: nn.AdaptiveMaxPool1d(1),
    "AdaptiveMaxPool2d": lambda: nn.AdaptiveMaxPool2d(1),
    "MSELoss": lambda: nn.MSELoss(reduction="sum"),
    **{n: (lambda n=n: getattr(nn, n)()) for n in (
        "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Tanh", "Sigmoid",
        "Softmax", "Softplus", "Mish", "LogSoftmax", "Dropout", "Identity", "Hardtanh", "PReLU",
        "L1Loss", "SmoothL1Loss", "HuberLoss", "BCELoss", "BCEWithLogitsLoss", "KLDivLoss",
        "CrossEntropyLoss", "NLLLoss", "CTCLoss")},
}


def _framework_names(registry: Any) -> list[str]:
    return sorted(n for kind in registry for n in kind.classes if "." not in n)


def test_every_registered_class_has_a_row() -> None:
    """Adding a kind is one object plus one row here."""
    assert set(_framework_names(keras_kinds.KINDS)) - {
        "BaseConv", "BaseConvTranspose", "BaseDepthwiseConv", "BaseSeparableConv", "ConvLSTM",
        "BasePooling", "BaseAdaptivePooling"} <= set(KERAS_EXAMPLES)
    assert set(_framework_names(torch_kinds.KINDS)) <= set(TORCH_EXAMPLES)


def _check_kind(kind: Any, obj: Any, name: str) -> None:
    assert kind is not None and name in kind.classes
    params = set(inspect.signature(type(obj).__init__).parameters)
    for knob in kind.knobs:
        if not ({"args", "kwargs"} >= params - {"self"}):  # nn.LSTM(*args, **kwargs)
            assert knob.name in params, f"{name}: {knob.name} is not a constructor argument"
        value = knob.read(obj)
        assert knob.code(value) == f"{knob.name}={value!r}"
        assert knob.governs and knob.side in ("input", "output", "both")
    assert kind.knob_values(obj).keys() == {k.name for k in kind.knobs}
    if kind.output_attr is not None:
        getattr(obj, kind.output_attr)


@pytest.mark.parametrize("name", sorted(KERAS_EXAMPLES))
def test_keras_kind_knobs_read_a_real_layer(name: str) -> None:
    layer = KERAS_EXAMPLES[name]()
    kind = next(k for k in keras_kinds.KINDS if name in k.classes)
    _check_kind(kind, layer, name)


@pytest.mark.parametrize("name", sorted(TORCH_EXAMPLES))
def test_torch_kind_knobs_read_a_real_module(name: str) -> None:
    m = TORCH_EXAMPLES[name]()
    kind = next(k for k in torch_kinds.KINDS if name in k.classes)
    _check_kind(kind, m, name)


@pytest.mark.parametrize(("make", "values"), [
    (lambda: layers.LSTM(5, return_sequences=True), {"units": 5, "return_sequences": True,
                                                      "return_state": False}),
    (lambda: layers.Conv2D(4, (3, 2), strides=2, padding="same"),
     {"filters": 4, "kernel_size": (3, 2), "strides": (2, 2), "padding": "same",
      "data_format": "channels_last", "dilation_rate": (1, 1)}),
    (lambda: layers.Bidirectional(layers.GRU(3), merge_mode="sum"), {"merge_mode": "sum"}),
    (lambda: nn.LSTM(3, 8, num_layers=2, bidirectional=True, batch_first=True, proj_size=4),
     {"input_size": 3, "hidden_size": 8, "num_layers": 2, "bidirectional": True,
      "batch_first": True, "proj_size": 4}),
    (lambda: nn.Conv1d(2, 4, 3, stride=2, padding=1),
     {"in_channels": 2, "out_channels": 4, "kernel_size": (3,), "stride": (2,),
      "padding": (1,), "dilation": (1,)}),
    (lambda: nn.Linear(768, 2), {"in_features": 768, "out_features": 2}),
])
def test_knobs_read_back_what_the_constructor_was_given(make: Any, values: dict[str, Any]) -> None:
    obj = make()
    kinds = keras_kinds if hasattr(obj, "built") else torch_kinds
    assert kinds.kind_of(obj).knob_values(obj) == values


def test_knobs_are_queryable_for_repairs() -> None:
    """What a repair needs: which knob governs an axis, and the code that sets it."""
    lstm = keras_kinds.kind_of(layers.LSTM(4))
    assert [k.name for k in lstm.knobs_for("rank")] == ["return_sequences", "return_state"]
    assert lstm.setting(layers.LSTM(4), return_sequences=True) == \
        "LSTM(..., return_sequences=True)"
    rnn = torch_kinds.kind_of(nn.LSTM(3, 4))
    assert rnn.knob("input_size").governs == "features" and rnn.knob("input_size").side == "input"
    assert rnn.knob("input_size").code(768) == "input_size=768"
    assert [k.name for k in rnn.knobs_for("layout")] == ["batch_first"]
    with pytest.raises(KeyError):
        rnn.knob("units")
