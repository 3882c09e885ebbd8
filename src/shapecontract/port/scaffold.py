"""`scaffold`: the source of a PyTorch port of a Keras model, or of a Keras port of an nn.Sequential.

Design rules:
- The emitted code follows the conventions `transfer_weights` and `assert_equivalent` assume, so
  the scaffold, its weights and the check agree by construction: the torch model takes its input
  laid out for its first paired module (channels first for a first Conv, batch-first for RNNs);
  a Flatten of a channels-first map stays in torch's (c, h, w) order exactly when
  `transfer_weights` reorders the Dense it feeds (`weights.flatten_sources`); the output is laid
  out like the other model's output.
- One table per direction maps a framework class (looked up along the MRO, as in `rules`) to
  the function that writes its code; anything else (a branch, a custom layer, an option torch or
  Keras cannot express) is refused with a ValueError naming the layer. No code is guessed.
- Data layout is tracked as one state: is the torch tensor the Keras tensor with its last axis
  moved to axis 1 ("channels first")? Each layer says which state it needs; the permutes are
  written where the state changes, each with a one-line comment.
- keras and torch are imported inside functions only (the table lookup reads class names).
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..frameworks import framework_class, lookup
from ..frameworks.keras import distinct_calls, output_ids
from .compare import torch_modules
from .rules import ACTIVATIONS, directions, keras_paired, keras_rule
from .weights import flatten_sources

__all__ = ["scaffold"]


def scaffold(model: Any, to: str = "torch", input_shape: Sequence[int | None] | None = None) -> str:
    """The source of a Python module porting `model` to the other framework.

    `to="torch"` (default): `model` is a `keras.Sequential` or a functional model that is a
    single chain; the source defines an `nn.Module` subclass named after the model, with one
    attribute per Keras layer that has a torch counterpart and a `forward(self, x)` that lays
    the data out as each module expects (the input as the first paired module expects it:
    channels first for a first Conv, batch-first for RNNs; the output as Keras returns it).

    `to="keras"`: `model` is an `nn.Sequential` (nested ones are flattened); the source defines
    `build_model()` returning a `keras.Sequential`. `input_shape` is the Keras model's input
    shape without the batch axis, in Keras layout (channels last: `(height, width, channels)`
    for a first Conv2d); it is required where the modules do not fix it (convs, pooling,
    normalisation first) and checked against them otherwise. RNNs are refused: in an
    nn.Sequential an RNN's `(output, h_n)` tuple is passed on (or returned) as it is, never
    one tensor, so such a Sequential has no single-output Keras equivalent.

    Then `transfer_weights(keras_model, torch_model)` (either direction) and
    `assert_equivalent(keras_model, torch_model)` apply to the pair as written.
    Raises ValueError naming the layer or module that cannot be ported, and why.
    """
    if to == "torch":
        if input_shape is not None:
            raise ValueError("input_shape is for to='keras' (a Keras model fixes its own input)")
        if hasattr(model, "named_modules") and not hasattr(model, "layers"):
            raise ValueError("scaffold(model, to='torch') ports a Keras model; for a torch "
                             "module pass to='keras'")
        return _KerasToTorch(model).source()
    if to == "keras":
        if not hasattr(model, "named_modules"):
            raise ValueError("scaffold(model, to='keras') ports a torch nn.Sequential; for a "
                             "Keras model use to='torch'")
        return _TorchToKeras(model, input_shape).source()
    raise ValueError(f"to is 'torch' or 'keras', not {to!r}")


# ------------------------------------------------------------------------------- helpers
def _identifier(name: str, fallback: str) -> str:
    """A snake_case Python identifier from a layer name."""
    ident = re.sub(r"\W+", "_", name).strip("_").lower() or fallback
    if ident[0].isdigit():
        ident = f"{fallback}_{ident}"
    return ident + "_" if keyword.iskeyword(ident) else ident


def _class_name(name: str) -> str:
    """A CamelCase class name from a model name."""
    parts = [p for p in re.split(r"[\W_]+", name) if p]
    ident = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return "Model" + ident if ident[0].isdigit() else ident


def _size(values: Sequence[int]) -> str:
    """`3` for (3,) or (3, 3); `(3, 5)` otherwise (torch and Keras accept both)."""
    vals = tuple(int(v) for v in values)
    return str(vals[0]) if len(set(vals)) == 1 else str(vals)


def _float(x: float) -> str:
    return repr(float(f"{float(x):.12g}"))


def _shape(dims: Sequence[int | None]) -> str:
    return "(" + ", ".join("batch" if i == 0 else str(d) for i, d in enumerate(dims)) + ")"


def _to_first(rank: int) -> tuple[int, ...]:
    """The permutation moving the last axis to axis 1 (NHWC -> NCHW)."""
    return (0, rank - 1, *range(1, rank - 1))


def _to_last(rank: int) -> tuple[int, ...]:
    """The permutation moving axis 1 last (NCHW -> NHWC)."""
    return (0, *range(2, rank), 1)


def _name(obj: Any, label: str) -> str:
    return f"{type(obj).__name__} '{label}'"


# ========================================================================= Keras -> torch
KerasWriter = Callable[["_KerasToTorch", Any], None]


class _KerasToTorch:
    """Writes the nn.Module: `__init__` lines, `forward` lines, and the layout state."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.init: list[str] = []
        self.body: list[str] = []
        self.attrs: set[str] = set()
        self.first = False  # is the torch tensor channels first (the Keras last axis at 1)?
        self.rank = 0
        self.layers = _keras_chain(model)
        self.flattened = flatten_sources(model)
        try:
            from torch import nn

            self.reserved = set(dir(nn.Module))
        except ImportError:  # the source can be written without torch
            self.reserved = {"forward", "training", "train", "eval", "to", "cuda", "cpu",
                             "apply", "parameters", "modules", "children", "state_dict", "type",
                             "float", "double", "half", "zero_grad", "register_buffer"}

    # -------------------------------------------------------------------- building blocks
    def attr(self, hint: str, ctor: str) -> str:
        """Register `self.<name> = <ctor>` under a unique identifier made from `hint`."""
        name = base = _identifier(hint, "layer")
        if name in self.reserved:
            name = base = base + "_layer"
        i = 1
        while name in self.attrs:
            name = f"{base}_{i}"
            i += 1
        self.attrs.add(name)
        self.init.append(f"self.{name} = {ctor}")
        return name

    def line(self, code: str, comment: str = "") -> None:
        self.body.append(code + (f"  # {comment}" if comment else ""))

    def channels_first(self, why: str) -> None:
        if not self.first and self.rank > 2:
            self.line(f"x = x.permute{_to_first(self.rank)}", f"channels first: {why}")
        self.first = self.first or self.rank > 2

    def channels_last(self, why: str) -> None:
        if self.first and self.rank > 2:
            self.line(f"x = x.permute{_to_last(self.rank)}", f"channels last again: {why}")
        self.first = False

    def dim(self, keras_axis: int) -> int:
        """The torch dim holding the Keras axis `keras_axis` in the current layout."""
        axis = keras_axis % self.rank
        if not self.first or self.rank <= 2:
            return -1 if axis == self.rank - 1 else axis
        return 1 if axis == self.rank - 1 else axis + 1

    def activation(self, layer: Any, attr: str, fn: Any, keras_axis: int = -1) -> None:
        """The module for a Keras activation function, registered and applied after `attr`."""
        ctor = _torch_activation(layer, fn, self, keras_axis)
        if ctor is not None:
            act = self.attr(f"{attr}_{fn.__name__}", ctor)
            self.line(f"x = self.{act}(x)")

    # ------------------------------------------------------------------------- the source
    def source(self) -> str:
        m = self.model
        shape = tuple(m.inputs[0].shape)
        self.rank = len(shape)
        self.first = self._input_first()
        torch_shape = tuple(shape[i] for i in _to_first(self.rank)) if self.first else shape
        how = ("the Keras input with channels first" if self.first else
               "as the Keras input (batch first)")
        self.body.append(f"# x: {_shape(torch_shape)}, {how}")
        for layer in self.layers:
            write = lookup(layer, _FROM_KERAS, "keras")
            assert write is not None  # checked by _keras_chain
            write(self, layer)
            self.rank = len(layer.output.shape)
        if self.first and self.rank > 2:
            self.line(f"x = x.permute{_to_last(self.rank)}",
                      "channels last, as the Keras model returns (drop to keep channels first)")
        return self._render()

    def _input_first(self) -> bool:
        """Channels first iff the first paired layer is a Conv of the input's rank (the layout
        `assert_equivalent` gives the torch model, by its first paired module)."""
        for layer in self.layers:
            if keras_paired(layer):
                rule = keras_rule(layer)
                rank = len(getattr(layer, "kernel_size", ())) + 2
                return (rule is not None and rule.port in ("Conv1d", "Conv2d")
                        and rank == self.rank)
        return False

    def _render(self) -> str:
        name = _class_name(self.model.name)
        lines = [
            f'"""PyTorch port of the Keras model \'{self.model.name}\' (scaffolded by '
            "shapecontract.port.scaffold).",
            "",
            "Copy the Keras weights and check the port:",
            f"    model = {name}()",
            "    shapecontract.port.transfer_weights(keras_model, model)",
            "    shapecontract.port.assert_equivalent(keras_model, model)",
            '"""',
            "",
            "import torch",
            "from torch import nn",
            "",
            "",
            f"class {name}(nn.Module):",
            "    def __init__(self) -> None:",
            "        super().__init__()",
            *("        " + ln for ln in self.init),
            "",
            "    def forward(self, x: torch.Tensor) -> torch.Tensor:",
            *("        " + ln for ln in self.body),
            "        return x",
            "",
        ]
        return "\n".join(lines)


