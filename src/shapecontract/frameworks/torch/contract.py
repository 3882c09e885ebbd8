"""PyTorch modules -> Contract, from their constructor arguments (and fake-tensor propagation).

Design rules:
- This module never imports torch at import time: it runs only once a torch module showed up.
- Module knowledge is one table, `MODULES`: a torch class name -> its rule (kind, how its
  attributes state its input/hx/output specs, which attribute fixes its last output axis),
  looked up along the MRO, so a subclass of `nn.LSTM` is an LSTM. Adding a module is one entry.
- Known modules state their contract from their attributes: nn.LSTM/GRU/RNN (input_size,
  hidden_size, num_layers, bidirectional, proj_size, batch_first; batched and unbatched input;
  optional hx/(h_0, c_0) and output/h_n/c_n), nn.Linear, nn.Conv1d/2d, nn.Embedding,
  nn.Flatten, nn.Sequential. Dims get canonical names; fixed sizes record structured origins.
- `batch_first=False` is stated, not hidden: the contract reads `(timesteps, batch, features)`,
  and a failure on it says how to fix either side.
- Any other module: its forward is run on fake tensors (no memory, no data) from a declared
  `input_shape`; the framework level's verdict runs forward on fake tensors too, cached per
  module by input shapes and dtypes.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._compile import Contract
from .._contract import LayerRow, Slot
from .._dims import Anon, Fixed, Named, Variadic, parse_dims
from .._errors import Fix, Origin
from .._slot import argument_slots, is_name
from .._spec import ArraySpec, OneOf, TupleSpec
from ._cache import bounded
from ._table import lookup

__all__ = ["MODULES", "TorchVerdict", "contract_of_torch", "is_torch_module", "rule_of"]

# Stand-in sizes for unknown dims during fake propagation: far apart, so that a conv or pool
# turning one into another is unlikely; shapes are fake, so size costs nothing.
# distinctive sizes (primes no layer is likely to fix); timesteps small enough that a fake
# nn.RNN/GRU, which torch unrolls step by step on fake tensors, stays fast (2003 steps took
# 10-60 s to guard a 2-layer GRU; 37 takes well under a second)
_STANDIN = {"batch": 1009, "timesteps": 37, "length": 3001, "height": 4001, "width": 5003}


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


def _who(cls: str, name: str) -> str:
    return f"{cls} '{name}'" if name else cls


Specs = tuple[Any, Any, Any]
"""(input spec, hx spec or None, output spec or None)."""


# ---------------------------------------------------------------------- known modules
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


@dataclass(frozen=True)
class ModuleRule:
    """What shapecontract knows of one torch module class."""

    kind: str
    """`rnn`, `linear`, `conv`, `embedding`, `flatten`, `elementwise` or `sequential`."""
    specs: Callable[[Any, str, str], Specs] | None = None
    """(module, its name, the torch class name) -> its specs, from its attributes."""
    output_attr: str | None = None
    """The attribute that fixes the last output axis (`hidden_size`, `out_features` ...)."""
    first_input: bool = True
    """Its input contract can stand for a container's input (not so for Flatten)."""
    slots: Callable[[Any, str], list[Slot]] | None = None
    """For modules whose forward takes other arguments than (input[, hx]) (losses): their
    slots, named as torch names the forward's parameters."""
    complete: bool = True
    """Its slots state every relation between its inputs. When not (a class loss: an unbatched
    (C,) score takes a () or (1,) target only, which slot alternatives chosen per slot cannot
    tie together), torch's own verdict decides the rest once the slots hold, at every level."""
    eager_verdict: bool = False
    """torch's verdict is asked on real zeros (cheap: one pass of a loss), not fake tensors,
    which skip some of torch's checks (an integer BCELoss target) and refuse what eager torch
    takes (a (C,) score with a (1,) target). Not for CTCLoss: its lengths are values."""


# ---------------------------------------------------------------------------- losses
def _f(dims: str, who: str, advice: str = "") -> ArraySpec:
    return _spec(list(parse_dims(dims)), [], _float(), (advice,) if advice else ())


def _i(dims: str, who: str, advice: str) -> ArraySpec:
    return _spec(list(parse_dims(dims)), [], _integer(), (advice,))


def _elementwise_loss(m: Any, cls: str) -> list[Slot]:
    """MSE, L1, SmoothL1, Huber, BCE, BCEWithLogits, KLDiv: input and target of one shape."""
    who = f"nn.{cls}"
    advice = (f"{who} compares input and target element by element, so they must have the same "
              "shape: torch would broadcast (N, 1) against (N,) into (N, N) and train on it "
              "(with a warning). Match them: target.unsqueeze(-1) or input.squeeze(-1)")
    spec = _f("*shape", who, advice)
    return [Slot("input", "array", spec), Slot("target", "array", spec)]


