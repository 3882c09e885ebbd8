"""Keras 3 <-> PyTorch porting checks: compare contracts, transfer weights, check outputs.

Design rules:
- Layers are paired in order by their weights: Keras Dense, Conv1D/2D, LSTM, GRU, SimpleRNN,
  Bidirectional, Embedding, BatchNormalization with torch Linear, Conv1d/2d, LSTM, GRU, RNN,
  Embedding, BatchNorm*. A torch RNN with `num_layers=L` takes L consecutive Keras RNN layers.
- `compare` reads both sides' metadata (the adapters' contracts, layer configs) and, for what
  only the forward shows (is the last step taken?), runs the torch model on fake tensors. It
  never runs a model on data. Every difference says which side to change and how.
- `transfer_weights` knows each layout: Keras kernels are (in, out) and torch weights
  (out, in); Keras LSTM gates are i,f,c,o like torch's i,f,g,o; Keras GRU gates are z,r,h and
  torch's r,z,n (Keras must use `reset_after=True`); Keras conv kernels are (k..., in, out)
  and torch's (out, in, k...); a Dense after Flatten of channels_last maps is reordered.
- `assert_equivalent` runs both models on the same input (laid out for each) and, when they
  differ, names the first layer pair whose outputs diverge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._errors import Report

__all__ = ["Difference", "Equivalence", "PortMismatch", "PortReport", "assert_equivalent",
           "compare", "transfer_weights"]

_K_WEIGHTED = {"Dense", "Conv1D", "Conv2D", "LSTM", "GRU", "SimpleRNN", "Bidirectional",
               "Embedding", "BatchNormalization"}
_T_WEIGHTED = {"Linear", "Conv1d", "Conv2d", "LSTM", "GRU", "RNN", "Embedding", "BatchNorm1d",
               "BatchNorm2d"}
_PAIRS = {"Dense": {"Linear"}, "Conv1D": {"Conv1d"}, "Conv2D": {"Conv2d"}, "LSTM": {"LSTM"},
          "GRU": {"GRU"}, "SimpleRNN": {"RNN"}, "Embedding": {"Embedding"},
          "BatchNormalization": {"BatchNorm1d", "BatchNorm2d"}}
_ACT = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
        "elu": "ELU", "selu": "SELU", "gelu": "GELU", "silu": "SiLU", "swish": "SiLU",
        "softplus": "Softplus", "leaky_relu": "LeakyReLU"}


@dataclass
class Difference:
    """One way the port differs: where, what, both values, and which side to change how."""

    keras: str
    torch: str
    what: str
    keras_value: Any
    torch_value: Any
    fix: str

    def __str__(self) -> str:
        return (f"{self.keras} <-> {self.torch}: {self.what}: Keras {self.keras_value}, torch "
                f"{self.torch_value}\n    fix: {self.fix}")


@dataclass
class PortReport(Report):
    """`compare`'s answer: the layer pairs, and every difference found."""

    pairs: list[tuple[str, str]] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    def __str__(self) -> str:
        head = "port: " + ", ".join(f"{k} <-> {t}" for k, t in self.pairs)
        if self.ok:
            return head + "\n  no differences in contract"
        return "\n".join([head, f"  {len(self.differences)} difference(s):"]
                         + ["  " + str(d).replace("\n", "\n  ") for d in self.differences])


# ---------------------------------------------------------------------------- pairing
def _keras_layers(model: Any) -> list[Any]:
    return [layer for layer in model.layers if type(layer).__name__ in _K_WEIGHTED]


def _torch_modules(model: Any) -> list[tuple[str, Any]]:
    out = []
    for name, m in model.named_modules():
        if type(m).__name__ in _T_WEIGHTED:
            out.append((name or type(m).__name__, m))
    return out


def _kind(layer: Any) -> str:
    cls = type(layer).__name__
    if cls == "Bidirectional":
        return type(layer.forward_layer).__name__
    return cls


def _rnn_cell(layer: Any) -> Any:
    return layer.forward_layer if type(layer).__name__ == "Bidirectional" else layer


