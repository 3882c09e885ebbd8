"""Keras 3 models and layers -> Contract, from Keras's own metadata (no forward pass on data).

Design rules:
- This module never imports Keras at import time: it runs only once a Keras object showed up
  (then `keras` is in `sys.modules`). Works on every Keras backend (TensorFlow, torch, jax).
- Layer knowledge is one table, `LAYERS`: a Keras class name -> its rule (how it names its
  input and output axes, which attribute fixes its last output axis), looked up along the MRO,
  so a subclass of `keras.layers.LSTM` is an LSTM. Adding a layer is one entry.
- The strict contract states every declared dim: `Input((24, 3))` means 24 timesteps and 3
  features, named by the layer that consumes them. Fixed sizes record a structured origin.
- The framework level asks Keras, on shapes only: the model's own input-rank adjustment
  (squeeze/expand of a trailing 1), then each layer's `input_spec` and recurrent kernel in
  graph order, propagating `compute_output_spec` on symbolic tensors. Verdicts are cached per
  model (on the verdict object, which the contract carries) by input shape.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from .._compile import Contract
from .._contract import LayerRow, Slot
from .._dims import Fixed, Named, Variadic
from .._errors import Origin, ShapeContractError, recent_error
from .._spec import ArraySpec, OneOf
from ..backends import BrokenShape, dtype_name, shape_of
from ._cache import bounded
from ._table import lookup

__all__ = ["LAYERS", "LOSSES", "KerasVerdict", "contract_of_keras", "is_keras", "rule_of",
           "target_contract"]


@dataclass(frozen=True)
class LayerRule:
    """What shapecontract knows of one Keras layer class."""

    kind: str
    """`rnn`, `bidirectional`, `conv1d`, `conv2d`, `conv3d`, `dense`, `embedding`, `flatten`,
    `time_distributed`, `same` (output shape = input shape) or `input`."""
    output_attr: str | None = None
    """The attribute that fixes the last output axis (`units`, `filters`, `output_dim`)."""


_conv = {f"{base}{n}D": LayerRule(f"conv{n}d", "filters" if "Conv" in base and "Depthwise" not in base else None)
         for n in (1, 2) for base in ("Conv", "SeparableConv", "DepthwiseConv")}
_conv.update({f"Conv{n}DTranspose": LayerRule(f"conv{n}d", "filters") for n in (1, 2)})
_conv.update({f"{base}{n}D": LayerRule(f"conv{n}d")
              for n in (1, 2) for base in ("MaxPooling", "AveragePooling", "GlobalMaxPooling",
                                           "GlobalAveragePooling", "UpSampling", "ZeroPadding",
                                           "Cropping")})
LAYERS: dict[str, LayerRule] = {
    "LSTM": LayerRule("rnn", "units"), "GRU": LayerRule("rnn", "units"),
    "SimpleRNN": LayerRule("rnn", "units"), "RNN": LayerRule("rnn"),
    "Bidirectional": LayerRule("bidirectional"),
    **_conv,
    "Conv3D": LayerRule("conv3d", "filters"), "MaxPooling3D": LayerRule("conv3d"),
    "AveragePooling3D": LayerRule("conv3d"),
    "Dense": LayerRule("dense", "units"), "EinsumDense": LayerRule("dense"),
    "Embedding": LayerRule("embedding", "output_dim"),
    "Flatten": LayerRule("flatten"),
    "TimeDistributed": LayerRule("time_distributed"),
    **{n: LayerRule("same") for n in (
        "Dropout", "BatchNormalization", "LayerNormalization", "Masking", "Activation",
        "GaussianNoise", "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D", "ReLU",
        "LeakyReLU", "Softmax", "ELU", "PReLU", "UnitNormalization", "GroupNormalization",
        "Normalization", "Rescaling")},
    "InputLayer": LayerRule("input"),
}
"""Keras layer class name -> rule. Looked up along the MRO (`rule_of`)."""


def rule_of(layer: Any) -> LayerRule | None:
    return lookup(layer, LAYERS, "keras")


def _kind(layer: Any) -> str | None:
    rule = rule_of(layer)
    return None if rule is None else rule.kind


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
    return ("Int" if _kind(consumer) == "embedding" else "Num"), num


# ---------------------------------------------------------------------------- naming
def _channels_first(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


def input_names(layer: Any, rank: int) -> list[str] | None:
    """Canonical names of a layer's input axes, or None if the layer does not give them."""
    kind = _kind(layer)
    generic = ["batch"] + [f"axis{i}" for i in range(1, rank)]
    if kind in ("rnn", "bidirectional"):
        return ["batch", "timesteps", "features"] if rank == 3 else generic
    if kind == "time_distributed" and rank >= 2:
        inner = input_names(layer.layer, rank - 1) or generic[1:]
        return ["batch", "timesteps", *inner[1:]]
    if kind == "conv1d" and rank == 3:
        return ["batch", "channels", "length"] if _channels_first(layer) else ["batch", "length", "channels"]
    if kind == "conv2d" and rank == 4:
        return (["batch", "channels", "height", "width"] if _channels_first(layer)
                else ["batch", "height", "width", "channels"])
    if kind == "conv3d" and rank == 5:
        return (["batch", "channels", "depth", "height", "width"] if _channels_first(layer)
                else ["batch", "depth", "height", "width", "channels"])
    if kind == "embedding":
        return (["batch", "length", *generic[2:]])[:rank]
    if kind == "dense":
        if rank == 2:
            return ["batch", "features"]
        if rank == 3:
            return ["batch", "timesteps", "features"]
        return [*generic[:-1], "features"]
    if kind in ("same", "input"):
        return None
    return generic