def _class_loss(m: Any, cls: str) -> list[Slot]:
    """CrossEntropy / NLL: scores (batch, classes, *d) or (classes,); targets of class indices
    (batch, *d) or (), or, for CrossEntropy, probabilities shaped like a batched input (the
    strict level does not state unbatched probabilities; the framework level takes them)."""
    who = f"nn.{cls}"
    idx = (f"{who} takes class indices as an integer tensor of shape (batch,): e.g. "
           "labels.long(), or labels.argmax(1) for one-hot labels")
    inp = OneOf((_f("classes", who), _f("batch classes *d", who)))
    options = [_i("batch *d", who, idx), _i("", who, idx)]
    if cls == "CrossEntropyLoss":  # probabilities (soft or one-hot labels), float, like input
        options += [_f("batch classes *d", who)]
    target = OneOf(tuple(options), by_dtype=True)
    return [Slot("input", "array", inp), Slot("target", "array", target)]


def _ctc_loss(m: Any, cls: str) -> list[Slot]:
    who = f"nn.{cls}"
    lengths = "input_lengths and target_lengths are integer tensors of shape (batch,)"
    targets = OneOf((_i("batch target_length", who, "targets: (batch, S) padded, or all "
                                                    "targets concatenated (sum(target_lengths),)"),
                     _i("total", who, "targets: (batch, S) padded, or all targets concatenated")))
    return [Slot("log_probs", "array", _f("timesteps batch classes", who)),
            Slot("targets", "array", targets),
            Slot("input_lengths", "array", _i("batch", who, lengths)),
            Slot("target_lengths", "array", _i("batch", who, lengths))]


def _loss(slots: Callable[[Any, str], list[Slot]], complete: bool = True,
          eager_verdict: bool = True) -> Any:
    return ModuleRule("loss", first_input=False, slots=slots, complete=complete,
                      eager_verdict=eager_verdict)


MODULES: dict[str, ModuleRule] = {
    "LSTM": ModuleRule("rnn", _rnn, "hidden_size"),
    "GRU": ModuleRule("rnn", _rnn, "hidden_size"),
    "RNN": ModuleRule("rnn", _rnn, "hidden_size"),
    "Linear": ModuleRule("linear", _linear, "out_features"),
    "Conv1d": ModuleRule("conv", _conv, "out_channels"),
    "Conv2d": ModuleRule("conv", _conv, "out_channels"),
    "Embedding": ModuleRule("embedding", _embedding, "embedding_dim"),
    "Flatten": ModuleRule("flatten", _flatten, first_input=False),
    "Sequential": ModuleRule("sequential"),
    **{n: _loss(_elementwise_loss) for n in ("MSELoss", "L1Loss", "SmoothL1Loss", "HuberLoss",
                                              "BCELoss", "BCEWithLogitsLoss", "KLDivLoss")},
    "CrossEntropyLoss": _loss(_class_loss, complete=False),
    "NLLLoss": _loss(_class_loss, complete=False),
    "CTCLoss": _loss(_ctc_loss, eager_verdict=False),
    **{n: ModuleRule("elementwise") for n in (
        "ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Tanh", "Sigmoid",
        "Softmax", "LogSoftmax", "Dropout", "Identity", "LayerNorm", "BatchNorm1d", "Hardtanh",
        "Softplus", "PReLU")},
}
"""torch class name -> rule. Looked up along the MRO (`rule_of`)."""


def rule_of(m: Any) -> ModuleRule | None:
    return lookup(m, MODULES, "torch")


def _torch_class(m: Any) -> str:
    from ._table import framework_class

    return framework_class(m, MODULES, "torch") or type(m).__name__


def _known(m: Any, name: str) -> Specs | None:
    """(input spec, hx spec or None, output spec or None) for modules known by their attributes."""
    rule = rule_of(m)
    if rule is None or rule.specs is None:
        return None
    return rule.specs(m, name, _torch_class(m))


def _first_known(m: Any) -> tuple[str, Any] | None:
    """The submodule whose input contract stands for `m`'s: in an nn.Sequential the first
    child that is not elementwise (if it states one); in other modules the first registered
    module that states one (registration order usually follows forward order; a note says so)."""
    rule = rule_of(m)
    if rule is not None and rule.kind == "sequential":
        for name, sub in m.named_children():
            sub_rule = rule_of(sub)
            if sub_rule is not None and sub_rule.kind == "elementwise":
                continue
            if sub_rule is not None and sub_rule.kind == "sequential":
                inner = _first_known(sub)
                return None if inner is None else (f"{name}.{inner[0]}", inner[1])
            if sub_rule is not None and sub_rule.specs is not None:
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