def _keras_chain(model: Any) -> list[Any]:
    """The model's layers (InputLayer excluded), checked to be one chain from input to output."""
    kinds = {c.__name__ for c in type(model).__mro__ if c.__module__.startswith("keras")}
    if not kinds & {"Sequential", "Functional"}:
        raise ValueError(f"{_name(model, getattr(model, 'name', '?'))}: only keras.Sequential "
                         "and functional models can be scaffolded (a subclassed Model's call "
                         "cannot be read)")
    try:
        inputs, outputs = list(model.inputs), list(model.outputs)
    except AttributeError as e:
        raise ValueError(f"model '{model.name}' has no input yet: build it with "
                         "keras.Input(shape) first") from e
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    for layer in layers:  # what each layer is, before how they are connected
        if _submodel(layer):  # an encoder / decoder: checked as a chain of its own below
            continue
        if distinct_calls(layer) > 1:
            raise _refuse(layer, "called more than once (shared weights): the scaffold ports "
                                 "chains of distinct layers")
        if isinstance(layer.input, (list, tuple, dict)):
            raise _refuse(layer, f"{len(layer.input)} inputs (a merge of branches): the "
                                 "scaffold ports single chains")
        if lookup(layer, _FROM_KERAS, "keras") is None:
            raise _refuse(layer, "the scaffold has no torch counterpart for it (supported: "
                                 f"{_supported(_FROM_KERAS)})")
        check = lookup(layer, _PRECHECKS, "keras")
        if check is not None:
            check(layer)
        if isinstance(layer.output, (list, tuple, dict)):
            raise _refuse(layer, f"{len(layer.output)} outputs: the scaffold ports single "
                                 "chains")
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(f"model '{model.name}' has {len(inputs)} inputs and {len(outputs)} "
                         "outputs: the scaffold ports single-input, single-output chains")
    prev = {id(inputs[0])}  # ids: a loaded Sequential's first layer has two (equal) calls
    chain: list[Any] = []
    for layer in layers:
        if id(layer.input) not in prev:
            raise _refuse(layer, "its input is not the previous layer's output (a branch): "
                                 "the scaffold ports single chains")
        prev = output_ids(layer)
        chain += _keras_chain(layer) if _submodel(layer) else [layer]
    if id(outputs[0]) not in prev:
        raise ValueError(f"model '{model.name}': the output is not the last layer's: branches "
                         "are not supported")
    return chain


def _submodel(layer: Any) -> bool:
    """A Sequential or functional model used as a layer (nested models are ported in place)."""
    return any(c.__name__ in ("Sequential", "Functional") and c.__module__.startswith("keras")
               for c in type(layer).__mro__)