@dataclass
class _Pair:
    keras: list[Any]  # one Keras layer, or L stacked RNN layers for a torch num_layers=L
    name: str
    module: Any


def _pair(keras_model: Any, torch_model: Any, report: PortReport) -> list[_Pair]:
    ks = _keras_layers(keras_model)
    ts = _torch_modules(torch_model)
    pairs: list[_Pair] = []
    i = 0
    for name, m in ts:
        if i >= len(ks):
            report.differences.append(Difference(
                "(none)", f"{type(m).__name__} '{name}'", "extra torch module", "-", "present",
                "remove it from the torch model, or add the matching layer to the Keras model"))
            continue
        take = 1
        if type(m).__name__ in ("LSTM", "GRU", "RNN"):
            take = max(1, min(m.num_layers, len(ks) - i))
        group = ks[i:i + take]
        i += take
        pairs.append(_Pair(group, name, m))
        report.pairs.append((" + ".join(f"{type(k).__name__} '{k.name}'" for k in group),
                             f"{type(m).__name__} '{name}'"))
    for k in ks[i:]:
        report.differences.append(Difference(
            f"{type(k).__name__} '{k.name}'", "(none)", "missing torch module", "present", "-",
            f"add the torch counterpart of {type(k).__name__} '{k.name}'"))
    return pairs


# ---------------------------------------------------------------------------- compare
def compare(keras_model: Any, torch_model: Any) -> PortReport:
    """Every difference in contract between a Keras model and its PyTorch port, layer by layer."""
    report = PortReport()
    pairs = _pair(keras_model, torch_model, report)
    nexts = _next_siblings(torch_model)
    for p in pairs:
        _compare_pair(p, report, nexts)
    _compare_flow(keras_model, torch_model, pairs, report)
    return report


def _diff(report: PortReport, p: _Pair, what: str, kv: Any, tv: Any, fix: str) -> None:
    k = " + ".join(f"{type(x).__name__} '{x.name}'" for x in p.keras)
    report.differences.append(Difference(k, f"{type(p.module).__name__} '{p.name}'", what, kv, tv, fix))


def _input_features(layer: Any) -> int | None:
    try:
        shape = layer.input.shape
    except Exception:
        return None
    return shape[-1] if shape is not None else None