# --------------------------------------------------------------------------- contract
def contract_of_torch(m: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The Contract a torch module states through its attributes (and, with `input_shape`,
    what fake-tensor propagation of its forward shows)."""
    cls = type(m).__name__
    label = cls
    rule = rule_of(m)
    notes: list[str] = []
    known = _known(m, "") if input_shape is None else None
    guessed, guessed_from = False, ""
    slots: list[Slot] = []
    rows: list[LayerRow] = []
    if rule is not None and rule.slots is not None:
        slots = rule.slots(m, _torch_class(m))
        return Contract(label, tuple(slots), level=level, framework=TorchVerdict(m),
                        framework_name="PyTorch",
                        complete=rule.complete)
    if known is not None:
        inp, hx, out = known
        slots.append(Slot("input", "array", inp))
        if hx is not None:
            slots.append(Slot("hx", "array", hx, optional=True))
        if out is not None:
            slots.append(Slot("output", "array", out, loc=("output", None), output=True))
    else:
        if input_shape is not None:
            inp_spec = _spec_from_shape(m, tuple(input_shape))
        else:
            first = _first_known(m)
            if first is None:
                return _framework_only(m, label, level)
            inp_spec = _known(first[1], first[0])[0]  # type: ignore[index]
            if rule is None or rule.kind != "sequential":
                guessed = True
                guessed_from = _who(_torch_class(first[1]), first[0])
                notes.append(f"input contract guessed from the first submodule '{first[0]}': "
                             "a call is refused only if PyTorch rejects it too (pass "
                             "input_shape= to state the input)")
        slots.append(Slot(_first_param(m), "array", inp_spec))
        slots += argument_slots(m.forward, skip=1)  # lengths, hidden, ctx: torch's verdict
        shape = _standin_shape(inp_spec)
        if shape is not None:
            rows, out_shape = _propagate(m, shape)
            if out_shape is None and input_shape is None:
                fits = _sizes_that_fit(m, shape)
                notes.append(fits or "forward could not be propagated from stand-in sizes; "
                             "declare input_shape=(None, ...) to see per-layer shapes and the "
                             "output")
            if out_shape is not None:
                # a second propagation, with other stand-ins, tells derived sizes from fixed ones
                _, other = _propagate(m, tuple(s + 2 if s in _STANDIN.values() else s
                                               for s in shape))
                in_names = _names_of(inp_spec)
                same_rank = len(in_names) == len(out_shape)
                dims = []
                for k, size in enumerate(out_shape):
                    last = k == len(out_shape) - 1
                    fixed_name = "units" if last else (in_names[k] if same_rank else f"axis{k}")
                    derived = other is None or len(other) != len(out_shape) or other[k] != size
                    name = in_names[k] if same_rank and derived else fixed_name
                    dims.append(_dim_from_standin(size, name, derived))
                first_in = _first_dim(inp_spec)
                if isinstance(first_in, Variadic) and dims and dims[0] == Named("batch"):
                    dims[0] = first_in  # (*batch, features) in, (*batch, units) out
                origins: list[Origin | None] = [None] * len(dims)
                if rows and dims:
                    attr = MODULES[rows[-1].kind].output_attr if rows[-1].kind in MODULES else None
                    if attr:
                        origins[-1] = Origin.of_layer(f"{rows[-1].kind} '{rows[-1].name}'", attr)
                slots.append(Slot("output", "array", ArraySpec(tuple(dims), None, "Shaped", (Any,),
                                                               origins=tuple(origins)),
                                  loc=("output", None), output=True))
    if level == "framework":
        notes.append("framework level: torch itself decides on each input shape (fake tensors)")
    verdict = TorchVerdict(m, batch_axes=_batch_axes(slots[0].spec) if slots and
                           slots[0].kind == "array" else None)
    guessed = guessed and known is None
    if guessed:
        verdict.guessed_from = guessed_from
    return Contract(label, tuple(slots), layers=tuple(rows), level=level, notes=tuple(notes),
                    framework=verdict, framework_name="PyTorch",
                    complete=known is not None, guessed=guessed,
                    prepare=_unpack if known is not None and rule is not None
                    and rule.kind == "rnn" else None)


def _framework_only(m: Any, label: str, level: str) -> Contract:
    """A module of no known kind whose children state no input either (an `nn.LSTMCell`, a
    custom loss, a Sequential that starts with a padding layer): still guarded, at torch's own
    word. Every forward argument is a slot of any value, and torch is asked on fake tensors of
    each new signature (shapes and dtypes), so what torch rejects stops before the call."""
    slots = argument_slots(m.forward) or [Slot("input", "hint", None, Any)]
    note = (f"{type(m).__name__} states no input shape (no layer kind shapecontract knows comes "
            "first): PyTorch itself is asked on each new input signature (fake tensors); pass "
            "input_shape=(None, ...) to state one")
    return Contract(label, tuple(slots), level=level, notes=(note,), framework=TorchVerdict(m),
                    framework_name="PyTorch", complete=False)


def _batch_axes(spec: Any) -> int | None:
    """How many trailing axes an input spec keeps past its batch: `(*batch, features)` -> 1;
    0 when the batch is axis 0 alone (`(batch, c, h, w)`: all the others are kept); None when
    the batch does not lead (time-major) or is not named."""
    dims = getattr(spec, "dims", None)
    if not dims:
        return None
    if dims[0] == Named("batch"):
        return 0
    if isinstance(dims[0], Variadic) and dims[0].name == "batch":
        return len(dims) - 1
    return None


def _unpack(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """An RNN's PackedSequence input is checked by its data: (total steps, features), which the
    unbatched form of the input contract states."""
    if args and type(args[0]).__name__ == "PackedSequence":
        return (args[0].data, *args[1:])
    return args


def _first_param(m: Any) -> str:
    """The name of `forward`'s first parameter (what messages call the input), else `input`."""
    import inspect

    try:
        params = list(inspect.signature(m.forward).parameters.values())
    except (TypeError, ValueError):
        return "input"
    if params and params[0].kind in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD) \
            and is_name(params[0].name):
        return params[0].name
    return "input"


