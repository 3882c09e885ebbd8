"""Keras 3 models and layers -> Contract, from Keras's own metadata (no forward pass on data).

Design rules:
- Imported only when a Keras object shows up (`contract_of`, `guard`), so `keras` is already
  loaded; works on every Keras backend (TensorFlow, torch, jax).
- The strict contract states every declared dim: `Input((24, 3))` means 24 timesteps and 3
  features, named by the layer that consumes them (LSTM: batch, timesteps, features; Conv2D:
  batch, height, width, channels ...). Fixed sizes record their origin (Input shape, kernel).
- The framework level asks Keras, on shapes only: the model's own input-rank adjustment
  (squeeze/expand of a trailing 1), then each layer's `input_spec` and recurrent kernel in
  graph order, propagating `compute_output_spec` on symbolic tensors. Verdicts are cached by
  input shape.
"""

from __future__ import annotations

import sys
from typing import Any

from .._contract import Contract, LayerRow, Slot
from .._spec import ArraySpec, Fixed, Named

__all__ = ["contract_of_keras", "is_keras", "keras_verdict"]

_RNN = {"LSTM", "GRU", "SimpleRNN", "RNN", "Bidirectional"}
_CONV1D = {"Conv1D", "Conv1DTranspose", "SeparableConv1D", "DepthwiseConv1D", "MaxPooling1D",
           "AveragePooling1D", "GlobalMaxPooling1D", "GlobalAveragePooling1D", "UpSampling1D",
           "ZeroPadding1D", "Cropping1D"}
_CONV2D = {"Conv2D", "Conv2DTranspose", "SeparableConv2D", "DepthwiseConv2D", "MaxPooling2D",
           "AveragePooling2D", "GlobalMaxPooling2D", "GlobalAveragePooling2D", "UpSampling2D",
           "ZeroPadding2D", "Cropping2D"}
_SAME_SHAPE = {"Dropout", "BatchNormalization", "LayerNormalization", "Masking", "Activation",
               "GaussianNoise", "GaussianDropout", "SpatialDropout1D", "SpatialDropout2D",
               "ReLU", "LeakyReLU", "Softmax", "ELU", "PReLU", "UnitNormalization",
               "GroupNormalization", "Normalization", "Rescaling", "InputLayer"}


def is_keras(obj: Any) -> bool:
    keras = sys.modules.get("keras")
    return keras is not None and isinstance(obj, keras.Layer)


def _num_dtypes() -> frozenset[str]:
    import jaxtyping

    return frozenset(jaxtyping.Num.dtypes)


# ---------------------------------------------------------------------------- naming
def _channels_first(layer: Any) -> bool:
    return getattr(layer, "data_format", "channels_last") == "channels_first"


def input_names(layer: Any, rank: int) -> list[str] | None:
    """Canonical names of a layer's input axes, or None if the layer does not give them."""
    cls = type(layer).__name__
    generic = ["batch"] + [f"axis{i}" for i in range(1, rank)]
    if cls in _RNN:
        return ["batch", "timesteps", "features"] if rank == 3 else generic
    if cls == "TimeDistributed" and rank >= 2:
        inner = input_names(layer.layer, rank - 1) or generic[1:]
        return ["batch", "timesteps"] + inner[1:]
    if cls in _CONV1D and rank == 3:
        return ["batch", "channels", "length"] if _channels_first(layer) else ["batch", "length", "channels"]
    if cls in _CONV2D and rank == 4:
        return (["batch", "channels", "height", "width"] if _channels_first(layer)
                else ["batch", "height", "width", "channels"])
    if cls in ("Conv3D", "MaxPooling3D", "AveragePooling3D") and rank == 5:
        return (["batch", "channels", "depth", "height", "width"] if _channels_first(layer)
                else ["batch", "depth", "height", "width", "channels"])
    if cls == "Embedding":
        return (["batch", "length"] + generic[2:])[:rank]
    if cls in ("Dense", "EinsumDense"):
        if rank == 2:
            return ["batch", "features"]
        if rank == 3:
            return ["batch", "timesteps", "features"]
        return generic[:-1] + ["features"]
    if cls in _SAME_SHAPE:
        return None
    return generic


