"""How torch module kinds are written as Keras code by `port.scaffold` (layer L6).

Design rules:
- One writer per kind (`write(emitter, label, module)`), named by the kinds of `layers.py` in
  their `scaffold` (`scaffolding.TorchScaffold`), which also says what the emitter asks of a
  module: does it keep the shape or layout, is it a map, does it fix the input, which Keras
  activation it is. A module that cannot be written (an RNN in an nn.Sequential) says why.
- An option Keras cannot express is refused with a ValueError naming the module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..kinds import TORCH_KINDS
from ..scaffolding import TorchScaffold, code_float, code_size
from ..scaffolding import refuse as _refuse_module

__all__ = ["SCAFFOLDS", "keras_activation", "scaffold_of", "supported"]


def scaffold_of(m: Any) -> TorchScaffold | None:
    """How the scaffold writes `m` (its kind's, along the MRO), or None."""
    kind = TORCH_KINDS.lookup(m, "scaffold")
    return None if kind is None else kind.scaffold


def supported() -> str:
    """The torch classes the scaffold writes, for messages."""
    return ", ".join(sorted(n for n, k in TORCH_KINDS.view("scaffold").items()
                            if k.scaffold.write is not None))


def keras_activation(m: Any) -> str | None:
    """The Keras activation string for a torch activation module, or None (none exists)."""
    sc = scaffold_of(m)
    return None if sc is None or sc.activation is None else sc.activation(m)


def _fixed(name: str) -> Callable[[Any], str | None]:
    return lambda m: name


def _gelu(m: Any) -> str | None:
    return "gelu" if m.approximate == "none" else None


def _elu(m: Any) -> str | None:
    return "elu" if float(m.alpha) == 1.0 else None


def _softplus(m: Any) -> str | None:
    return "softplus" if float(m.beta) == 1.0 else None


def _t_activation(em: Any, label: str, m: Any) -> None:
    act = keras_activation(m)
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


def _t_leaky_relu(em: Any, label: str, m: Any) -> None:
    em.add("LeakyReLU", [f"negative_slope={code_float(m.negative_slope)}"], label)


def _t_linear(em: Any, label: str, m: Any) -> None:
    if em.rank > 2:
        em.torch_layout("nn.Linear acts on torch's last axis")
    em.add("Dense", [str(m.out_features), "" if m.bias is not None else "use_bias=False",
                     em.fold()], label)


def _t_conv(em: Any, label: str, m: Any) -> None:
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
        str(m.out_channels), code_size(kernel),
        f"strides={code_size(stride)}" if any(s != 1 for s in stride) else "",
        'padding="same"' if padding == "same" else "",
        f"dilation_rate={code_size(dil)}" if any(d != 1 for d in dil) else "",
        f"groups={m.groups}" if m.groups != 1 else "",
        "use_bias=False" if m.bias is None else "",
        em.fold()], label)


def _t_pool(em: Any, label: str, m: Any) -> None:
    cls = TORCH_KINDS.class_name(m, "scaffold") or ""
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
    em.add(f"{kind}Pooling{nd}D", [code_size(size), "" if stride == size
                                    else f"strides={code_size(stride)}"], label)


def _t_adaptive_pool(em: Any, label: str, m: Any) -> None:
    size = m.output_size if isinstance(m.output_size, (tuple, list)) else (m.output_size,)
    if any(s != 1 for s in size):
        raise _refuse_module(m, label, f"output_size={m.output_size}: only 1 (global pooling) "
                                       "has a Keras layer")
    cls = TORCH_KINDS.class_name(m, "scaffold") or ""
    kind, nd = ("Max" if "Max" in cls else "Average"), int(cls[-2])
    em.channels_last(f"Global{kind}Pooling{nd}D pools (batch, ..., channels)")
    em.add(f"Global{kind}Pooling{nd}D", ["keepdims=True"], label)


def _t_flatten(em: Any, label: str, m: Any) -> None:
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


