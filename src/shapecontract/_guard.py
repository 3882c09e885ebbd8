"""`guard(model)`: a model's entry points checked against its own contract; `unguard` undoes it.

Design rules:
- Keras: the instance's class is swapped for a subclass whose `fit`, `predict`, `evaluate`,
  `train_on_batch`, `predict_on_batch`, `test_on_batch` and `__call__` check their input first
  (Python looks special methods up on the type, so `__call__` needs the class). `unguard`
  swaps the class back: the original behaviour, byte for byte.
- torch: a forward pre-hook checks the inputs, a forward hook the outputs; `unguard` removes both.
- Data passes untouched: arrays are only looked at; a generator is wrapped by one that yields
  the very same elements; a tf.data dataset is checked through its `element_spec`, statically.
- strict: the contract decides, and a note says when the framework would have let it through.
  framework: the framework's own verdict on the shapes decides; the contract explains.
"""

from __future__ import annotations

import inspect
import sys
from typing import Any, Iterator, TypeVar

from ._errors import ShapeContractError, Violation
from ._explain import build_error, deliver, evaluate
from .backends import shape_of
from .frameworks import _check_level, contract_of

__all__ = ["guard", "unguard"]

M = TypeVar("M")

_KERAS_ENTRY = ("fit", "predict", "evaluate", "train_on_batch", "predict_on_batch",
                "test_on_batch", "__call__")


class _Guard:
    """What a guarded model checks against, and how."""

    def __init__(self, model: Any, level: str, dims: dict[str, int] | None, framework: str) -> None:
        self.model = model
        self.level = level
        self.dims = dict(dims or {})
        self.framework = framework
        self.strict = contract_of(model, "strict")
        self.contract = self.strict if level == "strict" else contract_of(model, "framework")

    # -- the one decision ---------------------------------------------------------
    def check(self, arrays: list[Any], where: str) -> None:
        __tracebackhide__ = True
        if self.level == "strict":
            try:
                self.strict.check(*arrays, dims=self.dims)
            except ShapeContractError as e:
                ok, reason = self._framework_verdict(arrays)
                notes = list(e.notes)
                if ok:
                    notes.append(f"{self.framework} itself would have accepted this input "
                                 f"silently{': ' + reason if reason else ''}; shapecontract's "
                                 "strict level enforces every declared dim (level='framework' "
                                 "accepts what the framework accepts)")
                raise ShapeContractError(e.violations, f"{e.function}.{where}", e.bindings,
                                         notes) from None
            return
        ok, reason = self._framework_verdict(arrays)
        if ok and not self.dims:
            return
        c = self.contract.pinned(self.dims)  # drops pins the model fixes anyway
        values = [self.dims[sl.name] for sl in c.slots if sl.kind == "dim"]
        values += arrays[:len(c.inputs())]
        st = evaluate(c, values)
        notes = []
        if ok:  # the framework accepts: only pinned dims (the user's own intent) still count
            st.violations[:] = [v for v in st.violations if v.kind == "dim" and v.dim in self.dims]
            if not st.violations:
                return
        else:
            if not st.violations:
                ins = c.inputs()
                st.violations.append(Violation(slot=ins[0].label if ins else "input",
                                               kind="value", message=reason))
            notes.append(f"{self.framework} rejects it: {reason}")
        err = build_error(c, values, st)
        deliver(ShapeContractError(err.violations, f"{err.function}.{where}", err.bindings, notes))

    def _framework_verdict(self, arrays: list[Any]) -> tuple[bool, str]:
        arrays = [a for a in arrays if a is not None]
        shapes = tuple(shape_of(a) for a in arrays)
        if any(s is None or None in s for s in shapes):
            return True, ""
        if self.framework == "Keras":
            from .frameworks.keras import keras_verdict

            return keras_verdict(self.model, shapes)
        from .frameworks.torch import torch_verdict

        return torch_verdict(self.model, shapes, tuple(a.dtype for a in arrays))


def guard(obj: M, spec: Any = None, *, level: str = "strict",
          dims: dict[str, int] | None = None, stable: Any = ()) -> M:
    """Check a model's entry points against its own contract, or a stream's elements against `spec`.

    Models (no `spec`): Keras `fit`, `predict`, `evaluate`, `train_on_batch`,
    `predict_on_batch`, `test_on_batch` and calling the model; torch `forward` (inputs before,
    outputs after). The same model is returned. `level` is `strict` or `framework`.

    Streams (`spec` given, e.g. `tuple[Float[Array, "batch timesteps features"], Float[Array,
    "batch 1"]]`): any iterable or iterator, a torch `Dataset` (checked in `__getitem__`, also in
    DataLoader workers) or `DataLoader`, a `tf.data.Dataset` (element_spec checked now, unknown
    axes in the pipeline). Returns the guarded stream.

    `dims` pins sizes, e.g. `dims={"timesteps": 24}`; `stable` names stream dims that must keep
    the value of the first element (e.g. `stable=("timesteps", "features")`).
    """
    if spec is not None or _is_stream(obj):
        if spec is None:
            raise TypeError("guard(stream, spec): a stream needs the spec of its elements")
        from .pipeline import guard_stream

        return guard_stream(obj, spec, dims, stable)  # type: ignore[no-any-return]
    model = obj
    _check_level(level)
    if getattr(model, "_shapecontract_guard", None) is not None:
        unguard(model)
    from .frameworks.keras import is_keras

    if is_keras(model):
        _guard_keras(model, _Guard(model, level, dims, "Keras"))
        return model
    from .frameworks.torch import is_torch_module

    if is_torch_module(model):
        _guard_torch(model, _Guard(model, level, dims, "PyTorch"))
        return model
    raise TypeError(f"guard: {type(model).__name__} is neither a Keras model nor a torch.nn.Module")