def _refuse(layer: Any, why: str) -> ValueError:
    return ValueError(f"{_name(layer, layer.name)}: {why}")


def _channels_last_only(layer: Any) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise _refuse(layer, "data_format='channels_first' is not supported by the scaffold "
                             "(it writes ports of channels_last models)")


def _torch_activation(layer: Any, fn: Any, em: _KerasToTorch, keras_axis: int = -1) -> str | None:
    """The torch module constructor for a Keras activation function (None for linear)."""
    import keras

    name = getattr(fn, "__name__", None)
    if name is None or keras.activations.get(name) is not fn:
        raise _refuse(layer, f"its activation {fn!r} is not a Keras built-in activation: "
                             "write its torch counterpart by hand")
    if name == "linear":
        return None
    if name == "softmax":
        return f"nn.Softmax(dim={em.dim(keras_axis)})"
    if name == "leaky_relu":
        return "nn.LeakyReLU(0.2)"  # Keras's default negative_slope (torch's is 0.01)
    if name not in ACTIVATIONS:
        raise _refuse(layer, f"activation '{name}' has no torch module the port knows "
                             f"(known: {', '.join(sorted(ACTIVATIONS))})")
    return f"nn.{ACTIVATIONS[name]}()"


def _dense(em: _KerasToTorch, layer: Any) -> None:
    if em.rank > 2:
        em.channels_last("nn.Linear acts on the last axis")
    bias = "" if layer.use_bias else ", bias=False"
    attr = em.attr(layer.name, f"nn.Linear({layer.input.shape[-1]}, {layer.units}{bias})")
    em.line(f"x = self.{attr}(x)")
    em.activation(layer, attr, layer.activation)


def _conv(em: _KerasToTorch, layer: Any) -> None:
    _channels_last_only(layer)
    nd = len(layer.kernel_size)
    strides, padding = tuple(layer.strides), layer.padding
    if padding == "causal":
        raise _refuse(layer, "padding='causal' is not supported: pad the start by hand "
                             "(F.pad(x, (dilation * (kernel - 1), 0))) before a padding=0 conv")
    if padding == "same" and any(s != 1 for s in strides):
        raise _refuse(layer, f"padding='same' with strides {strides}: torch's padding='same' "
                             "needs stride 1 (Keras pads more at the end; pad explicitly with "
                             "F.pad before a padding=0 conv)")
    args = [str(layer.input.shape[-1]), str(layer.filters), f"kernel_size={_size(layer.kernel_size)}"]
    if any(s != 1 for s in strides):
        args.append(f"stride={_size(strides)}")
    if padding == "same":
        args.append("padding='same'")
    if any(d != 1 for d in layer.dilation_rate):
        args.append(f"dilation={_size(layer.dilation_rate)}")
    if layer.groups != 1:
        args.append(f"groups={layer.groups}")
    if not layer.use_bias:
        args.append("bias=False")
    em.channels_first(f"nn.Conv{nd}d expects (batch, channels, ...)")
    attr = em.attr(layer.name, f"nn.Conv{nd}d({', '.join(args)})")
    em.line(f"x = self.{attr}(x)")
    em.activation(layer, attr, layer.activation)


def _pooling(em: _KerasToTorch, layer: Any) -> None:
    _channels_last_only(layer)
    if layer.padding != "valid":
        raise _refuse(layer, f"padding='{layer.padding}' is not supported (torch pools pad "
                             "symmetrically): use padding='valid'")
    nd = len(layer.pool_size)
    kind = "Max" if _keras_class(layer).startswith("Max") else "Avg"
    args = _size(layer.pool_size)
    if tuple(layer.strides) != tuple(layer.pool_size):
        args += f", stride={_size(layer.strides)}"
    em.channels_first(f"nn.{kind}Pool{nd}d pools the trailing axes")
    attr = em.attr(layer.name, f"nn.{kind}Pool{nd}d({args})")
    em.line(f"x = self.{attr}(x)")


def _keras_class(layer: Any) -> str:
    """The Keras class in `_FROM_KERAS` that `layer` is (a subclass's base)."""
    return framework_class(layer, _FROM_KERAS, "keras") or type(layer).__name__


def _global_pooling(em: _KerasToTorch, layer: Any) -> None:
    _channels_last_only(layer)
    spatial = tuple(range(2, em.rank)) if em.first else tuple(range(1, em.rank - 1))
    dims = str(spatial[0]) if len(spatial) == 1 else str(spatial)
    keep = ", keepdim=True" if layer.keepdims else ""
    op, what = ("amax", "max") if "Max" in _keras_class(layer) else ("mean", "average")
    em.line(f"x = x.{op}(dim={dims}{keep})", f"{type(layer).__name__}: {what} over the "
            f"{'spatial axes' if len(spatial) > 1 else 'steps'}")
    if not layer.keepdims:
        em.first = False


def _flatten(em: _KerasToTorch, layer: Any) -> None:
    _channels_last_only(layer)
    feeds = _next_consumer(em.layers, layer)
    if feeds is not None and id(feeds) in em.flattened and em.rank > 2:
        em.channels_first("flattened in torch's (c, ...) order")
        comment = (f"(channels, ...) order: transfer_weights reorders the rows of "
                   f"'{feeds.name}'")
    else:
        if all(d == 1 for d in layer.input.shape[1:-1]):
            em.first = False  # (1, ..., c) and (c, 1, ...) flatten alike
        em.channels_last("flattened in Keras's order")
        comment = ""
    attr = em.attr(layer.name, "nn.Flatten()")
    em.line(f"x = self.{attr}(x)", comment)
    em.first = False


def _next_consumer(layers: list[Any], layer: Any) -> Any:
    """The layer the Flatten feeds, past unpaired layout-keeping layers (Dropout, activations):
    the one `weights.flatten_sources` keys the reorder on; only a Dense uses it."""
    for nxt in layers[layers.index(layer) + 1:]:
        if keras_paired(nxt):
            rule = keras_rule(nxt)
            return nxt if rule is not None and rule.kind == "dense" else None
    return None


