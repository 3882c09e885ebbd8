"""Keras layer kinds: one object per kind, all the library knows of it (layer L6).

Design rules:
- A `KerasKind` (or a subclass: `RNNKind`, `ConvKind`, ...) covers Keras classes by name and
  says how the layer names its input and output axes, which dtype it takes, where its input
  size comes from (its kernel), what fixes its last output axis, Keras's own check beyond the
  layer's `input_spec`, its knobs (`kinds.Knob`), and its port pairing (`pairing.KerasPort`,
  with the checks and transfers of `porting.py`). The contract, the verdict, the port and the
  scaffold read these objects; no code elsewhere branches on a kind's name.
- `kind_of(layer)` looks a layer up along its MRO; a layer of no kind gets `GENERIC`, whose
  methods are what the library does with any layer (generic axis names, its kernel read as
  `(..., in, out)`). `register(kind)` adds a kind (a user's own layer class).
- Keras is never imported here: kinds key Keras classes by name.
"""

from __future__ import annotations

from typing import Any

from ..._errors import Origin
from ..kinds import KERAS_KINDS, Knob, LayerKind
from ..pairing import CHANNELS, FLATTENED, SEQUENCE, KerasPort
from . import porting as P
from .scaffold import SCAFFOLDS as S

__all__ = ["GENERIC", "KINDS", "LAYERS", "BidirectionalKind", "ConvKind", "DenseKind",
           "EmbeddingKind", "FlattenKind", "KerasKind", "RNNKind", "SameKind",
           "TimeDistributedKind", "assert_layer_accepts", "kernel_origin", "kind_of", "register",
           "rule_of", "unregister", "who"]

KINDS = KERAS_KINDS
"""Every Keras kind, by Keras class name."""

LAYERS = KINDS.view("contract")
"""Keras class name -> kind, for the kinds that state a contract (`rule_of` looks them up)."""


def who(layer: Any) -> str:
    """`LSTM 'lstm'`: a layer as messages and origins name it."""
    return f"{type(layer).__name__} '{layer.name}'"


def _generic(rank: int) -> list[str]:
    return ["batch"] + [f"axis{i}" for i in range(1, rank)]