def output_names(layer: Any, rank: int, in_names: list[str] | None) -> list[str]:
    cls = type(layer).__name__
    generic = ["batch"] + [f"axis{i}" for i in range(1, rank)]
    if cls in _RNN:
        return ["batch", "timesteps", "units"] if rank == 3 else ["batch", "units"][:rank]
    if cls in ("Dense", "EinsumDense", "Embedding"):
        base = (in_names or generic)[: rank - 1]
        return base + ["units" if cls != "Embedding" else "features"]
    if cls in _CONV1D | _CONV2D and in_names and len(in_names) == rank:
        return in_names
    if cls == "Flatten":
        return ["batch", "features"][:rank]
    if cls in _SAME_SHAPE and in_names and len(in_names) == rank:
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


def _kernel_origin(layer: Any) -> tuple[str, int] | None:
    """(origin text, input size) when a built layer's weights fix its input's last axis."""
    if layer is None:
        return None
    cls = type(layer).__name__
    target = layer
    if cls == "Bidirectional":
        target = layer.forward_layer
    if cls == "TimeDistributed":
        return _kernel_origin(layer.layer)
    cell = getattr(target, "cell", None)
    kernel = getattr(cell if cell is not None else target, "kernel", None)
    if kernel is None or not getattr(layer, "built", False):
        return None
    shape = tuple(kernel.shape)
    size = shape[0] if cell is not None or cls in ("Dense",) else shape[-2]
    return f"{cls} '{layer.name}' kernel {shape}", int(size)


# ---------------------------------------------------------------------------- contract
def contract_of_keras(model: Any, level: str = "strict") -> Contract:
    """The Contract a Keras model or layer states through its own metadata."""
    name = f"{type(model).__name__} '{model.name}'"
    inputs = _model_inputs(model)
    slots: list[Slot] = []
    num = _num_dtypes()
    for i, (tensor, shape, in_name) in enumerate(inputs):
        rank = len(shape) if shape is not None else None
        if rank is None:
            continue
        names, consumer = (_names_for_input(model, tensor, rank) if tensor is not None
                           else (input_names(_first_layer(model), rank)
                                 or ["batch"] + [f"axis{i}" for i in range(1, rank)],
                                 _first_layer(model)))
        kernel = _kernel_origin(consumer)
        declared = f"Input({tuple(shape[1:])}) of {name}"
        dims: list[Any] = []
        origins: list[str | None] = []
        for ax, (size, dname) in enumerate(zip(shape, names)):
            if ax == 0 and dname == "batch":
                dims.append(Named("batch") if size is None else Fixed(size, False, "batch"))
                origins.append(None if size is None else f"batch_shape of {name}")
            elif size is None:
                if ax == rank - 1 and kernel is not None:
                    dims.append(Fixed(kernel[1], False, dname))
                    origins.append(kernel[0])
                else:
                    dims.append(Named(dname))
                    origins.append(None)
            else:
                dims.append(Fixed(int(size), False, dname))
                origins.append(kernel[0] if ax == rank - 1 and kernel is not None else declared)
        if level == "framework":
            dims, origins = _framework_dims(model, i, shape, dims, origins)
        dtype = "Int" if type(consumer).__name__ == "Embedding" else "Num"
        spec = ArraySpec(tuple(dims), num, dtype, (Any,), origins=tuple(origins))
        var = "x" if len(inputs) == 1 else f"x{i}"  # the name fixes are written with
        slots.append(Slot(var, "array", spec, display=f"input '{in_name}'"))
    for j, (shape, out_name, layer) in enumerate(_model_outputs(model)):
        in_names = None
        names = output_names(layer, len(shape), in_names) if layer is not None else (
            ["batch"] + [f"axis{k}" for k in range(1, len(shape))])
        dims = [Named("batch") if (k == 0 and s is None) else
                (Fixed(int(s), False, names[k]) if s is not None else Named(f"out_{names[k]}"))
                for k, s in enumerate(shape)]
        origins = [None] * len(dims)
        if layer is not None and dims:
            origins[-1] = _output_origin(layer)
        spec = ArraySpec(tuple(dims), None, "Shaped", (Any,), origins=tuple(origins))
        slots.append(Slot(f"y{j}", "array", spec, display=f"output '{out_name}'", output=True))
    notes = ()
    if not getattr(model, "built", True):
        notes = ("the model is not built: only the rank and the dims its first layer fixes are known",)
    return Contract(name, tuple(slots), layers=tuple(_rows(model)), level=level, notes=notes,
                    chain=_is_chain(model))