def _names_of(spec: Any) -> list[str]:
    """The names of a spec's (first option's) axes: labels of fixed dims, names of named ones."""
    opt = spec.options[0] if isinstance(spec, OneOf) else spec
    if not isinstance(opt, ArraySpec):
        return []
    return [getattr(d, "label", None) or getattr(d, "name", None) or f"axis{k}"
            for k, d in enumerate(opt.dims)]


def _first_dim(spec: Any) -> Any:
    opt = spec.options[0] if isinstance(spec, OneOf) else spec
    return opt.dims[0] if isinstance(opt, ArraySpec) and opt.dims else None


def _dim_from_standin(size: int, name: str, derived: bool = False) -> Any:
    """An output size: a stand-in's name, a name for a size derived from one (it changed when
    the stand-ins changed: `out_axis2`), or a fixed size."""
    for n, v in _STANDIN.items():
        if size == v:
            return Named(n)
    if derived:
        return Named(f"out_{name}")
    return Fixed(int(size), False, name)


def _spec_from_shape(m: Any, shape: tuple[Any, ...]) -> ArraySpec:
    first = _first_known(m)
    names: list[str] = ["batch"] + [f"axis{i}" for i in range(1, len(shape))]
    known = _known(first[1], first[0]) if first is not None else None
    if known is not None:
        spec = known[0]
        opt = spec.pick(len(shape)) if isinstance(spec, OneOf) else spec
        if opt is not None and opt.variadic_at is None and len(opt.dims) == len(shape):
            names = [getattr(d, "label", None) or getattr(d, "name", None) or names[k]
                     for k, d in enumerate(opt.dims)]
    b = names.index("batch") if "batch" in names else 0
    if first is not None and b != 0 and shape[0] is None and shape[b] is not None:
        _refuse_batch_elsewhere(m, first, shape, names, b)
    dims = [Named(n) if s is None else Fixed(int(s), False, n) for s, n in zip(shape, names)]
    origins: list[Origin | None] = [
        None if s is None else Origin(f"input_shape={tuple(shape)}", "input_shape") for s in shape]
    # input_shape states the shape; the dtype is left to torch's own verdict (the contract of
    # such a module is incomplete: torch is asked), whose failure comes with a proven cast
    return _spec(dims, origins, _shaped())


def _refuse_batch_elsewhere(m: Any, first: tuple[str, Any], shape: tuple[Any, ...],
                            names: list[str], b: int) -> None:
    """`input_shape=(None, 24, 3)` puts the open batch on axis 0, but the first layer reads its
    batch on axis `b` (a time-major RNN: axis 1), which the declaration fixes (at 24): the
    batch/time swap of the seed, stated outright, refused before any data."""
    from .._errors import ShapeContractError, Violation

    name, layer = first
    cls = type(layer).__name__
    moved = list(shape)
    moved[0], moved[b] = moved[b], None
    fixes = []
    how = ""
    if getattr(layer, "batch_first", True) is False:  # an RNN built time-major
        how = " (batch_first=False)"
        code = (f"nn.{cls}({layer.input_size}, {layer.hidden_size}, "
                "batch_first=True)")
        fixes.append(Fix(f"build it batch-first: {code}", "advice", code))
    fixes.append(Fix(f"{'or, ' if fixes else ''}if the data really is laid out "
                     f"({', '.join(names)}), declare input_shape={tuple(moved)}", "advice"))
    raise ShapeContractError([Violation(
        ("input_shape",), "dim",
        f"input_shape={tuple(shape)} puts the open batch on axis 0, but nn.{cls} '{name}'{how} reads "
        f"({', '.join(names)}): axis 0 as {names[0]} and axis {b} as the batch, so the batch "
        f"would be fixed at {shape[b]} and the data's batch read as {names[0]}",
        suggestions=fixes)], f"{type(m).__name__} input_shape")


def _standin_shape(spec: Any) -> tuple[int, ...] | None:
    opt = spec.options[0] if isinstance(spec, OneOf) else spec
    if not isinstance(opt, ArraySpec):
        return None
    out = []
    for d in opt.dims:
        if isinstance(d, Fixed):
            out.append(d.size)
        elif isinstance(d, Named):
            out.append(_STANDIN.get(d.name, 1033))
        elif isinstance(d, Variadic):
            out.append(_STANDIN["batch"])
        else:
            out.append(7)
    return tuple(out)