def _compare_pair(p: _Pair, report: PortReport, nexts: dict[int, Any]) -> None:
    k, m = p.keras[0], p.module
    kind, tcls = _kind(k), type(m).__name__
    if tcls not in _PAIRS.get(kind, set()):
        _diff(report, p, "layer kind", kind, tcls,
              f"port {kind} as nn.{sorted(_PAIRS.get(kind, {'?'}))[0]}")
        return
    if kind == "Dense":
        _same(report, p, "units / out_features", k.units, m.out_features,
              f"nn.Linear(..., out_features={k.units})")
        fin = _input_features(k)
        if fin is not None:
            _same(report, p, "input features / in_features", fin, m.in_features,
                  f"nn.Linear(in_features={fin}, ...)")
        _activation(report, p, k, nexts)
    elif kind in ("Conv1D", "Conv2D"):
        _same(report, p, "filters / out_channels", k.filters, m.out_channels,
              f"out_channels={k.filters}")
        _same(report, p, "kernel_size", tuple(k.kernel_size), tuple(m.kernel_size),
              f"kernel_size={tuple(k.kernel_size)}")
        _same(report, p, "strides / stride", tuple(k.strides), tuple(m.stride),
              f"stride={tuple(k.strides)}")
        tpad = m.padding if isinstance(m.padding, str) else ("valid" if all(x == 0 for x in m.padding) else tuple(m.padding))
        if k.padding != tpad and not (k.padding == "same" and tpad == "same"):
            _diff(report, p, "padding", k.padding, m.padding, f"padding='{k.padding}' on the torch side")
        fin = _input_features(k) if k.data_format == "channels_last" else None
        if fin is not None:
            _same(report, p, "input channels / in_channels", fin, m.in_channels, f"in_channels={fin}")
        if k.data_format == "channels_last":
            perm = "(0, 3, 1, 2)" if kind == "Conv2D" else "(0, 2, 1)"
            _diff(report, p, "layout", "channels_last", "channels first",
                  f"feed torch x.permute{perm} of Keras-layout data (transfer_weights and "
                  "assert_equivalent do this for you)")
        _activation(report, p, k, nexts)
    elif kind in ("LSTM", "GRU", "SimpleRNN"):
        cell = _rnn_cell(k)
        _same(report, p, "units / hidden_size", cell.units, m.hidden_size, f"hidden_size={cell.units}")
        fin = _input_features(k)
        if fin is not None:
            _same(report, p, "input features / input_size", fin, m.input_size, f"input_size={fin}")
        if len(p.keras) != m.num_layers:
            _diff(report, p, "stacked layers / num_layers", len(p.keras), m.num_layers,
                  f"num_layers={len(p.keras)}")
        bidir = type(k).__name__ == "Bidirectional"
        if bidir != m.bidirectional:
            _diff(report, p, "bidirectional", bidir, m.bidirectional, f"bidirectional={bidir}")
        if bidir and k.merge_mode != "concat":
            _diff(report, p, "bidirectional merge", k.merge_mode, "concat (always)",
                  f"combine torch's two halves as Keras's '{k.merge_mode}' does "
                  "(e.g. out[..., :H] + out[..., H:] for 'sum')")
        if not m.batch_first:
            _diff(report, p, "layout", "batch-major (batch, timesteps, features)",
                  "batch_first=False (timesteps, batch, features)",
                  f"build nn.{tcls}(..., batch_first=True), or pass x.transpose(0, 1)")
        if kind == "LSTM" and (cell.activation.__name__ != "tanh"
                               or cell.recurrent_activation.__name__ != "sigmoid"):
            _diff(report, p, "activations", f"{cell.activation.__name__}/"
                  f"{cell.recurrent_activation.__name__}", "tanh/sigmoid (fixed)",
                  "use activation='tanh', recurrent_activation='sigmoid' in Keras")
        if kind == "GRU" and not cell.cell.reset_after:
            _diff(report, p, "GRU reset_after", False, "reset after (torch's only form)",
                  "build the Keras GRU with reset_after=True")
        if getattr(cell, "return_state", False):
            _diff(report, p, "return_state", True, "returns (output, h_n[, c_n]) always",
                  "unpack torch's (output, (h_n, c_n)) where Keras returns [output, h, c]")
    elif kind == "Embedding":
        _same(report, p, "input_dim / num_embeddings", k.input_dim, m.num_embeddings,
              f"num_embeddings={k.input_dim}")
        _same(report, p, "output_dim / embedding_dim", k.output_dim, m.embedding_dim,
              f"embedding_dim={k.output_dim}")
    elif kind == "BatchNormalization":
        n = int(k.gamma.shape[0]) if k.gamma is not None else None
        _same(report, p, "features", n, m.num_features, f"num_features={n}")
        if abs(k.epsilon - m.eps) > 1e-12:
            _diff(report, p, "epsilon", k.epsilon, m.eps, f"nn.{tcls}(..., eps={k.epsilon})")
        if abs((1 - k.momentum) - (m.momentum or 0)) > 1e-9:
            _diff(report, p, "momentum (running stats)", k.momentum, m.momentum,
                  f"torch momentum = 1 - Keras momentum: momentum={1 - k.momentum:g}")


def _same(report: PortReport, p: _Pair, what: str, kv: Any, tv: Any, fix: str) -> None:
    if kv != tv:
        _diff(report, p, what, kv, tv, f"on the torch side: {fix}")


def _activation(report: PortReport, p: _Pair, k: Any, nexts: dict[int, Any]) -> None:
    act = getattr(getattr(k, "activation", None), "__name__", "linear")
    if act == "linear":
        return
    nxt = nexts.get(id(p.module))
    want = _ACT.get(act, act)
    got = type(nxt).__name__ if nxt is not None else None
    if got != want:
        _diff(report, p, "activation", act, got or "none",
              f"follow the torch layer with nn.{want}() (or apply torch.{act} in forward)")


