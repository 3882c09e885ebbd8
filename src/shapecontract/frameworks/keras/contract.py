"""Keras 3 models and layers -> Contract, from Keras's own metadata (no forward pass on data).

Design rules:
- This module never imports Keras at import time: it runs only once a Keras object showed up
  (then `keras` is in `sys.modules`). Works on every Keras backend (TensorFlow, torch, jax).
- What the library knows of each layer is its kind (`layers.py`), looked up along the MRO, so
  a subclass of `keras.layers.LSTM` is an LSTM: axis names, dtype, the kernel that fixes a
  size, the attribute that fixes an output. Nothing here branches on a kind's name.
- The strict contract states every declared dim: `Input((24, 3))` means 24 timesteps and 3
  features, named by the layer that consumes them. Fixed sizes record a structured origin.
- The framework level is Keras's own verdict (`verdict.py`), carried by the contract.
"""

from __future__ import annotations

import sys
from typing import Any

from ..._compile import Contract
from ..._contract import LayerRow, Slot
from ..._dims import Fixed, Named, Variadic
from ..._errors import Origin
from ..._spec import ArraySpec, OneOf
from .layers import kernel_origin, kind_of
from .verdict import KerasVerdict, is_subclassed

__all__ = ["contract_of_keras", "distinct_calls", "input_names", "is_keras", "output_ids",
           "output_names"]


def is_keras(obj: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Layer)


def _num_dtypes() -> frozenset[str]:
    import jaxtyping

    return frozenset(jaxtyping.Num.dtypes) | {"bool"}  # type: ignore[attr-defined]


def _input_dtype(tensor: Any, consumer: Any, num: frozenset[str]
                 ) -> tuple[str, frozenset[str] | None]:
    """(category, dtypes) an input takes: any numbers (booleans too: Keras casts them, e.g. a
    bool one-hot array into a float Input); an Input declared `dtype="string"` takes strings
    (a TextVectorization layer reads them): any dtype."""
    declared = str(getattr(tensor, "dtype", "") or "")
    if declared == "string":
        return "Shaped", None
    return kind_of(consumer).input_dtype, num



# ---------------------------------------------------------------------------- naming
def input_names(layer: Any, rank: int) -> list[str] | None:
    """Canonical names of a layer's input axes, or None if the layer does not give them."""
    return kind_of(layer).input_names(layer, rank)