def _dropout(em: _KerasToTorch, layer: Any) -> None:
    comment = ""
    if getattr(layer, "noise_shape", None) is not None:
        comment = "Keras noise_shape is not kept (the same at inference)"
    attr = em.attr(layer.name, f"nn.Dropout({_float(layer.rate)})")
    em.line(f"x = self.{attr}(x)", comment)


def _spatial_dropout(em: _KerasToTorch, layer: Any) -> None:
    nd = em.rank - 2
    em.channels_first(f"nn.Dropout{nd}d drops whole channels of (batch, channels, ...)")
    attr = em.attr(layer.name, f"nn.Dropout{nd}d({_float(layer.rate)})")
    em.line(f"x = self.{attr}(x)")


def _batchnorm(em: _KerasToTorch, layer: Any) -> None:
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    if [int(a) % em.rank for a in axes] != [em.rank - 1]:
        raise _refuse(layer, f"axis={layer.axis}: the scaffold ports BatchNormalization over the "
                             "last axis (channels_last), which torch's BatchNorm puts at axis 1")
    if getattr(layer, "renorm", False):
        raise _refuse(layer, "renorm=True has no torch counterpart")
    if em.rank > 4:
        raise _refuse(layer, f"a {em.rank}-D input is not supported (BatchNorm1d/2d: 2-4-D)")
    nd = 2 if em.rank == 4 else 1
    if em.rank > 2:
        em.channels_first(f"nn.BatchNorm{nd}d normalises axis 1")
    args = [str(layer.input.shape[-1]), f"eps={_float(layer.epsilon)}",
            f"momentum={_float(1 - layer.momentum)}"]
    if not (layer.center or layer.scale):
        args.append("affine=False")
    attr = em.attr(layer.name, f"nn.BatchNorm{nd}d({', '.join(args)})")
    if layer.center or layer.scale:
        _freeze(em, attr, weight=not layer.scale, bias=not layer.center)
    em.line(f"x = self.{attr}(x)")


def _freeze(em: _KerasToTorch, attr: str, weight: bool, bias: bool) -> None:
    """Torch parameters Keras does not have (scale=False / center=False) stay 1 / 0."""
    if weight:
        em.init.append(f"self.{attr}.weight.requires_grad_(False)  # Keras scale=False: stays 1")
    if bias:
        em.init.append(f"self.{attr}.bias.requires_grad_(False)  # Keras center=False: stays 0")


def _layernorm(em: _KerasToTorch, layer: Any) -> None:
    axes = sorted(int(a) % em.rank for a in (
        layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]))
    if axes != list(range(em.rank - len(axes), em.rank)):
        raise _refuse(layer, f"axis={layer.axis}: nn.LayerNorm normalises trailing axes only")
    if getattr(layer, "rms_scaling", False):
        raise _refuse(layer, "rms_scaling=True has no nn.LayerNorm form (use RMSNormalization "
                             "and nn.RMSNorm)")
    em.channels_last("nn.LayerNorm normalises the last axes")
    shape = tuple(layer.input.shape[a] for a in axes)
    args = [str(shape[0]) if len(shape) == 1 else str(shape), f"eps={_float(layer.epsilon)}"]
    if not (layer.center or layer.scale):
        args.append("elementwise_affine=False")
    elif not layer.center:
        args.append("bias=False")
    attr = em.attr(layer.name, f"nn.LayerNorm({', '.join(args)})")
    if layer.center:
        _freeze(em, attr, weight=not layer.scale, bias=False)
    em.line(f"x = self.{attr}(x)")


def _check_embedding(layer: Any) -> None:
    if layer.mask_zero:
        raise _refuse(layer, "mask_zero=True masks later layers (e.g. an RNN skips padded "
                             "steps); torch has no such mask: pack the sequences by hand")


def _embedding(em: _KerasToTorch, layer: Any) -> None:
    attr = em.attr(layer.name, f"nn.Embedding({layer.input_dim}, {layer.output_dim})")
    em.line(f"x = self.{attr}(x.long())", "nn.Embedding takes integer indices")
    em.first = False


_RNN_KIND = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}


def _check_rnns(layer: Any) -> None:
    """An RNN layer (or a Bidirectional one) that torch's nn.LSTM/GRU/RNN computes alike."""
    halves = directions(layer)
    kind = _keras_class(halves[0])
    for rnn in halves:
        _check_rnn(layer, rnn, kind)
    if len(halves) == 2:
        for attr in ("units", "use_bias", "return_sequences"):
            if getattr(halves[1], attr) != getattr(halves[0], attr):
                raise _refuse(layer, f"its backward layer's {attr} differs from the forward "
                                     "layer's: torch's bidirectional RNN has one of each")
        if layer.merge_mode is None:
            raise _refuse(layer, "merge_mode=None returns two outputs: the scaffold ports "
                                 "single chains")


def _rnn(em: _KerasToTorch, layer: Any) -> None:
    halves = directions(layer)
    rnn = halves[0]
    kind = _keras_class(rnn)
    em.channels_last(f"nn.{_RNN_KIND[kind]} (batch_first) takes (batch, steps, features)")
    args = [str(layer.input.shape[-1]), str(rnn.units)]
    if kind == "SimpleRNN" and rnn.cell.activation.__name__ == "relu":
        args.append("nonlinearity='relu'")
    if not rnn.use_bias:
        args.append("bias=False")
    args.append("batch_first=True")
    if len(halves) == 2:
        args.append("bidirectional=True")
    attr = em.attr(layer.name, f"nn.{_RNN_KIND[kind]}({', '.join(args)})")
    dropout = rnn.cell.dropout or rnn.cell.recurrent_dropout
    note = "Keras (recurrent_)dropout is not ported (training only)" if dropout else ""
    merge, h = getattr(layer, "merge_mode", "concat"), rnn.units
    combine = {"sum": "{a} + {b}", "mul": "{a} * {b}", "ave": "({a} + {b}) / 2"}
    if rnn.return_sequences:
        em.line(f"x, _ = self.{attr}(x)", note or "every step (return_sequences=True)")
        if len(halves) == 2 and merge != "concat":
            em.line("x = " + combine[merge].format(a=f"x[..., :{h}]", b=f"x[..., {h}:]"),
                    f"merge_mode='{merge}' of the two directions")
    elif len(halves) == 1:
        em.line(f"x, _ = self.{attr}(x)", note)
        em.line("x = x[:, -1]", "last step only (return_sequences=False)")
    else:
        state = "(h_n, _)" if kind == "LSTM" else "h_n"
        em.line(f"_, {state} = self.{attr}(x)", note)
        a, b = "h_n[-2]", "h_n[-1]"
        expr = f"torch.cat(({a}, {b}), dim=1)" if merge == "concat" else combine[merge].format(a=a, b=b)
        em.line(f"x = {expr}", "final states: forward's last step, backward's step 0")