def _compare_flow(keras_model: Any, torch_model: Any, pairs: list[_Pair], report: PortReport) -> None:
    """What only the forward shows: the shapes passed between layers, and the final output."""
    shapes = _torch_shapes(keras_model, torch_model)
    if shapes is None:
        return
    for idx, p in enumerate(pairs):
        k_last = p.keras[-1]
        cell = _rnn_cell(k_last)
        if _kind(k_last) not in ("LSTM", "GRU", "SimpleRNN") or getattr(cell, "return_sequences", True):
            continue
        nxt = pairs[idx + 1] if idx + 1 < len(pairs) else None
        if nxt is None:
            continue
        got = shapes.get(id(nxt.module))
        if got is not None and len(got) == 3:
            bidir = type(k_last).__name__ == "Bidirectional"
            fix = ("use torch.cat((h_n[-2], h_n[-1]), dim=1): for a bidirectional layer the last "
                   "step of `output` is not what Keras returns" if bidir else
                   "take the last step: out[:, -1] (batch_first) / out[-1], or h_n[-1]")
            _diff(report, p, "what is returned", "last step only (return_sequences=False)",
                  f"all steps reach {type(nxt.module).__name__} '{nxt.name}' {tuple(got)}", fix)
    k_out = tuple(2 if s is None else s for s in keras_model.outputs[0].shape) if keras_model.outputs else None
    t_out = shapes.get("__output__")
    if k_out is not None and t_out is not None and tuple(t_out) != k_out:
        report.differences.append(Difference(
            f"model '{keras_model.name}' output", "torch forward output",
            "output shape for a probe batch of 2", k_out, tuple(t_out),
            "make the torch forward return what the Keras model returns (see the differences above)"))


def _torch_input(keras_model: Any, torch_model: Any, x: Any) -> Any:
    """Keras-layout data, laid out for the torch model's first module."""
    import torch

    mods = _torch_modules(torch_model)
    t = torch.as_tensor(np.asarray(x))
    if not mods:
        return t
    first = mods[0][1]
    cls = type(first).__name__
    if cls == "Conv2d" and t.dim() == 4:
        return t.permute(0, 3, 1, 2).contiguous()
    if cls == "Conv1d" and t.dim() == 3:
        return t.permute(0, 2, 1).contiguous()
    if cls in ("LSTM", "GRU", "RNN") and not first.batch_first and t.dim() == 3:
        return t.transpose(0, 1).contiguous()
    return t


def _torch_shapes(keras_model: Any, torch_model: Any) -> dict[Any, Any] | None:
    """Input shape of each weighted torch module, and the output, on fake tensors."""
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    from .frameworks.torch import _quiet

    try:
        shape = tuple(2 if s is None else s for s in keras_model.inputs[0].shape)
    except Exception:
        return None
    seen: dict[Any, Any] = {}
    handles = []
    for _, m in _torch_modules(torch_model):
        def hook(mod: Any, args: Any, _m: Any = m) -> None:
            if args and hasattr(args[0], "shape"):
                seen.setdefault(id(_m), tuple(args[0].shape))
        handles.append(m.register_forward_pre_hook(hook))
    try:
        x = _torch_input(keras_model, torch_model, np.zeros(shape, np.float32))
        with _quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            out = torch_model(torch.empty(tuple(x.shape), dtype=x.dtype))
        o = out[0] if isinstance(out, (tuple, list)) else out
        seen["__output__"] = tuple(o.shape)
    except Exception:
        return seen or None
    finally:
        for h in handles:
            h.remove()
    return seen


def _next_siblings(torch_model: Any) -> dict[int, Any]:
    """For each module, the module registered right after it in its parent (forward order in
    an nn.Sequential; registration order in a custom module, which usually matches)."""
    nexts: dict[int, Any] = {}
    for parent in torch_model.modules():
        kids = list(parent.children())
        for a, b in zip(kids, kids[1:]):
            nexts.setdefault(id(a), b)
    return nexts