def _channels_first(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


class KerasKind(LayerKind):
    """A Keras layer kind. The base class's behaviour is a layer the library has no kind for:
    generic axis names, the kernel (if any) read as `(..., inputs, outputs)`, no check of its
    own beyond Keras's `input_spec`."""

    framework = "keras"
    input_dtype = "Num"
    """The jaxtyping category its input takes (`Num`; `Int` for an Embedding's ids)."""
    listed = True
    """It has a row in the contract's layer table (not so for the InputLayer)."""
    any_rank = False
    """Unbuilt, as a model's first layer, it maps the last axis of any rank (Dense:
    `(batch, ..., features)`)."""
    kernel_rows = False
    """Its kernel is `(inputs, outputs)` (Dense), not `(..., inputs, outputs)` (convs)."""

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        """Canonical names of the layer's input axes, or None if it does not give them."""
        return _generic(rank)

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return _generic(rank)

    def kernel_holder(self, layer: Any) -> Any:
        """The layer whose kernel states the input size (a wrapper's wrapped layer)."""
        return layer

    def kernel_origin(self, layer: Any) -> tuple[Origin, int] | None:
        """(origin, input size) when the built layer's weights fix its input's last axis."""
        target = self.kernel_holder(layer)
        cell = getattr(target, "cell", None)
        kernel = getattr(cell if cell is not None else target, "kernel", None)
        if kernel is None or not getattr(layer, "built", False):
            return None
        shape = tuple(kernel.shape)
        size = shape[0] if cell is not None or self.kernel_rows else shape[-2]
        return Origin.of_layer(who(layer), "kernel", str(shape)), int(size)

    def output_origin(self, layer: Any) -> Origin | None:
        """What fixes the layer's last output axis: `Dense 'dense' units`."""
        return Origin.of_layer(who(layer), self.output_attr) if self.output_attr else None

    def check_input(self, layer: Any, x: Any) -> None:
        """Keras's own verdict on the (symbolic) input `x`, past the layer's `input_spec`:
        raise as Keras would."""


GENERIC = KerasKind(None, ())
"""The kind of a layer no registered kind covers."""


class RNNKind(KerasKind):
    """LSTM, GRU, SimpleRNN, RNN: (batch, timesteps, features) in; (batch, units), or
    (batch, timesteps, units) with return_sequences. Its kernel fixes the features."""

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        return ["batch", "timesteps", "features"] if rank == 3 else _generic(rank)

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return ["batch", "timesteps", "units"] if rank == 3 else ["batch", "units"][:rank]

    def check_input(self, layer: Any, x: Any) -> None:
        k = self.kernel_origin(layer)
        if k is not None and hasattr(x, "shape") and x.shape[-1] is not None and (
                x.shape[-1] != k[1]):
            raise ValueError(f"{who(layer)} expects {k[1]} features ({k[0]}), "
                             f"got {x.shape[-1]}")


class BidirectionalKind(RNNKind):
    """A Bidirectional RNN: named as its RNN; its forward layer holds the kernel and says
    which attribute fixes the units."""

    def kernel_holder(self, layer: Any) -> Any:
        return layer.forward_layer

    def output_origin(self, layer: Any) -> Origin | None:
        inner = rule_of(layer.forward_layer)
        attr = inner.output_attr if inner is not None else None
        return Origin.of_layer(who(layer), attr) if attr else None


class TimeDistributedKind(KerasKind):
    """TimeDistributed(inner): (batch, timesteps, *inner's input past its batch)."""

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        if rank < 2:
            return _generic(rank)
        inner = kind_of(layer.layer).input_names(layer.layer, rank - 1) or _generic(rank)[1:]
        return ["batch", "timesteps", *inner[1:]]

    def kernel_origin(self, layer: Any) -> tuple[Origin, int] | None:
        return kind_of(layer.layer).kernel_origin(layer.layer)

    def check_input(self, layer: Any, x: Any) -> None:
        if hasattr(x, "shape") and len(x.shape) >= 2:
            import keras

            assert_layer_accepts(layer.layer, (keras.KerasTensor((x.shape[0], *x.shape[2:]),
                                                                 dtype=x.dtype),))


_SPATIAL = {1: ("length",), 2: ("height", "width"), 3: ("depth", "height", "width")}


class ConvKind(KerasKind):
    """A convolution, pooling, padding, cropping or up-sampling layer over `n` spatial axes:
    channels last (or first, by `data_format`)."""

    def __init__(self, n: int, classes: tuple[str | type, ...] | str | type, **kw: Any) -> None:
        super().__init__(f"conv{n}d", classes, **kw)
        self.n = n

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        if rank != self.n + 2:
            return _generic(rank)
        spatial = _SPATIAL[self.n]
        return (["batch", "channels", *spatial] if _channels_first(layer)
                else ["batch", *spatial, "channels"])

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        if self.n < 3 and in_names and len(in_names) == rank:
            return in_names
        return _generic(rank)


class DenseKind(KerasKind):
    """Dense / EinsumDense: maps the last axis (features) to units."""

    any_rank = True
    kernel_rows = True

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        if rank == 2:
            return ["batch", "features"]
        if rank == 3:
            return ["batch", "timesteps", "features"]
        return [*_generic(rank)[:-1], "features"]

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return [*(in_names or _generic(rank))[: rank - 1], "units"]


class EmbeddingKind(KerasKind):
    """Integer ids (batch, length) -> (batch, length, features)."""

    input_dtype = "Int"

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        return ["batch", "length", *_generic(rank)[2:]][:rank]

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return [*(in_names or _generic(rank))[: rank - 1], "features"]


class FlattenKind(KerasKind):
    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return ["batch", "features"][:rank]


class SameKind(KerasKind):
    """A layer whose output has its input's shape (dropout, normalisation, activations): it
    names nothing itself and passes its input's names on."""

    def input_names(self, layer: Any, rank: int) -> list[str] | None:
        return None

    def output_names(self, layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
        return in_names if in_names and len(in_names) == rank else _generic(rank)


class InputKind(SameKind):
    listed = False


def register(kind: KerasKind, *, replace: bool = False) -> KerasKind:
    """Register a Keras layer kind under its class names (a user's layer class: its own name;
    its instances are then looked up along their MRO as any Keras layer is). Contracts, guards,
    verdicts and the port read it from then on."""
    if not isinstance(kind, KerasKind):
        raise TypeError(f"register takes a KerasKind, not {type(kind).__name__}")
    KINDS.register(kind, replace=replace)
    return kind


def unregister(kind: KerasKind) -> None:
    KINDS.unregister(kind)


def rule_of(layer: Any) -> KerasKind | None:
    """The layer's kind, if one states its contract (along the MRO), else None."""
    return KINDS.lookup(layer, "contract")  # type: ignore[return-value]


def kind_of(layer: Any, aspect: str = "contract") -> KerasKind:
    """The layer's kind for `aspect` along its MRO; `GENERIC` when none has it."""
    found = KINDS.lookup(layer, aspect)
    return found if isinstance(found, KerasKind) else GENERIC


def kernel_origin(layer: Any) -> tuple[Origin, int] | None:
    """(origin, input size) when a built layer's weights fix its input's last axis."""
    return None if layer is None else kind_of(layer).kernel_origin(layer)


def assert_layer_accepts(layer: Any, args: tuple[Any, ...]) -> None:
    """Keras's own check of a layer on symbolic `args`: its `input_spec`, then its kind's."""
    import keras
    from keras.src.layers.input_spec import assert_input_compatibility

    if not isinstance(layer, keras.Layer) or not args:
        return
    x = args[0]
    if getattr(layer, "input_spec", None) is not None:
        assert_input_compatibility(layer.input_spec, x, layer.name)
    kind_of(layer).check_input(layer, x)


# ------------------------------------------------------------------------------ knobs
def _k(name: str, governs: str, side: str = "output", attribute: str | None = None,
       doc: str = "") -> Knob:
    return Knob(name, governs, side, attribute, doc=doc)


_UNITS = _k("units", "units", doc="the size of the last output axis")
_RETURN_SEQUENCES = _k("return_sequences", "rank",
                       doc="True: every step (batch, timesteps, units); False: the last one")
_RETURN_STATE = _k("return_state", "rank", doc="also return the final state(s)")
_DATA_FORMAT = _k("data_format", "layout", "both",
                  doc="channels_last (batch, ..., channels) or channels_first (batch, channels, ...)")
_PADDING = _k("padding", "spatial", doc="'valid' shrinks each spatial axis, 'same' keeps it")
_STRIDES = _k("strides", "spatial")


def _conv_knobs(filters: bool, depthwise: bool = False) -> tuple[Knob, ...]:
    return ((*((_k("filters", "channels", doc="the output channels"),) if filters else ()),
             _k("kernel_size", "spatial"), _STRIDES, _PADDING, _DATA_FORMAT,
             _k("dilation_rate", "spatial"))
            + ((_k("depth_multiplier", "channels"),) if depthwise else ()))


_POOL_KNOBS = (_k("pool_size", "spatial"), _STRIDES, _PADDING, _DATA_FORMAT)
_GLOBAL_POOL_KNOBS = (_DATA_FORMAT, _k("keepdims", "rank"))


# ------------------------------------------------------------------------------ kinds
def _port(kind: str, port: str | None = None, checks: tuple[Any, ...] = (),
          transfer: Any = None, **kw: Any) -> KerasPort:
    return KerasPort(kind, port, checks, transfer, **kw)


_POOLING = _port("pooling", layout=CHANNELS)

_BUILTIN: list[KerasKind] = [
    RNNKind("rnn", "LSTM", output_attr="units",
            knobs=(_UNITS, _RETURN_SEQUENCES, _RETURN_STATE),
            port=_port("lstm", "LSTM", P.LSTM_CHECKS, P.transfer_rnn, layout=SEQUENCE),
            scaffold=S["rnn"]),
    RNNKind("rnn", "GRU", output_attr="units",
            knobs=(_UNITS, _RETURN_SEQUENCES, _RETURN_STATE),
            port=_port("gru", "GRU", P.GRU_CHECKS, P.transfer_gru, layout=SEQUENCE),
            scaffold=S["rnn"]),
    RNNKind("rnn", "SimpleRNN", output_attr="units",
            knobs=(_UNITS, _RETURN_SEQUENCES, _RETURN_STATE),
            port=_port("simple_rnn", "RNN", P.SIMPLE_RNN_CHECKS, P.transfer_rnn,
                       layout=SEQUENCE), scaffold=S["rnn"]),
    RNNKind("rnn", "RNN", knobs=(_RETURN_SEQUENCES, _RETURN_STATE)),
    BidirectionalKind("bidirectional", "Bidirectional",
                      knobs=(_k("merge_mode", "units",
                                doc="'concat' doubles the units; None returns two outputs"),),
                      port=_port("bidirectional", wraps=P.bidirectional_layers),
                      scaffold=S["rnn"]),
    *[ConvKind(n, f"Conv{n}D", output_attr="filters", knobs=_conv_knobs(True),
               port=_port(f"conv{n}d", f"Conv{n}d", P.CONV_CHECKS, P.transfer_conv, layout=CHANNELS),
               scaffold=S["conv"])
      for n in (1, 2)],
    *[ConvKind(n, f"SeparableConv{n}D", output_attr="filters",
               knobs=_conv_knobs(True, depthwise=True),
               port=_port("separable_conv", layout=CHANNELS)) for n in (1, 2)],
    *[ConvKind(n, f"DepthwiseConv{n}D", knobs=_conv_knobs(False, depthwise=True),
               port=_port("depthwise_conv", layout=CHANNELS)) for n in (1, 2)],
    *[ConvKind(n, f"Conv{n}DTranspose", output_attr="filters", knobs=_conv_knobs(True),
               port=_port("conv_transpose", layout=CHANNELS)) for n in (1, 2)],
    *[ConvKind(n, (f"MaxPooling{n}D", f"AveragePooling{n}D"), knobs=_POOL_KNOBS, port=_POOLING,
               scaffold=S["pooling"]) for n in (1, 2)],
    *[ConvKind(n, (f"GlobalMaxPooling{n}D", f"GlobalAveragePooling{n}D"),
               knobs=_GLOBAL_POOL_KNOBS, scaffold=S["global_pooling"]) for n in (1, 2)],
    *[ConvKind(n, f"UpSampling{n}D", knobs=(_k("size", "spatial"),)
               + ((_DATA_FORMAT,) if n > 1 else ())) for n in (1, 2)],
    *[ConvKind(n, f"ZeroPadding{n}D", knobs=(_k("padding", "spatial"),)
               + ((_DATA_FORMAT,) if n > 1 else ())) for n in (1, 2)],
    *[ConvKind(n, f"Cropping{n}D", knobs=(_k("cropping", "spatial"),)
               + ((_DATA_FORMAT,) if n > 1 else ())) for n in (1, 2)],
    ConvKind(3, "Conv3D", output_attr="filters", knobs=_conv_knobs(True),
             port=_port("conv", layout=CHANNELS)),
    ConvKind(3, ("MaxPooling3D", "AveragePooling3D"), knobs=_POOL_KNOBS, port=_POOLING),
    DenseKind("dense", "Dense", output_attr="units", knobs=(_UNITS,),
              port=_port("dense", "Linear", P.DENSE_CHECKS, P.transfer_dense),
              scaffold=S["dense"]),
    DenseKind("dense", "EinsumDense",
              knobs=(_k("output_shape", "units", attribute="partial_output_shape"),
                     _k("equation", "rank"))),
    EmbeddingKind("embedding", "Embedding", output_attr="output_dim",
                  knobs=(_k("input_dim", "vocab", "input", doc="ids must be below it"),
                         _k("output_dim", "features")),
                  port=_port("embedding", "Embedding", P.EMBEDDING_CHECKS, P.transfer_embedding),
                  scaffold=S["embedding"]),
    FlattenKind("flatten", "Flatten", knobs=(_DATA_FORMAT,), port=_port("flatten", layout=FLATTENED),
                scaffold=S["flatten"]),
    # TimeDistributed(Dense) is a Dense applied to every step: nn.Linear does that as is
    TimeDistributedKind("time_distributed", "TimeDistributed",
                        port=_port("time_distributed", inner=lambda layer: layer.layer)),
    # over the last axis in Keras; over axis 1 in torch (BatchNorm1d on (batch, features, steps))
    SameKind("same", "BatchNormalization",
             port=_port("batchnorm", "BatchNorm1d", P.BATCHNORM_CHECKS, P.transfer_batchnorm,
                        layout=CHANNELS), scaffold=S["batchnorm"]),
    SameKind("same", "LayerNormalization",
             port=_port("layernorm", "LayerNorm", P.LAYERNORM_CHECKS, P.transfer_layernorm),
             scaffold=S["layernorm"]),
    SameKind("same", "Dropout", scaffold=S["dropout"]),
    SameKind("same", ("SpatialDropout1D", "SpatialDropout2D"), scaffold=S["spatial_dropout"]),
    SameKind("same", "Activation", scaffold=S["activation"]),
    SameKind("same", "ReLU", scaffold=S["relu"]),
    SameKind("same", "LeakyReLU", scaffold=S["leaky_relu"]),
    SameKind("same", "ELU", scaffold=S["elu"]),
    SameKind("same", "Softmax", scaffold=S["softmax"]),
    SameKind("same", ("Masking", "GaussianNoise", "GaussianDropout", "PReLU",
                      "UnitNormalization", "GroupNormalization", "Normalization", "Rescaling")),
    InputKind("input", "InputLayer"),
    # known to the port only, for their layout (through Keras's base classes): a Flatten of
    # their map is reordered for torch
    KerasKind(None, "BaseConv", port=_port("conv", layout=CHANNELS)),
    KerasKind(None, "BaseConvTranspose", port=_port("conv_transpose", layout=CHANNELS)),
    KerasKind(None, "BaseDepthwiseConv", port=_port("depthwise_conv", layout=CHANNELS)),
    KerasKind(None, "BaseSeparableConv", port=_port("separable_conv", layout=CHANNELS)),
    KerasKind(None, "ConvLSTM", port=_port("conv_lstm", layout=CHANNELS)),
    KerasKind(None, "BasePooling", port=_POOLING),
    KerasKind(None, "BaseAdaptivePooling", port=_port("adaptive_pooling", layout=CHANNELS)),
]
for _kind in _BUILTIN:
    register(_kind)