def output_names(layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
    return kind_of(layer).output_names(layer, rank, in_names)


def _row_axes(shape: Any, names: list[str] | None) -> tuple[int | str | None, ...] | None:
    """A layer's shape as its row holds it: an open size as its dim's name (None if unnamed)."""
    if shape is None:
        return None
    return tuple((names[i] if names and i < len(names) else None) if s is None else int(s)
                 for i, s in enumerate(shape))


# ---------------------------------------------------------------------------- graph
def _layers(model: Any) -> list[Any]:
    if hasattr(model, "layers") and not isinstance(model.layers, property):
        try:
            return list(model.layers)
        except Exception:
            return []
    return []


def _consumers(model: Any, tensor: Any) -> list[Any]:
    out = []
    for layer in _layers(model):
        for node in getattr(layer, "_inbound_nodes", []):
            try:
                ins = node.input_tensors
            except Exception:
                continue
            if any(t is tensor for t in ins):
                out.append(layer)
                break
    return out


def _names_for_input(model: Any, tensor: Any, rank: int) -> tuple[list[str], Any]:
    """Names for a model input, from the first layer downstream that names its axes."""
    seen = 0
    frontier = [tensor]
    while frontier and seen < 50:
        t = frontier.pop(0)
        for layer in _consumers(model, t):
            seen += 1
            names = input_names(layer, rank)
            if names is not None:
                return names, layer
            try:
                frontier.append(layer.output)
            except Exception:
                pass
    return ["batch"] + [f"axis{i}" for i in range(1, rank)], None


# ---------------------------------------------------------------------------- contract
def contract_of_keras(model: Any, level: str = "strict", input_shape: Any = None) -> Contract:
    """The Contract a Keras model or layer states through its own metadata (a Keras model
    states its input itself: `input_shape` is for torch's custom modules, unused here)."""
    name = f"{type(model).__name__} '{model.name}'"
    verdict = KerasVerdict(model)
    if is_subclassed(model) and not _first_layer_saw_the_input(model):
        return _subclassed_contract(model, name, level, verdict)
    inputs = _model_inputs(model)
    slots: list[Slot] = []
    num = _num_dtypes()
    for i, (tensor, shape, in_name) in enumerate(inputs):
        if shape is None:
            continue
        rank = len(shape)
        names, consumer = (_names_for_input(model, tensor, rank) if tensor is not None
                           else (input_names(_first_layer(model), rank)
                                 or ["batch"] + [f"axis{i}" for i in range(1, rank)],
                                 _first_layer(model)))
        kernel = kernel_origin(consumer)
        declared = Origin(f"Input({tuple(shape[1:])}) of {name}", "model", name, "input_shape",
                          str(tuple(shape[1:])))
        dims: list[Any] = []
        origins: list[Origin | None] = []
        for ax, (size, dname) in enumerate(zip(shape, names)):
            if ax == 0 and dname == "batch":
                # Keras records the first batch's size when fit/predict builds a model, and a
                # stateful model's batch_shape fixes its batches, not the sample count of the
                # whole dataset fit/predict take (16 samples in batches of 4): any count
                dims.append(Named("batch"))
                origins.append(None)
            elif size is None:
                if ax == rank - 1 and kernel is not None:
                    dims.append(Fixed(kernel[1], False, dname))
                    origins.append(kernel[0])
                else:
                    # an open size of one input is its own: two inputs' `timesteps` (an
                    # encoder's and a decoder's, a title's and a body's) need not agree
                    dims.append(Named(dname if i == 0 else f"{dname}_{i}"))
                    origins.append(None)
            else:
                dims.append(Fixed(int(size), False, dname))
                origins.append(kernel[0] if ax == rank - 1 and kernel is not None else declared)
        if level == "framework":
            dims, origins = _framework_dims(verdict, len(inputs), i, shape, dims, origins)
        dtype, dtypes = _input_dtype(tensor, consumer, num)
        if tensor is None and kind_of(consumer).any_rank and len(dims) >= 2:
            # an unbuilt model's first Dense states a least rank (min_ndim=2: it maps the last
            # axis of any rank): (batch, ..., features), not exactly (batch, features)
            dims = [dims[0], Variadic(None), *dims[1:]]
            origins = [origins[0], None, *origins[1:]]
        spec: Any = ArraySpec(tuple(dims), dtypes, dtype, (Any,), origins=tuple(origins))
        last = dims[-1] if dims else None
        if (len(dims) == 2 and isinstance(last, Fixed) and last.size == 1
                and not last.broadcast and tensor is not None):
            # Input(shape=(1,)) fed a column of scalars (batch,): nothing to misread (Keras
            # adds the axis); a missing channel or feature axis of a richer input stays refused
            spec = OneOf((spec, ArraySpec(tuple(dims[:1]), dtypes, dtype, (Any,),
                                          origins=tuple(origins[:1]))))
        var = "x" if len(inputs) == 1 else f"x{i}"  # the name fixes are written with
        optional = bool(getattr(getattr(getattr(tensor, "_keras_history", None), "operation",
                                        None), "optional", False))
        slots.append(Slot(var, "array", spec, loc=("input", in_name), key=in_name,
                          optional=optional))
    for j, (shape, out_name, layer) in enumerate(_model_outputs(model)):
        in_names = None
        names = output_names(layer, len(shape), in_names) if layer is not None else (
            ["batch"] + [f"axis{k}" for k in range(1, len(shape))])
        prefix = "out_" if j == 0 else f"out{j}_"  # open output dims of two outputs differ
        dims = [Named("batch") if (k == 0 and s is None) else
                (Fixed(int(s), False, names[k]) if s is not None else Named(prefix + names[k]))
                for k, s in enumerate(shape)]
        origins = [None] * len(dims)
        if layer is not None and dims:
            origins[-1] = kind_of(layer).output_origin(layer)
        spec = ArraySpec(tuple(dims), None, "Shaped", (Any,), origins=tuple(origins))
        slots.append(Slot(f"y{j}", "array", spec, loc=("output", out_name), output=True))
    notes: tuple[str, ...] = ()
    if not getattr(model, "built", True):
        notes = ("the model is not built: only the rank and the dims its first layer fixes are known",)
    return Contract(name, tuple(slots), layers=tuple(_rows(model)), level=level, notes=notes,
                    chain=_is_chain(model), framework=verdict, framework_name="Keras")


def _first_layer_saw_the_input(model: Any) -> bool:
    """A built subclassed model whose first layer was built on the model's own input shape (as
    Keras recorded both when the model was first called): its call hands the input to that
    layer as it comes, so the layer's contract is the model's."""
    own = getattr(model, "_build_shapes_dict", None)
    first = _first_layer(model)
    theirs = getattr(first, "_build_shapes_dict", None) if first is not model else None
    if not (isinstance(own, dict) and isinstance(theirs, dict) and len(own) == len(theirs) == 1):
        return False
    a, b = next(iter(own.values())), next(iter(theirs.values()))
    try:
        return len(a) == len(b) and tuple(a)[1:] == tuple(b)[1:]
    except TypeError:
        return False


def _subclassed_contract(model: Any, name: str, level: str, verdict: KerasVerdict) -> Contract:
    """A subclassed model states no input of its own: its input is any batch, and Keras is
    asked about each new shape by tracing `call` symbolically (shapes only, no weights)."""
    spec = ArraySpec((Named("batch"), Variadic(None)), None, "Shaped", (Any,))
    note = ("a subclassed model: its call is Python, so the input is any batch and Keras itself "
            "is asked about each new input shape (call traced on symbolic tensors)")
    return Contract(name, (Slot("x", "array", spec, loc=("input", "input")),),
                    layers=tuple(_rows(model)), level=level, notes=(note,), chain=False,
                    framework=verdict, framework_name="Keras", complete=False)


def _framework_dims(verdict: KerasVerdict, n_inputs: int, index: int, shape: Any,
                    dims: list[Any], origins: list[Origin | None]
                    ) -> tuple[list[Any], list[Origin | None]]:
    """Keep a fixed dim only where Keras itself rejects a change of it (asked on shapes)."""
    base = tuple(8 if s is None else s for s in shape)
    out, outo = list(dims), list(origins)
    for ax, d in enumerate(dims):
        if not isinstance(d, Fixed) or ax == 0:
            continue
        accepted = True
        for new in (base[ax] + 1, 2 * base[ax] + 3):  # two probes: pooling can hide one
            probe = list(base)
            probe[ax] = new
            shapes: list[Any] = [None] * n_inputs
            shapes[index] = tuple(probe)
            accepted = accepted and verdict.shapes(tuple(shapes))[0] is True
        if accepted:
            out[ax] = Named(d.label or f"axis{ax}")
            outo[ax] = None
    return out, outo


def _first_layer(model: Any) -> Any:
    layers = _layers(model)
    return layers[0] if layers else model


def _model_inputs(model: Any) -> list[tuple[Any, tuple[Any, ...] | None, str]]:
    try:
        ins = model.inputs
    except Exception:
        ins = None
    if ins:
        return [(t, tuple(t.shape), _input_name(t, i)) for i, t in enumerate(ins)]
    built = getattr(model, "_build_shapes_dict", None)  # the shape Keras built it on
    if isinstance(built, dict) and len(built) == 1:
        shape = next(iter(built.values()))
        if isinstance(shape, (tuple, list)) and shape:
            return [(None, tuple(None if i == 0 else s for i, s in enumerate(shape)), "input")]
    first = _first_layer(model)
    spec = getattr(first, "input_spec", None)
    if isinstance(spec, list):
        spec = spec[0] if spec else None
    if spec is not None and getattr(spec, "ndim", None):
        return [(None, (None,) * spec.ndim, "input")]
    if spec is not None and getattr(spec, "min_ndim", None):  # unbuilt: the least it takes
        return [(None, (None,) * spec.min_ndim, "input")]
    return []


def _input_name(t: Any, i: int) -> str:
    op = getattr(getattr(t, "_keras_history", None), "operation", None)
    return str(getattr(op, "name", None) or getattr(t, "name", None) or f"input_{i}")


def _model_outputs(model: Any) -> list[tuple[tuple[Any, ...], str, Any]]:
    try:
        outs = model.outputs
    except Exception:
        return []
    if not outs:
        return []
    out = []
    for t in outs:
        layer = getattr(getattr(t, "_keras_history", None), "operation", None)
        out.append((tuple(t.shape), getattr(layer, "name", "output"), layer))
    return out


def distinct_calls(layer: Any) -> int:
    """How many times a layer was called on distinct inputs. A Sequential loaded from a
    `.keras` file is built twice by Keras, so its first layer has two inbound nodes on the same
    input tensor: one call, not a shared layer."""
    seen: set[tuple[int, ...]] = set()
    for node in getattr(layer, "_inbound_nodes", ()):
        try:
            seen.add(tuple(id(t) for t in node.input_tensors))
        except Exception:
            seen.add((id(node),))
    return len(seen)


def output_ids(layer: Any) -> set[int]:
    """Ids of the layer's output tensors over all its calls (duplicates of one call included)."""
    out: set[int] = set()
    for node in getattr(layer, "_inbound_nodes", ()):
        try:
            out.update(id(t) for t in node.output_tensors)
        except Exception:
            pass
    try:
        out.add(id(layer.output))
    except Exception:
        pass
    return out


def _is_chain(model: Any) -> bool:
    """Does each layer take exactly the previous layer's output (a Sequential-like chain)?"""
    prev: set[int] | None = None
    for layer in _layers(model):
        try:
            ins = layer.input
        except Exception:
            return True  # unbuilt: a Sequential, a chain by construction
        if isinstance(ins, (list, tuple)) or distinct_calls(layer) > 1:
            return False
        if prev is not None and id(ins) not in prev:
            return False
        prev = output_ids(layer)
    return True


def _rows(model: Any) -> list[LayerRow]:
    rows = []
    names_by_tensor: dict[int, list[str]] = {}
    for layer in _layers(model):
        if not kind_of(layer).listed:
            continue
        try:
            ins = layer.input
            in_t = ins[0] if isinstance(ins, (list, tuple)) else ins
            in_shape = tuple(in_t.shape)
        except Exception:
            in_t, in_shape = None, None
        try:
            out_shape = tuple(layer.output.shape)
        except Exception:
            out_shape = None
        in_names = names_by_tensor.get(id(in_t)) if in_t is not None else None
        if in_names is None and in_shape is not None:
            in_names = input_names(layer, len(in_shape)) or ["batch"] + [
                f"axis{i}" for i in range(1, len(in_shape))]
        out_names = output_names(layer, len(out_shape), in_names) if out_shape else None
        if out_shape is not None and out_names:
            try:
                names_by_tensor[id(layer.output)] = out_names
            except Exception:
                pass
        rows.append(LayerRow(layer.name, type(layer).__name__, _row_axes(in_shape, in_names),
                             _row_axes(out_shape, out_names), type(layer)))
    return rows


# ----------------------------------------------------------------- framework verdicts
