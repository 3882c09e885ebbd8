"""How Keras layer kinds port to torch: the checks `port.compare` runs on a pair, the weight
transfers (layouts, gate orders) and the activation names (layer L6).

Design rules:
- These are the functions the Keras kinds of `layers.py` name in their `port`
  (`pairing.KerasPort`); the port package reads them through the kinds, never by class name.
- A check takes a `Pair` and gives `Issue`s; a transfer copies one pair's weights either way.
- keras, torch and numpy are imported inside functions only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..kinds import KERAS_KINDS, TORCH_KINDS
from ..pairing import Check, Issue, KerasPort, Pair, to_numpy

if TYPE_CHECKING:
    import numpy as np

__all__ = ["ACTIVATIONS", "BATCHNORM_CHECKS", "CONV_CHECKS", "DENSE_CHECKS", "EMBEDDING_CHECKS",
           "GRU_CHECKS", "LAYERNORM_CHECKS", "LSTM_CHECKS", "SIMPLE_RNN_CHECKS", "Attr",
           "activation_name", "bidirectional_layers", "directions", "keras_class", "keras_paired",
           "keras_rule", "pad_fix", "tf_same_pads", "unwrap",
           "torch_activation", "torch_call", "torch_class", "transfer_batchnorm",
           "transfer_conv", "transfer_dense", "transfer_embedding", "transfer_gru",
           "transfer_layernorm", "transfer_rnn"]


def directions(layer: Any) -> list[Any]:
    """The layers a Keras layer runs, one per direction: `[layer]` unless its kind wraps
    others (Bidirectional)."""
    kind = KERAS_KINDS.lookup(layer, "port")
    port = kind.port if kind is not None else None
    return port.wraps(layer) if port is not None and port.wraps is not None else [layer]


def _raw_keras_rule(layer: Any) -> KerasPort | None:
    kind = KERAS_KINDS.lookup(layer, "port")
    return None if kind is None else kind.port


def keras_paired(layer: Any) -> bool:
    """Does this Keras layer take part in pairing (it has weights the port knows)?"""
    rule = _raw_keras_rule(layer)
    if rule is not None and rule.inner is not None:
        return keras_paired(rule.inner(layer))
    return rule is not None and rule.paired


def keras_rule(layer: Any) -> KerasPort | None:
    """The port pairing of a Keras layer's kind; for a wrapper (Bidirectional), its wrapped
    layer's."""
    return _raw_keras_rule(directions(layer)[0])


def unwrap(layer: Any) -> Any:
    """The layer that is paired in a wrapper's place (TimeDistributed's layer), else itself."""
    rule = _raw_keras_rule(layer)
    return rule.inner(layer) if rule is not None and rule.inner is not None else layer


def keras_class(layer: Any) -> str:
    """The Keras class the layer is (a wrapper's wrapped layer), for messages."""
    inner = directions(layer)[0]
    return KERAS_KINDS.class_name(inner, "port") or type(inner).__name__


def torch_class(module: Any) -> str:
    """The torch class the module is, for messages."""
    return TORCH_KINDS.class_name(module, "port") or type(module).__name__


# ----------------------------------------------------------------------------- checks
@dataclass(frozen=True)
class Attr:
    """A Keras attribute that must equal a torch one; `fix` formats the Keras value.
    A Keras value of None (unknown, or not comparable here) is not compared."""

    what: str
    keras: Callable[[Any], Any]
    torch: Callable[[Any], Any]
    fix: str

    def __call__(self, p: Pair) -> list[Issue]:
        kv = self.keras(p.keras[0])
        if kv is None:
            return []
        tv = self.torch(p.module)
        if kv == tv:
            return []
        return [Issue(self.what, kv, tv, "on the torch side: " + self.fix.format(kv))]