# ----------------------------------------------------------------------- weights
def transfer_weights(keras_model: Any, torch_model: Any, direction: str = "keras_to_torch") -> None:
    """Copy every paired layer's weights across, converting layouts and gate orders.

    `direction` is `keras_to_torch` (default) or `torch_to_keras`. Raises ValueError naming the
    pair when shapes cannot match (run `compare` for the full list of differences).
    """
    if direction not in ("keras_to_torch", "torch_to_keras"):
        raise ValueError("direction is 'keras_to_torch' or 'torch_to_keras'")
    report = PortReport()
    pairs = _pair(keras_model, torch_model, report)
    flat_from = _flatten_sources(keras_model)
    for p in pairs:
        _transfer(p, direction, flat_from)


def _flatten_sources(keras_model: Any) -> dict[int, tuple[int, ...]]:
    """For each Dense fed by a Flatten of a channels_last conv/pool map: that map's shape.

    torch's port flattens the channels-first map (nn.Flatten after nn.Conv), so the Dense rows
    come in (c, h, w) order there and (h, w, c) in Keras. A Flatten of anything else (an
    embedding, a sequence) flattens the same order on both sides and is left alone."""
    out: dict[int, tuple[int, ...]] = {}
    seq = list(keras_model.layers)
    for i, layer in enumerate(seq):
        if type(layer).__name__ != "Dense" or i < 2 or type(seq[i - 1]).__name__ != "Flatten":
            continue
        src = seq[i - 2]
        spatial = "Conv" in type(src).__name__ or "Pooling" in type(src).__name__
        if spatial and getattr(src, "data_format", "channels_last") == "channels_last":
            out[id(layer)] = tuple(seq[i - 1].input.shape[1:])
    return out


def _t(x: Any) -> Any:
    import torch

    return torch.as_tensor(np.ascontiguousarray(x), dtype=torch.float32)


def _set(param: Any, value: np.ndarray, what: str) -> None:
    import torch

    if tuple(param.shape) != value.shape:
        raise ValueError(f"{what}: torch expects {tuple(param.shape)}, the converted Keras weight "
                         f"is {value.shape}")
    with torch.no_grad():
        param.copy_(torch.as_tensor(np.ascontiguousarray(value), dtype=param.dtype))


def _np(x: Any) -> np.ndarray:
    return np.asarray(x.detach().cpu().numpy() if hasattr(x, "detach") else x)


def _gru_reorder(w: np.ndarray, axis: int, to_torch: bool) -> np.ndarray:
    """Keras z,r,h <-> torch r,z,n along `axis` (the same swap both ways)."""
    a, b, c = np.split(w, 3, axis=axis)
    return np.concatenate([b, a, c], axis=axis)


def _transfer(p: _Pair, direction: str, flat_from: dict[int, tuple[int, ...]]) -> None:
    k, m = p.keras[0], p.module
    kind = _kind(k)
    to_torch = direction == "keras_to_torch"
    where = f"{type(k).__name__} '{k.name}' -> {type(m).__name__} '{p.name}'"
    if kind == "Dense":
        kernel = _np(k.kernel)
        hwc = flat_from.get(id(k))
        if to_torch:
            if hwc is not None:  # rows in (h, w, c) order -> (c, h, w)
                nd = len(hwc)
                kernel = kernel.reshape(*hwc, -1).transpose(nd - 1, *range(nd - 1), nd).reshape(kernel.shape)
            _set(m.weight, kernel.T, where + " weight")
            if k.use_bias:
                _set(m.bias, _np(k.bias), where + " bias")
        else:
            w = _np(m.weight).T
            if hwc is not None:
                nd = len(hwc)
                chw = (hwc[-1], *hwc[:-1])
                w = w.reshape(*chw, -1).transpose(*range(1, nd), 0, nd).reshape(w.shape)
            k.kernel.assign(w)
            if k.use_bias:
                k.bias.assign(_np(m.bias))
    elif kind in ("Conv1D", "Conv2D"):
        nd = 3 if kind == "Conv1D" else 4  # Keras (k..., in, out) <-> torch (out, in, k...)
        perm = (2, 1, 0) if nd == 3 else (3, 2, 0, 1)
        inv = tuple(int(i) for i in np.argsort(perm))
        if to_torch:
            _set(m.weight, _np(k.kernel).transpose(perm), where + " weight")
            if k.use_bias:
                _set(m.bias, _np(k.bias), where + " bias")
        else:
            k.kernel.assign(_np(m.weight).transpose(inv))
            if k.use_bias:
                k.bias.assign(_np(m.bias))
    elif kind == "Embedding":
        if to_torch:
            _set(m.weight, _np(k.embeddings), where)
        else:
            k.embeddings.assign(_np(m.weight))
    elif kind == "BatchNormalization":
        names = (("gamma", "weight"), ("beta", "bias"), ("moving_mean", "running_mean"),
                 ("moving_variance", "running_var"))
        for kn, tn in names:
            kv, tv = getattr(k, kn), getattr(m, tn)
            if kv is None or tv is None:
                continue
            if to_torch:
                _set(tv, _np(kv), f"{where} {kn}")
            else:
                kv.assign(_np(tv))
    else:
        for layer_index, layer in enumerate(p.keras):
            dirs = ([layer.forward_layer, layer.backward_layer]
                    if type(layer).__name__ == "Bidirectional" else [layer])
            for d, rnn in enumerate(dirs):
                suffix = f"_l{layer_index}" + ("_reverse" if d == 1 else "")
                _transfer_rnn(rnn, m, suffix, kind, to_torch, where)