def output_names(layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
    kind = _kind(layer)
    generic = ["batch"] + [f"axis{i}" for i in range(1, rank)]
    if kind in ("rnn", "bidirectional"):
        return ["batch", "timesteps", "units"] if rank == 3 else ["batch", "units"][:rank]
    if kind in ("dense", "embedding"):
        base = (in_names or generic)[: rank - 1]
        return [*base, "units" if kind != "embedding" else "features"]
    if kind in ("conv1d", "conv2d") and in_names and len(in_names) == rank:
        return in_names
    if kind == "flatten":
        return ["batch", "features"][:rank]
    if kind in ("same", "input") and in_names and len(in_names) == rank:
        return in_names
    return generic


def _shape_text(shape: Any, names: list[str] | None) -> str:
    if shape is None:
        return "?"
    items = []
    for i, s in enumerate(shape):
        if s is None:
            items.append(names[i] if names and i < len(names) else "?")
        else:
            items.append(str(s))
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


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


def _who(layer: Any) -> str:
    return f"{type(layer).__name__} '{layer.name}'"


def _kernel_origin(layer: Any) -> tuple[Origin, int] | None:
    """(origin, input size) when a built layer's weights fix its input's last axis."""
    if layer is None:
        return None
    kind = _kind(layer)
    target = layer
    if kind == "bidirectional":
        target = layer.forward_layer
    if kind == "time_distributed":
        return _kernel_origin(layer.layer)
    cell = getattr(target, "cell", None)
    kernel = getattr(cell if cell is not None else target, "kernel", None)
    if kernel is None or not getattr(layer, "built", False):
        return None
    shape = tuple(kernel.shape)
    size = shape[0] if cell is not None or kind == "dense" else shape[-2]
    return Origin.of_layer(_who(layer), "kernel", str(shape)), int(size)


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
        kernel = _kernel_origin(consumer)
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
        if tensor is None and _kind(consumer) == "dense" and len(dims) >= 2:
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
            origins[-1] = _output_origin(layer)
        spec = ArraySpec(tuple(dims), None, "Shaped", (Any,), origins=tuple(origins))
        slots.append(Slot(f"y{j}", "array", spec, loc=("output", out_name), output=True))
    notes: tuple[str, ...] = ()
    if not getattr(model, "built", True):
        notes = ("the model is not built: only the rank and the dims its first layer fixes are known",)
    return Contract(name, tuple(slots), layers=tuple(_rows(model)), level=level, notes=notes,
                    chain=_is_chain(model), framework=verdict, framework_name="Keras")


def is_subclassed(model: Any) -> bool:
    """A keras.Model whose own `call` is Python (not Sequential's or a functional graph's): its
    first layer does not have to see the input as it comes (the call may reshape it first).
    Its contract is its first layer's only when Keras's records show that layer was built on
    the model's input shape; else any batch, asked of Keras per shape."""
    import keras

    if not isinstance(model, keras.Model):
        return False
    from keras.src.models.functional import Functional

    return type(model).call not in (keras.Sequential.call, Functional.call, keras.Model.call)


def unbuilt_targets(model: Any, x: Any, level: str) -> Contract | None:
    """The target contract of an unbuilt model about to be fit on the array `x`: read off a
    clone built for x's shape (the model itself stays unbuilt: Keras builds it its own way), so
    y is checked against the loss before the first step. None when it cannot be cloned."""
    import warnings

    import keras

    try:
        shape = tuple(shape_of(x) or ())
    except BrokenShape:
        return None
    if not shape or is_subclassed(model):
        return None
    with warnings.catch_warnings(), _no_trace():
        warnings.simplefilter("ignore")
        try:
            clone = keras.models.clone_model(model)
            clone.build((None, *shape[1:]))
        except Exception:
            return None
    return target_contract(model, contract_of_keras(clone, level))


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


def _output_origin(layer: Any) -> Origin | None:
    """The attribute that fixes a layer's last output axis: `Dense 'dense' units`."""
    rule = rule_of(layer)
    if rule is not None and rule.kind == "bidirectional":
        inner = rule_of(layer.forward_layer)
        attr = inner.output_attr if inner is not None else None
    else:
        attr = rule.output_attr if rule is not None else None
    return Origin.of_layer(_who(layer), attr) if attr else None


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
    first = _first_layer(model)
    spec = getattr(first, "input_spec", None)
    if isinstance(spec, list):
        spec = spec[0] if spec else None
    if spec is not None and getattr(spec, "ndim", None):
        return [(None, (None,) * spec.ndim, "input")]
    if spec is not None and getattr(spec, "min_ndim", None):
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
        if _kind(layer) == "input":
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
        rows.append(LayerRow(layer.name, type(layer).__name__, _shape_text(in_shape, in_names),
                             _shape_text(out_shape, out_names)))
    return rows


# ----------------------------------------------------------------- framework verdicts
class KerasVerdict:
    """Keras's own verdict for one model on input values: shapes only, cached by shape (and by
    whether the model is built). Held by the model's contract."""

    def __init__(self, model: Any) -> None:
        self._model = model  # the contract describes this model: it keeps it
        self._cache: dict[tuple[Any, ...], tuple[bool | None, str]] = {}

    def __call__(self, values: list[Any]) -> tuple[bool | None, str]:
        try:
            shapes = tuple(None if v is None else shape_of(v) for v in values)
        except BrokenShape:
            return None, ""  # not a shape: the contract's own checks say so
        if any(s is not None and None in s for s in shapes):
            return None, ""  # unknown sizes: cannot tell now (checked when they are known)
        dtypes = tuple(_dtype_text(v) for v in values)
        return self.shapes(shapes, dtypes)

    def shapes(self, shapes: tuple[Any, ...],
               dtypes: tuple[str | None, ...] = ()) -> tuple[bool | None, str]:
        model = self._model
        key = (shapes, dtypes, bool(getattr(model, "built", True)))
        hit = self._cache.get(key)
        if hit is None:
            hit = bounded(self._cache)[key] = _keras_verdict(model, shapes, dtypes)
        return hit


class _no_trace:
    """Clone or trace a model for its shapes only and leave the program's randomness as it was:
    a clone's layers draw their initializers' seeds from Python's `random` (and may draw from
    numpy's and Keras's global seed generator), which would change the user's next model's
    initial weights and every draw after (a guarded run would not be the unguarded run)."""

    def __enter__(self) -> None:
        import random

        from keras.src.backend.common import global_state

        self.py = random.getstate()
        np = sys.modules.get("numpy")
        self.np = np.random.get_state() if np is not None else None
        self.gen = global_state.get_global_attribute("global_seed_generator")
        self.state = None if self.gen is None else self.gen.state.numpy()

    def __exit__(self, *exc: Any) -> None:
        import random

        random.setstate(self.py)
        np = sys.modules.get("numpy")
        if np is not None and self.np is not None:
            np.random.set_state(self.np)
        if self.gen is not None:
            self.gen.state.assign(self.state)


def _unbuilt_verdict(model: Any, shapes: tuple[Any, ...],
                    dtypes: tuple[str | None, ...] = ()) -> tuple[bool | None, str]:
    """An unbuilt model builds on its first call, with that call's shapes: ask a clone (built on
    symbolic tensors of those shapes, so the model itself stays unbuilt). A model Keras cannot
    clone (a subclassed model without get_config) cannot be asked: None."""
    import warnings

    import keras

    with warnings.catch_warnings(), _no_trace():
        warnings.simplefilter("ignore")
        try:
            clone = keras.models.clone_model(model)
        except Exception:
            return None, ""
        ok, reason = _traced_verdict(clone, shapes, dtypes)
    if ok is False:
        return False, f"Keras builds it on the first call, and rejects this shape: {reason}"
    if ok:
        return True, "the model is not built; Keras builds it for this shape on the first call"
    return None, ""


def _traced_verdict(model: Any, shapes: tuple[Any, ...],
                    dtypes: tuple[str | None, ...]) -> tuple[bool | None, str]:
    """Keras's answer for `model.call` traced on symbolic tensors of `shapes` (and dtypes):
    its layers check their input specs and kernels, as they do when called on data."""
    import warnings

    import keras

    if len(shapes) != 1 or shapes[0] is None:
        return None, ""
    dtype = dtypes[0] if dtypes and dtypes[0] else None
    with warnings.catch_warnings(), _no_trace():
        warnings.simplefilter("ignore")
        try:
            model.compute_output_spec(keras.KerasTensor(tuple(shapes[0]), dtype=dtype))
        except (ValueError, TypeError, IndexError) as e:
            return False, _keras_reason(e)
        except Exception:
            return None, ""
    return True, ""


def _keras_reason(e: BaseException) -> str:
    """The line of a Keras error that says what is wrong. Tracing a subclassed model wraps the
    layer's error ("Could not automatically infer the output shape ... Error encountered:"),
    and Keras prints layer names in bold (ANSI codes)."""
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(e))
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    for marker in ("Error encountered:", "Exception encountered when calling"):
        at = next((k for k, ln in enumerate(lines) if marker in ln), None)
        if at is not None and at + 1 < len(lines):
            lines = lines[at + 1:]
            if lines[0].startswith("Exception encountered when calling") and len(lines) > 1:
                lines = lines[1:]
    return (lines or [type(e).__name__])[0][:300]