def _output_origin(layer: Any) -> str | None:
    """The attribute that fixes a layer's last output axis: `Dense 'dense' units`."""
    cls = type(layer).__name__
    target = layer.forward_layer if cls == "Bidirectional" else layer
    for attr in ("units", "filters", "output_dim"):
        if hasattr(target, attr):
            return f"{cls} '{layer.name}' {attr}"
    return None


def _framework_dims(model: Any, index: int, shape: Any, dims: list[Any],
                    origins: list[str | None]) -> tuple[list[Any], list[str | None]]:
    """Keep a fixed dim only where Keras itself rejects a change of it (asked on shapes)."""
    base = tuple(8 if s is None else s for s in shape)
    out, outo = list(dims), list(origins)
    n_inputs = len(_model_inputs(model))
    for ax, d in enumerate(dims):
        if not isinstance(d, Fixed) or ax == 0:
            continue
        accepted = True
        for new in (base[ax] + 1, 2 * base[ax] + 3):  # two probes: pooling can hide one
            probe = list(base)
            probe[ax] = new
            shapes: list[Any] = [None] * n_inputs
            shapes[index] = tuple(probe)
            accepted = accepted and keras_verdict(model, tuple(shapes))[0]
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
    if not outs or len(outs) != 1:
        return []
    t = outs[0]
    layer = getattr(getattr(t, "_keras_history", None), "operation", None)
    return [(tuple(t.shape), getattr(layer, "name", "output"), layer)]


def _is_chain(model: Any) -> bool:
    """Does each layer take exactly the previous layer's output (a Sequential-like chain)?"""
    prev = None
    for layer in _layers(model):
        try:
            ins = layer.input
        except Exception:
            return True  # unbuilt: a Sequential, a chain by construction
        if isinstance(ins, (list, tuple)):
            return False
        if prev is not None and ins is not prev:
            return False
        prev = layer.output
    return True


def _rows(model: Any) -> list[LayerRow]:
    rows = []
    names_by_tensor: dict[int, list[str]] = {}
    for layer in _layers(model):
        if type(layer).__name__ == "InputLayer":
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
_verdicts: dict[tuple[Any, ...], tuple[bool, str]] = {}


def keras_verdict(model: Any, shapes: tuple[Any, ...]) -> tuple[bool, str]:
    """Would Keras accept inputs of these shapes? (ok, reason/note). Shapes only, cached."""
    key = (id(model), shapes)
    hit = _verdicts.get(key)
    if hit is None:
        hit = _verdicts[key] = _keras_verdict(model, shapes)
    return hit


def _keras_verdict(model: Any, shapes: tuple[Any, ...]) -> tuple[bool, str]:
    import keras

    graph = getattr(model, "_functional", None) or model
    refs = getattr(graph, "inputs", None)
    if not refs or not hasattr(graph, "_run_through_graph"):
        return True, "the model is not built; Keras builds it on the first call"
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
        graph._run_through_graph(kts, operation_fn=operation_fn)
    except Exception as e:  # Keras's own verdict, in Keras's own words
        return False, str(e).strip().splitlines()[0][:300]
    return True, "; ".join(notes)


def _assert_layer_accepts(layer: Any, args: tuple[Any, ...]) -> None:
    from keras.src.layers.input_spec import assert_input_compatibility

    import keras

    if not isinstance(layer, keras.Layer) or not args:
        return
    x = args[0]
    if getattr(layer, "input_spec", None) is not None:
        assert_input_compatibility(layer.input_spec, x, layer.name)
    cls = type(layer).__name__
    if cls == "TimeDistributed" and hasattr(x, "shape") and len(x.shape) >= 2:
        inner = keras.KerasTensor((x.shape[0], *x.shape[2:]), dtype=x.dtype)
        _assert_layer_accepts(layer.layer, (inner,))
        return
    k = _kernel_origin(layer)
    if k is not None and cls in _RNN and hasattr(x, "shape") and x.shape[-1] is not None:
        if x.shape[-1] != k[1]:
            raise ValueError(f"{cls} '{layer.name}' expects {k[1]} features ({k[0]}), "
                             f"got {x.shape[-1]}")
