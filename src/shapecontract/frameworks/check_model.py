"""A built model against a `Model[...]` annotation: its derived contract, dim by dim (layer L6).

Design rules:
- The model states its contract (the adapters); the annotation states the intent, with dims
  bound by the builder's arguments. They are compared statically, axis by axis: no data.
- A mismatch names the layer attribute that causes it ("Dense 'dense' has units=10; the
  annotation says 1"), read from the derived contract's structured origins.
- A custom torch module is propagated on fake tensors from the annotation's input shape.
- The decorator hands this function to the `ModelSpec` (its `checker`): the core never
  imports the adapters.
"""

from __future__ import annotations

from typing import Any

from .._contract import static_compare
from .._dims import dim_size
from .._errors import Location, Violation
from .._spec import ArraySpec, ModelSpec, array_at_rank, shape_text
from . import adapter_of, contract_of
from .torch import is_torch_module, known

__all__ = ["check_model"]


def check_model(spec: ModelSpec, model: Any, loc: Location, st: Any) -> None:
    if adapter_of(model) is None or (
            isinstance(spec.model_type, type) and not isinstance(model, spec.model_type)):
        want = getattr(spec.model_type, "__name__", "a Keras model or torch module")
        st.violations.append(Violation(loc, "type", f"expected {want}, got {type(model).__name__}",
                                       expected=spec.model_type, actual=type(model)))
        return
    input_shape = None
    if is_torch_module(model) and known(model, "") is None:
        input_shape = tuple(dim_size(d, st.bindings) for d in spec.inputs[0])
    c = contract_of(model, input_shape=input_shape)
    derived_in = [s.spec for s in c.inputs()]
    derived_out = [s.spec for s in c.outputs()]
    for kind, want_list, got_list in (("input", spec.inputs, derived_in),
                                      ("output", spec.outputs, derived_out)):
        for i, (want, got) in enumerate(zip(want_list, got_list)):
            got_array = array_at_rank(got, len(want))
            if got_array is None:
                continue
            _compare((*loc, (f"model {kind}", i)), want, got_array, st)


def _compare(loc: Location, want: tuple[Any, ...], got: ArraySpec, st: Any) -> None:
    annotated = ArraySpec(want, None, "Shaped", (Any,))
    bound = dict(st.bindings)
    for m in static_compare(got, annotated, bound):
        if m.axis is None:
            st.violations.append(Violation(
                loc, "rank",
                f"the model has {m.left} axes {shape_text(got)}; the annotation says {m.right}",
                expected=m.right, actual=m.left))
            continue
        origin = m.left_origin
        if origin is not None and origin.layer and origin.attribute:
            said = f"{origin.layer} has {origin.attribute}={m.left}"
        elif origin:
            said = f"{origin} gives {m.left}"
        else:
            said = f"the model has {m.left}"
        st.violations.append(Violation(
            loc, "dim", f"{said}; the annotation says {m.right}", axis=m.axis, dim=m.name,
            expected=m.right, actual=m.left, origin=origin, contract=shape_text(got)))
    from .._errors import render_location

    for name, value in bound.items():  # names the model's sizes bound (e.g. batch-free dims)
        if name not in st.bindings:
            st.bind(name, value, render_location(loc), loc)