def _flatten_reorders(em: Any) -> bool:
    """Does `transfer_weights` reorder the rows of the Dense this Flatten feeds? Yes when the
    Flatten flattens a conv or pool map (through BatchNorm, activations, Dropout) and feeds a
    Linear (through activations, Dropout): `weights.flatten_sources` on the Keras port."""
    after = [m for _, m in em.mods[em.index + 1:] if not _has(m, "keeps_shape")]
    if not after or not _has(after[0], "reorders"):
        return False
    for _, m in reversed(em.mods[:em.index]):
        if not _has(m, "keeps_layout"):
            return _has(m, "is_map")
    return False


def _has(m: Any, trait: str) -> bool:
    """Does `m`'s scaffold have `trait` (a `TorchScaffold` flag)?"""
    sc = scaffold_of(m)
    return sc is not None and bool(getattr(sc, trait))


def _t_batchnorm(em: Any, label: str, m: Any) -> None:
    if not m.track_running_stats or m.momentum is None:
        raise _refuse_module(m, label, "track_running_stats=False or momentum=None (batch "
                             "statistics, or a cumulative average) has no Keras form")
    em.add("BatchNormalization", [
        "axis=1" if em.rank > 2 and not em.first else "",  # torch's axis 1, laid out alike
        f"epsilon={code_float(m.eps)}", f"momentum={code_float(1 - m.momentum)}",
        "" if m.affine else "center=False, scale=False"], label)


def _t_layernorm(em: Any, label: str, m: Any) -> None:
    n = len(m.normalized_shape)
    em.torch_layout("LayerNormalization normalises torch's trailing axes")
    em.add("LayerNormalization", [
        f"axis={list(range(-n, 0))}" if n > 1 else "", f"epsilon={code_float(m.eps)}",
        "center=False, scale=False" if m.weight is None else
        "center=False" if m.bias is None else ""], label)


def _t_embedding(em: Any, label: str, m: Any) -> None:
    if m.max_norm is not None:
        raise _refuse_module(m, label, "max_norm renormalises rows at lookup: no Keras form")
    em.add("Embedding", [str(m.num_embeddings), str(m.embedding_dim)], label,
           "" if m.padding_idx is None else "torch's padding_idx only freezes that row in "
                                            "training")
    em.first = False


def _t_dropout(em: Any, label: str, m: Any) -> None:
    em.add("Dropout", [code_float(m.p)], label)


def _linear_input(m: Any) -> tuple[int | None, ...]:
    return (int(m.in_features),)


def _embedding_input(m: Any) -> tuple[int | None, ...]:
    return (None,)


_RNN = ("an RNN returns (output, h_n), which nn.Sequential passes on (or returns) as a tuple, "
        "not one tensor: wrap it in a module whose forward picks out or out[:, -1] and port "
        "that by hand (scaffold(keras_model) writes such a forward from a Keras model)")


def _activation(fn: Callable[[Any], str | None]) -> TorchScaffold:
    return TorchScaffold(_t_activation, activation=fn, keeps_shape=True, keeps_layout=True)


SCAFFOLDS: dict[str, TorchScaffold] = {
    "linear": TorchScaffold(_t_linear, reorders=True, input_fixed=_linear_input),
    "conv": TorchScaffold(_t_conv, is_map=True, channels_first=True),
    "pool": TorchScaffold(_t_pool, is_map=True),
    "adaptive_pool": TorchScaffold(_t_adaptive_pool),
    "flatten": TorchScaffold(_t_flatten),
    "batchnorm": TorchScaffold(_t_batchnorm, keeps_layout=True),
    "layernorm": TorchScaffold(_t_layernorm),
    "embedding": TorchScaffold(_t_embedding, integer_input=True, input_fixed=_embedding_input),
    "dropout": TorchScaffold(_t_dropout, keeps_shape=True, keeps_layout=True),
    "leakyrelu": TorchScaffold(_t_leaky_relu, keeps_shape=True, keeps_layout=True),
    "rnn": TorchScaffold(refuse=_RNN),
    "relu": _activation(_fixed("relu")), "tanh": _activation(_fixed("tanh")),
    "sigmoid": _activation(_fixed("sigmoid")), "softmax": _activation(_fixed("softmax")),
    "gelu": _activation(_gelu), "elu": _activation(_elu), "selu": _activation(_fixed("selu")),
    "silu": _activation(_fixed("silu")), "softplus": _activation(_softplus),
}
"""The writers, by what they write: the kinds of `layers.py` take theirs from here."""