def _transfer_rnn(rnn: Any, m: Any, suffix: str, kind: str, to_torch: bool, where: str) -> None:
    cell = rnn.cell
    w_ih, w_hh = getattr(m, "weight_ih" + suffix), getattr(m, "weight_hh" + suffix)
    b_ih, b_hh = getattr(m, "bias_ih" + suffix, None), getattr(m, "bias_hh" + suffix, None)
    if kind == "GRU" and not cell.reset_after:
        raise ValueError(f"{where}: a Keras GRU with reset_after=False has no torch equivalent; "
                         "build it with reset_after=True")
    gru = kind == "GRU"
    if to_torch:
        kernel, rec = _np(cell.kernel), _np(cell.recurrent_kernel)
        if gru:
            kernel, rec = _gru_reorder(kernel, 1, True), _gru_reorder(rec, 1, True)
        _set(w_ih, kernel.T, f"{where} weight_ih{suffix}")
        _set(w_hh, rec.T, f"{where} weight_hh{suffix}")
        if cell.use_bias and b_ih is not None:
            bias = _np(cell.bias)
            if gru:  # (2, 3u): input bias, recurrent bias
                _set(b_ih, _gru_reorder(bias[0], 0, True), f"{where} bias_ih{suffix}")
                _set(b_hh, _gru_reorder(bias[1], 0, True), f"{where} bias_hh{suffix}")
            else:  # Keras has one bias: put it on the input side
                _set(b_ih, bias, f"{where} bias_ih{suffix}")
                _set(b_hh, np.zeros_like(bias), f"{where} bias_hh{suffix}")
    else:
        kernel, rec = _np(w_ih).T, _np(w_hh).T
        if gru:
            kernel, rec = _gru_reorder(kernel, 1, False), _gru_reorder(rec, 1, False)
        cell.kernel.assign(kernel)
        cell.recurrent_kernel.assign(rec)
        if cell.use_bias and b_ih is not None:
            if gru:
                cell.bias.assign(np.stack([_gru_reorder(_np(b_ih), 0, False),
                                           _gru_reorder(_np(b_hh), 0, False)]))
            else:  # torch's two biases add up to Keras's one
                cell.bias.assign(_np(b_ih) + _np(b_hh))


# ---------------------------------------------------------------------- equivalence
@dataclass
class Equivalence:
    """`assert_equivalent`'s answer: the largest difference per output, and where it starts."""

    max_abs_diff: list[float]
    atol: float
    first_divergence: str | None = None

    @property
    def ok(self) -> bool:
        return all(d <= self.atol for d in self.max_abs_diff)

    def __str__(self) -> str:
        diffs = ", ".join(f"{d:.3g}" for d in self.max_abs_diff)
        text = f"max |keras - torch| per output: {diffs} (atol {self.atol:g})"
        if self.first_divergence:
            text += f"\n  first divergence: {self.first_divergence}"
        return text


