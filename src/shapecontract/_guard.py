"""`guard(model)`: a model's entry points checked against its own contract; `unguard` undoes it.

Design rules:
- A `Guard` holds only what the user chose (level, pinned dims); the model's contract and its
  compiled checkers are derived from the model, lazily, and derived again when the model gets
  built (a guard set on an unbuilt Keras model learns its input shape on the first `fit`).
- The check is the contract's own compiled checker, whose slow path is the one verdict: a
  guard and `contract_of(model, level).check(x)` cannot disagree.
- The adapter installs it and knows its framework's entry points (`frameworks/<name>/guard.py`
  and, for Keras, `fit.py`: which values reach the model: x, y, sample weights, validation
  data, the data sources fit reads; torch: `forward`'s arguments, as a forward pre-hook). This
  module names no framework. A guard pickles as its choices, so guarded models pickle, copy and
  `torch.save` with their guard; `unguard` restores the original behaviour exactly.
- Data passes untouched: arrays are only looked at; a stream is wrapped by one that passes on
  the very same elements; a tf.data dataset is checked through its `element_spec`, statically.
"""

from __future__ import annotations

from typing import Any, TypeVar

from . import _coverage
from ._compile import Contract
from .frameworks import adapter_of, check_level, contract_of

__all__ = ["Guard", "guard", "unguard"]

M = TypeVar("M")


class Guard:
    """What a guarded model is checked against: the user's level and pins; the rest derived.
    The frameworks' entry points (`frameworks/<name>/guard.py`) ask it for the contract and
    its compiled checkers, and keep what they derive from them in `cache`."""

    def __init__(self, level: str, dims: dict[str, int] | None,
                 input_shape: tuple[Any, ...] | None = None) -> None:
        self.level = level
        self.dims = dict(dims or {})
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.direct: dict[str, tuple[type, Any]] = {}
        """Entry point -> (array type, checker): one array of that exact type into a built
        one-input model goes straight to the checker (the guarded model holds this dict)."""
        self._reset()

    def _reset(self) -> None:
        self._contract: Contract | None = None
        self.built: bool | None = None
        """Whether the model was built when its contract was derived."""
        self.checkers: dict[str, Any] = {}
        """Entry point -> its compiled checker (the framework may add its own: `targets fit`)."""
        self.cache: dict[str, Any] = {}
        """What a framework's entry points derived from the contract (torch: the prepared
        forward checker; Keras: the targets its loss takes); emptied when it is derived again."""
        self.n_inputs = 0
        self.direct.clear()

    def __getstate__(self) -> dict[str, Any]:
        # generated code is rebuilt on use
        return {"level": self.level, "dims": self.dims, "input_shape": self.input_shape}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.level, self.dims = state["level"], state["dims"]
        self.input_shape = state.get("input_shape")
        self.direct = {}
        self._reset()

    def __repr__(self) -> str:
        return f"Guard(level={self.level!r}, dims={self.dims!r})"

    def contract(self, model: Any) -> Contract:
        """The model's contract at this level, derived again once the model got built."""
        built = bool(getattr(model, "built", True))
        if self._contract is None or built != self.built:
            self._contract = contract_of(model, self.level, self.input_shape)
            self._contract.pinned(self.dims)  # a pin the contract cannot take fails now
            self.built = built
            self.checkers = {}
            self.cache.clear()
            self.n_inputs = len(self._contract.inputs())
            self.direct.clear()  # the same dict the guarded model holds
        return self._contract

    def checker(self, model: Any, where: str) -> Any:
        c = self.contract(model)
        fn = self.checkers.get(where)
        if fn is None:
            fn = self.checkers[where] = c.checker(self.dims, name=f"{c.name}.{where}")
            _coverage.tag(fn, "model", c.name)
        return fn


def guard(obj: M, spec: Any = None, *, level: str = "strict",
          dims: dict[str, int] | None = None, stable: Any = (),
          input_shape: tuple[Any, ...] | None = None, columns: Any = None) -> M:
    """Check a model's entry points against its own contract, or a stream's elements against `spec`.

    Models (no `spec`): Keras `fit` (and its `validation_data`), `predict`, `evaluate`,
    `train_on_batch`, `predict_on_batch`, `test_on_batch` and calling the model; torch
    `forward` (its inputs, before it runs). The same model is returned. `level` is `strict` or
    `framework`. A guarded model pickles, deep-copies and `torch.save`s with its guard.

    Streams (`spec` given, e.g. `tuple[Float[Array, "batch timesteps features"], Float[Array,
    "batch 1"]]`): any iterable or iterator, a torch `Dataset` (checked in `__getitem__`, also in
    DataLoader workers) or `DataLoader`, a `tf.data.Dataset` (element_spec checked now, unknown
    axes in the pipeline). Returns the guarded stream.

    `dims` pins sizes, e.g. `dims={"timesteps": 24}`; `stable` names stream dims that must keep
    the value of the first element (e.g. `stable=("timesteps", "features")`). `input_shape`
    (torch) declares a custom module's input, e.g. `(None, 1, 28, 28)`, as for `contract_of`.
    `columns` (a Hugging Face or Ray Data dataset, rows of named columns): which columns make
    the element, as for `validate`.
    """
    adapter = adapter_of(obj)
    if spec is not None or adapter is None:
        if spec is None:
            if _is_stream(obj):
                raise TypeError("guard(stream, spec): a stream needs the spec of its elements")
            raise TypeError(f"guard: {type(obj).__name__} is neither a Keras model nor a "
                            "torch.nn.Module")
        from .pipeline import guard_stream

        return guard_stream(obj, spec, dims, stable, columns)  # type: ignore[no-any-return]
    check_level(level)
    if adapter.guard_of(obj) is not None:
        adapter.remove(obj)
    g = Guard(level, dims, input_shape)
    g.contract(obj)  # derive now: a contract that cannot be stated fails at guard() time
    adapter.install(obj, g)  # torch: compiles the forward checker now, for torch.compile
    _coverage.guarded("model", g.contract(obj).name)
    return obj


def _is_stream(obj: Any) -> bool:
    return hasattr(obj, "__iter__") or hasattr(obj, "__next__") or hasattr(obj, "__getitem__")


def unguard(model: M) -> M:
    """Undo `guard`: the model behaves exactly as before."""
    adapter = adapter_of(model)
    if adapter is not None and adapter.guard_of(model) is not None:
        adapter.remove(model)
    return model