def _display(shape: Any) -> str:
    items = []
    for s in shape:
        name = next((n for n, v in _STANDIN.items() if v == s), None)
        items.append(name or str(s))
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def _shape_through(m: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of a module we can compute by arithmetic, else None."""
    rule = rule_of(m)
    kind = rule.kind if rule is not None else None
    if kind == "elementwise":
        return shape
    if kind == "linear" and shape and shape[-1] == m.in_features:
        return (*shape[:-1], m.out_features)
    return None


def _propagate_plain(m: Any, shape: tuple[int, ...]) -> tuple[list[LayerRow], tuple[int, ...] | None] | None:
    """nn.Sequential of Linear and elementwise modules: shapes by arithmetic, no tracing."""
    rule = rule_of(m)
    if rule is None or rule.kind != "sequential":
        return None
    rows = []
    for name, sub in m.named_children():
        out = _shape_through(sub, shape)
        if out is None:
            return None
        rows.append(LayerRow(name, type(sub).__name__, _display(shape), _display(out)))
        shape = out
    return rows, shape


def _propagate(m: Any, shape: tuple[int, ...]) -> tuple[list[LayerRow], tuple[int, ...] | None]:
    """Run forward on a fake tensor; record each leaf module's input and output shapes."""
    plain = _propagate_plain(m, shape)
    if plain is not None:
        return plain
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    rows: list[LayerRow] = []
    handles = []

    def hook(name: str) -> Any:
        def record(mod: Any, args: Any, out: Any) -> None:
            a = args[0] if args else None
            o = out[0] if isinstance(out, tuple) else out
            if a is not None and hasattr(a, "shape") and hasattr(o, "shape"):
                rows.append(LayerRow(name, type(mod).__name__, _display(a.shape), _display(o.shape)))
        return record

    for name, sub in m.named_modules():
        if sub is not m and not list(sub.children()):
            handles.append(sub.register_forward_hook(hook(name)))
    try:
        with _quiet(), _isolated(m), FakeTensorMode(allow_non_fake_inputs=True):
            # forward itself: a guard's hook on `m` would derive the contract again, inside
            # this run, and its propagation would record every layer a second time here
            out = m.forward(torch.empty(shape))
    except Exception:
        return [], None
    finally:
        for h in handles:
            h.remove()
    o = out[0] if isinstance(out, tuple) else out
    return rows, (tuple(int(s) for s in o.shape) if hasattr(o, "shape") else None)


class _quiet:
    """Silence torch's fake-tensor logger: a failing shape is an answer here, not an error."""

    def __enter__(self) -> None:
        import logging

        self.log = logging.getLogger("torch._subclasses.fake_tensor")
        self.level = self.log.level
        self.log.setLevel(logging.CRITICAL)

    def __exit__(self, *exc: Any) -> None:
        self.log.setLevel(self.level)


class _isolated:
    """Run a module's forward for its shapes only and leave nothing behind: every submodule's
    attributes (a mask the forward caches on `self` would otherwise stay a fake tensor; a call
    counter would count), its buffers' values (BatchNorm statistics) and the random number
    generators (Python's, numpy's, torch's: a forward that draws for teacher forcing draws the
    same numbers in the real call) are as they were before."""

    def __init__(self, m: Any) -> None:
        self.m = m

    def __enter__(self) -> None:
        import random

        import torch

        self.attrs = [(sub, dict(vars(sub)), dict(sub._parameters), dict(sub._buffers),
                       dict(sub._modules)) for sub in self.m.modules()]
        self.values = [(b, b.detach().clone()) for b in self.m.buffers()]
        self.py = random.getstate()
        np = sys.modules.get("numpy")
        self.np = np.random.get_state() if np is not None else None
        self.torch = torch.random.get_rng_state()

    def __exit__(self, *exc: Any) -> None:
        import random

        import torch

        for sub, attrs, params, buffers, modules in self.attrs:
            vars(sub).clear()
            vars(sub).update(attrs)
            for held, saved in ((sub._parameters, params), (sub._buffers, buffers),
                                (sub._modules, modules)):
                held.clear()
                held.update(saved)
        with torch.no_grad():
            for b, value in self.values:
                if b.shape == value.shape:
                    b.copy_(value)
        random.setstate(self.py)
        np = sys.modules.get("numpy")
        if np is not None and self.np is not None:
            np.random.set_state(self.np)
        torch.random.set_rng_state(self.torch)


# ------------------------------------------------------------------ framework verdicts
class TorchVerdict:
    """torch's own verdict for one module on input values: its forward run on fake tensors of
    the same shapes and dtypes (no memory, no data), cached by them. Held by the module's
    contract. Runs `forward` itself, so the module's hooks (a guard)
    are not involved."""

    def __init__(self, module: Any, batch_axes: int | None = None) -> None:
        self._module = module  # the contract describes this module: it keeps it
        self._fast: dict[Any, bool | None] = {}
        self._cache: dict[Any, tuple[bool | None, str]] = {}
        self._batch_axes = batch_axes
        """Its first input leads with the batch (`_batch_axes`): torch's acceptance of a shape
        holds for every batch size of the same rank (a new batch size costs no fake pass). A
        rejection is kept for its own shape only."""
        self._accepted: dict[Any, bool] = {}
        self.guessed_from: str | None = None
        """The layer a guessed input contract was read from (`LSTM 'lstm'`): when torch
        rejects a call at that very layer, the guess's violations stand."""

    def fast(self, *values: Any) -> bool | None:
        """The verdict's first element for these tensors, from a cache keyed by their
        `(shape, dtype)` (what a compiled checker asks on every call: one dict lookup)."""
        try:
            key = tuple(None if v is None else (v.shape, v.dtype) for v in values)
            return self._fast[key]
        except (KeyError, TypeError, AttributeError):
            pass
        free = None
        k = self._batch_axes
        if k is not None and values and values[0] is not None:
            try:  # the same shapes but the batch sizes: accepted already
                x = values[0]
                kept = tuple(x.shape)[1:] if k == 0 else tuple(x.shape)[len(x.shape) - k:]
                free = (len(x.shape), kept, x.dtype,
                        tuple(None if v is None else (v.shape, v.dtype) for v in values[1:]))
                if free in self._accepted:
                    return True
            except (TypeError, AttributeError, IndexError):
                free = None
        ok = self(list(values))[0]
        try:
            bounded(self._fast)[key] = ok
            if ok and free is not None:
                bounded(self._accepted)[free] = True
        except (TypeError, AttributeError, UnboundLocalError):
            pass
        return ok

    def __call__(self, values: list[Any]) -> tuple[bool | None, str]:
        while values and values[-1] is None:  # omitted optional inputs (hx)
            values = values[:-1]
        key = _signature(values)
        if key is None:
            return None, ""  # unknown sizes or something that is not a tensor: cannot tell
        hit = self._cache.get(key)
        if hit is None:
            if _compiling():  # Dynamo traces this: it cannot run fake tensors, but its own
                return None, ""  # trace runs the module on them, and says what torch rejects
            hit = bounded(self._cache)[key] = _torch_verdict(self._module, key)
        return hit



def call_untraced(fn: Callable[..., Any], *args: Any) -> Any:
    """`fn(*args)` with `torch.jit.trace`'s tracer paused, if it runs: a guard checks the
    concrete sizes of the example inputs (traced sizes are tensors) and records nothing in the
    trace. Not traced by Dynamo (it only runs when `torch.jit` traces)."""
    import torch

    if torch.compiler.is_compiling():
        return fn(*args)
    state = torch._C._get_tracing_state()
    if state is None:
        return fn(*args)
    set_state = torch._C._set_tracing_state  # type: ignore[attr-defined]
    set_state(None)
    try:
        return fn(*args)
    finally:
        set_state(state)


def _compiling() -> bool:
    import torch

    return bool(torch.compiler.is_compiling())


def _signature(values: Any) -> Any:
    """Nested (shape, dtype) of tensors (tuples for tuples), or None if any is unknown."""
    out = []
    for v in values:
        if isinstance(v, (tuple, list)):
            inner = _signature(v)
            if inner is None:
                return None
            out.append(inner)
        elif v is None:
            out.append(None)
        elif hasattr(v, "shape") and hasattr(v, "dtype"):
            try:
                shape = tuple(int(s) for s in v.shape)
            except (TypeError, ValueError):
                return None
            out.append((shape, v.dtype))
        else:
            return None
    return tuple(out)


def _fake(sig: Any, zeros: bool = False) -> Any:
    """Tensors of a `_signature`: empty (fake, under FakeTensorMode), or real zeros."""
    import torch

    if sig is None:
        return None
    if len(sig) == 2 and isinstance(sig[0], tuple) and not isinstance(sig[1], tuple):
        return (torch.zeros if zeros else torch.empty)(sig[0], dtype=sig[1])
    return tuple(_fake(s, zeros) for s in sig)


def _first_line(e: BaseException) -> str:
    """torch's verdict in torch's own words: the first line of its error."""
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:300]


