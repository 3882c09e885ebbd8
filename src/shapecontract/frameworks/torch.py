"""PyTorch modules -> Contract, from their constructor arguments (and fake-tensor propagation).

Design rules:
- Imported only when a torch module shows up, so `torch` is already loaded.
- Known modules state their contract from their attributes: nn.LSTM/GRU/RNN (input_size,
  hidden_size, num_layers, bidirectional, proj_size, batch_first; batched and unbatched input;
  h_0/c_0 and output/h_n/c_n), nn.Linear, nn.Conv1d, nn.Conv2d, nn.Embedding, nn.Flatten,
  nn.Sequential. Dims get canonical names; fixed sizes record `Module 'name' attribute`.
- `batch_first=False` is stated, not hidden: the contract reads `(timesteps, batch, features)`,
  and a failure on it says how to fix either side.
- Any other module: its forward is run on fake tensors (no memory, no data) from a declared
  `input_shape`, which also gives the per-layer table and the framework-level verdicts.
"""

from __future__ import annotations

import sys
from typing import Any

from .._contract import Contract, LayerRow, Slot
from .._spec import Anon, ArraySpec, Fixed, Named, OneOf, TupleSpec, Variadic

__all__ = ["contract_of_torch", "is_torch_module", "torch_verdict"]

# Stand-in sizes for unknown dims during fake propagation: far apart, so that a conv or pool
# turning one into another is unlikely; shapes are fake, so size costs nothing.
_STANDIN = {"batch": 1009, "timesteps": 2003, "length": 3001, "height": 4001, "width": 5003}


