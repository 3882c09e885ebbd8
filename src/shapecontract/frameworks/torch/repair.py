"""torch settings for the repair search (layer L6): when a step fails, the search
(`shapecontract.repair`) tries the input-side sizes of the first layer the input reaches. Each
candidate is `(where, op, why, cost, step, code)`: `step()` rebuilds a copy of the model with
the setting changed (the user's model is never touched) and returns `(model, x, y)` for the
search to check. Named in the adapter row."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from ..._errors import ShapeContractError
from ...backends import backend_of, shape_of
from ...fixes import SetSetting
from .layers import kind_of

__all__ = ["settings"]

Candidate = tuple[str, SetSetting, str, float, Callable[[], tuple[Any, Any, Any]], str | None]


def settings(model: Any, x: Any, y: Any, err: ShapeContractError, limit: int
             ) -> Iterator[Candidate]:
    """The input-side size settings (`input_size`, `in_features`, `in_channels`) of the first
    layer the input reaches, set to the size the data has on the axis that failed; the module
    rebuilt from its kind's knobs in a copy of the model. Not when the data has the wanted size
    on another axis (images channels-last into a Conv2d): the layout is wrong, not the layer."""
    failed = [v for v in err.violations if v.kind == "dim" and isinstance(v.actual, int)
              and v.location and v.location[0] in ("input", "argument")]
    if not failed:
        return
    v = failed[0]
    shape = shape_of(x) if backend_of(x) is not None else None
    if shape is not None and v.expected in [s for k, s in enumerate(shape) if k != v.axis]:
        return  # the size the layer wants is in the data, on another axis: its layout is wrong
    path, first = next(((n, m) for n, m in model.named_modules()
                        if kind_of(m).knobs and not list(m.children())), ("", None))
    if first is None:
        return
    kind = kind_of(first)
    values = kind.knob_values(first)
    for knob in kind.knobs:
        if (knob.side != "input" or knob.governs not in ("features", "channels")
                or knob.name not in values or values[knob.name] == v.actual):
            continue
        cls = type(first).__name__
        label = f"{cls} '{path}'" if path else cls
        op = SetSetting(label, cls, knob.name, v.actual)
        yield (label, op, f"build {label} for the data, {knob.name}={v.actual}", 2.0,
               _rebuild(model, path, {**values, knob.name: v.actual}, x, y),
               f"nn.{cls}(..., {knob.name}={v.actual})")


def _rebuild(model: Any, path: str, values: dict[str, Any], x: Any, y: Any
                   ) -> Callable[[], tuple[Any, Any, Any]]:
    def step() -> tuple[Any, Any, Any]:
        import copy

        copied = copy.deepcopy(model)
        old = copied.get_submodule(path) if path else copied
        new = type(old)(**values)
        if not path:
            return new, x, y
        parent_path, _, name = path.rpartition(".")
        parent = copied.get_submodule(parent_path) if parent_path else copied
        setattr(parent, name, new)
        return copied, x, y
    return step
