"""PyTorch modules -> Contract, from their constructor arguments (and fake-tensor propagation).

Design rules:
- This module never imports torch at import time: it runs only once a torch module showed up.
- What the library knows of each module is its kind (`layers.py`, `losses.py`), looked up along
  the MRO, so a subclass of `nn.LSTM` is an LSTM: how its attributes state its input, hx and
  output specs, what fixes its last output axis, whether it is a container. Nothing here
  branches on a kind's name.
- `batch_first=False` is stated, not hidden: the contract reads `(timesteps, batch, features)`,
  and a failure on it says how to fix either side.
- Any other module: its forward is run on fake tensors (no memory, no data) from a declared
  `input_shape`; the framework level's verdict (`verdict.py`) runs forward on fake tensors too,
  cached per module by input shapes and dtypes.
"""

from __future__ import annotations

from typing import Any

from ..._compile import Contract
from ..._contract import LayerRow, Slot
from ..._dims import Fixed, Named, Variadic
from ..._errors import Fix, Origin
from ..._slot import argument_slots, is_name
from ..._spec import ArraySpec, array_at_rank, primary_array
from .layers import KINDS, _shaped, _spec, first_known, kind_of, rule_of, torch_class, who
from .layers import known as known_specs
from .verdict import TorchVerdict, isolated, quiet, sizes_that_fit

__all__ = ["contract_of_torch"]


# Stand-in sizes for unknown dims during fake propagation: far apart, so that a conv or pool
# turning one into another is unlikely; shapes are fake, so size costs nothing.
# distinctive sizes (primes no layer is likely to fix); timesteps small enough that a fake
# nn.RNN/GRU, which torch unrolls step by step on fake tensors, stays fast (2003 steps took
# 10-60 s to guard a 2-layer GRU; 37 takes well under a second)
_STANDIN = {"batch": 1009, "timesteps": 37, "length": 3001, "height": 4001, "width": 5003}



def contract_of_torch(m: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The Contract a torch module states through its attributes (and, with `input_shape`,
    what fake-tensor propagation of its forward shows)."""
    cls = type(m).__name__
    label = cls
    rule = rule_of(m)
    notes: list[str] = []
    known = known_specs(m, "") if input_shape is None else None
    guessed, guessed_from = False, ""
    slots: list[Slot] = []
    rows: list[LayerRow] = []
    if rule is not None and rule.slots is not None:
        slots = rule.slots(m, torch_class(m))
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
            first = first_known(m)
            if first is None:
                return _framework_only(m, label, level)
            inp_spec = known_specs(first[1], first[0])[0]  # type: ignore[index]
            if not kind_of(m).container:
                guessed = True
                guessed_from = who(torch_class(first[1]), first[0])
                notes.append(f"input contract guessed from the first submodule '{first[0]}': "
                             "a call is refused only if PyTorch rejects it too (pass "
                             "input_shape= to state the input)")
        slots.append(Slot(_first_param(m), "array", inp_spec))
        slots += argument_slots(m.forward, skip=1)  # lengths, hidden, ctx: torch's verdict
        shape = _standin_shape(inp_spec)
        if shape is not None:
            rows, out_shape = _propagate(m, shape)
            if out_shape is None and input_shape is None:
                fits = sizes_that_fit(m, shape)
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
                    last_type = rows[-1].layer_type
                    kind = KINDS.lookup_type(last_type) if last_type is not None else None
                    attr = kind.output_attr if kind is not None else None
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
                    prepare=kind_of(m).prepare if known is not None else None)


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
    opt = primary_array(spec)
    if opt is None:
        return []
    return [getattr(d, "label", None) or getattr(d, "name", None) or f"axis{k}"
            for k, d in enumerate(opt.dims)]


def _first_dim(spec: Any) -> Any:
    opt = primary_array(spec)
    return opt.dims[0] if opt is not None and opt.dims else None


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
    first = first_known(m)
    names: list[str] = ["batch"] + [f"axis{i}" for i in range(1, len(shape))]
    known = known_specs(first[1], first[0]) if first is not None else None
    if known is not None:
        spec = known[0]
        opt = array_at_rank(spec, len(shape))
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
    from ..._errors import ShapeContractError, Violation
    from ...fixes import SetSetting

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
        fixes.append(Fix(f"build it batch-first: {code}", "advice", code,
                         SetSetting(f"nn.{cls} '{name}'", cls, "batch_first", True)))
    fixes.append(Fix(f"{'or, ' if fixes else ''}if the data really is laid out "
                     f"({', '.join(names)}), declare input_shape={tuple(moved)}", "advice"))
    raise ShapeContractError([Violation(
        ("input_shape",), "dim",
        f"input_shape={tuple(shape)} puts the open batch on axis 0, but nn.{cls} '{name}'{how} reads "
        f"({', '.join(names)}): axis 0 as {names[0]} and axis {b} as the batch, so the batch "
        f"would be fixed at {shape[b]} and the data's batch read as {names[0]}",
        suggestions=fixes)], f"{type(m).__name__} input_shape")


def _standin_shape(spec: Any) -> tuple[int, ...] | None:
    opt = primary_array(spec)
    if opt is None:
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


def _axes(shape: Any) -> tuple[int | str, ...]:
    """A propagated shape as a layer row holds it: a stand-in size as its dim's name."""
    return tuple(next((n for n, v in _STANDIN.items() if v == s), None) or int(s)
                 for s in shape)


def _propagate_plain(m: Any, shape: tuple[int, ...]) -> tuple[list[LayerRow], tuple[int, ...] | None] | None:
    """A container of modules whose kinds compute their shapes by arithmetic (Linear,
    elementwise): shapes without tracing."""
    if not kind_of(m).container:
        return None
    rows = []
    for name, sub in m.named_children():
        out = kind_of(sub).shape_through(sub, shape)
        if out is None:
            return None
        rows.append(LayerRow(name, type(sub).__name__, _axes(shape), _axes(out), type(sub)))
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
                rows.append(LayerRow(name, type(mod).__name__, _axes(a.shape), _axes(o.shape),
                                     type(mod)))
        return record

    for name, sub in m.named_modules():
        if sub is not m and not list(sub.children()):
            handles.append(sub.register_forward_hook(hook(name)))
    try:
        with quiet(), isolated(m), FakeTensorMode(allow_non_fake_inputs=True):
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