def is_torch_module(obj: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(obj, torch.nn.Module)


def _float() -> tuple[frozenset[str], str]:
    import jaxtyping

    return frozenset(jaxtyping.Float.dtypes), "Float"


def _integer() -> tuple[frozenset[str], str]:
    import jaxtyping

    return frozenset(jaxtyping.Integer.dtypes), "Integer"


def _spec(dims: list[Any], origins: list[str | None], dtype: tuple[frozenset[str] | None, str],
          advice: tuple[str, ...] = ()) -> ArraySpec:
    import torch

    return ArraySpec(tuple(dims), dtype[0], dtype[1], (torch.Tensor,), origins=tuple(origins),
                     advice=advice)


def _shaped() -> tuple[None, str]:
    return None, "Shaped"


# ---------------------------------------------------------------------- known modules
def _who(cls: str, name: str) -> str:
    return f"{cls} '{name}'" if name else cls


def _rnn(m: Any, name: str) -> tuple[Any, Any, Any]:
    """(input spec, hx spec, output spec) of nn.LSTM / nn.GRU / nn.RNN."""
    cls = type(m).__name__
    lstm = cls == "LSTM"
    D = 2 if m.bidirectional else 1
    L = m.num_layers
    proj = getattr(m, "proj_size", 0) or 0
    h_out = proj if proj > 0 else m.hidden_size
    f = _float()
    o_feat = f"{_who(cls, name)} input_size"
    o_dl = f"{_who(cls, name)} num_layers={L} x {'2 directions' if D == 2 else '1 direction'}"
    o_h = f"{_who(cls, name)} {'proj_size' if proj > 0 else 'hidden_size'}"
    o_c = f"{_who(cls, name)} hidden_size"
    feat = Fixed(m.input_size, False, "features")
    dl = Fixed(D * L, False, "directions*layers")
    advice: tuple[str, ...] = ()
    if m.batch_first:
        batched = [Named("batch"), Named("timesteps"), feat]
        bo = [None, None, o_feat]
        out_b = [Named("batch"), Named("timesteps"), Fixed(D * h_out, False, "units")]
    else:
        batched = [Named("timesteps"), Named("batch"), feat]
        bo = [None, None, o_feat]
        out_b = [Named("timesteps"), Named("batch"), Fixed(D * h_out, False, "units")]
        advice = (f"nn.{_who(cls, name)} has batch_first=False: it reads axis 0 as time and axis 1 "
                  f"as batch. If your data is batch-major (batch, timesteps, features), build it "
                  f"with nn.{cls}(..., batch_first=True), or pass x.transpose(0, 1)",)
    unbatched = [Named("timesteps"), feat]
    inp = OneOf((_spec(batched, bo, f, advice), _spec(unbatched, [None, o_feat], f, advice)))
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


def _known(m: Any, name: str) -> tuple[Any, Any, Any] | None:
    """(input spec, extra hx spec or None, output spec) for modules we know by their attributes."""
    cls = type(m).__name__
    if cls in ("LSTM", "GRU", "RNN"):
        return _rnn(m, name)
    f = _float()
    if cls == "Linear":
        o = f"{_who('Linear', name)} in_features"
        inp = _spec([Variadic("batch"), Fixed(m.in_features, False, "features")], [None, o], f)
        out = _spec([Variadic("batch"), Fixed(m.out_features, False, "units")],
                    [None, f"{_who('Linear', name)} out_features"], _shaped())
        return inp, None, out
    if cls in ("Conv1d", "Conv2d"):
        o = f"{_who(cls, name)} in_channels"
        spatial = ["length"] if cls == "Conv1d" else ["height", "width"]
        ch = Fixed(m.in_channels, False, "channels")
        batched = _spec([Named("batch"), ch, *map(Named, spatial)], [None, o] + [None] * len(spatial), f)
        single = _spec([ch, *map(Named, spatial)], [o] + [None] * len(spatial), f)
        oc = Fixed(m.out_channels, False, "channels")
        ob = _spec([Named("batch"), oc] + [Named(f"out_{s}") for s in spatial],
                   [None, f"{_who(cls, name)} out_channels"] + [None] * len(spatial), _shaped())
        osg = _spec([oc] + [Named(f"out_{s}") for s in spatial],
                    [f"{_who(cls, name)} out_channels"] + [None] * len(spatial), _shaped())
        return OneOf((batched, single)), None, OneOf((ob, osg))
    if cls == "Embedding":
        inp = _spec([Variadic("batch")], [None], _integer())
        out = _spec([Variadic("batch"), Fixed(m.embedding_dim, False, "features")],
                    [None, f"{_who('Embedding', name)} embedding_dim"], _shaped())
        return inp, None, out
    if cls == "Flatten":
        if m.start_dim >= 1:  # torch needs more than start_dim axes
            dims = [Named("batch"), *[Anon("_")] * m.start_dim, Variadic(None)]
        else:
            dims = [Variadic(None)]
        return _spec(dims, [None] * len(dims), _shaped()), None, None
    return None


def _first_known(m: Any) -> tuple[str, Any] | None:
    for name, sub in m.named_modules():
        if sub is m:
            continue
        if _known(sub, name) is not None and type(sub).__name__ != "Flatten":
            return name, sub
    return None


# --------------------------------------------------------------------------- contract
def contract_of_torch(m: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The Contract a torch module states through its attributes (and, with `input_shape`,
    what fake-tensor propagation of its forward shows)."""
    cls = type(m).__name__
    label = cls
    notes: list[str] = []
    known = _known(m, "") if input_shape is None else None
    slots: list[Slot] = []
    rows: list[LayerRow] = []
    if known is not None:
        inp, hx, out = known
        slots.append(Slot("input", "array", inp))
        if hx is not None:
            slots.append(Slot("hx", "array", hx))
        if out is not None:
            slots.append(Slot("output", "array", out, display="output", output=True))
    else:
        if input_shape is not None:
            inp_spec = _spec_from_shape(m, tuple(input_shape))
        else:
            first = _first_known(m)
            if first is None:
                raise TypeError(f"contract_of: {cls} has no submodule whose contract is known; "
                                "declare its input with input_shape=(None, ...)")
            inp_spec = _known(first[1], first[0])[0]  # type: ignore[index]
            if cls != "Sequential":
                notes.append(f"input contract taken from the first submodule '{first[0]}' "
                             "(pass input_shape= to propagate through forward instead)")
        slots.append(Slot("input", "array", inp_spec))
        shape = _standin_shape(inp_spec)
        if shape is not None:
            rows, out_shape = _propagate(m, shape)
            if out_shape is None and input_shape is None:
                notes.append("forward could not be propagated from stand-in sizes; declare "
                             "input_shape=(None, ...) to see per-layer shapes and the output")
            if out_shape is not None:
                dims = [_dim_from_standin(s, "units" if k == len(out_shape) - 1 else f"axis{k}")
                        for k, s in enumerate(out_shape)]
                first_in = _first_dim(inp_spec)
                if isinstance(first_in, Variadic) and dims and dims[0] == Named("batch"):
                    dims[0] = first_in  # (*batch, features) in, (*batch, units) out
                origins: list[str | None] = [None] * len(dims)
                if rows and dims:
                    attr = _OUT_ATTR.get(rows[-1].kind)
                    if attr:
                        origins[-1] = f"{rows[-1].kind} '{rows[-1].name}' {attr}"
                slots.append(Slot("output", "array", ArraySpec(tuple(dims), None, "Shaped", (Any,),
                                                               origins=tuple(origins)),
                                  display="output", output=True))
    if level == "framework":
        notes.append("framework level: torch itself decides on each input shape (fake tensors)")
    return Contract(label, tuple(slots), layers=tuple(rows), level=level, notes=tuple(notes))


_OUT_ATTR = {"Linear": "out_features", "Conv1d": "out_channels", "Conv2d": "out_channels",
             "LSTM": "hidden_size", "GRU": "hidden_size", "RNN": "hidden_size",
             "Embedding": "embedding_dim"}


def _first_dim(spec: Any) -> Any:
    opt = spec.options[0] if isinstance(spec, OneOf) else spec
    return opt.dims[0] if isinstance(opt, ArraySpec) and opt.dims else None


def _dim_from_standin(size: int, name: str) -> Any:
    for n, v in _STANDIN.items():
        if size == v:
            return Named(n)
    return Fixed(int(size), False, name)


def _spec_from_shape(m: Any, shape: tuple[Any, ...]) -> ArraySpec:
    first = _first_known(m)
    names = None
    if first is not None:
        spec = _known(first[1], first[0])[0]  # type: ignore[index]
        opt = spec.pick(len(shape)) if isinstance(spec, OneOf) else spec
        if opt is not None and opt.variadic_at is None and len(opt.dims) == len(shape):
            names = [getattr(d, "label", None) or getattr(d, "name", None) for d in opt.dims]
    names = names or (["batch"] + [f"axis{i}" for i in range(1, len(shape))])
    dims = [Named(n) if s is None else Fixed(int(s), False, n) for s, n in zip(shape, names)]
    origins = [None if s is None else f"input_shape={tuple(shape)}" for s in shape]
    return _spec(dims, origins, _float())


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


_ELEMENTWISE = {"ReLU", "ReLU6", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Mish", "Tanh",
                "Sigmoid", "Softmax", "LogSoftmax", "Dropout", "Identity", "LayerNorm",
                "BatchNorm1d", "Hardtanh", "Softplus", "PReLU"}


def _shape_through(m: Any, shape: tuple[int, ...]) -> tuple[int, ...] | None:
    """Output shape of a module we can compute by arithmetic, else None."""
    cls = type(m).__name__
    if cls in _ELEMENTWISE:
        return shape
    if cls == "Linear" and shape and shape[-1] == m.in_features:
        return (*shape[:-1], m.out_features)
    return None


def _propagate_plain(m: Any, shape: tuple[int, ...]) -> tuple[list[LayerRow], tuple[int, ...] | None] | None:
    """nn.Sequential of Linear and elementwise modules: shapes by arithmetic, no tracing."""
    if type(m).__name__ != "Sequential":
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
            if hasattr(a, "shape") and hasattr(o, "shape"):
                rows.append(LayerRow(name, type(mod).__name__, _display(a.shape), _display(o.shape)))
        return record

    for name, sub in m.named_modules():
        if sub is not m and not list(sub.children()):
            handles.append(sub.register_forward_hook(hook(name)))
    try:
        with _quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            out = m(torch.empty(shape))
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


# ------------------------------------------------------------------ framework verdicts
_verdicts: dict[tuple[Any, ...], tuple[bool, str]] = {}


def torch_verdict(m: Any, shapes: tuple[Any, ...], dtypes: tuple[Any, ...]) -> tuple[bool, str]:
    """Would this module's forward accept inputs of these shapes? Fake tensors, cached."""
    key = (id(m), shapes, dtypes)
    hit = _verdicts.get(key)
    if hit is None:
        hit = _verdicts[key] = _torch_verdict(m, shapes, dtypes)
    return hit


def _torch_verdict(m: Any, shapes: tuple[Any, ...], dtypes: tuple[Any, ...]) -> tuple[bool, str]:
    import torch
    from torch._subclasses.fake_tensor import FakeTensorMode

    try:
        with _quiet(), FakeTensorMode(allow_non_fake_inputs=True):
            args = [torch.empty(s, dtype=d) for s, d in zip(shapes, dtypes)]
            was = getattr(m, "_shapecontract_hooks_off", False)
            m._shapecontract_hooks_off = True
            try:
                m(*args)
            finally:
                m._shapecontract_hooks_off = was
    except Exception as e:  # torch's own verdict, in torch's own words
        return False, str(e).strip().splitlines()[0][:300]
    return True, ""