def _dtype_text(v: Any) -> str | None:
    """`v`'s dtype by name (what a KerasTensor takes), None if it has none that Keras knows."""
    if v is None:
        return None
    try:
        name = dtype_name(v.dtype)
    except Exception:
        return None
    return name if name.isidentifier() else None


def _keras_verdict(model: Any, shapes: tuple[Any, ...],
                   dtypes: tuple[str | None, ...] = ()) -> tuple[bool | None, str]:
    import keras

    graph = getattr(model, "_functional", None) or model
    refs = getattr(graph, "inputs", None)
    if not refs or not hasattr(graph, "_run_through_graph"):
        if getattr(model, "built", False) and is_subclassed(model):
            return _traced_verdict(model, shapes, dtypes)
        return _unbuilt_verdict(model, shapes, dtypes)
    notes = []
    kts = []
    for ref, shape in zip(refs, shapes):
        ref_shape = tuple(ref.shape)
        if shape is None:
            shape = tuple(8 if s is None else s for s in ref_shape)
        shape = tuple(shape)
        if len(shape) == len(ref_shape) + 1 and shape[-1] == 1:
            shape = shape[:-1]
            notes.append("Keras squeezes a trailing axis of size 1 on its own")
        elif len(shape) == len(ref_shape) - 1 and ref_shape[-1] == 1:
            shape = (*shape, 1)
            notes.append("Keras expands a missing trailing axis of size 1 on its own")
        elif len(shape) != len(ref_shape):
            return False, f"Keras rejects rank {len(shape)} for input shape {ref_shape}"
        kts.append(keras.KerasTensor(shape, dtype=ref.dtype))

    def operation_fn(op: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            _assert_layer_accepts(op, args)
            return op.compute_output_spec(*args, **kwargs)
        return run

    try:
        spec = getattr(model, "input_spec", None)  # a functional model checks its inputs' shapes
        if spec is not None:
            from keras.src.layers.input_spec import assert_input_compatibility

            assert_input_compatibility(spec, kts if len(kts) > 1 else kts[0], model.name)
        graph._run_through_graph(kts, operation_fn=operation_fn)
    except Exception as e:  # Keras's own verdict, in Keras's own words
        return False, str(e).strip().splitlines()[0][:300]
    return True, "; ".join(notes)


def _assert_layer_accepts(layer: Any, args: tuple[Any, ...]) -> None:
    import keras
    from keras.src.layers.input_spec import assert_input_compatibility

    if not isinstance(layer, keras.Layer) or not args:
        return
    x = args[0]
    if getattr(layer, "input_spec", None) is not None:
        assert_input_compatibility(layer.input_spec, x, layer.name)
    kind = _kind(layer)
    if kind == "time_distributed" and hasattr(x, "shape") and len(x.shape) >= 2:
        inner = keras.KerasTensor((x.shape[0], *x.shape[2:]), dtype=x.dtype)
        _assert_layer_accepts(layer.layer, (inner,))
        return
    k = _kernel_origin(layer)
    if k is not None and kind in ("rnn", "bidirectional") and hasattr(x, "shape") and (
            x.shape[-1] is not None):
        if x.shape[-1] != k[1]:
            raise ValueError(f"{_who(layer)} expects {k[1]} features ({k[0]}), "
                             f"got {x.shape[-1]}")


# ---------------------------------------------------------------------------- guards
ENTRY_POINTS = ("fit", "predict", "evaluate", "train_on_batch", "predict_on_batch",
                "test_on_batch", "__call__")
_GUARD_KEY = "_shapecontract_guard"
_DIRECT_KEY = "_shapecontract_direct"  # the guard's `direct` dict, one lookup away
_OBJECT_CLASS = object.__dict__["__class__"]  # the real `__class__` slot of every object
_guarded_classes: dict[type, type] = {}
_NO_DIRECT = (None, None)
_UNSET: Any = object()  # no positional input was given


def guard_of(model: Any) -> Any:
    """The guard installed on a Keras model, or None."""
    if "__shapecontract_base__" not in type(model).__dict__:
        return None
    return model.__dict__.get(_GUARD_KEY)


def install_guard(model: Any, guard: Any) -> None:
    """Swap the instance's class for a subclass whose entry points ask `guard` first.

    Python looks special methods (`__call__`) up on the type, so this needs a class; the
    subclass is made once per Keras class. It reports the Keras class as `__class__`, so Keras
    serialisation (`model.save`, `clone_model`) sees the model's own class, and it reduces
    (pickle, `copy.deepcopy`) to the model's own reduction plus the guard, so copies stay
    guarded. `model.save` and `clone_model` give unguarded models: their formats hold configs
    and weights, not Python objects.
    """
    base = type(model)
    sub = _guarded_classes.get(base)
    if sub is None:
        sub = _guarded_classes[base] = _make_guarded_class(base)
    model.__dict__[_GUARD_KEY] = guard
    model.__dict__[_DIRECT_KEY] = guard.direct
    _OBJECT_CLASS.__set__(model, sub)


def remove_guard(model: Any) -> None:
    base = type(model).__dict__.get("__shapecontract_base__")
    if base is None:
        return
    _OBJECT_CLASS.__set__(model, base)
    model.__dict__.pop(_GUARD_KEY, None)
    model.__dict__.pop(_DIRECT_KEY, None)


def restore_guarded(func: Any, args: tuple[Any, ...], guard: Any) -> Any:
    """Unpickling/copying target: rebuild the model as Keras does, then guard it again."""
    model = func(*args)
    install_guard(model, guard)
    return model


def _make_guarded_class(base: type) -> type:
    ns: dict[str, Any] = {"__shapecontract_base__": base, "__module__": base.__module__,
                          "__qualname__": base.__qualname__}
    for name in ENTRY_POINTS:
        ns[name] = _entry(base, name)

    def __reduce__(self: Any) -> tuple[Any, ...]:
        guard = self.__dict__[_GUARD_KEY]
        _OBJECT_CLASS.__set__(self, base)
        state = self.__dict__.pop(_GUARD_KEY)
        direct = self.__dict__.pop(_DIRECT_KEY)
        try:
            reduced: Any = base.__reduce__(self)  # type: ignore[call-arg]
            func, args = reduced[:2]
        finally:
            self.__dict__[_GUARD_KEY] = state
            self.__dict__[_DIRECT_KEY] = direct
            _OBJECT_CLASS.__set__(self, sub)
        return (restore_guarded, (func, args, guard))

    def get_class(self: Any) -> type:
        return base

    def set_class(self: Any, cls: type) -> None:
        _OBJECT_CLASS.__set__(self, cls)

    ns["__reduce__"] = __reduce__
    ns["__class__"] = property(get_class, set_class)
    sub = type(base.__name__, (base,), ns)
    return sub


def _ours(e: Exception) -> ShapeContractError | None:
    """Our error inside a framework's `e`, to raise instead of it: a check that ran in
    TensorFlow's own threads (tf.data, generators) arrives as a TF error carrying our text.
    None when `e` is ours already or carries nothing of ours (raise `e` as it is)."""
    err = recent_error(e)
    return None if err is e else err


def _entry(base: type, name: str) -> Any:
    import inspect

    method = getattr(base, name)
    first = list(inspect.signature(method).parameters)[1]  # after self: x / inputs

    is_fit = name == "fit"
    has_y = name in ("fit", "evaluate", "train_on_batch", "test_on_batch")

    def entry(self: Any, x: Any = _UNSET, /, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        d = self.__dict__
        direct = d.get(_DIRECT_KEY)
        unbuilt: tuple[Any, ...] | None = None  # (x, y, sample_weight) of an unbuilt model's fit
        if direct is not None:
            if x is not _UNSET:
                # the common case: one array into a built one-input model, straight to its checker
                t, fn = direct.get(name, _NO_DIRECT)
                if type(x) is t:
                    fn(x)
                else:
                    x = d[_GUARD_KEY].keras_input(self, name, x)
            else:
                key = next((k for k in (first, "inputs", "x") if k in kwargs), None)
                if key is not None:
                    kwargs[key] = d[_GUARD_KEY].keras_input(self, name, kwargs[key])
            if has_y and (args or "y" in kwargs):
                given = kwargs.get(first, x) if x is _UNSET else x
                y = args[0] if args else kwargs["y"]
                d[_GUARD_KEY].keras_targets(self, name, given, y, kwargs.get("sample_weight"))
                if not getattr(self, "built", True):
                    unbuilt = (given, y, kwargs.get("sample_weight"))
            if is_fit and "validation_data" in kwargs:
                kwargs["validation_data"] = d[_GUARD_KEY].keras_validation(
                    self, kwargs["validation_data"])
        try:
            if x is _UNSET:
                return method(self, *args, **kwargs)
            return method(self, x, *args, **kwargs)
        except Exception as e:
            ours = _ours(e)
            if ours is None and unbuilt is not None and getattr(self, "built", False):
                # Keras built the model, then failed on the loss while it built the step (a
                # model no clone could stand for): say it as the targets against the loss
                try:
                    d[_GUARD_KEY].keras_targets(self, name, *unbuilt)
                except ShapeContractError as found:
                    ours = found
            if ours is None:
                raise
            raise ours from None

    if list(inspect.signature(method).parameters) == ["self", first] and not has_y:
        def entry_one(self: Any, x: Any) -> Any:  # predict_on_batch(x): no argument packing
            __tracebackhide__ = True
            d = self.__dict__
            direct = d.get(_DIRECT_KEY)
            if direct is not None:
                t, fn = direct.get(name, _NO_DIRECT)
                if type(x) is t:
                    fn(x)
                else:
                    x = d[_GUARD_KEY].keras_input(self, name, x)
            try:
                return method(self, x)
            except Exception as e:
                ours = _ours(e)
                if ours is None:
                    raise
                raise ours from None

        entry = entry_one  # type: ignore[assignment]
    entry.__name__ = name
    entry.__qualname__ = f"{base.__qualname__}.{name}"
    entry.__doc__ = method.__doc__
    return entry


# ---------------------------------------------------------------------------- targets
@dataclass(frozen=True)
class LossRule:
    """What a compiled Keras loss expects of `y`, given the model's output."""

    target: str
    """`one_hot`: y has the output's shape (one-hot labels); `elementwise`: y has the output's
    shape, or lacks a trailing axis of size 1 (Keras's losses add it back: a (batch,) target
    for a (batch, 1) output is fine; (n, 5) is not); `sparse`: the output's shape without its
    last axis, or with a last axis of 1 (integer labels)."""
    advice: str
    """What to do when y does not fit (`{units}` is the output's last size)."""


_SAME_SHAPE_ADVICE = ("{loss} compares y with the model's output element by element, so y must "
                      "have the output's shape {shape}; a different shape is broadcast or "
                      "rejected. Select the targets that match it (one value per output "
                      "unit; for one-hot labels of a one-unit output, y[:, 1] or y.argmax(-1)), "
                      "or change the output layer (units, return_sequences)")
_CATEGORICAL = LossRule("one_hot", "{loss} takes one-hot targets shaped like the output {shape}: "
                                "keras.utils.to_categorical(y, {units}) makes them from integer "
                                "labels, or compile with loss='sparse_categorical_crossentropy' "
                                "to keep the integer labels")
_SPARSE = LossRule("sparse", "{loss} takes integer class labels of shape (batch,): y.argmax(-1) "
                             "makes them from one-hot labels, or compile with "
                             "loss='categorical_crossentropy' to keep one-hot labels")
LOSSES: dict[str, LossRule] = {
    "categoricalcrossentropy": _CATEGORICAL, "categoricalfocalcrossentropy": _CATEGORICAL,
    "categoricalhinge": _CATEGORICAL,
    "sparsecategoricalcrossentropy": _SPARSE,
    **{n: LossRule("elementwise", _SAME_SHAPE_ADVICE) for n in (
        "binarycrossentropy", "binaryfocalcrossentropy", "meansquarederror", "mse",
        "meanabsoluteerror", "mae", "meanabsolutepercentageerror", "mape",
        "meansquaredlogarithmicerror", "msle", "huber", "logcosh", "kldivergence", "kld",
        "kullbackleiblerdivergence", "hinge", "squaredhinge", "poisson", "cosinesimilarity")},
}
"""Keras loss (name, function or class, normalised) -> what it expects of `y`."""


def _loss_key(loss: Any) -> str | None:
    candidates = [loss] if isinstance(loss, str) else [
        getattr(getattr(loss, "fn", None), "__name__", None),  # LossFunctionWrapper(mse)
        getattr(loss, "__name__", None),                        # keras.losses.mse
        type(loss).__name__]                                    # keras.losses.Huber()
    for candidate in candidates:
        if candidate:
            key = candidate.lower().replace("_", "")
            if key in LOSSES:
                return key
    return None


def target_contract(model: Any, contract: Contract) -> Contract | None:
    """The model's inputs and, for each output whose compiled loss the table knows, the target
    `y` it takes (sharing `batch` with the inputs: sample counts must agree). None if the model
    is not compiled with a loss we know for every output."""
    loss = getattr(model, "loss", None)
    outs = contract.outputs()
    if loss is None or not outs or contract.level != "strict":
        return None  # the framework level accepts what Keras accepts, broadcasts included
    if isinstance(loss, dict) or hasattr(loss, "keys"):
        per_output = [loss.get(s.key or "", loss.get(str(s.location[1]), None)) for s in outs]
    elif isinstance(loss, (list, tuple)) or type(loss).__name__ == "ListWrapper":
        per_output = list(loss)
    else:
        per_output = [loss] * len(outs)
    if len(per_output) != len(outs):
        return None
    targets: list[Slot] = []
    for j, (out, item) in enumerate(zip(outs, per_output)):
        key = _loss_key(item)
        if key is None or not isinstance(out.spec, ArraySpec):
            return None
        rule = LOSSES[key]
        dims = out.spec.dims
        if dims and isinstance(dims[0], Fixed):  # the batch Keras recorded when it was built
            dims = (Named("batch"), *dims[1:])  # (a predict on 10 rows): any batch of data
        last = dims[-1] if dims else None
        units = last.size if isinstance(last, Fixed) else "n_classes"
        shape = "(" + ", ".join(getattr(d, "name", None) or str(getattr(d, "size", "?"))
                                for d in dims) + ")"
        advice = (rule.advice.format(loss=item if isinstance(item, str) else
                                     getattr(getattr(item, "fn", item), "__name__", key),
                                     shape=shape, units=units),)
        origins = out.spec.origins
        if rule.target == "one_hot":
            spec: Any = ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice)
        elif rule.target == "elementwise" and not (isinstance(last, Fixed) and last.size == 1):
            # Keras squeezes a trailing axis of size 1 off y: (n, 2, 1) for a (batch, 2) output
            spec = OneOf((ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice),
                          ArraySpec((*dims, Fixed(1, False, "label")), None, "Shaped", (Any,),
                                    advice=advice)))
        elif rule.target == "elementwise":  # (batch, 1) output: (batch, 1) or (batch,) targets
            spec = OneOf((ArraySpec(dims, None, "Shaped", (Any,), origins=origins, advice=advice),
                          ArraySpec(dims[:-1], None, "Shaped", (Any,), advice=advice)))
        else:
            base = dims[:-1]
            spec = OneOf((ArraySpec(base, None, "Shaped", (Any,), advice=advice),
                          ArraySpec((*base, Fixed(1, False, "label")), None, "Shaped", (Any,),
                                    advice=advice)))
        name = str(out.location[1]) if len(out.location) > 1 else f"y{j}"
        var = "y" if len(outs) == 1 else f"y{j}"  # the name fixes are written with
        targets.append(Slot(var, "array", spec, loc=("target", name), key=out.key or name))
    weight = Slot("sample_weight", "array", ArraySpec(
        (Named("batch"), Variadic(None)), None, "Shaped", (Any,)),
        optional=True)  # per sample (the batch the inputs bind), or per step (temporal)
    return contract.replace(slots=(*contract.inputs(), *targets, weight), framework=None)
