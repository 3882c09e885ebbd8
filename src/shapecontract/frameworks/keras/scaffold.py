"""How Keras layer kinds are written as torch code by `port.scaffold` (layer L6).

Design rules:
- One writer per kind (`write(emitter, layer)`), named by the kinds of `layers.py` in their
  `scaffold` (`scaffolding.KerasScaffold`), with a check of the layer's options run before any
  code is written. The emitter (`port.scaffold`) holds the lines and the layout state; a writer
  says which layout its module needs and writes its module and its forward line.
- An option torch cannot express is refused with a ValueError naming the layer: no code is
  guessed. keras is imported inside functions only.
"""

from __future__ import annotations

from typing import Any

from ..kinds import KERAS_KINDS
from ..scaffolding import KerasScaffold, code_float, code_size
from ..scaffolding import refuse as _refuse_obj
from .porting import ACTIVATIONS, directions, keras_paired, keras_rule

__all__ = ["SCAFFOLDS", "activation_module", "scaffold_of", "supported"]


def scaffold_of(layer: Any) -> KerasScaffold | None:
    """How the scaffold writes `layer` (its kind's, along the MRO), or None."""
    kind = KERAS_KINDS.lookup(layer, "scaffold")
    return None if kind is None else kind.scaffold


def supported() -> str:
    """The Keras classes the scaffold writes, for messages."""
    return ", ".join(sorted(KERAS_KINDS.view("scaffold")))


def _refuse(layer: Any, why: str) -> ValueError:
    return _refuse_obj(layer, layer.name, why)


def _channels_last_only(layer: Any) -> None:
    if getattr(layer, "data_format", "channels_last") != "channels_last":
        raise _refuse(layer, "data_format='channels_first' is not supported by the scaffold "
                             "(it writes ports of channels_last models)")


def activation_module(layer: Any, fn: Any, em: Any, keras_axis: int = -1) -> str | None:
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


def _dense(em: Any, layer: Any) -> None:
    if em.rank > 2:
        em.channels_last("nn.Linear acts on the last axis")
    bias = "" if layer.use_bias else ", bias=False"
    attr = em.attr(layer.name, f"nn.Linear({layer.input.shape[-1]}, {layer.units}{bias})")
    em.line(f"x = self.{attr}(x)")
    em.activation(layer, attr, layer.activation)


def _conv(em: Any, layer: Any) -> None:
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
    args = [str(layer.input.shape[-1]), str(layer.filters), f"kernel_size={code_size(layer.kernel_size)}"]
    if any(s != 1 for s in strides):
        args.append(f"stride={code_size(strides)}")
    if padding == "same":
        args.append("padding='same'")
    if any(d != 1 for d in layer.dilation_rate):
        args.append(f"dilation={code_size(layer.dilation_rate)}")
    if layer.groups != 1:
        args.append(f"groups={layer.groups}")
    if not layer.use_bias:
        args.append("bias=False")
    em.channels_first(f"nn.Conv{nd}d expects (batch, channels, ...)")
    attr = em.attr(layer.name, f"nn.Conv{nd}d({', '.join(args)})")
    em.line(f"x = self.{attr}(x)")
    em.activation(layer, attr, layer.activation)


def _pooling(em: Any, layer: Any) -> None:
    _channels_last_only(layer)
    if layer.padding != "valid":
        raise _refuse(layer, f"padding='{layer.padding}' is not supported (torch pools pad "
                             "symmetrically): use padding='valid'")
    nd = len(layer.pool_size)
    kind = "Max" if _keras_class(layer).startswith("Max") else "Avg"
    args = code_size(layer.pool_size)
    if tuple(layer.strides) != tuple(layer.pool_size):
        args += f", stride={code_size(layer.strides)}"
    em.channels_first(f"nn.{kind}Pool{nd}d pools the trailing axes")
    attr = em.attr(layer.name, f"nn.{kind}Pool{nd}d({args})")
    em.line(f"x = self.{attr}(x)")


def _keras_class(layer: Any) -> str:
    """The Keras class whose kind the scaffold writes `layer` by (a subclass's base)."""
    return KERAS_KINDS.class_name(layer, "scaffold") or type(layer).__name__


