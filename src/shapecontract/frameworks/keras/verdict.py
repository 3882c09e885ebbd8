"""Keras's own verdict on shapes, asked on symbolic tensors (layer L6).

Design rules:
- The framework level asks Keras, on shapes only: the model's own input-rank adjustment
  (squeeze/expand of a trailing 1), then each layer's `input_spec` and its kind's check
  (`layers.assert_layer_accepts`) in graph order, propagating `compute_output_spec` on
  symbolic tensors. Verdicts are cached per model (on the verdict object, which the contract
  carries) by input shape.
- An unbuilt model is asked through a clone; a subclassed one by tracing its `call`. Neither
  consumes the program's randomness (`_no_trace`).
"""

from __future__ import annotations

import sys
from typing import Any

from ...backends import BrokenShape, dtype_name, shape_of
from .._cache import bounded
from .layers import assert_layer_accepts

__all__ = ["KerasVerdict", "is_subclassed", "no_trace"]


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


class no_trace:
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

    with warnings.catch_warnings(), no_trace():
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
    with warnings.catch_warnings(), no_trace():
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
            assert_layer_accepts(op, args)
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
