"""What the port knows about layers, read from the frameworks' layer kinds.

Design rules:
- A Keras kind's `port` (`KerasPort`: the torch class it ports to, the checks `compare` runs,
  the weight transfer, its output layout, a wrapper's layers) and a torch kind's `port`
  (`TorchPort`: its pairing kind, whether it is paired, whether `num_layers` stacks Keras
  layers, its input layout) are looked up along the MRO by `keras_rule` / `torch_rule`
  (`frameworks.keras.kind_of(layer, "port")`), so a user's subclass of `keras.layers.LSTM` or
  `nn.LSTM` gets the LSTM's and a user's class that is merely named `LSTM` gets none.
- A Keras layer pairs with a torch module whose kind has the same `kind` tag. Adding a layer
  kind is one kind object per side (`frameworks.keras.register`, `frameworks.torch.register`).
- Left here: which Keras layers are activations or neutral at inference, and the weight shapes
  a torch module's attributes imply (tables by class name, looked up along the MRO).
- keras, torch and numpy are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..frameworks import framework_class
from ..frameworks.keras.porting import (
    ACTIVATIONS,
    Attr,
    activation_name,
    directions,
    keras_class,
    keras_paired,
    keras_rule,
    pad_fix,
    tf_same_pads,
    torch_activation,
    torch_call,
    torch_class,
    unwrap,
)
from ..frameworks.pairing import (
    CHANNELS,
    FLATTENED,
    SAME,
    SEQUENCE,
    Channels,
    Issue,
    KerasPort,
    Layout,
    Pair,
    TorchPort,
    to_numpy,
)
from ..frameworks.torch import kind_of as torch_kind_of

__all__ = ["ACTIVATIONS", "CHANNELS", "FLATTENED", "KERAS_ACTIVATION_LAYERS", "KERAS_NEUTRAL",
           "SAME", "SEQUENCE", "Attr", "Channels", "Issue", "KerasPort", "KerasRule", "Layout",
           "Pair", "TorchPort", "TorchRule", "activation_name", "directions",
           "keras_activation_of", "keras_class", "keras_neutral", "keras_paired", "keras_rule",
           "pad_fix", "tf_same_pads", "to_numpy", "torch_activation", "torch_call",
           "torch_class", "torch_rule", "unwrap", "weight_shape_issues"]

KerasRule = KerasPort
TorchRule = TorchPort


def torch_rule(module: Any) -> TorchPort | None:
    port: TorchPort | None = torch_kind_of(module, "port").port
    return port


# the parameter shapes a torch module's own attributes imply
WEIGHT_SHAPES: dict[str, Callable[[Any], dict[str, tuple[int, ...]]]] = {
    "Linear": lambda m: {"weight": (m.out_features, m.in_features)},
    "_ConvNd": lambda m: {"weight": (m.out_channels, m.in_channels // m.groups, *m.kernel_size)},
    "Embedding": lambda m: {"weight": (m.num_embeddings, m.embedding_dim)},
}


def weight_shape_issues(module: Any) -> list[str]:
    """Parameters whose shape is not the one the module's attributes imply (a weight assigned
    through `.data` in another layout), as text."""
    name = framework_class(module, WEIGHT_SHAPES, "torch")
    if name is None:
        return []
    out = []
    for attr, want in WEIGHT_SHAPES[name](module).items():
        got = tuple(getattr(module, attr).shape)
        if got != want:
            out.append(f"{attr} is {got}; nn.{torch_class(module)} with these sizes holds {want}")
    return out


def _relu_name(layer: Any) -> str:
    if getattr(layer, "negative_slope", 0.0):
        return f"leaky_relu({float(layer.negative_slope):g})"
    return "relu6" if getattr(layer, "max_value", None) == 6 else "relu"




# Keras activation layers, and the activation each applies (by the Keras name)
KERAS_ACTIVATION_LAYERS: dict[str, Callable[[Any], str]] = {
    "Activation": lambda layer: activation_name(layer.activation),
    "ReLU": _relu_name,
    "LeakyReLU": lambda layer: f"leaky_relu({float(layer.negative_slope):g})",
    "ELU": lambda layer: "elu",
    "Softmax": lambda layer: "softmax",
    "PReLU": lambda layer: "prelu",
}
# Keras layers that pass values through at inference
KERAS_NEUTRAL = frozenset({"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
                           "GaussianNoise", "GaussianDropout", "AlphaDropout",
                           "ActivityRegularization"})


def keras_activation_of(layer: Any) -> str | None:
    """The activation a Keras activation layer applies, or None if it is not one."""
    name = framework_class(layer, KERAS_ACTIVATION_LAYERS, "keras")
    return None if name is None else KERAS_ACTIVATION_LAYERS[name](layer)


def keras_neutral(layer: Any) -> bool:
    return any(c.__name__ in KERAS_NEUTRAL and (c.__module__ or "").startswith("keras")
               for c in type(layer).__mro__)