def _check_rnn(layer: Any, rnn: Any, kind: str) -> None:
    for flag, why in (("return_state", "returns its states too"),
                      ("stateful", "keeps states across batches"),
                      ("go_backwards", "runs backwards (outside Bidirectional)")):
        if getattr(rnn, flag, False) and not (flag == "go_backwards" and layer is not rnn):
            raise _refuse(layer, f"{flag}=True ({why}) is not supported by the scaffold")
    cell = rnn.cell
    act = cell.activation.__name__
    if kind == "SimpleRNN":
        if act not in ("tanh", "relu"):
            raise _refuse(layer, f"activation='{act}': nn.RNN has only tanh and relu")
        return
    rec = cell.recurrent_activation.__name__
    if (act, rec) != ("tanh", "sigmoid"):
        raise _refuse(layer, f"activation='{act}', recurrent_activation='{rec}': torch's "
                             f"nn.{kind} is fixed at tanh/sigmoid")
    if kind == "GRU" and not cell.reset_after:
        raise _refuse(layer, "reset_after=False: torch's nn.GRU applies the reset gate after "
                             "the recurrent matmul (Keras reset_after=True), so the weights of "
                             "a reset_after=False GRU compute something else; build the Keras "
                             "GRU with reset_after=True")


def _activation_layer(em: _KerasToTorch, layer: Any) -> None:
    ctor = _torch_activation(layer, layer.activation, em)
    if ctor is not None:
        em.line(f"x = self.{em.attr(layer.name, ctor)}(x)")


def _relu_layer(em: _KerasToTorch, layer: Any) -> None:
    slope, top, threshold = (float(layer.negative_slope), layer.max_value, float(layer.threshold))
    if threshold != 0 or (top is not None and (float(top) != 6 or slope != 0)):
        raise _refuse(layer, f"ReLU(max_value={top}, threshold={threshold}) has no torch module "
                             "(nn.ReLU, nn.LeakyReLU and nn.ReLU6 are supported)")
    ctor = ("nn.ReLU6()" if top is not None else
            f"nn.LeakyReLU({_float(slope)})" if slope else "nn.ReLU()")
    em.line(f"x = self.{em.attr(layer.name, ctor)}(x)")


def _leaky_relu_layer(em: _KerasToTorch, layer: Any) -> None:
    em.line(f"x = self.{em.attr(layer.name, f'nn.LeakyReLU({_float(layer.negative_slope)})')}(x)")


def _elu_layer(em: _KerasToTorch, layer: Any) -> None:
    em.line(f"x = self.{em.attr(layer.name, f'nn.ELU({_float(layer.alpha)})')}(x)")


def _softmax_layer(em: _KerasToTorch, layer: Any) -> None:
    if not isinstance(layer.axis, int):
        raise _refuse(layer, f"axis={layer.axis}: nn.Softmax takes one dim")
    em.line(f"x = self.{em.attr(layer.name, f'nn.Softmax(dim={em.dim(layer.axis)})')}(x)")


_FROM_KERAS: dict[str, KerasWriter] = {
    "Dense": _dense,
    "Conv1D": _conv, "Conv2D": _conv,
    "MaxPooling1D": _pooling, "MaxPooling2D": _pooling,
    "AveragePooling1D": _pooling, "AveragePooling2D": _pooling,
    "GlobalAveragePooling1D": _global_pooling, "GlobalAveragePooling2D": _global_pooling,
    "GlobalMaxPooling1D": _global_pooling, "GlobalMaxPooling2D": _global_pooling,
    "Flatten": _flatten,
    "Dropout": _dropout,
    "SpatialDropout1D": _spatial_dropout, "SpatialDropout2D": _spatial_dropout,
    "BatchNormalization": _batchnorm,
    "LayerNormalization": _layernorm,
    "Embedding": _embedding,
    "LSTM": _rnn, "GRU": _rnn, "SimpleRNN": _rnn, "Bidirectional": _rnn,
    "Activation": _activation_layer,
    "ReLU": _relu_layer, "LeakyReLU": _leaky_relu_layer, "ELU": _elu_layer,
    "Softmax": _softmax_layer,
}


# Checks of a layer's options, run on every layer before any code is written
_PRECHECKS: dict[str, Callable[[Any], None]] = {
    "Embedding": _check_embedding,
    "LSTM": _check_rnns, "GRU": _check_rnns, "SimpleRNN": _check_rnns, "Bidirectional": _check_rnns,
}


def _supported(table: dict[str, Any]) -> str:
    return ", ".join(sorted(table))


# ========================================================================= torch -> Keras
TorchWriter = Callable[["_TorchToKeras", str, Any], None]