def _global_pooling(em: Any, layer: Any) -> None:
    _channels_last_only(layer)
    spatial = tuple(range(2, em.rank)) if em.first else tuple(range(1, em.rank - 1))
    dims = str(spatial[0]) if len(spatial) == 1 else str(spatial)
    keep = ", keepdim=True" if layer.keepdims else ""
    op, what = ("amax", "max") if "Max" in _keras_class(layer) else ("mean", "average")
    em.line(f"x = x.{op}(dim={dims}{keep})", f"{type(layer).__name__}: {what} over the "
            f"{'spatial axes' if len(spatial) > 1 else 'steps'}")
    if not layer.keepdims:
        em.first = False


def _flatten(em: Any, layer: Any) -> None:
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


def _dropout(em: Any, layer: Any) -> None:
    comment = ""
    if getattr(layer, "noise_shape", None) is not None:
        comment = "Keras noise_shape is not kept (the same at inference)"
    attr = em.attr(layer.name, f"nn.Dropout({code_float(layer.rate)})")
    em.line(f"x = self.{attr}(x)", comment)


def _spatial_dropout(em: Any, layer: Any) -> None:
    nd = em.rank - 2
    em.channels_first(f"nn.Dropout{nd}d drops whole channels of (batch, channels, ...)")
    attr = em.attr(layer.name, f"nn.Dropout{nd}d({code_float(layer.rate)})")
    em.line(f"x = self.{attr}(x)")


def _batchnorm(em: Any, layer: Any) -> None:
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
    args = [str(layer.input.shape[-1]), f"eps={code_float(layer.epsilon)}",
            f"momentum={code_float(1 - layer.momentum)}"]
    if not (layer.center or layer.scale):
        args.append("affine=False")
    attr = em.attr(layer.name, f"nn.BatchNorm{nd}d({', '.join(args)})")
    if layer.center or layer.scale:
        _freeze(em, attr, weight=not layer.scale, bias=not layer.center)
    em.line(f"x = self.{attr}(x)")


def _freeze(em: Any, attr: str, weight: bool, bias: bool) -> None:
    """Torch parameters Keras does not have (scale=False / center=False) stay 1 / 0."""
    if weight:
        em.init.append(f"self.{attr}.weight.requires_grad_(False)  # Keras scale=False: stays 1")
    if bias:
        em.init.append(f"self.{attr}.bias.requires_grad_(False)  # Keras center=False: stays 0")


def _layernorm(em: Any, layer: Any) -> None:
    axes = sorted(int(a) % em.rank for a in (
        layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]))
    if axes != list(range(em.rank - len(axes), em.rank)):
        raise _refuse(layer, f"axis={layer.axis}: nn.LayerNorm normalises trailing axes only")
    if getattr(layer, "rms_scaling", False):
        raise _refuse(layer, "rms_scaling=True has no nn.LayerNorm form (use RMSNormalization "
                             "and nn.RMSNorm)")
    em.channels_last("nn.LayerNorm normalises the last axes")
    shape = tuple(layer.input.shape[a] for a in axes)
    args = [str(shape[0]) if len(shape) == 1 else str(shape), f"eps={code_float(layer.epsilon)}"]
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


def _embedding(em: Any, layer: Any) -> None:
    attr = em.attr(layer.name, f"nn.Embedding({layer.input_dim}, {layer.output_dim})")
    em.line(f"x = self.{attr}(x.long())", "nn.Embedding takes integer indices")
    em.first = False


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


