"""torch module kinds: one object per kind, all the library knows of it (layer L6).

Design rules:
- A `TorchKind` covers torch classes by name and says how the module's attributes state its
  input, `hx` and output specs (`specs`), what fixes its last output axis, how a shape goes
  through it by arithmetic, how torch's rejection of an input is explained, its knobs
  (`kinds.Knob`) and its port pairing (`pairing.TorchPort`). The contract, the verdict and
  the port read these objects; nothing elsewhere branches on a kind's name.
- `kind_of(m)` looks a module up along its MRO (a subclass overriding `forward` is custom);
  `register(kind)` adds one. Losses are kinds too (`losses.py`).
- torch is imported inside functions only: kinds key torch classes by name.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from ..._contract import Slot
from ..._dims import Anon, Fixed, Named, Variadic
from ..._errors import Fix, Origin, Reason
from ..._spec import ArraySpec, OneOf, TupleSpec
from ...fixes import SetSetting
from ..kinds import TORCH_KINDS, Knob, LayerKind
from ..pairing import SEQUENCE, Channels, TorchPort
from .scaffold import SCAFFOLDS as S

__all__ = ["GENERIC", "KINDS", "MODULES", "ConvKind", "ElementwiseKind", "LinearKind",
           "RNNKind", "SequentialKind", "Specs", "TorchKind", "first_known", "is_torch_module",
           "kind_of", "known", "register", "rule_of", "torch_class", "unregister", "who"]

KINDS = TORCH_KINDS
"""Every torch kind, by torch class name."""

MODULES = KINDS.view("contract")
"""torch class name -> kind, for the kinds that state a contract (`rule_of` looks them up)."""


def is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _float() -> tuple[frozenset[str], str]:
    import jaxtyping

    return frozenset(jaxtyping.Float.dtypes), "Float"  # type: ignore[attr-defined]


def _integer() -> tuple[frozenset[str], str]:
    import jaxtyping

    return frozenset(jaxtyping.Integer.dtypes), "Integer"  # type: ignore[attr-defined]


def _spec(dims: list[Any], origins: list[Origin | None], dtype: tuple[frozenset[str] | None, str],
          advice: tuple[str, ...] = ()) -> ArraySpec:
    import torch

    return ArraySpec(tuple(dims), dtype[0], dtype[1], (torch.Tensor,), origins=tuple(origins),
                     advice=advice)


def _shaped() -> tuple[None, str]:
    return None, "Shaped"


Specs = tuple[Any, Any, Any]
"""(input spec, hx spec or None, output spec or None)."""



def who(cls: str, name: str) -> str:
    """`LSTM 'encoder'`: a module as messages and origins name it."""
    return f"{cls} '{name}'" if name else cls


_who = who


def _rnn(m: Any, name: str, cls: str) -> Specs:
    """nn.LSTM / nn.GRU / nn.RNN: input, optional hx, output."""
    lstm = cls == "LSTM"
    who = _who(cls, name)
    D = 2 if m.bidirectional else 1
    L = m.num_layers
    proj = getattr(m, "proj_size", 0) or 0
    h_out = proj if proj > 0 else m.hidden_size
    f = _float()
    o_feat = Origin.of_layer(who, "input_size")
    o_dl = Origin(f"{who} num_layers={L} x {'2 directions' if D == 2 else '1 direction'}",
                  "layer", who, "num_layers", f"x {D} direction(s)")
    o_h = Origin.of_layer(who, "proj_size" if proj > 0 else "hidden_size")
    o_c = Origin.of_layer(who, "hidden_size")
    feat = Fixed(m.input_size, False, "features")
    dl = Fixed(D * L, False, "directions*layers")
    advice: tuple[str, ...] = ()
    if m.batch_first:
        batched = [Named("batch"), Named("timesteps"), feat]
        out_b = [Named("batch"), Named("timesteps"), Fixed(D * h_out, False, "units")]
    else:
        batched = [Named("timesteps"), Named("batch"), feat]
        out_b = [Named("timesteps"), Named("batch"), Fixed(D * h_out, False, "units")]
        advice = (f"nn.{who} has batch_first=False: it reads axis 0 as time and axis 1 "
                  f"as batch. If your data is batch-major (batch, timesteps, features), build it "
                  f"with nn.{cls}(..., batch_first=True), or pass x.transpose(0, 1)",)
    unbatched = [Named("timesteps"), feat]
    inp = OneOf((_spec(batched, [None, None, o_feat], f, advice),
                 _spec(unbatched, [None, o_feat], f, advice)))
    h = OneOf((_spec([dl, Named("batch"), Fixed(h_out, False, "units")], [o_dl, None, o_h], f),
               _spec([dl, Fixed(h_out, False, "units")], [o_dl, o_h], f)))
    c = OneOf((_spec([dl, Named("batch"), Fixed(m.hidden_size, False, "hidden")], [o_dl, None, o_c], f),
               _spec([dl, Fixed(m.hidden_size, False, "hidden")], [o_dl, o_c], f)))
    hx = TupleSpec((h, c), optional=True) if lstm else OneOf(h.options, optional=True)
    out = OneOf((_spec(out_b, [None, None, o_h], _shaped()),
                 _spec([Named("timesteps"), Fixed(D * h_out, False, "units")], [None, o_h], _shaped())))
    h_n = OneOf(tuple(ArraySpec(o.dims, None, "Shaped", o.array_types, origins=o.origins) for o in h.options))
    if lstm:
        c_n = OneOf(tuple(ArraySpec(o.dims, None, "Shaped", o.array_types, origins=o.origins)
                          for o in c.options))
        outputs = TupleSpec((out, TupleSpec((h_n, c_n))))
    else:
        outputs = TupleSpec((out, h_n))
    return inp, hx, outputs


def _linear(m: Any, name: str, cls: str) -> Specs:
    who = _who(cls, name)
    inp = _spec([Variadic("batch"), Fixed(m.in_features, False, "features")],
                [None, Origin.of_layer(who, "in_features")], _float())
    out = _spec([Variadic("batch"), Fixed(m.out_features, False, "units")],
                [None, Origin.of_layer(who, "out_features")], _shaped())
    return inp, None, out


def _conv(m: Any, name: str, cls: str) -> Specs:
    who = _who(cls, name)
    o = Origin.of_layer(who, "in_channels")
    oo = Origin.of_layer(who, "out_channels")
    spatial = ["length"] if len(m.kernel_size) == 1 else ["height", "width"]
    none = [None] * len(spatial)
    ch = Fixed(m.in_channels, False, "channels")
    f = _float()
    batched = _spec([Named("batch"), ch, *map(Named, spatial)], [None, o, *none], f)
    single = _spec([ch, *map(Named, spatial)], [o, *none], f)
    oc = Fixed(m.out_channels, False, "channels")
    out_dims = [Named(f"out_{s}") for s in spatial]
    ob = _spec([Named("batch"), oc, *out_dims], [None, oo, *none], _shaped())
    osg = _spec([oc, *out_dims], [oo, *none], _shaped())
    return OneOf((batched, single)), None, OneOf((ob, osg))


def _embedding(m: Any, name: str, cls: str) -> Specs:
    inp = _spec([Variadic("batch")], [None], _integer())
    out = _spec([Variadic("batch"), Fixed(m.embedding_dim, False, "features")],
                [None, Origin.of_layer(_who(cls, name), "embedding_dim")], _shaped())
    return inp, None, out


def _flatten(m: Any, name: str, cls: str) -> Specs:
    if m.start_dim >= 1:  # torch needs more than start_dim axes
        dims: list[Any] = [Named("batch"), *[Anon("_")] * m.start_dim, Variadic(None)]
    else:
        dims = [Variadic(None)]
    return _spec(dims, [None] * len(dims), _shaped()), None, None


class TorchKind(LayerKind):
    """A torch module kind. The base class's behaviour is a module the library has no kind
    for: no specs of its own (torch itself is asked), no arithmetic, torch's own words."""

    framework = "torch"
    container = False
    """Its input is its first child's (nn.Sequential)."""
    passthrough = False
    """Its output has its input's shape (activations, dropout, normalisation): a container's
    input is read past it."""

    def __init__(self, kind: str | None, classes: tuple[str | type, ...] | str | type, *,
                 specs: Callable[[Any, str, str], Specs] | None = None,
                 first_input: bool = True,
                 slots: Callable[[Any, str], list[Slot]] | None = None,
                 complete: bool = True, eager_verdict: bool = False,
                 prepare: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
                 **kw: Any) -> None:
        super().__init__(kind, classes, **kw)
        self.specs = specs
        """(module, its name, the torch class name) -> (input, hx or None, output or None)
        specs, from its attributes."""
        self.first_input = first_input
        """Its input contract can stand for a container's input (not so for Flatten)."""
        self.slots = slots
        """For modules whose forward takes other arguments than (input[, hx]) (losses): their
        slots, named as torch names the forward's parameters."""
        self.complete = complete
        """Its slots state every relation between its inputs. When not (a class loss: an
        unbatched (C,) score takes a () or (1,) target only, which slot alternatives chosen per
        slot cannot tie together), torch's own verdict decides the rest once the slots hold."""
        self.eager_verdict = eager_verdict
        """torch's verdict is asked on real zeros (cheap: one pass of a loss), not fake
        tensors, which skip some of torch's checks (an integer BCELoss target) and refuse what
        eager torch takes (a (C,) score with a (1,) target). Not for CTCLoss: its lengths are
        values."""
        self.prepare = prepare
        """The call's arguments as the contract checks them (an RNN's PackedSequence: its data)."""

    def shape_through(self, m: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
        """The output shape for `shape`, by arithmetic; None when it takes tracing."""
        return shape if self.passthrough else None

    def fixed_input(self, m: Any) -> tuple[str, int] | None:
        """(attribute, size) when an attribute fixes the size of the input's last axis that a
        container's earlier layers must produce (a Linear after a Flatten: in_features)."""
        return None

    def explain_rejection(self, m: Any, label: str, shape: Any,
                          fitting: Callable[[str, int], tuple[int, ...] | None],
                          fixes: list[Fix]) -> Reason | None:
        """Why torch rejects `shape` at this module (`label` names it), with `fixes`; None to
        say it in torch's own words. `fitting(attribute, size)` finds the model input that
        gives this module that size."""
        return None


GENERIC = TorchKind(None, ())
"""The kind of a module no registered kind covers."""


class RNNKind(TorchKind):
    pass


class LinearKind(TorchKind):
    def shape_through(self, m: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
        if shape and shape[-1] == m.in_features:
            return (*shape[:-1], m.out_features)
        return None

    def fixed_input(self, m: Any) -> tuple[str, int] | None:
        return "in_features", int(m.in_features)

    def explain_rejection(self, m: Any, label: str, shape: Any,
                          fitting: Callable[[str, int], tuple[int, ...] | None],
                          fixes: list[Fix]) -> Reason | None:
        if not shape or shape[-1] == m.in_features:
            return None
        got = shape[-1]
        msg = (f"{label} takes in_features={m.in_features}; the layers before it give {got} "
               f"(its input is {shape})")
        fit = fitting("in_features", m.in_features)
        if fit is not None:
            fixes.append(Fix(f"an input of shape {fit} fits this model (resize or crop the data "
                             "to it)", "advice"))
        fixes.append(Fix(f"or build the layer for this input: nn.Linear({got}, "
                         f"{m.out_features})", "advice", None,
                         SetSetting(label, "Linear", "in_features", got)))
        return Reason(msg, label, tuple(fixes))


class ConvKind(TorchKind):
    def explain_rejection(self, m: Any, label: str, shape: Any,
                          fitting: Callable[[str, int], tuple[int, ...] | None],
                          fixes: list[Fix]) -> Reason | None:
        if shape and len(shape) > len(m.kernel_size) and (
                shape[-len(m.kernel_size) - 1] != m.in_channels):
            return Reason(f"{label} takes in_channels={m.in_channels}; its input is {shape}",
                          label, tuple(fixes))
        return None


class SequentialKind(TorchKind):
    container = True


class ElementwiseKind(TorchKind):
    passthrough = True


def register(kind: TorchKind, *, replace: bool = False) -> TorchKind:
    """Register a torch module kind under its class names (a user's module class: its own
    name). Contracts, guards, verdicts and the port read it from then on."""
    if not isinstance(kind, TorchKind):
        raise TypeError(f"register takes a TorchKind, not {type(kind).__name__}")
    KINDS.register(kind, replace=replace)
    return kind


def unregister(kind: TorchKind) -> None:
    KINDS.unregister(kind)


def rule_of(m: Any) -> TorchKind | None:
    """The module's kind, if one states its contract (along the MRO), else None."""
    return KINDS.lookup(m, "contract")  # type: ignore[return-value]


def kind_of(m: Any, aspect: str = "contract") -> TorchKind:
    """The module's kind for `aspect` along its MRO; `GENERIC` when none has it."""
    found = KINDS.lookup(m, aspect)
    return found if isinstance(found, TorchKind) else GENERIC


def torch_class(m: Any, aspect: str = "contract") -> str:
    """The torch class the module is (its kind's class along the MRO), for messages."""
    return KINDS.class_name(m, aspect) or type(m).__name__


_torch_class = torch_class


def known(m: Any, name: str) -> Specs | None:
    """(input spec, hx spec or None, output spec or None) for modules known by their attributes."""
    rule = rule_of(m)
    if rule is None or rule.specs is None:
        return None
    return rule.specs(m, name, _torch_class(m))


def first_known(m: Any) -> tuple[str, Any] | None:
    """The submodule whose input contract stands for `m`'s: in a container the first child that
    does not pass its input through (if it states one); in other modules the first registered
    module that states one (registration order usually follows forward order; a note says so)."""
    if kind_of(m).container:
        for name, sub in m.named_children():
            sub_kind = kind_of(sub)
            if sub_kind.passthrough:
                continue
            if sub_kind.container:
                inner = first_known(sub)
                return None if inner is None else (f"{name}.{inner[0]}", inner[1])
            if sub_kind.specs is not None:
                return name, sub
            return None
        return None
    for name, sub in m.named_modules():
        if sub is m:
            continue
        rule = rule_of(sub)
        if rule is not None and rule.specs is not None and rule.first_input:
            return name, sub
    return None


def unpack(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """An RNN's PackedSequence input is checked by its data: (total steps, features), which the
    unbatched form of the input contract states."""
    if args and type(args[0]).__name__ == "PackedSequence":
        return (args[0].data, *args[1:])
    return args


# ------------------------------------------------------------------------------ knobs
def _k(name: str, governs: str, side: str = "output", position: int | None = None,
       attribute: str | None = None, doc: str = "") -> Knob:
    return Knob(name, governs, side, attribute, position, doc=doc)


def _rnn_knobs(lstm: bool) -> tuple[Knob, ...]:
    return (_k("input_size", "features", "input", 0, doc="the features each step takes"),
            _k("hidden_size", "units", "output", 1),
            _k("num_layers", "directions*layers", "output", 2),
            _k("bidirectional", "directions*layers", "output",
               doc="two directions: doubles the units and the state's first axis"),
            _k("batch_first", "layout", "both",
               doc="True: (batch, timesteps, features); False: (timesteps, batch, features)"),
            *((_k("proj_size", "units", "output"),) if lstm else ()))


_CONV_KNOBS = (_k("in_channels", "channels", "input", 0), _k("out_channels", "channels", "output", 1),
               _k("kernel_size", "spatial", "output", 2), _k("stride", "spatial", "output", 3),
               _k("padding", "spatial", "output", 4), _k("dilation", "spatial", "output", 5))

_ACTIVATION = TorchPort("activation", paired=False)
"""Not paired: what `port.compare` looks for after a Keras layer with `activation=`."""

_BUILTIN: list[TorchKind] = [
    RNNKind("rnn", "LSTM", specs=_rnn, output_attr="hidden_size", knobs=_rnn_knobs(True),
            prepare=unpack, port=TorchPort("lstm", stacks=True, layout=SEQUENCE),
            scaffold=S["rnn"]),
    RNNKind("rnn", "GRU", specs=_rnn, output_attr="hidden_size", knobs=_rnn_knobs(False),
            prepare=unpack, port=TorchPort("gru", stacks=True, layout=SEQUENCE),
            scaffold=S["rnn"]),
    RNNKind("rnn", "RNN", specs=_rnn, output_attr="hidden_size", knobs=_rnn_knobs(False),
            prepare=unpack, port=TorchPort("simple_rnn", stacks=True, layout=SEQUENCE),
            scaffold=S["rnn"]),
    LinearKind("linear", "Linear", specs=_linear, output_attr="out_features",
               knobs=(_k("in_features", "features", "input", 0),
                      _k("out_features", "units", "output", 1)),
               port=TorchPort("dense"), scaffold=S["linear"]),
    ConvKind("conv", "Conv1d", specs=_conv, output_attr="out_channels", knobs=_CONV_KNOBS,
             port=TorchPort("conv1d", layout=Channels(3)), scaffold=S["conv"]),
    ConvKind("conv", "Conv2d", specs=_conv, output_attr="out_channels", knobs=_CONV_KNOBS,
             port=TorchPort("conv2d", layout=Channels(4)), scaffold=S["conv"]),
    TorchKind("embedding", "Embedding", specs=_embedding, output_attr="embedding_dim",
              knobs=(_k("num_embeddings", "vocab", "input", 0, doc="ids must be below it"),
                     _k("embedding_dim", "features", "output", 1)),
              port=TorchPort("embedding"), scaffold=S["embedding"]),
    TorchKind("flatten", "Flatten", specs=_flatten, first_input=False,
              knobs=(_k("start_dim", "rank", "output", 0), _k("end_dim", "rank", "output", 1)),
              scaffold=S["flatten"]),
    SequentialKind("sequential", "Sequential"),
    *[ElementwiseKind("elementwise", n, port=_ACTIVATION, scaffold=S.get(n.lower()))
      for n in ("ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Tanh", "Sigmoid",
                "Softmax", "Softplus")],
    ElementwiseKind("elementwise", "Dropout", scaffold=S["dropout"]),
    ElementwiseKind("elementwise", ("Mish", "LogSoftmax", "Identity", "Hardtanh", "PReLU")),
    ElementwiseKind("elementwise", "LayerNorm", port=TorchPort("layernorm"), scaffold=S["layernorm"],
                    knobs=(_k("normalized_shape", "features", "input", 0),)),
    ElementwiseKind("elementwise", "BatchNorm1d", port=TorchPort("batchnorm", layout=Channels(3)),
                    scaffold=S["batchnorm"],
                    knobs=(_k("num_features", "channels", "input", 0),)),
    # known to the port only
    TorchKind(None, "BatchNorm2d", port=TorchPort("batchnorm", layout=Channels(4)),
              scaffold=S["batchnorm"],
              knobs=(_k("num_features", "channels", "input", 0),)),
    # known to the scaffold only (pooling: written as Keras pooling)
    TorchKind(None, ("MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d"), scaffold=S["pool"],
              knobs=(_k("kernel_size", "spatial", "output", 0), _k("stride", "spatial", "output", 1),
                     _k("padding", "spatial", "output", 2))),
    TorchKind(None, ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d",
                     "AdaptiveMaxPool2d"), scaffold=S["adaptive_pool"],
              knobs=(_k("output_size", "spatial", "output", 0),)),
    # nn.MultiheadAttention's out_proj: a Linear inside a module the port does not pair
    TorchKind(None, "NonDynamicallyQuantizableLinear",
              port=TorchPort("attention_projection", paired=False)),
]
for _kind in _BUILTIN:
    register(_kind)