class _TorchToKeras:
    """Writes `build_model()`: the Keras layers, and the layout state (is the torch tensor the
    Keras one with its last axis moved to axis 1?)."""

    def __init__(self, model: Any, input_shape: Sequence[int | None] | None) -> None:
        from torch import nn

        if not isinstance(model, nn.Sequential):
            raise ValueError(f"{_name(model, type(model).__name__)}: only nn.Sequential chains "
                             "can be scaffolded to Keras (a custom forward cannot be read)")
        self.model = model
        self.mods = _torch_chain(model, "")
        if not self.mods:
            raise ValueError("the nn.Sequential is empty")
        self.given = None if input_shape is None else tuple(input_shape)
        self.items: list[str] = []
        self.first = False  # is the torch tensor channels first (the Keras last axis at 1)?
        self.rank = 0
        self.shapes: list[tuple[int, ...]] = []
        self.index = 0

    # -------------------------------------------------------------------- building blocks
    def add(self, cls: str, args: Sequence[str], label: str = "", comment: str = "") -> None:
        """One Keras layer `layers.<cls>(args..., name=label)`."""
        args = [a for a in args if a]
        if label.isidentifier():
            args.append(f'name="{label}"')
        self.items.append(f"layers.{cls}({', '.join(args)}),"
                          + (f"  # {comment}" if comment else ""))

    def torch_layout(self, why: str) -> None:
        """Lay the Keras tensor out as torch's (channels first) with a Permute."""
        if self.first and self.rank > 2:
            self.add("Permute", [str(_to_first(self.rank)[1:])], comment=f"torch's layout: {why}")
        self.first = False

    def channels_last(self, why: str) -> None:
        """Make the Keras tensor channels last where torch's is channels first."""
        if not self.first and self.rank > 2:
            self.add("Permute", [str(_to_last(self.rank)[1:])], comment=f"channels last: {why}")
        self.first = self.first or self.rank > 2

    def keras_axis(self, dim: int) -> int:
        """The Keras axis holding torch's `dim` in the current layout (-1 for the last)."""
        dim %= self.rank
        if self.first and self.rank > 2:
            axis = self.rank - 1 if dim == 1 else dim - 1 if dim > 1 else 0
        else:
            axis = dim
        return -1 if axis == self.rank - 1 else axis

    def fold(self) -> str:
        """`activation="..."` when the next module is an activation Keras can fold into the
        layer being written (it is then consumed), else ""."""
        if self.index + 1 >= len(self.mods):
            return ""
        nxt = self.mods[self.index + 1][1]
        act = _keras_activation(nxt)
        if act is None or (act == "softmax" and (nxt.dim is None
                                                 or self.keras_axis(nxt.dim) != -1)):
            return ""
        self.index += 1
        return f'activation="{act}"'

    # ------------------------------------------------------------------------- the source
    def source(self) -> str:
        for label, m in self.mods:
            if lookup(m, _RNNS, "torch") is not None:
                raise _refuse_module(m, label, "an RNN returns (output, h_n), which "
                                     "nn.Sequential passes on (or returns) as a tuple, not one "
                                     "tensor: wrap it in a module whose forward picks out or "
                                     "out[:, -1] and port that by hand (scaffold(keras_model) "
                                     "writes such a forward from a Keras model)")
            if lookup(m, _FROM_TORCH, "torch") is None:
                raise ValueError(f"{_name(m, label)}: the scaffold has no Keras counterpart "
                                 f"for it (supported: {_supported(_FROM_TORCH)})")
        shape = self._input_shape()
        self.first = self._input_first(len(shape) + 1)
        embedding = lookup(self._first_fixing()[1], _EMBEDDING, "torch") is not None
        self.shapes = _torch_shapes(self.mods, shape, self.first, embedding)
        dtype = ', dtype="int32"' if embedding else ""
        how = ("Keras layout (channels last); the torch model takes it channels first"
               if self.first else "the torch model takes the same layout")
        self.items.append(f"keras.Input({tuple(shape)}{dtype}),  # {how}")
        while self.index < len(self.mods):
            label, m = self.mods[self.index]
            self.rank = len(self.shapes[self.index])
            write = lookup(m, _FROM_TORCH, "torch")
            assert write is not None  # checked above
            write(self, label, m)
            self.index += 1
        self.rank = len(self.shapes[-1])
        if self.first and self.rank > 2:
            self.add("Permute", [str(_to_first(self.rank)[1:])],
                     comment="channels first, as the torch model returns (drop to keep "
                             "channels last)")
        return self._render()

    def _first_fixing(self) -> tuple[str, Any]:
        """The first module that is not an activation or a dropout."""
        for label, m in self.mods:
            if lookup(m, _KEEPS_SHAPE, "torch") is None:
                return label, m
        return self.mods[0]

    def _input_shape(self) -> tuple[int | None, ...]:
        """The Keras input shape (no batch axis): given, or fixed by the first module."""
        label, m = self._first_fixing()
        fixes = lookup(m, _INPUT_FIXED, "torch")
        derived = None if fixes is None else fixes(m)
        if self.given is None:
            if derived is None:
                raise ValueError(f"input_shape is required: the first module {_name(m, label)} "
                                 "does not fix the input shape (give it in Keras layout, "
                                 "channels last, without the batch axis)")
            return derived
        if derived is not None and (len(self.given) < len(derived) or any(
                d is not None and g != d for g, d in zip(self.given[-len(derived):], derived))):
            raise ValueError(f"input_shape {self.given} does not fit the first module "
                             f"{_name(m, label)}, which takes {derived} last (Keras layout)")
        return self.given

    def _input_first(self, rank: int) -> bool:
        """Channels first iff the first paired module is a Conv of the input's rank (the layout
        `assert_equivalent` gives the torch model)."""
        paired = torch_modules(self.model)
        if not paired:
            return False
        first = paired[0][1]
        return (lookup(first, _CONVS, "torch") is not None
                and rank == first.weight.dim())

    def _render(self) -> str:
        name = type(self.model).__name__
        lines = [
            f'"""Keras port of a torch {name} (scaffolded by shapecontract.port.scaffold).',
            "",
            "Copy the torch weights and check the port:",
            "    keras_model = build_model()",
            "    shapecontract.port.transfer_weights(keras_model, torch_model, "
            'direction="torch_to_keras")',
            "    shapecontract.port.assert_equivalent(keras_model, torch_model)",
            '"""',
            "",
            "import keras",
            "from keras import layers",
            "",
            "",
            "def build_model() -> keras.Model:",
            "    return keras.Sequential([",
            *("        " + item for item in self.items),
            "    ])",
            "",
        ]
        return "\n".join(lines)


def _torch_chain(model: Any, prefix: str) -> list[tuple[str, Any]]:
    """The modules of an nn.Sequential in call order, nested nn.Sequentials flattened and
    nn.Identity dropped."""
    from torch import nn

    out: list[tuple[str, Any]] = []
    for name, m in model.named_children():
        label = f"{prefix}{name}"
        if type(m) is nn.Sequential:
            out += _torch_chain(m, label + ".")
        elif type(m) is not nn.Identity:
            out.append((label, m))
    return out


