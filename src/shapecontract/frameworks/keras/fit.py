"""What reaches a Keras model through its entry points (layer L6): `fit`/`evaluate`/`predict`
and friends' x, y and sample weights, `fit(validation_data=...)`, and the data sources Keras
reads batches from (generators, `keras.utils.PyDataset`, tf.data datasets, through
`frameworks/tensorflow/data.py`), each checked against the model's contract.

Design rules:
- `FitGuard` is what a guarded Keras model holds (`guard.install_guard`): the core's guard
  (`_guard.Guard`: the user's level and pins, the derived contract and its compiled checkers)
  asked about the values Keras's entry points receive. It keeps nothing of its own.
- Data passes untouched: arrays are only looked at; a generator is wrapped by one that yields
  the very same elements; a PyDataset by a proxy that returns the very same batches; a tf.data
  dataset is checked through its `element_spec`, statically, and its unknown sizes as the
  elements flow.
- Keras reads generators and datasets in threads of its own: the caller's mode is kept, and
  our error leaves them marked so the entry point raises it as ours.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterator
from typing import Any

from ... import _coverage
from ..._config import scoped, scoped_mode
from ..._errors import Fix, ShapeContractError, Violation
from ..._suggest import is_ragged, pad_fix, sequence_length
from ...fixes import Stack
from ..tensorflow import data as tf_data
from .losses import target_contract, unbuilt_targets
from .verdict import is_subclassed

__all__ = ["FitGuard"]


class FitGuard:
    """The guarded entry points' side of a guard on a Keras model: `keras_input` (x),
    `keras_targets` (y, sample_weight), `keras_validation`, `keras_batch` (one batch of a
    stream), over the core's `guard` (its level, pins, contract and checkers)."""

    __slots__ = ("guard",)

    def __init__(self, guard: Any) -> None:
        self.guard = guard

    def __repr__(self) -> str:
        return f"FitGuard({self.guard!r})"

    def keras_input(self, model: Any, where: str, x: Any) -> Any:
        """Check `x` as the model's input(s); return it unchanged (or a generator yielding it)."""
        __tracebackhide__ = True
        if x is None:
            return x
        if getattr(model, "built", True) != self.guard.built:
            self.guard.contract(model)
        if tf_data.is_dataset(x):
            spec = x.element_spec
            xs = spec[0] if isinstance(spec, tuple) else spec
            try:
                self._check_structure(model, xs, f"{where}(dataset.element_spec)")
            except ShapeContractError as e:
                raise tf_data.batching_fix(e, xs, self.guard.contract(model)) from None
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
            fn = self.guard.checkers.get(where) or self.guard.checker(model, where)
            if self.guard.n_inputs == 1:
                fn(x)
                if self.guard.built:
                    self.guard.direct[where] = (type(x), fn)
            return
        arrays = self._arrays(model, x, self.guard.contract(model).inputs(), where, "input")
        if arrays is not None:
            self.guard.checker(model, where)(*arrays)

    def _arrays(self, model: Any, x: Any, slots: list[Any], where: str, root: str
                ) -> list[Any] | None:
        """The values for `slots` from what the user passed (an array, a list or a dict by
        name), or None when Keras will convert it (nested lists ...) and we leave it alone."""
        name = f"{self.guard.contract(model).name}.{where}"
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
                f"{self.guard.contract(model).name}.{where}")
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
            tc = unbuilt_targets(model, x, self.guard.level)
            return (tc, tc.checker(self.guard.dims, name=f"{tc.name}.{where}")) if tc else (None, None)
        c = self.guard.contract(model)
        cache = self.guard.cache  # emptied whenever the guard derives the contract again
        loss_now = id(getattr(model, "loss", None))
        if loss_now != cache.get("targets_loss", 0):  # compiled again with another loss
            cache.pop("targets", None)
            cache["targets_loss"] = loss_now
            for k in [k for k in self.guard.checkers if k.startswith("targets ")]:
                del self.guard.checkers[k]
        if "targets" not in cache:
            cache["targets"] = target_contract(model, c)
        tc = cache["targets"]
        if tc is None:
            return None, None
        fn = self.guard.checkers.get("targets " + where)
        if fn is None:
            fn = self.guard.checkers["targets " + where] = tc.checker(
                self.guard.dims, name=f"{c.name}.{where}")
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
        checked as it flows (the compiled checker, called from the pipeline). Known sizes were
        checked from the element_spec already."""
        mode = scoped_mode()

        def check(item: Any, i: int) -> None:
            with _in_mode(mode), _carried():
                self.keras_batch(model, item, f"{where}(dataset element {i})")

        # x, and the targets too where the entry point trains or evaluates
        return tf_data.check_elements(ds, check, _takes_targets(where))


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
    if (len(shapes) > 1 and len({len(s) for s in shapes}) == 1
            and len({s[1:] for s in shapes}) == 1):  # sequences of different lengths
        return [pad_fix("x", sequence_length(spec))]
    if len(shapes) != 1 or (rank is not None and len(next(iter(shapes))) + 1 != rank):
        return []
    return [Fix(f"the list holds {len(xs)} samples of shape {next(iter(shapes))}; stack them "
                "into one batch: np.stack(x)", "convert", "np.stack(x)", Stack())]


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


def _checked_py_dataset(ds: Any, guard: FitGuard, model: Any, where: str) -> Any:
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
