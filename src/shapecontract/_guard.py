"""`guard(model)`: a model's entry points checked against its own contract; `unguard` undoes it.

Design rules:
- A `Guard` holds only what the user chose (level, pinned dims); the model's contract and its
  compiled checkers are derived from the model, lazily, and derived again when the model gets
  built (a guard set on an unbuilt Keras model learns its input shape on the first `fit`).
- The check is the contract's own compiled checker, whose slow path is the one verdict: a
  guard and `contract_of(model, level).check(x)` cannot disagree.
- The adapter installs it (Keras: a class swap of the instance; torch: the guard itself as a
  forward pre-hook). A guard pickles as its choices, so guarded models pickle, copy and
  `torch.save` with their guard; `unguard` restores the original behaviour exactly.
- Data passes untouched: arrays are only looked at; a generator is wrapped by one that yields
  the very same elements; a tf.data dataset is checked through its `element_spec`, statically.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from typing import Any, TypeVar

from . import _coverage
from ._compile import Contract
from ._config import scoped, scoped_mode
from ._errors import Fix, ShapeContractError, Violation
from ._suggest import is_ragged, pad_fix, sequence_length
from .frameworks import adapter_of, check_level, contract_of
from .frameworks.keras import is_subclassed, unbuilt_targets
from .frameworks.torch import call_untraced

__all__ = ["Guard", "guard", "unguard"]

M = TypeVar("M")
_NOT_DERIVED: Any = object()


class Guard:
    """What a guarded model is checked against: the user's level and pins; the rest derived."""

    is_shapecontract_guard = True  # how adapters recognise a guard among hooks

    def __init__(self, level: str, dims: dict[str, int] | None,
                 input_shape: tuple[Any, ...] | None = None) -> None:
        self.level = level
        self.dims = dict(dims or {})
        self.input_shape = None if input_shape is None else tuple(input_shape)
        self.direct: dict[str, tuple[type, Any]] = {}
        """Entry point -> (array type, checker): one array of that exact type into a built
        one-input Keras model goes straight to the checker."""
        self._reset()

    def _reset(self) -> None:
        self._contract: Contract | None = None
        self._built: bool | None = None
        self._checkers: dict[str, Any] = {}
        self._torch: tuple[Any, int, Any] | None = None
        self._n_inputs = 0
        self._targets: Any = _NOT_DERIVED
        self._targets_loss = 0
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
        if self._contract is None or built != self._built:
            self._contract = contract_of(model, self.level, self.input_shape)
            self._contract.pinned(self.dims)  # a pin the contract cannot take fails now
            self._built = built
            self._checkers = {}
            self._torch = None
            self._n_inputs = len(self._contract.inputs())
            self._targets = _NOT_DERIVED
            self.direct.clear()  # the same dict the guarded model holds
        return self._contract

    def checker(self, model: Any, where: str) -> Any:
        c = self.contract(model)
        fn = self._checkers.get(where)
        if fn is None:
            fn = self._checkers[where] = c.checker(self.dims, name=f"{c.name}.{where}")
            _coverage.tag(fn, "model", c.name)
        return fn

    # -- torch: the guard is the forward pre-hook ------------------------------------
    def prepare(self, model: Any) -> None:
        """Compile the torch checker now (not on the first call): `torch.compile` traces the
        hook, and cannot trace deriving a contract or compiling code."""
        c = self.contract(model)
        self._torch = (self.checker(model, "forward"), len(c.arguments()), c.prepare)

    def __call__(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        __tracebackhide__ = True
        return call_untraced(self._check_torch, mod, args, kwargs)  # type: ignore[no-any-return]

    def _check_torch(self, mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        __tracebackhide__ = True
        t = self._torch
        if t is None:
            c = self.contract(mod)
            t = self._torch = (self.checker(mod, "forward"), len(c.arguments()), c.prepare)
        fn, n, prepare = t
        if kwargs:
            args = _bind_forward(mod, args, kwargs)
        if not args:
            return None  # nothing to check: torch says what is missing
        if prepare is not None:  # e.g. an RNN's PackedSequence is checked by its data
            args = prepare(args)
        if len(args) <= n:
            fn(*args)
        else:
            fn(*args[:n])
        return None

    # -- Keras: the guarded class's entry points call these -----------------------------
    def keras_input(self, model: Any, where: str, x: Any) -> Any:
        """Check `x` as the model's input(s); return it unchanged (or a generator yielding it)."""
        __tracebackhide__ = True
        if x is None:
            return x
        if getattr(model, "built", True) != self._built:
            self.contract(model)
        tf = sys.modules.get("tensorflow")
        if tf is not None and isinstance(x, tf.data.Dataset):
            spec = x.element_spec
            xs = spec[0] if isinstance(spec, tuple) else spec
            try:
                self._check_structure(model, xs, f"{where}(dataset.element_spec)")
            except ShapeContractError as e:
                raise _batching_fix(e, xs, self.contract(model)) from None
            if _takes_targets(where) and isinstance(spec, tuple) and len(spec) > 1:
                self.keras_targets(model, f"{where}(dataset.element_spec)", spec[0], spec[1],
                                   spec[2] if len(spec) > 2 else None)
            return self._checked_dataset(model, x, where)
        if inspect.isgenerator(x) or (hasattr(x, "__next__") and not hasattr(x, "shape")):
            return self._checked_stream(model, x, where)
        if _is_py_dataset(x) and not getattr(x, "use_multiprocessing", False):
            # (read in other processes, batches are Keras's to check: a proxy made here does
            # not pickle into them)
            return _checked_py_dataset(x, self, model, where)
        self._check_structure(model, x, where)
        return x

    def keras_batch(self, model: Any, item: Any, where: str) -> None:
        """One batch a stream yields (`x`, `(x, y)` or `(x, y, sample_weight)`): x against the
        model's inputs and, where the entry point trains or evaluates, y against the loss."""
        __tracebackhide__ = True
        x = item[0] if isinstance(item, tuple) else item
        self._check_structure(model, x, where)
        if _takes_targets(where) and isinstance(item, tuple) and len(item) > 1:
            self.keras_targets(model, where, item[0], item[1],
                               item[2] if len(item) > 2 else None)

    def keras_validation(self, model: Any, data: Any) -> Any:
        """`fit(validation_data=...)`: its x is checked before the first epoch, not after it."""
        __tracebackhide__ = True
        if isinstance(data, (tuple, list)) and data:  # Keras unpacks a list as a tuple
            self.keras_targets(model, "fit(validation_data)", data[0],
                               data[1] if len(data) > 1 else None)
            checked = self.keras_input(model, "fit(validation_data)", data[0])
            return type(data)((checked, *data[1:]))
        return self.keras_input(model, "fit(validation_data)", data)

    def _check_structure(self, model: Any, x: Any, where: str) -> None:
        __tracebackhide__ = True
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            fn = self._checkers.get(where) or self.checker(model, where)
            if self._n_inputs == 1:
                fn(x)
                if self._built:
                    self.direct[where] = (type(x), fn)
            return
        arrays = self._arrays(model, x, self.contract(model).inputs(), where, "input")
        if arrays is not None:
            self.checker(model, where)(*arrays)

    def _arrays(self, model: Any, x: Any, slots: list[Any], where: str, root: str
                ) -> list[Any] | None:
        """The values for `slots` from what the user passed (an array, a list or a dict by
        name), or None when Keras will convert it (nested lists ...) and we leave it alone."""
        name = f"{self.contract(model).name}.{where}"
        if hasattr(x, "shape") and hasattr(x, "dtype"):
            if len(slots) == 1:
                return [x]
            required = [s for s in slots if not s.optional]
            if len(required) > 1:  # one array where the model takes several
                raise ShapeContractError([_arity_violation(root, slots, x)], name)
            return None
        if root == "input" and isinstance(x, (list, tuple, dict)) and is_subclassed(model):
            return None  # a subclassed model's call takes any structure: Keras decides
        if isinstance(x, dict):
            keys = [s.key or s.name for s in slots]
            if not all(k in x or s.optional for k, s in zip(keys, slots)):
                return None  # Keras names the missing key itself
            return [x.get(k) for k in keys]
        if isinstance(x, (list, tuple)) and len(x) == len(slots) and all(
                hasattr(a, "shape") or a is None for a in x):
            return list(x)
        if isinstance(x, (list, tuple)) and x and len(slots) == 1 and all(
                hasattr(a, "shape") for a in x):
            raise ShapeContractError([Violation(
                (root, slots[0].key), "type",
                f"the model takes 1 {root}; got a {type(x).__name__} of {len(x)} arrays",
                suggestions=_stack_fix(x, slots[0].spec))], name)
        if isinstance(x, (list, tuple)) and len(x) != len(slots) and len(slots) > 1 and all(
                hasattr(a, "shape") for a in x):
            raise ShapeContractError([_arity_violation(root, slots, x)], name)
        if isinstance(x, list) and x and len(slots) == 1 and all(
                type(a) is int for a in x):  # one sequence of token ids, not a batch
            raise ShapeContractError([Violation(
                (root, slots[0].key), "type",
                f"got a flat list of {len(x)} ints: one sequence, not a batch of them",
                suggestions=[_one_sequence_fix(slots[0].spec)])], name)
        if isinstance(x, (list, tuple)) and len(slots) == 1 and is_ragged(x):
            raise ShapeContractError([Violation(
                (root, slots[0].key), "type",
                f"got a {type(x).__name__} of {len(x)} sequences of different lengths",
                suggestions=[pad_fix("x", sequence_length(slots[0].spec))])],
                f"{self.contract(model).name}.{where}")
        return None  # nested Python lists and other containers: Keras converts them

    def keras_targets(self, model: Any, where: str, x: Any, y: Any,
                      sample_weight: Any = None) -> None:
        """`fit(x, y)` and friends: `y` against the model's output as its compiled loss takes it,
        and the sample counts of `x` and `y`, before Keras runs."""
        __tracebackhide__ = True
        if y is None or x is None:
            return
        tc, fn = self._targets_checker(model, x, y, where)
        if tc is None:
            return
        outs = [s for s in tc.inputs() if s.location[0] == "target"]
        ins = tc.inputs()[:len(tc.inputs()) - len(outs) - 1]  # inputs, targets, sample_weight
        xs = self._arrays(model, x, ins, where, "input")
        ys = self._arrays(model, y, outs, where, "target")
        if sample_weight is not None and not hasattr(sample_weight, "shape"):
            sample_weight = None  # a dict or list of weights per output: not checked
        if xs is not None and ys is not None:
            fn(*xs, *ys, sample_weight)

    def _targets_checker(self, model: Any, x: Any, y: Any, where: str) -> tuple[Any, Any]:
        """(the target contract, its checker), or (None, None). A built model's is derived once
        per compiled loss (a recompile derives it again); an unbuilt model fed arrays is asked
        through a built clone (the model itself is left for Keras to build); an unbuilt model
        fed a stream has its batches checked once Keras has built it."""
        if not getattr(model, "built", True):
            if not (hasattr(x, "shape") and hasattr(y, "shape")):
                return None, None
            tc = unbuilt_targets(model, x, self.level)
            return (tc, tc.checker(self.dims, name=f"{tc.name}.{where}")) if tc else (None, None)
        c = self.contract(model)
        loss_now = id(getattr(model, "loss", None))
        if loss_now != self._targets_loss:  # compiled again with another loss
            self._targets, self._targets_loss = _NOT_DERIVED, loss_now
            self._checkers = {k: v for k, v in self._checkers.items()
                              if not k.startswith("targets ")}
        if self._targets is _NOT_DERIVED:
            adapter = adapter_of(model)
            self._targets = adapter.targets(model, c) if adapter is not None else None
        tc = self._targets
        if tc is None:
            return None, None
        fn = self._checkers.get("targets " + where)
        if fn is None:
            fn = self._checkers["targets " + where] = tc.checker(
                self.dims, name=f"{c.name}.{where}")
            _coverage.tag(fn, "model", c.name)
        return tc, fn

    def _checked_stream(self, model: Any, it: Any, where: str) -> Iterator[Any]:
        mode = scoped_mode()  # Keras reads generators in threads of its own: keep our mode
        for i, item in enumerate(it):
            with _in_mode(mode), _carried():
                self.keras_batch(model, item, f"{where}(batch {i})")
            yield item

    def _checked_dataset(self, model: Any, ds: Any, where: str) -> Any:
        """A tf.data dataset whose element_spec leaves sizes unknown: the same elements, each
        checked as it flows (the compiled checker, called from the pipeline), so a 720-step
        window into Input((120, 7)) stops `fit` with our error. Known sizes were checked above."""
        import tensorflow as tf

        spec = ds.element_spec
        xs_spec = spec[0] if isinstance(spec, tuple) else spec
        leaves = tf.nest.flatten(spec if isinstance(spec, tuple) and _takes_targets(where)
                                 else xs_spec)
        if all(s.shape.rank is not None and None not in s.shape[1:] for s in leaves):
            return ds  # every size but the batch is known and was checked statically
        if not all(isinstance(s, tf.TensorSpec) for s in leaves):
            return ds  # ragged or sparse elements: their known sizes were checked statically
        mode = scoped_mode()
        counter = [0]

        def check(*arrays: Any) -> Any:
            import numpy as np

            i = counter[0]
            counter[0] += 1
            item = tf.nest.pack_sequence_as(checked_spec, list(arrays))
            with _in_mode(mode), _carried():
                self.keras_batch(model, item, f"{where}(dataset element {i})")
            return np.bool_(True)

        # x, and the targets too where the entry point trains or evaluates
        checked_spec = spec if isinstance(spec, tuple) and _takes_targets(where) else xs_spec

        def checked(*element: Any) -> Any:
            xs = element if checked_spec is spec else element[0]
            flat = tf.nest.flatten(xs)
            ok = tf.numpy_function(check, flat, tf.bool, stateful=True)
            with tf.control_dependencies([ok]):
                same = tf.nest.map_structure(tf.identity, element)
            return same if len(element) > 1 else same[0]

        return ds.map(checked)


def _arity_violation(root: str, slots: list[Any], x: Any) -> Violation:
    """One array (or a list of the wrong length) where the model takes several inputs or has
    several outputs: the fix names them, as a list in order and as a dict by name."""
    names = [s.key or s.name for s in slots]
    got = (f"a {type(x).__name__} of {len(x)} arrays" if isinstance(x, (list, tuple))
           else "one array")
    var = "y" if root == "target" else "x"
    listed = ", ".join(f"{var}_{n}" for n in names)
    keyed = ", ".join(f"{n!r}: {var}_{n}" for n in names)
    plural = "outputs" if root == "target" else "inputs"
    fix = Fix(f"the model has {len(slots)} {plural} ({', '.join(names)}); pass one array for "
              f"each, in order: [{listed}], or by name: {{{keyed}}}", "advice")
    return Violation((root, None), "type", f"the model has {len(slots)} {plural}; got {got}",
                     suggestions=[fix])


def _stack_fix(xs: Any, spec: Any) -> list[Fix]:
    """A list of same-shape arrays for a one-input model: `np.stack` makes the batch, when the
    stacked rank is the contract's."""
    try:
        shapes = {tuple(a.shape) for a in xs}
    except (TypeError, AttributeError):
        return []
    rank = len(getattr(spec, "dims", ())) if getattr(spec, "variadic_at", 0) is None else None
    if len(shapes) != 1 or (rank is not None and len(next(iter(shapes))) + 1 != rank):
        return []
    return [Fix(f"the list holds {len(xs)} samples of shape {next(iter(shapes))}; stack them "
                "into one batch: np.stack(x)", "convert", "np.stack(x)")]


def _one_sequence_fix(spec: Any) -> Fix:
    """One flat list of ids for a (batch, timesteps) model: a batch of one, padded to the
    model's length when it fixes one."""
    maxlen = sequence_length(spec)
    if maxlen is not None:
        return Fix(f"make it a batch of one sequence padded to the model's {maxlen} steps: "
                   f"keras.utils.pad_sequences([x], maxlen={maxlen}, padding='post')", "convert",
                   f"keras.utils.pad_sequences([x], maxlen={maxlen}, padding='post')")
    return Fix("make it a batch of one sequence: np.array([x])", "convert", "np.array([x])")


_TAKES_TARGETS = ("fit", "evaluate", "train_on_batch", "test_on_batch")


def _takes_targets(where: str) -> bool:
    """Does this entry point (`fit`, `fit(validation_data)` ...) use the targets of its data?"""
    return where.split("(", 1)[0] in _TAKES_TARGETS


def _is_py_dataset(x: Any) -> bool:
    keras = sys.modules.get("keras")
    base = getattr(getattr(keras, "utils", None), "PyDataset", None)
    return isinstance(base, type) and isinstance(x, base)


_CHECKED_PY_DATASET: Any = None


def _checked_py_dataset(ds: Any, guard: Guard, model: Any, where: str) -> Any:
    """A `keras.utils.PyDataset` whose batches are checked as Keras reads them: a proxy (its
    class made once, on first use: it needs Keras) that forwards every attribute to the user's
    dataset, never changed, and checks each batch `__getitem__` returns before handing it on,
    the same object."""
    global _CHECKED_PY_DATASET
    if _CHECKED_PY_DATASET is None:
        import keras

        class CheckedPyDataset(keras.utils.PyDataset):  # type: ignore[misc]
            def __init__(self, source: Any, check: Any) -> None:
                # not PyDataset.__init__: workers, use_multiprocessing and max_queue_size are
                # the user's dataset's (read through __getattr__ and the properties below)
                self.__dict__["_sc"] = (source, check)

            def __getattr__(self, name: str) -> Any:
                return getattr(self.__dict__["_sc"][0], name)

            def __len__(self) -> int:
                return len(self._sc[0])

            def __getitem__(self, index: int) -> Any:
                __tracebackhide__ = True
                source, check = self._sc
                item = source[index]
                check(item, index)
                return item

            def on_epoch_begin(self) -> None:
                self._sc[0].on_epoch_begin()

            def on_epoch_end(self) -> None:
                self._sc[0].on_epoch_end()

            num_batches = property(lambda self: self._sc[0].num_batches)
            workers = property(lambda self: self._sc[0].workers)
            use_multiprocessing = property(lambda self: self._sc[0].use_multiprocessing)
            max_queue_size = property(lambda self: self._sc[0].max_queue_size)

        _CHECKED_PY_DATASET = CheckedPyDataset
    mode = scoped_mode()

    def check(item: Any, index: int) -> None:
        __tracebackhide__ = True
        with _in_mode(mode), _carried():
            guard.keras_batch(model, item, f"{where}(batch {index})")

    return _CHECKED_PY_DATASET(ds, check)


class _carried:
    """Around a check Keras runs while it reads the data (in TensorFlow's threads, which keep
    only an error's text): our error leaves it marked with its token (`carry`), so the guarded
    entry point finds it again (`recent_error`) and raises it, unmarked, instead."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ShapeContractError):
            exc.carry()


class _in_mode:
    """Re-enter the caller's scoped mode in a framework's thread (None: nothing to do)."""

    def __init__(self, mode: str | None) -> None:
        self.mode = mode
        self.inner: Any = None

    def __enter__(self) -> None:
        if self.mode is not None:
            self.inner = scoped(self.mode)
            self.inner.__enter__()

    def __exit__(self, *exc: Any) -> None:
        if self.inner is not None:
            self.inner.__exit__(*exc)


def _batching_fix(err: ShapeContractError, xs: Any, c: Contract) -> ShapeContractError:
    """A dataset whose elements have one axis too few (not batched) or too many (batched twice)
    gets the `.batch` fix first: the elements themselves are right."""
    ins = c.inputs()
    v = err.violations[0]
    rank = getattr(getattr(xs, "shape", None), "rank", None)
    spec: Any = ins[0].spec if len(ins) == 1 else None
    want = len(spec.dims) if isinstance(getattr(spec, "dims", None), tuple) and (
        spec.variadic_at is None) else None
    if v.kind != "rank" or rank is None or want is None:
        return err
    if rank == want - 1:
        fix = Fix("the dataset is not batched: its elements are single samples; batch it: "
                  "ds.batch(32)", "insert_axis", "ds.batch(32)")
    elif rank == want + 1:
        fix = Fix("the dataset is batched twice (each element is a batch of batches); remove "
                  "the second .batch(...), or ds.unbatch() once", "squeeze", "ds.unbatch()")
    else:
        return err
    v.suggestions[:] = [fix]  # the elements are right: an axis fix on them would not apply
    return ShapeContractError(err.violations, err.function, err.bindings, err.notes)


def _bind_forward(mod: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...]:
    """Positional arguments of `mod.forward` from a call with keywords (`lstm(x, hx=...)`)."""
    try:
        ba = inspect.signature(mod.forward).bind(*args, **kwargs)
    except TypeError:
        return args  # torch will say what is wrong with the call
    out = []
    for p in inspect.signature(mod.forward).parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.KEYWORD_ONLY):
            break
        out.append(ba.arguments.get(p.name))
    while out and out[-1] is None:
        out.pop()
    return tuple(out)


def guard(obj: M, spec: Any = None, *, level: str = "strict",
          dims: dict[str, int] | None = None, stable: Any = (),
          input_shape: tuple[Any, ...] | None = None) -> M:
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
    """
    adapter = adapter_of(obj)
    if spec is not None or adapter is None:
        if spec is None:
            if _is_stream(obj):
                raise TypeError("guard(stream, spec): a stream needs the spec of its elements")
            raise TypeError(f"guard: {type(obj).__name__} is neither a Keras model nor a "
                            "torch.nn.Module")
        from .pipeline import guard_stream

        return guard_stream(obj, spec, dims, stable)  # type: ignore[no-any-return]
    check_level(level)
    if adapter.guard_of(obj) is not None:
        adapter.remove(obj)
    g = Guard(level, dims, input_shape)
    g.contract(obj)  # derive now: a contract that cannot be stated fails at guard() time
    adapter.install(obj, g)
    _coverage.guarded("model", g.contract(obj).name)
    if adapter.package == "torch":
        g.prepare(obj)
    return obj


def _is_stream(obj: Any) -> bool:
    return hasattr(obj, "__iter__") or hasattr(obj, "__next__") or hasattr(obj, "__getitem__")


def unguard(model: M) -> M:
    """Undo `guard`: the model behaves exactly as before."""
    adapter = adapter_of(model)
    if adapter is not None and adapter.guard_of(model) is not None:
        adapter.remove(model)
    return model