def activation_name(fn: Any) -> str:
    """A Keras activation function's name; leaky_relu with Keras's slope, 0.2 (torch: 0.01)."""
    name = str(getattr(fn, "__name__", "linear"))
    return "leaky_relu(0.2)" if name == "leaky_relu" else name


def torch_call(act: str, expr: str) -> str:
    """`expr` with a Keras activation (as `activation_name` gives it) applied, in torch."""
    if act.startswith("leaky_relu("):
        return f"torch.nn.functional.leaky_relu({expr}, {act[len('leaky_relu('):-1]})"
    if act in ("softmax", "log_softmax"):
        return f"torch.{act}({expr}, dim=-1)"
    if act in ("relu", "sigmoid", "tanh"):
        return f"torch.{act}({expr})"
    return f"torch.nn.functional.{'silu' if act == 'swish' else act}({expr})"


def torch_activation(act: str) -> str:
    """The torch module for a Keras activation name (as `activation_name` gives it)."""
    if act.startswith("leaky_relu("):
        return f"nn.LeakyReLU({act[len('leaky_relu('):-1]})"
    if act in ("softmax", "log_softmax"):
        return f"nn.{'LogSoftmax' if act == 'log_softmax' else 'Softmax'}(dim=-1)"
    return f"nn.{ACTIVATIONS.get(act, act)}()"


# Keras activation layers, and the activation each applies (by the Keras name)

def _same_activation(a: str, b: str) -> bool:
    return a == b or {a, b} == {"swish", "silu"}


def _activation(p: Pair) -> list[Issue]:
    """The activations Keras applies to the pair's output (`activation=` and activation layers
    after it, `Pair.keras_applied`) must be what the torch forward applies to the module's
    output (as modules or functions: read from the traced forward, `Pair.applied`)."""
    if p.applied is None:
        return []  # not seen: compare says so in `unseen`
    own = activation_name(getattr(p.keras[-1], "activation", None))
    want = p.keras_applied if p.keras_applied is not None else (
        [] if own == "linear" else [own])
    if len(want) == len(p.applied) and all(map(_same_activation, want, p.applied)):
        return []
    shown = ", ".join(p.applied) or "none"
    if not want:
        return [Issue("activation", "none", shown,
                      "the Keras model applies no activation here: remove it from the torch forward")]
    modules = " then ".join(torch_activation(a) for a in want)
    if not p.applied:
        fix = f"apply after the torch layer: {modules}"
    else:
        fix = f"make the forward apply exactly {', '.join(want)} after it ({modules}), not {shown}"
    return [Issue("activation", ", ".join(want), shown, fix)]


def _channels_last(k: Any) -> bool:
    return bool(k.data_format == "channels_last")