class PortMismatch(AssertionError):
    """The Keras model and its PyTorch port disagree (see `.report`)."""

    def __init__(self, report: Equivalence | str, compared: PortReport | None = None) -> None:
        self.report = report
        self.compared = compared
        text = str(report)
        if compared is not None and compared.differences:
            text += "\n" + str(compared)
        super().__init__(text)


def assert_equivalent(keras_model: Any, torch_model: Any, sample: Any = None,
                      atol: float = 1e-5, seed: int = 0) -> Equivalence:
    """Run both models on the same input (laid out for each) and compare their outputs.

    `sample` is Keras-layout data; by default 2 random samples of the model's input shape.
    Raises `PortMismatch` (an AssertionError) naming the first diverging layer pair and the
    contract differences `compare` finds; returns the `Equivalence` on success.
    """
    import torch

    if sample is None:
        shape = tuple(2 if s is None else s for s in keras_model.inputs[0].shape)
        sample = np.random.default_rng(seed).standard_normal(shape).astype(np.float32)
    x = np.asarray(sample, np.float32)
    k_out = [np.asarray(keras_model(x))]
    torch_model.eval()
    with torch.no_grad():
        t = torch_model(_torch_input(keras_model, torch_model, x))
    t_out = [_np(t[0] if isinstance(t, (tuple, list)) else t)]
    diffs = []
    for a, b in zip(k_out, t_out):
        if a.shape != b.shape:
            raise PortMismatch(f"output shapes differ: Keras {a.shape}, torch {b.shape}",
                               compare(keras_model, torch_model))
        diffs.append(float(np.max(np.abs(a - b))) if a.size else 0.0)
    eq = Equivalence(diffs, atol)
    if not eq.ok:
        eq.first_divergence = _first_divergence(keras_model, torch_model, x, atol)
        raise PortMismatch(eq, compare(keras_model, torch_model))
    return eq


def _first_divergence(keras_model: Any, torch_model: Any, x: np.ndarray, atol: float) -> str | None:
    import keras
    import torch

    report = PortReport()
    pairs = _pair(keras_model, torch_model, report)
    layers = [p.keras[-1] for p in pairs]
    try:
        probe = keras.Model(keras_model.inputs, [layer.output for layer in layers])
        k_outs = probe(x)
        k_outs = [np.asarray(o) for o in (k_outs if isinstance(k_outs, (list, tuple)) else [k_outs])]
    except Exception:
        return None
    t_outs: dict[int, Any] = {}
    handles = [p.module.register_forward_hook(
        lambda mod, args, out, _i=i: t_outs.setdefault(_i, out)) for i, p in enumerate(pairs)]
    try:
        with torch.no_grad():
            torch_model(_torch_input(keras_model, torch_model, x))
    finally:
        for h in handles:
            h.remove()
    for i, (p, ko) in enumerate(zip(pairs, k_outs)):
        to = t_outs.get(i)
        if to is None:
            continue
        to = _np(to[0] if isinstance(to, (tuple, list)) else to)
        to = _keras_layout(p, to, ko)
        if to is None:
            continue
        d = float(np.max(np.abs(ko - to)))
        if d > atol:
            return (f"{type(p.keras[-1]).__name__} '{p.keras[-1].name}' <-> "
                    f"{type(p.module).__name__} '{p.name}': max |diff| {d:.3g}")
    return None


def _keras_layout(p: _Pair, to: np.ndarray, ko: np.ndarray) -> np.ndarray | None:
    """A torch layer output rearranged like the Keras layer's output, or None if incomparable."""
    kind = _kind(p.keras[-1])
    if kind in ("Conv1D", "Conv2D") and to.ndim == ko.ndim:
        to = np.moveaxis(to, 1, -1)
    if kind in ("LSTM", "GRU", "SimpleRNN"):
        if not p.module.batch_first and to.ndim == 3:
            to = to.transpose(1, 0, 2)
        if ko.ndim == 2 and to.ndim == 3:
            if type(p.keras[-1]).__name__ == "Bidirectional":
                return None  # Keras's backward half is not torch's last step
            to = to[:, -1]
    return to if to.shape == ko.shape else None