def _rnn(em: Any, layer: Any) -> None:
    halves = directions(layer)
    rnn = halves[0]
    torch_cls = _torch_rnn(rnn)
    em.channels_last(f"nn.{torch_cls} (batch_first) takes (batch, steps, features)")
    args = [str(layer.input.shape[-1]), str(rnn.units)]
    if torch_cls == "RNN" and rnn.cell.activation.__name__ == "relu":
        args.append("nonlinearity='relu'")
    if not rnn.use_bias:
        args.append("bias=False")
    args.append("batch_first=True")
    if len(halves) == 2:
        args.append("bidirectional=True")
    attr = em.attr(layer.name, f"nn.{torch_cls}({', '.join(args)})")
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
        state = "(h_n, _)" if torch_cls == "LSTM" else "h_n"
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
    if _torch_rnn(rnn) == "RNN":
        if act not in ("tanh", "relu"):
            raise _refuse(layer, f"activation='{act}': nn.RNN has only tanh and relu")
        return
    rec = cell.recurrent_activation.__name__
    if (act, rec) != ("tanh", "sigmoid"):
        raise _refuse(layer, f"activation='{act}', recurrent_activation='{rec}': torch's "
                             f"nn.{kind} is fixed at tanh/sigmoid")
    if _torch_rnn(rnn) == "GRU" and not cell.reset_after:
        raise _refuse(layer, "reset_after=False: torch's nn.GRU applies the reset gate after "
                             "the recurrent matmul (Keras reset_after=True), so the weights of "
                             "a reset_after=False GRU compute something else; build the Keras "
                             "GRU with reset_after=True")


def _activation_layer(em: Any, layer: Any) -> None:
    ctor = activation_module(layer, layer.activation, em)
    if ctor is not None:
        em.line(f"x = self.{em.attr(layer.name, ctor)}(x)")


def _relu_layer(em: Any, layer: Any) -> None:
    slope, top, threshold = (float(layer.negative_slope), layer.max_value, float(layer.threshold))
    if threshold != 0 or (top is not None and (float(top) != 6 or slope != 0)):
        raise _refuse(layer, f"ReLU(max_value={top}, threshold={threshold}) has no torch module "
                             "(nn.ReLU, nn.LeakyReLU and nn.ReLU6 are supported)")
    ctor = ("nn.ReLU6()" if top is not None else
            f"nn.LeakyReLU({code_float(slope)})" if slope else "nn.ReLU()")
    em.line(f"x = self.{em.attr(layer.name, ctor)}(x)")


def _leaky_relu_layer(em: Any, layer: Any) -> None:
    em.line(f"x = self.{em.attr(layer.name, f'nn.LeakyReLU({code_float(layer.negative_slope)})')}(x)")


def _elu_layer(em: Any, layer: Any) -> None:
    em.line(f"x = self.{em.attr(layer.name, f'nn.ELU({code_float(layer.alpha)})')}(x)")


def _softmax_layer(em: Any, layer: Any) -> None:
    if not isinstance(layer.axis, int):
        raise _refuse(layer, f"axis={layer.axis}: nn.Softmax takes one dim")
    em.line(f"x = self.{em.attr(layer.name, f'nn.Softmax(dim={em.dim(layer.axis)})')}(x)")


def _torch_rnn(rnn: Any) -> str:
    """The torch class an RNN layer ports to (its kind's port: LSTM, GRU, RNN)."""
    rule = keras_rule(rnn)
    return str(rule.port) if rule is not None and rule.port else type(rnn).__name__


SCAFFOLDS: dict[str, KerasScaffold] = {
    "dense": KerasScaffold(_dense),
    "conv": KerasScaffold(_conv),
    "pooling": KerasScaffold(_pooling),
    "global_pooling": KerasScaffold(_global_pooling),
    "flatten": KerasScaffold(_flatten),
    "dropout": KerasScaffold(_dropout),
    "spatial_dropout": KerasScaffold(_spatial_dropout),
    "batchnorm": KerasScaffold(_batchnorm),
    "layernorm": KerasScaffold(_layernorm),
    "embedding": KerasScaffold(_embedding, _check_embedding),
    "rnn": KerasScaffold(_rnn, _check_rnns),
    "activation": KerasScaffold(_activation_layer),
    "relu": KerasScaffold(_relu_layer),
    "leaky_relu": KerasScaffold(_leaky_relu_layer),
    "elu": KerasScaffold(_elu_layer),
    "softmax": KerasScaffold(_softmax_layer),
}
"""The writers, by what they write: the kinds of `layers.py` take theirs from here."""
