"""Keras settings for the repair search (layer L6): when a step fails, the search
(`shapecontract.repair`) tries the declared input shape and the layer kinds' knobs
(`return_sequences`, the last layer's `units`). Each candidate is `(where, op, why, cost, step,
code)`: `step()` rebuilds a copy of the model with the setting changed (the user's model is
never touched) and returns `(model, x, y)` for the search to check. Named in the adapter row."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from typing import Any

from ..._errors import ShapeContractError
from ...backends import backend_of, shape_of
from ...fixes import InsertLayer, ModelEdit, SetSetting
from .layers import kind_of
from .verdict import no_trace

__all__ = ["settings"]

Candidate = tuple[str, ModelEdit, str, float, Callable[[], tuple[Any, Any, Any]], str | None]


def settings(model: Any, x: Any, y: Any, err: ShapeContractError, limit: int
             ) -> Iterator[Candidate]:
    """The declared input shape (when the input failed), `return_sequences` of every RNN, and
    the last layer's size (when the targets failed), set to what the data implies; at most
    `limit` rebuilds."""
    keras = sys.modules["keras"]
    tried = 0
    roots = {v.location[0] for v in err.violations if v.location}
    shape = shape_of(x) if backend_of(x) is not None else None
    inputs = getattr(model, "inputs", None) or []
    if "input" in roots and shape is not None and len(inputs) == 1 and None not in shape[1:]:
        declared = tuple(inputs[0].shape[1:])
        if declared != tuple(shape[1:]):
            new = tuple(int(s) for s in shape[1:] if s is not None)
            op = SetSetting("the model's input", "Input", "shape", new)

            def rebuilt_input(new: tuple[int, ...] = new) -> tuple[Any, Any, Any]:
                with no_trace():
                    return keras.models.clone_model(model, input_tensors=keras.Input(new)), x, y
            tried += 1
            yield ("model", op, "declare the input the data has", 1.0, rebuilt_input,
                   f"keras.Input({new!r})")
    yshape = shape_of(y) if y is not None and backend_of(y) is not None else None
    layers = [layer for layer in getattr(model, "layers", []) if not _is_input(layer)]
    # the last layer that sizes the output (an Activation or Dropout after it changes no size)
    sizing = [i for i, layer in enumerate(layers)
              if any(k.governs in ("units", "channels") for k in kind_of(layer).knobs)]
    for i, layer in enumerate(layers):
        kind = kind_of(layer)
        values = kind.knob_values(layer)
        last = bool(sizing) and i == sizing[-1]
        for knob in kind.knobs:
            if tried >= limit or knob.name not in values:
                continue
            value = values[knob.name]
            options: list[Any] = []
            if knob.governs == "rank" and isinstance(value, bool) and knob.name == "return_sequences":
                options = [not value]
            elif (knob.governs in ("units", "channels") and isinstance(value, int) and last
                  and yshape is not None and "target" in roots):
                # the target's sizes after the batch; one per sample, (n,), is one unit
                sizes = yshape[1:] if len(yshape) > 1 else (1,)
                options = sorted({int(s) for s in sizes if s is not None and s != value})
            for new_value in options:
                op = SetSetting(f"{type(layer).__name__} '{layer.name}'", type(layer).__name__,
                                knob.name, new_value)
                tried += 1
                yield (f"{type(layer).__name__} '{layer.name}'", op,
                       f"build {type(layer).__name__} '{layer.name}' with {knob.name}={new_value!r}",
                       1.5 if knob.governs == "rank" else 2.0,
                       _rebuild_with(model, layer.name, knob.name, new_value, x, y), None)


    if "target" in roots and tried < limit:
        yield from _flatten_before_dense(keras, model, layers, x, y)
        yield from _other_loss(keras, model, x, y, yshape)


_PAIRED = {"sparsecategoricalcrossentropy": "categorical_crossentropy",
           "categoricalcrossentropy": "sparse_categorical_crossentropy"}
"""A classification loss and its twin for the other form of labels (one-hot rows, indices)."""


def _other_loss(keras: Any, model: Any, x: Any, y: Any, yshape: Any) -> Iterator[Candidate]:
    """The compiled loss's twin for the labels given: one-hot rows to a sparse loss take the
    categorical one, class indices to the categorical loss the sparse one (the data stays)."""
    from ...fixes import SwapLoss
    from .losses import _loss_key

    key = _loss_key(getattr(model, "loss", None))
    new = _PAIRED.get(key or "")
    if new is None or yshape is None:
        return

    def step() -> tuple[Any, Any, Any]:
        with no_trace():
            twin = keras.models.clone_model(model)
            twin.compile(optimizer="sgd", loss=new)
        return twin, x, y
    yield ("model", SwapLoss("the model's loss", f"loss={new!r}"),
           f"compile with the loss for these labels, loss={new!r}", 1.2, step,
           f"model.compile(..., loss={new!r})")


def _flatten_before_dense(keras: Any, model: Any, layers: list[Any], x: Any, y: Any
                          ) -> Iterator[Candidate]:
    """A `Flatten()` before the first Dense layer that is given more than one axis per sample:
    Dense acts on the last axis only, so a convolution's (or every step's) output keeps its
    other axes up to the model's output, where the targets refuse it."""
    for layer in layers:
        if kind_of(layer).kind != "dense":
            continue
        try:
            rank = len(layer.input.shape)
        except (AttributeError, ValueError):
            return
        if rank <= 2:
            continue
        label = f"{type(layer).__name__} '{layer.name}'"
        op = InsertLayer(label, "Flatten()")

        def step(name: str = layer.name) -> tuple[Any, Any, Any]:
            with no_trace():
                return _with_flatten(keras, model, name), x, y
        yield (label, op, f"flatten the {rank - 1} axes of a sample before {label}: "
                          "Dense acts on the last axis only", 2.0, step,
               f"layers.Flatten() before {label}")
        return


def _with_flatten(keras: Any, model: Any, name: str) -> Any:
    """A copy of `model` (new layers from their configs) with a Flatten before layer `name`."""
    def clone(layer: Any) -> Any:
        return layer.__class__.from_config(layer.get_config())

    if isinstance(model, keras.Sequential):
        fresh: list[Any] = [keras.Input(model.inputs[0].shape[1:])]
        for layer in model.layers:
            if layer.name == name:
                fresh.append(keras.layers.Flatten())
            fresh.append(clone(layer))
        return keras.Sequential(fresh)

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if layer.name == name and args:
            args = (keras.layers.Flatten()(args[0]), *args[1:])
        return layer(*args, **kwargs)

    return keras.models.clone_model(model, clone_function=clone, call_function=call)


def _is_input(layer: Any) -> bool:
    return type(layer).__name__ == "InputLayer"


def _rebuild_with(model: Any, name: str, setting: str, value: Any, x: Any, y: Any
                  ) -> Callable[[], tuple[Any, Any, Any]]:
    def step() -> tuple[Any, Any, Any]:
        keras = sys.modules["keras"]

        def clone(layer: Any) -> Any:
            cfg = layer.get_config()
            if layer.name == name:
                cfg = {**cfg, setting: value}
            return layer.__class__.from_config(cfg)

        with no_trace():
            return keras.models.clone_model(model, clone_function=clone), x, y
    return step
