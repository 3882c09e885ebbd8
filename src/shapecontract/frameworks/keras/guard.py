"""Guards on Keras models: the instance's class swapped for a checked subclass (layer L6).

Design rules:
- `fit`, `predict`, `evaluate`, `*_on_batch` and `__call__` ask the guard first; the guarded
  class reports the model's own class as `__class__` and pickles/copies with its guard.
- The instance holds a `fit.FitGuard` of the core's guard: what its entry points receive (x,
  y, sample weights, validation data, generators, PyDatasets, tf.data) is checked there.
- Our error raised inside Keras's own threads (tf.data, generators) is raised as ours.
"""

from __future__ import annotations

from typing import Any

from ..._errors import ShapeContractError, recent_error
from ..enrich import enrich
from .fit import FitGuard

__all__ = ["ENTRY_POINTS", "guard_of", "install_guard", "remove_guard", "restore_guarded"]


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
    fit = model.__dict__.get(_GUARD_KEY)
    return None if fit is None else fit.guard


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
    model.__dict__[_GUARD_KEY] = FitGuard(guard)
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
        guard = self.__dict__[_GUARD_KEY].guard
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
            try:
                if x is not _UNSET:
                    # the common case: one array into a built one-input model, straight to its
                    # checker
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
            except ShapeContractError as refused:
                # the arrays of the step are refused: proven repairs join the error
                given = kwargs.get(first, x) if x is _UNSET else x
                y_given = (args[0] if args else kwargs.get("y")) if has_y else None
                raise enrich(self, given, y_given, refused) from None
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