def _torch_shapes(mods: list[tuple[str, Any]], shape: tuple[int | None, ...], first: bool,
                  embedding: bool) -> list[tuple[int, ...]]:
    """Each module's torch input shape and, last, the output's, on fake tensors (a batch of 2,
    sizes the Keras input leaves open: 8)."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from ..frameworks.torch import quiet

    full = (2, *(8 if d is None else int(d) for d in shape))
    if first:
        full = tuple(full[i] for i in _to_first(len(full)))
    shapes: list[tuple[int, ...]] = []
    label = "the input"
    # eval mode: in training a BatchNorm would count the fake batch (num_batches_tracked)
    modes = [(m, m.training) for _, top in mods for m in top.modules()]
    try:
        for _, top in mods:
            top.eval()
        with quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            x = torch.zeros(full, dtype=torch.long if embedding else torch.float32)
            for name, m in mods:
                label = name  # for the message, if it fails
                shapes.append(tuple(x.shape))
                x = m(x)
            shapes.append(tuple(x.shape))
    except Exception as e:
        raise ValueError(f"the nn.Sequential does not run on a Keras input of shape {shape} "
                         f"(at {label}: {e}); give input_shape in Keras layout") from e
    finally:
        for m, training in modes:
            m.training = training
    return shapes


def _refuse_module(m: Any, label: str, why: str) -> ValueError:
    return ValueError(f"{_name(m, label)}: {why}")


def _keras_activation(m: Any) -> str | None:
    """The Keras activation string for a torch activation module, or None (none exists)."""
    name = lookup(m, _ACTIVATION_NAMES, "torch")
    return None if name is None else name(m)


def _fixed(name: str) -> Callable[[Any], str | None]:
    return lambda m: name


def _gelu(m: Any) -> str | None:
    return "gelu" if m.approximate == "none" else None


def _elu(m: Any) -> str | None:
    return "elu" if float(m.alpha) == 1.0 else None


def _softplus(m: Any) -> str | None:
    return "softplus" if float(m.beta) == 1.0 else None


_ACTIVATION_NAMES: dict[str, Callable[[Any], str | None]] = {
    "ReLU": _fixed("relu"), "Tanh": _fixed("tanh"), "Sigmoid": _fixed("sigmoid"),
    "Softmax": _fixed("softmax"), "GELU": _gelu, "ELU": _elu, "SELU": _fixed("selu"),
    "SiLU": _fixed("silu"), "Softplus": _softplus,
}


def _t_activation(em: _TorchToKeras, label: str, m: Any) -> None:
    act = _keras_activation(m)
    if act == "softmax":
        if m.dim is None:
            raise _refuse_module(m, label, "nn.Softmax() without dim: give it dim=...")
        axis = em.keras_axis(m.dim)
        em.add("Softmax", [] if axis == -1 else [f"axis={axis}"], label)
    elif act is None:
        raise _refuse_module(m, label, "this form of the activation has no Keras string "
                                       "(default arguments and GELU(approximate='none') have)")
    else:
        em.add("Activation", [f'"{act}"'], label)


def _t_leaky_relu(em: _TorchToKeras, label: str, m: Any) -> None:
    em.add("LeakyReLU", [f"negative_slope={_float(m.negative_slope)}"], label)


def _t_linear(em: _TorchToKeras, label: str, m: Any) -> None:
    if em.rank > 2:
        em.torch_layout("nn.Linear acts on torch's last axis")
    em.add("Dense", [str(m.out_features), "" if m.bias is not None else "use_bias=False",
                     em.fold()], label)


def _t_conv(em: _TorchToKeras, label: str, m: Any) -> None:
    nd = m.weight.dim() - 2
    if m.padding_mode != "zeros":
        raise _refuse_module(m, label, f"padding_mode='{m.padding_mode}' has no Keras form")
    kernel, stride, dil = tuple(m.kernel_size), tuple(m.stride), tuple(m.dilation)
    if isinstance(m.padding, str):
        padding = m.padding
    elif all(p == 0 for p in m.padding):
        padding = "valid"
    elif (all(s == 1 for s in stride) and all(k % 2 == 1 for k in kernel)
          and tuple(m.padding) == tuple(d * (k - 1) // 2 for k, d in zip(kernel, dil))):
        padding = "same"  # symmetric padding of an odd kernel at stride 1
    else:
        raise _refuse_module(m, label, f"padding={tuple(m.padding)} with stride {stride} and "
                             f"kernel {kernel} is neither 'valid' nor 'same' in Keras: add a "
                             f"ZeroPadding{nd}D before a padding='valid' Conv{nd}D by hand")
    em.channels_last(f"Conv{nd}D takes (batch, ..., channels)")
    em.add(f"Conv{nd}D", [
        str(m.out_channels), _size(kernel),
        f"strides={_size(stride)}" if any(s != 1 for s in stride) else "",
        'padding="same"' if padding == "same" else "",
        f"dilation_rate={_size(dil)}" if any(d != 1 for d in dil) else "",
        f"groups={m.groups}" if m.groups != 1 else "",
        "use_bias=False" if m.bias is None else "",
        em.fold()], label)


def _t_pool(em: _TorchToKeras, label: str, m: Any) -> None:
    cls = framework_class(m, _FROM_TORCH, "torch") or ""
    kind, nd = ("Max" if cls.startswith("Max") else "Average"), int(cls[-2])

    def tup(v: Any) -> tuple[int, ...]:
        return tuple(int(x) for x in v) if isinstance(v, (tuple, list)) else (int(v),) * nd

    bad = [what for what, off in (
        ("padding", any(p != 0 for p in tup(m.padding))), ("ceil_mode", m.ceil_mode),
        ("dilation", kind == "Max" and any(d != 1 for d in tup(m.dilation))),
        ("return_indices", kind == "Max" and m.return_indices),
        ("divisor_override", kind == "Average"
         and getattr(m, "divisor_override", None) is not None)) if off]
    if bad:
        raise _refuse_module(m, label, f"{', '.join(bad)}: no Keras pooling form")
    size = tup(m.kernel_size)
    stride = size if m.stride is None else tup(m.stride)
    em.channels_last(f"{kind}Pooling{nd}D pools (batch, ..., channels)")
    em.add(f"{kind}Pooling{nd}D", [_size(size), "" if stride == size
                                    else f"strides={_size(stride)}"], label)


def _t_adaptive_pool(em: _TorchToKeras, label: str, m: Any) -> None:
    size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
    if any(s != 1 for s in size):
        raise _refuse_module(m, label, f"output_size={m.output_size}: only 1 (global pooling) "
                                       "has a Keras layer")
    cls = framework_class(m, _FROM_TORCH, "torch") or ""
    kind, nd = ("Max" if "Max" in cls else "Average"), int(cls[-2])
    em.channels_last(f"Global{kind}Pooling{nd}D pools (batch, ..., channels)")
    em.add(f"Global{kind}Pooling{nd}D", ["keepdims=True"], label)


def _t_flatten(em: _TorchToKeras, label: str, m: Any) -> None:
    if m.start_dim != 1 or m.end_dim != -1:
        raise _refuse_module(m, label, "only nn.Flatten() (start_dim=1, end_dim=-1) is supported")
    if em.first and em.rank > 2 and _flatten_reorders(em):
        em.add("Flatten", [], label, "(..., channels) order: transfer_weights reorders the "
                                     "next Dense's rows")
    else:
        if all(s == 1 for s in em.shapes[em.index][2:]):
            em.first = False  # (1, 1, c) and (c, 1, 1) flatten alike
        em.torch_layout("flattened in torch's order")
        em.add("Flatten", [], label)
    em.first = False


def _flatten_reorders(em: _TorchToKeras) -> bool:
    """Does `transfer_weights` reorder the rows of the Dense this Flatten feeds? Yes when the
    Flatten flattens a conv or pool map (through BatchNorm, activations, Dropout) and feeds a
    Linear (through activations, Dropout): `weights.flatten_sources` on the Keras port."""
    after = [m for _, m in em.mods[em.index + 1:] if lookup(m, _KEEPS_SHAPE, "torch") is None]
    if not after or lookup(after[0], _LINEAR, "torch") is None:
        return False
    for _, m in reversed(em.mods[:em.index]):
        if lookup(m, _KEEPS_LAYOUT, "torch") is None:
            return lookup(m, _MAPS, "torch") is not None
    return False


def _t_batchnorm(em: _TorchToKeras, label: str, m: Any) -> None:
    if not m.track_running_stats or m.momentum is None:
        raise _refuse_module(m, label, "track_running_stats=False or momentum=None (batch "
                             "statistics, or a cumulative average) has no Keras form")
    em.add("BatchNormalization", [
        "axis=1" if em.rank > 2 and not em.first else "",  # torch's axis 1, laid out alike
        f"epsilon={_float(m.eps)}", f"momentum={_float(1 - m.momentum)}",
        "" if m.affine else "center=False, scale=False"], label)


def _t_layernorm(em: _TorchToKeras, label: str, m: Any) -> None:
    n = len(m.normalized_shape)
    em.torch_layout("LayerNormalization normalises torch's trailing axes")
    em.add("LayerNormalization", [
        f"axis={list(range(-n, 0))}" if n > 1 else "", f"epsilon={_float(m.eps)}",
        "center=False, scale=False" if m.weight is None else
        "center=False" if m.bias is None else ""], label)


def _t_embedding(em: _TorchToKeras, label: str, m: Any) -> None:
    if m.max_norm is not None:
        raise _refuse_module(m, label, "max_norm renormalises rows at lookup: no Keras form")
    em.add("Embedding", [str(m.num_embeddings), str(m.embedding_dim)], label,
           "" if m.padding_idx is None else "torch's padding_idx only freezes that row in "
                                            "training")
    em.first = False


def _t_dropout(em: _TorchToKeras, label: str, m: Any) -> None:
    em.add("Dropout", [_float(m.p)], label)


# Tables for `lookup` (module-level: it caches by the table's id)
_RNNS = {"LSTM": True, "GRU": True, "RNN": True}
_CONVS = {"Conv1d": True, "Conv2d": True}
_LINEAR = {"Linear": True}
_EMBEDDING = {"Embedding": True}

_FROM_TORCH: dict[str, TorchWriter] = {
    "Linear": _t_linear,
    "Conv1d": _t_conv, "Conv2d": _t_conv,
    "MaxPool1d": _t_pool, "MaxPool2d": _t_pool, "AvgPool1d": _t_pool, "AvgPool2d": _t_pool,
    "AdaptiveAvgPool1d": _t_adaptive_pool, "AdaptiveAvgPool2d": _t_adaptive_pool,
    "AdaptiveMaxPool1d": _t_adaptive_pool, "AdaptiveMaxPool2d": _t_adaptive_pool,
    "Flatten": _t_flatten,
    "BatchNorm1d": _t_batchnorm, "BatchNorm2d": _t_batchnorm,
    "LayerNorm": _t_layernorm,
    "Embedding": _t_embedding,
    "Dropout": _t_dropout,
    "LeakyReLU": _t_leaky_relu,
    **{name: _t_activation for name in _ACTIVATION_NAMES},
}

# Modules that keep the shape and layout (they do not fix the input shape, and a Flatten's
# Dense is found past them); with BatchNorm, those a Flatten's map is found past.
_KEEPS_SHAPE = {name: True for name in (*_ACTIVATION_NAMES, "LeakyReLU", "Dropout")}
_KEEPS_LAYOUT = {**_KEEPS_SHAPE, "BatchNorm1d": True, "BatchNorm2d": True}
# Modules whose Keras port has a channels_last map layout (`rules.Channels`)
_MAPS = {name: True for name in ("Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d",
                                 "AvgPool2d")}


def _linear_input(m: Any) -> tuple[int | None, ...]:
    return (int(m.in_features),)


def _embedding_input(m: Any) -> tuple[int | None, ...]:
    return (None,)


# What the first module (past activations and dropout) says of the Keras input, when it
# fixes it; any other first module needs `input_shape`.
_INPUT_FIXED: dict[str, Callable[[Any], tuple[int | None, ...]]] = {
    "Linear": _linear_input, "Embedding": _embedding_input,
}