def _run_fake(m: Any, sig: Any, watch: Any = None) -> tuple[bool | None, str, Any]:
    """Run `m.forward` on fake tensors of `sig`: (ok, torch's first line, the last leaf module
    entered as (name, module, input shape)); ok is None when fake tensors cannot tell. `watch(name, module, shape)` sees every entry."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    last: list[Any] = [None]
    handles = []
    for name, sub in m.named_modules():
        if sub is not m and not list(sub.children()):
            def pre(mod: Any, args: Any, _name: str = name) -> None:
                a = args[0] if args else None
                shape = (tuple(int(s) for s in a.shape) if a is not None and hasattr(a, "shape")
                         else None)
                last[0] = (_name, mod, shape)
                if watch is not None:
                    watch(_name, mod, shape)
            handles.append(sub.register_forward_pre_hook(pre))
    import warnings

    try:
        with _quiet(), _isolated(m), FakeTensorMode(allow_non_fake_inputs=True), \
                warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own warnings are for the real call
            m.forward(*[_fake(s) for s in sig])
    except _cannot_tell() as e:  # an op whose output shape depends on the values (packing
        return None, _first_line(e), last[0]  # by lengths, nonzero, .item()): not a verdict
    except Exception as e:  # torch's own verdict, in torch's own words
        return False, _first_line(e), last[0]
    finally:
        for h in handles:
            h.remove()
    return True, "", None


def _cannot_tell() -> tuple[type[BaseException], ...]:
    """What fake tensors raise for an op they cannot run on shapes alone."""
    from torch._subclasses import fake_tensor

    names = ("DataDependentOutputException", "DynamicOutputShapeException",
             "UnsupportedOperatorException", "UnsupportedFakeTensorException")
    found = tuple(getattr(fake_tensor, n) for n in names if hasattr(fake_tensor, n))
    try:
        from torch.fx.experimental.symbolic_shapes import GuardOnDataDependentSymNode
    except ImportError:
        return found
    return (*found, GuardOnDataDependentSymNode)


def _torch_verdict(m: Any, sig: Any) -> tuple[bool | None, str]:
    from .._errors import Reason

    rule = rule_of(m)
    if rule is not None and rule.eager_verdict:
        return _real_loss_verdict(m, sig)
    ok, text, last = _run_fake(m, sig)
    if ok or ok is None:
        return ok, ""
    return False, _explain_failure(m, sig, text, last) or Reason(text)


def _real_loss_verdict(m: Any, sig: Any) -> tuple[bool, str]:
    """A loss module asked on real zeros of the same shapes and dtypes (once per signature; a
    loss is one cheap pass over its inputs). Fake tensors skip some of torch's own checks
    (an integer target for BCELoss, a float one for NLLLoss on empty inputs) and refuse what
    eager torch takes (an unbatched (C,) score with a (1,) target): the eager call decides.
    Zeros are valid probabilities and class index 0; with no class at all, no index is valid.
    (`ModuleRule.eager_verdict` says which modules are asked this way.)"""
    import warnings

    import torch

    from .._errors import Reason

    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # torch's own warnings are for the real call
            m.forward(*[_fake(s, zeros=True) for s in sig])
    except Exception as e:  # torch's own verdict, in torch's own words
        return False, Reason(_first_line(e))
    return True, ""


def _explain_failure(m: Any, sig: Any, text: str, last: Any) -> Any:
    """Name the layer that rejects the input, what it needs and what it got, and fixes that
    make torch accept it (each tried on fake tensors before it is offered)."""
    from .._errors import Fix, Reason

    fixes: list[Fix] = []
    first = sig[0] if sig else None
    if first is not None and first[0] is not None:
        batched = ((1, *first[0]), first[1])
        ok_b, text_b, last_b = _run_fake(m, (batched, *sig[1:]))
        if ok_b:  # an unbatched input into a batch-only model
            fixes.append(Fix("the model works on batches and this input has no batch axis; add "
                             "it with x.unsqueeze(0) (or x[None])", "insert_axis", "x.unsqueeze(0)"))
        elif _looks_unbatched(m, first[0]):  # no batch axis, and wrong even with one
            inner = _explain_failure(m, (batched, *sig[1:]), text_b, last_b)
            hint = Fix("this input has no batch axis: add it with x.unsqueeze(0); with it, the "
                       "input still does not fit (below)", "advice")
            return Reason(f"this input has no batch axis; with one: {inner or text_b}",
                          getattr(inner, "layer", None), (hint, *getattr(inner, "fixes", ())))
    if fixes:
        return Reason(f"this input has no batch axis, and the model works on batches only "
                      f"(torch: {text})", None, tuple(fixes))
    floating = getattr(first[1], "is_floating_point", None) if first is not None else None
    if first is not None and first[0] is not None and isinstance(floating, bool):
        import torch  # the other kind of dtype, proven by torch

        other = torch.int64 if floating else torch.float32
        if _run_fake(m, ((first[0], other), *sig[1:]))[0]:
            code = "x.long()" if other is torch.int64 else "x.float()"
            what = "integer indices (token ids)" if other is torch.int64 else "floats"
            return Reason(f"the model takes {what}, not {str(first[1]).replace('torch.', '')} "
                          f"(torch: {text})", None,
                          (Fix(f"convert it: {code} (torch accepts that)", "cast", code),))
    if last is None:
        return None
    name, mod, shape = last
    rule = rule_of(mod)
    who = _who(_torch_class(mod), name)
    if rule is not None and rule.kind == "linear" and shape and shape[-1] != mod.in_features:
        got = shape[-1]
        msg = (f"{who} takes in_features={mod.in_features}; the layers before it give {got} "
               f"(its input is {shape})")
        fit = _fitting_input(m, sig, name, "in_features", mod.in_features)
        if fit is not None:
            fixes.append(Fix(f"an input of shape {fit} fits this model (resize or crop the data "
                             "to it)", "advice"))
        fixes.append(Fix(f"or build the layer for this input: nn.Linear({got}, "
                         f"{mod.out_features})", "advice"))
        return Reason(msg, who, tuple(fixes))
    if rule is not None and rule.kind == "conv" and shape and len(shape) > len(mod.kernel_size) \
            and shape[-len(mod.kernel_size) - 1] != mod.in_channels:
        msg = (f"{who} takes in_channels={mod.in_channels}; its input is {shape}")
        return Reason(msg, who, tuple(fixes))
    return Reason(f"{who} rejects its input {shape}: {text}", who, tuple(fixes))


def _looks_unbatched(m: Any, shape: tuple[int, ...]) -> bool:
    """Does `shape` have the rank of the unbatched form of `m`'s first layer's input?"""
    first = (("", m) if _known(m, "") is not None else _first_known(m))
    known = _known(first[1], first[0]) if first is not None else None
    spec = known[0] if known is not None else None
    if not isinstance(spec, OneOf) or len(spec.options) < 2:
        return False
    batched, *others = spec.options
    return len(shape) != len(batched.dims) and any(
        o.variadic_at is None and len(o.dims) == len(shape) for o in others)


def _fitting_input(m: Any, sig: Any, layer: str, attr: str, want: int) -> tuple[int, ...] | None:
    """The input shape nearest to `sig[0]` whose spatial axes (all set to one size) give
    `layer` the `want` features it needs: a binary search over that size, on fake tensors."""
    first = sig[0]
    shape, dtype = first
    if len(shape) < 3:
        return None
    spatial = list(range(2, len(shape)))

    def features(size: int) -> int | None:
        seen: list[int] = []

        def watch(name: str, mod: Any, got: Any) -> None:
            if name == layer and got:
                seen.append(got[-1])
                raise _Found()

        probe = list(shape)
        for a in spatial:
            probe[a] = size
        _run_fake(m, ((tuple(probe), dtype), *sig[1:]), watch)  # stops at the layer (_Found)
        return seen[0] if seen else None

    lo, hi = 1, 4096
    while lo < hi:  # features grow with the input size: find the smallest size giving >= want
        mid = (lo + hi) // 2
        got = features(mid)
        if got is None or got < want:
            lo = mid + 1
        else:
            hi = mid
    if features(lo) != want:
        return None
    fit = list(shape)
    for a in spatial:
        fit[a] = lo
    return tuple(fit)


def _sizes_that_fit(m: Any, shape: tuple[int, ...]) -> str | None:
    """For a model whose Linear after a Flatten fixes its input size: which (square) input
    fits, found on fake tensors. None when that is not what stops the stand-in propagation."""
    import torch

    sig = ((shape, torch.float32),)
    ok, _, last = _run_fake(m, sig)
    if ok or last is None:
        return None
    name, mod, got = last
    rule = rule_of(mod)
    if rule is None or rule.kind != "linear" or not got or got[-1] == mod.in_features:
        return None
    fit = _fitting_input(m, sig, name, "in_features", mod.in_features)
    if fit is None:
        return None
    who = _who(_torch_class(mod), name)
    spatial = " x ".join(str(s) for s in fit[2:])
    return (f"input size: {who} takes in_features={mod.in_features}, which a {spatial} input "
            "gives (of square inputs); every input's size is checked on fake tensors as it "
            "arrives")


class _Found(Exception):
    """Stops a probe once the watched layer has seen its input."""


# ---------------------------------------------------------------------------- guards
def guard_of(m: Any) -> Any:
    """The guard installed on a torch module, or None."""
    for h in m._forward_pre_hooks.values():
        if getattr(h, "is_shapecontract_guard", False):
            return h
    return None


def install_guard(m: Any, guard: Any) -> None:
    """Register `guard` itself as a forward pre-hook (with kwargs). It is a module-level object
    with picklable state, so the module pickles, `torch.save`s, deep-copies and crosses
    `spawn` with its guard. The handle is kept in `__dict__`: unpickling it advances torch's
    hook-id counter, so a later hook cannot take our id."""
    handle = m.register_forward_pre_hook(guard, with_kwargs=True)
    m.__dict__["_shapecontract_handle"] = handle
    # torch.jit.script asks every module (and submodule) to prepare itself first; TorchScript
    # cannot compile a Python hook, so a guarded module refuses, saying what to do instead
    m.__dict__["__prepare_scriptable__"] = functools.partial(_refuse_script, type(m).__name__)


def _refuse_script(name: str) -> Any:
    raise TypeError(
        f"torch.jit.script cannot compile the guarded {name}: TorchScript keeps no Python "
        "hooks, so the guard would be dropped silently. Use torch.compile (the guard checks "
        "every call, see docs/guarantees.md) or torch.jit.trace (the example inputs are "
        "checked at trace time); or call shapecontract.unguard(model) before scripting it")


def remove_guard(m: Any) -> None:
    """Remove our hook by looking for it (works after a copy or a load, without handles)."""
    for hid in [k for k, h in m._forward_pre_hooks.items()
                if getattr(h, "is_shapecontract_guard", False)]:
        del m._forward_pre_hooks[hid]
        m._forward_pre_hooks_with_kwargs.pop(hid, None)
    m.__dict__.pop("_shapecontract_handle", None)
    m.__dict__.pop("__prepare_scriptable__", None)