def _is_stream(obj: Any) -> bool:
    from .frameworks.keras import is_keras
    from .frameworks.torch import is_torch_module

    if is_keras(obj) or is_torch_module(obj):
        return False
    return hasattr(obj, "__iter__") or hasattr(obj, "__next__") or hasattr(obj, "__getitem__")


def unguard(model: M) -> M:
    """Undo `guard`: the model behaves exactly as before."""
    g = getattr(model, "_shapecontract_guard", None)
    if g is None:
        return model
    if g.framework == "Keras":
        object.__setattr__(model, "__class__", type(model).__shapecontract_base__)
    else:
        for h in model.__dict__.pop("_shapecontract_handles", []):
            h.remove()
    object.__delattr__(model, "_shapecontract_guard")
    return model


# ------------------------------------------------------------------------------ Keras
_guarded_classes: dict[type, type] = {}


def _guard_keras(model: Any, g: _Guard) -> None:
    cls = type(model)
    sub = _guarded_classes.get(cls)
    if sub is None:
        ns: dict[str, Any] = {"__shapecontract_base__": cls, "__module__": cls.__module__,
                              "__qualname__": cls.__qualname__}
        for name in _KERAS_ENTRY:
            ns[name] = _keras_entry(cls, name)
        sub = _guarded_classes[cls] = type(cls.__name__, (cls,), ns)
    object.__setattr__(model, "_shapecontract_guard", g)
    object.__setattr__(model, "__class__", sub)


def _keras_entry(cls: type, name: str) -> Any:
    base = getattr(cls, name)
    sig = inspect.signature(base)
    first = list(sig.parameters)[1]  # after self: x / inputs

    def entry(self: Any, *args: Any, **kwargs: Any) -> Any:
        __tracebackhide__ = True
        g = self.__dict__.get("_shapecontract_guard")
        if g is not None:
            if args:
                args = (_check_keras_input(g, args[0], name), *args[1:])
            elif first in kwargs:
                kwargs[first] = _check_keras_input(g, kwargs[first], name)
        return base(self, *args, **kwargs)

    entry.__name__ = name
    entry.__doc__ = base.__doc__
    return entry


def _check_keras_input(g: _Guard, x: Any, where: str) -> Any:
    """Check `x` as the model's input(s); return it unchanged (or a generator yielding it)."""
    __tracebackhide__ = True
    if x is None:
        return x
    n = len(g.strict.inputs())
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(x, tf.data.Dataset):
        spec = x.element_spec
        xs = spec[0] if isinstance(spec, tuple) else spec
        _check_structure(g, xs, f"{where}(dataset.element_spec)", n)
        return x
    if inspect.isgenerator(x) or (hasattr(x, "__next__") and not hasattr(x, "shape")):
        return _checked_stream(g, x, where, n)
    _check_structure(g, x, where, n)
    return x


def _check_structure(g: _Guard, x: Any, where: str, n: int) -> None:
    __tracebackhide__ = True
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        arrays = [x]
    elif isinstance(x, dict):
        names = [s.label.split("'")[1] if "'" in s.label else s.name for s in g.strict.inputs()]
        if not all(k in x for k in names):
            return
        arrays = [x[k] for k in names]
    elif isinstance(x, (list, tuple)) and len(x) == n and all(hasattr(a, "shape") for a in x):
        arrays = list(x)
    else:
        return  # nested Python lists and other containers: Keras converts them; not checked
    if len(arrays) == n:
        g.check(arrays, where)


def _checked_stream(g: _Guard, it: Any, where: str, n: int) -> Iterator[Any]:
    for i, item in enumerate(it):
        x = item[0] if isinstance(item, tuple) else item
        _check_structure(g, x, f"{where}(batch {i})", n)
        yield item


# ------------------------------------------------------------------------------ torch
def _guard_torch(model: Any, g: _Guard) -> None:
    n_in = len(g.strict.inputs())

    def pre(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        __tracebackhide__ = True
        if mod.__dict__.get("_shapecontract_hooks_off"):
            return None
        arrays = list(args[:n_in])
        if len(arrays) < n_in and "hx" in kwargs:
            arrays.append(kwargs["hx"])
        if not arrays:
            return None
        if len(arrays) < n_in and g.level == "strict":
            arrays += [None] * (n_in - len(arrays))  # optional hx
        g.check(arrays if g.level == "strict" else arrays[:1], "forward")
        return None

    def post(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        __tracebackhide__ = True
        if mod.__dict__.get("_shapecontract_hooks_off") or not g.strict.outputs():
            return None
        arrays = list(args[:n_in])
        arrays += [kwargs.get("hx")] * (n_in - len(arrays))
        try:
            g.strict.check_outputs(tuple(arrays), out, dims=g.dims)
        except ShapeContractError as e:
            raise ShapeContractError(e.violations, f"{e.function}.forward", e.bindings) from None
        return None

    handles = [model.register_forward_pre_hook(pre, with_kwargs=True),
               model.register_forward_hook(post, with_kwargs=True)]
    object.__setattr__(model, "_shapecontract_guard", g)
    model.__dict__["_shapecontract_handles"] = handles