def tf_same_pads(layer: Any) -> list[tuple[int, int]] | None:
    """The (before, after) padding per spatial axis of a Keras 'same' conv, as TF computes it
    (the odd one at the end), or None if the input's spatial sizes are not known."""
    try:
        x_in = layer.input
        shape = tuple((x_in[0] if isinstance(x_in, (list, tuple)) else x_in).shape)[1:-1]
    except Exception:
        return None
    if any(n is None for n in shape):
        return None
    pads = []
    for n, k, s, d in zip(shape, layer.kernel_size, layer.strides, layer.dilation_rate):
        span = (k - 1) * d + 1
        total = max((-(-n // s) - 1) * s + span - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def pad_fix(pads: list[tuple[int, int]]) -> str:
    """torch code padding like TF's 'same' (F.pad lists the last axis first)."""
    flat = ", ".join(f"{a}, {b}" for a, b in reversed(pads))
    return f"x = torch.nn.functional.pad(x, ({flat})) before the conv, built with padding=0"


def _conv_padding(p: Pair) -> list[Issue]:
    """Keras 'valid'/'same' against torch's string or numbers. 'same' is TF's padding: (k - 1)
    // 2 on each side at stride 1 and odd kernels (torch's numbers or 'same' say it), with the
    odd one at the end otherwise (torch pads symmetrically: a pad before the conv says it)."""
    k, m = p.keras[0], p.module
    tpad = m.padding if isinstance(m.padding, str) else (
        "valid" if all(x == 0 for x in m.padding) else tuple(m.padding))
    if k.padding == "same" and tpad != "same":
        pads = tf_same_pads(p.graph[0])
        padded = p.input_ops is not None and any(op in ("pad", "ZeroPad1d", "ZeroPad2d",
                                                        "ConstantPad1d", "ConstantPad2d")
                                                  for op in p.input_ops)
        if pads is not None:
            if tpad == "valid" and padded:
                return []  # padded before the conv (assert_equivalent checks by how much)
            if all(a == b for a, b in pads) and tpad == tuple(a for a, _ in pads):
                return []
            if all(a == b for a, b in pads):
                fix = f"padding={tuple(a for a, _ in pads)} (or 'same' at stride 1)"
            else:
                fix = ("TF pads 'same' with the extra row/column at the end "
                       f"{tuple(pads)}; torch pads both sides alike: {pad_fix(pads)}")
            return [Issue("padding", f"same {tuple(pads)}", m.padding, fix)]
    if k.padding != tpad and not (k.padding == "same" and tpad == "same"):
        return [Issue("padding", k.padding, m.padding, f"padding='{k.padding}' on the torch side")]
    return []


def _conv_layout(p: Pair) -> list[Issue]:
    k = p.keras[0]
    if not _channels_last(k) or p.layout_handled:
        return []
    rank = len(k.kernel_size) + 2
    perm = (0, rank - 1, *range(1, rank - 1))
    return [Issue("layout", "channels_last", "channels first",
                  f"feed torch x.permute{perm} of Keras-layout data (transfer_weights and "
                  "assert_equivalent do this for you)", note=True)]


def _num_layers(p: Pair) -> list[Issue]:
    if len(p.keras) != p.module.num_layers:
        return [Issue("stacked layers / num_layers", len(p.keras), p.module.num_layers,
                      f"num_layers={len(p.keras)}")]
    return []


def _bidirectional(p: Pair) -> list[Issue]:
    k, m = p.keras[0], p.module
    bidir = len(directions(k)) == 2
    issues = []
    if bidir != m.bidirectional:
        issues.append(Issue("bidirectional", bidir, m.bidirectional, f"bidirectional={bidir}"))
    if bidir and k.merge_mode != "concat":  # the forward may combine them: the outputs say
        op = {"sum": "+", "mul": "*"}.get(str(k.merge_mode), "+")
        combine = f"h_n[-2] {op} h_n[-1]" + (" then / 2" if k.merge_mode == "ave" else "")
        issues.append(Issue("bidirectional merge", k.merge_mode, "concat (always)",
                            f"the forward must combine torch's two halves as Keras's "
                            f"'{k.merge_mode}' does ({combine}, or out[..., :H] {op} "
                            "out[..., H:]); assert_equivalent checks that it does", note=True))
    return issues


def _batch_first(p: Pair) -> list[Issue]:
    if p.module.batch_first or p.layout_handled:
        return []
    return [Issue("layout", "batch-major (batch, timesteps, features)",
                  "batch_first=False (timesteps, batch, features)",
                  f"build nn.{torch_class(p.module)}(..., batch_first=True), or pass "
                  "x.transpose(0, 1)", note=True)]


def _lstm_activations(p: Pair) -> list[Issue]:
    cell = directions(p.keras[0])[0]
    act, rec = cell.activation.__name__, cell.recurrent_activation.__name__
    if act == "tanh" and rec == "sigmoid":
        return []
    return [Issue("activations", f"{act}/{rec}", "tanh/sigmoid (fixed)",
                  "use activation='tanh', recurrent_activation='sigmoid' in Keras")]


def _gru_reset_after(p: Pair) -> list[Issue]:
    if directions(p.keras[0])[0].cell.reset_after:
        return []
    return [Issue("GRU reset_after", False, "reset after (torch's only form)",
                  "build the Keras GRU with reset_after=True")]


def _return_state(p: Pair) -> list[Issue]:
    if not getattr(directions(p.keras[0])[0], "return_state", False):
        return []
    return [Issue("return_state", True, "returns (output, h_n[, c_n]) always",
                  "unpack torch's (output, (h_n, c_n)) where Keras returns [output, h, c]")]


def _bn_epsilon(p: Pair) -> list[Issue]:
    k, m = p.keras[0], p.module
    if abs(k.epsilon - m.eps) <= 1e-12:
        return []
    return [Issue("epsilon", k.epsilon, m.eps, f"nn.{torch_class(m)}(..., eps={k.epsilon})")]


def _bn_momentum(p: Pair) -> list[Issue]:
    k, m = p.keras[0], p.module
    if abs((1 - k.momentum) - (m.momentum or 0)) <= 1e-9:
        return []
    return [Issue("momentum (running stats)", k.momentum, m.momentum,
                  f"torch momentum = 1 - Keras momentum: momentum={1 - k.momentum:g}")]


def _layernorm_axes(k: Any) -> list[int] | None:
    """The input axes a Keras LayerNormalization normalises, as positive indices."""
    try:
        rank = len(k.input.shape)
    except Exception:
        return None
    axes = k.axis if isinstance(k.axis, (list, tuple)) else [k.axis]
    return sorted(int(a) % rank for a in axes)


def _layernorm_shape(k: Any) -> tuple[int, ...] | None:
    """The shape nn.LayerNorm must normalise (None: unknown, or axes torch cannot express)."""
    axes = _layernorm_axes(k)
    if axes is None or axes != list(range(len(k.input.shape) - len(axes), len(k.input.shape))):
        return None
    shape = tuple(k.input.shape[a] for a in axes)
    return None if any(d is None for d in shape) else shape


def _layernorm_axes_check(p: Pair) -> list[Issue]:
    """nn.LayerNorm normalises the trailing axes only."""
    k = p.keras[0]
    axes = _layernorm_axes(k)
    if axes is None or axes == list(range(len(k.input.shape) - len(axes), len(k.input.shape))):
        return []
    return [Issue("normalized axes", tuple(axes), "the trailing axes (always)",
                  f"move Keras's axes {tuple(axes)} last before nn.LayerNorm (x.permute(...)), "
                  "or normalise the trailing axes in Keras")]


def _layernorm_affine(p: Pair) -> list[Issue]:
    """Keras scale/center (gamma, beta) against torch's weight/bias."""
    k, m = p.keras[0], p.module
    if getattr(k, "rms_scaling", False):
        return [Issue("rms_scaling", True, "mean-centred (nn.LayerNorm)",
                      "rms_scaling is deprecated in Keras and nn.LayerNorm has no such form: use "
                      "keras.layers.RMSNormalization with nn.RMSNorm")]
    want = (bool(k.scale or k.center), bool(k.center))  # torch: a weight, a bias
    got = (m.weight is not None, m.bias is not None)
    if want == got:
        return []
    return [Issue("scale / center (weight / bias)", f"scale={k.scale}, center={k.center}",
                  f"weight={got[0]}, bias={got[1]}",
                  f"on the torch side: nn.LayerNorm(..., elementwise_affine={want[0]}, "
                  f"bias={want[1]})")]


def _bias_check(p: Pair) -> list[Issue]:
    k, m = p.keras[0], p.module
    if bool(k.use_bias) == (m.bias is not None):
        return []
    if k.use_bias:
        return [Issue("bias", "use_bias=True", "bias=False", "build the torch module with bias=True")]
    return [Issue("bias", "use_bias=False", "bias=True",
                  f"nn.{torch_class(m)}(..., bias=False) (transfer_weights zeroes it otherwise)")]


def _mask_zero(p: Pair) -> list[Issue]:
    if not getattr(p.keras[0], "mask_zero", False):
        return []
    return [Issue("mask_zero", True, "no mask (torch has none)",
                  "Keras skips padded steps (token 0) in the layers after it (RNNs carry their "
                  "state over them, pooling ignores them); torch does not: pack the sequences "
                  "(nn.utils.rnn.pack_padded_sequence with the lengths), or build the Keras "
                  "Embedding with mask_zero=False")]


DENSE_CHECKS: tuple[Check, ...] = (
    Attr("units / out_features", lambda k: k.units, lambda m: m.out_features,
         "nn.Linear(..., out_features={})"),
    _bias_check,
    _activation,
)
CONV_CHECKS: tuple[Check, ...] = (
    Attr("filters / out_channels", lambda k: k.filters, lambda m: m.out_channels,
         "out_channels={}"),
    Attr("kernel_size", lambda k: tuple(k.kernel_size), lambda m: tuple(m.kernel_size),
         "kernel_size={}"),
    Attr("strides / stride", lambda k: tuple(k.strides), lambda m: tuple(m.stride), "stride={}"),
    _bias_check,
    _conv_padding,
    _conv_layout,
    _activation,
)
RNN_CHECKS: tuple[Check, ...] = (
    Attr("units / hidden_size", lambda k: directions(k)[0].units, lambda m: m.hidden_size,
         "hidden_size={}"),
    _num_layers,
    _bidirectional,
    _batch_first,
)
EMBEDDING_CHECKS: tuple[Check, ...] = (
    Attr("input_dim / num_embeddings", lambda k: k.input_dim, lambda m: m.num_embeddings,
         "num_embeddings={}"),
    Attr("output_dim / embedding_dim", lambda k: k.output_dim, lambda m: m.embedding_dim,
         "embedding_dim={}"),
    _mask_zero,
)
BATCHNORM_CHECKS: tuple[Check, ...] = (
    Attr("features", lambda k: int(k.moving_mean.shape[0]), lambda m: m.num_features,
         "num_features={}"),
    _bn_epsilon,
    _bn_momentum,
)

LAYERNORM_CHECKS: tuple[Check, ...] = (
    _layernorm_axes_check,
    Attr("normalized shape", _layernorm_shape, lambda m: tuple(m.normalized_shape),
         "nn.LayerNorm({}, ...)"),
    _bn_epsilon,
    _layernorm_affine,
)

# -------------------------------------------------------------------------- transfers
def _set(param: Any, value: np.ndarray, what: str) -> None:
    import numpy as np
    import torch

    if tuple(param.shape) != value.shape:
        raise ValueError(f"{what}: torch expects {tuple(param.shape)}, the converted Keras weight "
                         f"is {value.shape}")
    with torch.no_grad():
        param.copy_(torch.as_tensor(np.array(value), dtype=param.dtype))  # a copy: jax arrays are read-only


def _bias(p: Pair, to_torch: bool) -> None:
    """A Dense/conv bias across. Keras `use_bias=False` is a zero bias: a torch bias is zeroed
    (Keras -> torch) or, if it is not zero, refused (torch -> Keras); a torch `bias=False`
    cannot take a Keras bias."""
    import numpy as np
    import torch

    k, m, where = p.keras[0], p.module, p.where
    if k.use_bias and m.bias is None:
        raise ValueError(f"{where}: the Keras layer has a bias, the torch module none "
                         "(bias=False): build it with bias=True")
    if k.use_bias:
        if to_torch:
            _set(m.bias, to_numpy(k.bias), where + " bias")
        else:
            k.bias.assign(to_numpy(m.bias))
    elif m.bias is not None:
        if to_torch:
            with torch.no_grad():
                m.bias.zero_()
        elif np.any(to_numpy(m.bias) != 0):
            raise ValueError(f"{where}: the torch module has a bias, the Keras layer none "
                             "(use_bias=False): build it with use_bias=True")


def transfer_dense(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    """Keras kernel (in, out) <-> torch weight (out, in). After a Flatten of a channels_last
    map the rows are in (h, w, c) order in Keras and (c, h, w) in torch: reordered."""
    k, m, where = p.keras[0], p.module, p.where
    if to_torch:
        kernel = to_numpy(k.kernel)
        if flattened is not None:  # rows in (h, w, c) order -> (c, h, w)
            nd = len(flattened)
            kernel = kernel.reshape(*flattened, -1).transpose(
                nd - 1, *range(nd - 1), nd).reshape(kernel.shape)
        _set(m.weight, kernel.T, where + " weight")
        _bias(p, True)
    else:
        w = to_numpy(m.weight).T
        if flattened is not None:
            nd = len(flattened)
            chw = (flattened[-1], *flattened[:-1])
            w = w.reshape(*chw, -1).transpose(*range(1, nd), 0, nd).reshape(w.shape)
        k.kernel.assign(w)
        _bias(p, False)


def transfer_conv(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    """Keras kernel (k..., in, out) <-> torch weight (out, in, k...), any number of k axes."""
    import numpy as np

    k, m, where = p.keras[0], p.module, p.where
    nd = len(k.kernel_size) + 2
    perm = (nd - 1, nd - 2, *range(nd - 2))
    if to_torch:
        _set(m.weight, to_numpy(k.kernel).transpose(perm), where + " weight")
    else:
        k.kernel.assign(to_numpy(m.weight).transpose(tuple(int(i) for i in np.argsort(perm))))
    _bias(p, to_torch)


def transfer_embedding(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    k, m = p.keras[0], p.module
    if to_torch:
        _set(m.weight, to_numpy(k.embeddings), p.where)
    else:
        k.embeddings.assign(to_numpy(m.weight))


def transfer_batchnorm(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    k, m = p.keras[0], p.module
    names = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
             ("moving_variance", "running_var"))
    for kn, tn in names:
        kv, tv = getattr(k, kn), getattr(m, tn)
        if kv is None or tv is None:
            continue
        if to_torch:
            _set(tv, to_numpy(kv), f"{p.where} {kn}")
        else:
            kv.assign(to_numpy(tv))


def transfer_layernorm(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    """Keras gamma/beta <-> torch weight/bias (same shapes); a side without one is skipped."""
    k, m = p.keras[0], p.module
    for kn, tn in (("gamma", "weight"), ("beta", "bias")):
        kv, tv = getattr(k, kn, None), getattr(m, tn, None)
        if kv is None or tv is None:
            continue
        if to_torch:
            _set(tv, to_numpy(kv), f"{p.where} {kn}")
        else:
            kv.assign(to_numpy(tv).reshape(tuple(kv.shape)))


def transfer_rnn(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    """LSTM and SimpleRNN: the same gate order (LSTM i,f,c,o is torch's i,f,g,o); Keras's one
    bias goes to bias_ih (bias_hh zero), and torch's two add up to it."""
    _rnn_stack(p, to_torch, gru=False)


def transfer_gru(p: Pair, to_torch: bool, flattened: tuple[int, ...] | None) -> None:
    """GRU: Keras z,r,h <-> torch r,z,n; Keras's (2, 3u) bias is bias_ih and bias_hh.
    Keras must use reset_after=True, torch's only form."""
    _rnn_stack(p, to_torch, gru=True)


def _rnn_stack(p: Pair, to_torch: bool, gru: bool) -> None:
    """Each stacked Keras layer to torch's `_l{i}` weights, a backward direction to `_reverse`."""
    for layer_index, layer in enumerate(p.keras):
        for d, rnn in enumerate(directions(layer)):
            suffix = f"_l{layer_index}" + ("_reverse" if d == 1 else "")
            _rnn_weights(rnn, p.module, suffix, gru, to_torch, p.where)


def _gru_reorder(w: np.ndarray, axis: int) -> np.ndarray:
    """Keras z,r,h <-> torch r,z,n along `axis` (the same swap both ways)."""
    import numpy as np

    a, b, c = np.split(w, 3, axis=axis)
    return np.concatenate([b, a, c], axis=axis)


def _rnn_weights(rnn: Any, m: Any, suffix: str, gru: bool, to_torch: bool, where: str) -> None:
    import numpy as np

    cell = rnn.cell
    w_ih, w_hh = getattr(m, "weight_ih" + suffix), getattr(m, "weight_hh" + suffix)
    b_ih, b_hh = getattr(m, "bias_ih" + suffix, None), getattr(m, "bias_hh" + suffix, None)
    if gru and not cell.reset_after:
        raise ValueError(f"{where}: a Keras GRU with reset_after=False has no torch equivalent; "
                         "build it with reset_after=True")
    if to_torch:
        kernel, rec = to_numpy(cell.kernel), to_numpy(cell.recurrent_kernel)
        if gru:
            kernel, rec = _gru_reorder(kernel, 1), _gru_reorder(rec, 1)
        _set(w_ih, kernel.T, f"{where} weight_ih{suffix}")
        _set(w_hh, rec.T, f"{where} weight_hh{suffix}")
        if cell.use_bias and b_ih is not None:
            bias = to_numpy(cell.bias)
            if gru:  # (2, 3u): input bias, recurrent bias
                _set(b_ih, _gru_reorder(bias[0], 0), f"{where} bias_ih{suffix}")
                _set(b_hh, _gru_reorder(bias[1], 0), f"{where} bias_hh{suffix}")
            else:  # Keras has one bias: put it on the input side
                _set(b_ih, bias, f"{where} bias_ih{suffix}")
                _set(b_hh, np.zeros_like(bias), f"{where} bias_hh{suffix}")
    else:
        kernel, rec = to_numpy(w_ih).T, to_numpy(w_hh).T
        if gru:
            kernel, rec = _gru_reorder(kernel, 1), _gru_reorder(rec, 1)
        cell.kernel.assign(kernel)
        cell.recurrent_kernel.assign(rec)
        if cell.use_bias and b_ih is not None:
            if gru:
                cell.bias.assign(np.stack([_gru_reorder(to_numpy(b_ih), 0),
                                           _gru_reorder(to_numpy(b_hh), 0)]))
            else:  # torch's two biases add up to Keras's one
                cell.bias.assign(to_numpy(b_ih) + to_numpy(b_hh))


def bidirectional_layers(layer: Any) -> list[Any]:
    return [layer.forward_layer, layer.backward_layer]


LSTM_CHECKS = (*RNN_CHECKS, _lstm_activations, _return_state)
GRU_CHECKS = (*RNN_CHECKS, _gru_reset_after, _return_state)


def _simple_rnn_activation(p: Pair) -> list[Issue]:
    act = directions(p.keras[0])[0].cell.activation.__name__
    if act not in ("tanh", "relu"):
        return [Issue("activation", act, "tanh or relu (nonlinearity=)",
                      "use activation='tanh' or 'relu' in Keras")]
    if act != p.module.nonlinearity:
        return [Issue("activation", act, p.module.nonlinearity,
                      f"nn.RNN(..., nonlinearity='{act}')")]
    return []


SIMPLE_RNN_CHECKS = (*RNN_CHECKS, _simple_rnn_activation, _return_state)

# A Keras `activation=` and the torch module that must follow the layer.
ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
               "elu": "ELU", "selu": "SELU", "gelu": "GELU", "silu": "SiLU", "swish": "SiLU",
               "softplus": "Softplus", "leaky_relu": "LeakyReLU", "relu6": "ReLU6"}

