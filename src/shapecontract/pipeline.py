"""Streams checked element by element: generators, iterables, torch Dataset/DataLoader, tf.data.

Design rules:
- A stream's contract is one `element` slot (the yield type / the given spec) plus pinned dims:
  dims bound by the producing function's arguments, `dims=` given by the user, and `stable`
  dims learned from the first good element. Each element is checked by a compiled checker of
  exactly those slots: the one compiler, the one explainer.
- Every other dim re-binds per element (a smaller last batch is fine).
- Nothing lost, nothing changed: the very same objects are passed on, in order, one at a time
  (no buffering, no prefetch); the source's exceptions propagate and `close()` reaches it. In
  `warn` mode a bad element is reported and still passed on.
- The element index is part of every error ("element 137") and of `validate`'s report.
- tf.data: `element_spec` is checked statically first (before any element is read); axes it
  leaves unknown are checked inside the pipeline with graph-mode assertions, so the dataset
  stays a dataset (model.fit, tf.distribute, tf.data service).
"""

from __future__ import annotations

import copy
import math
import numbers
import os
import pickle
import re
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

from . import _coverage
from ._compile import Contract, compile_checker
from ._config import scoped_mode
from ._contract import Slot
from ._dims import Fixed, Named
from ._errors import ContractSyntaxError, Fix, Origin, Report, ShapeContractError, Violation
from ._evaluate import deliver, evaluate, report_always, verdict
from ._hints import spec_from_hint
from ._spec import ArraySpec, DictSpec, TupleSpec, as_array, iter_array_specs, kind_of, shape_text

__all__ = ["StreamContract", "ValidationReport", "compatible", "guard_stream", "validate"]


# --------------------------------------------------------------------------- contract
class StreamContract:
    """What every element of a stream must satisfy, and which dims hold for the whole stream."""

    def __init__(self, name: str, spec: Any, dims: dict[str, int] | None = None,
                 stable: Iterable[str] = (), origins: dict[str, Origin] | None = None) -> None:
        self.name = name
        self.spec = spec
        self.pins = dict(dims or {})
        self.pin_origins = {k: Origin(f"dims={{{k!r}: {v}}}", "pin") for k, v in self.pins.items()}
        self.pin_origins.update(origins or {})
        self.stable = tuple(stable)
        names = _single_names(spec)
        for n in (*self.pins, *self.stable):
            if n not in names:
                raise ContractSyntaxError(
                    f"{name}: {n!r} is not a dim of the element spec; its dims are: "
                    f"{', '.join(sorted(names)) or 'none'}")
        self._checkers: dict[Any, Callable[..., Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_checkers"] = {}  # generated code is rebuilt in the receiving process
        return state

    def with_pins(self, pins: dict[str, int], origins: dict[str, Origin],
                  index: int | None = None) -> Contract:
        """The element contract with `pins` bound first: `check(<pins>, element)`; `index`
        names the element in errors (`element 137`)."""
        slots = [Slot(k, "dim", None, int, origin=origins.get(k) or None) for k in pins]
        slots.append(Slot("element", "array", self.spec, loc=("element", index)))
        return Contract(self.name, tuple(slots))

    def checker(self, pins: dict[str, int], origins: dict[str, Origin]) -> Callable[..., Any]:
        key = tuple((k, origins.get(k, "")) for k in pins)
        fn = self._checkers.get(key)
        if fn is None:
            fn = self._checkers[key] = compile_checker(self.with_pins(pins, origins),
                                                       report=report_always)
            _coverage.tag(fn, "stream", self.name)
        return fn

    def error(self, pins: dict[str, int], origins: dict[str, Origin], element: Any,
              index: int) -> ShapeContractError | None:
        """The explained error for one element, named by its index (the slow path only)."""
        err = verdict(self.with_pins(pins, origins, index), [*pins.values(), element])
        if err is not None:
            err.index = index
        return err

    def start(self, pins: dict[str, int] | None = None,
              origins: dict[str, Origin] | None = None) -> _StreamState:
        """A new pass over the stream; `pins` adds dims fixed for this pass (e.g. arguments)."""
        return _StreamState(self, pins, origins)

    def contract(self) -> Contract:
        return Contract(self.name, (Slot("element", "array", self.spec, loc=("element", None)),))


def _single_names(spec: Any) -> set[str]:
    return {d.name for a in iter_array_specs(spec) for d in a.dims if isinstance(d, Named)}


class _StreamState:
    """One pass over a stream: the pins in force, the element index, stable dims learned."""

    __slots__ = ("fn", "index", "learn", "mode", "origins", "pins", "sc", "thread", "values")

    def __init__(self, sc: StreamContract, pins: dict[str, int] | None = None,
                 origins: dict[str, Origin] | None = None) -> None:
        self.sc = sc
        self.pins = {**(pins or {}), **sc.pins}
        self.origins = {**(origins or {}), **sc.pin_origins}
        self.index = 0
        self.learn = [n for n in sc.stable if n not in self.pins]
        self.mode = scoped_mode()  # a stream may be read in another thread (tf.data): keep it
        self.thread = threading.get_ident()
        self._refresh()

    def deliver(self, err: ShapeContractError) -> None:
        """Raise or warn with `err` per the pass's mode. Read in another thread than the one
        that started the pass (a framework's: tf.data), the error reaches the user as that
        framework's error with our text: it is marked with its token (`carry`), so that
        `recent_error` finds it again."""
        __tracebackhide__ = True
        deliver(err.carry() if threading.get_ident() != self.thread else err, self.mode)

    def _refresh(self) -> None:
        self.fn = self.sc.checker(self.pins, self.origins)
        self.values = tuple(self.pins.values())

    def check(self, element: Any, index: int | None = None) -> None:
        """Check one element; on a violation raise/warn per the mode (with its index)."""
        __tracebackhide__ = True
        i = self.index if index is None else index
        self.index += 1
        try:
            self.fn(*self.values, element)
        except ShapeContractError as e:
            self.deliver(self.sc.error(self.pins, self.origins, element, i) or e)
            return
        if self.learn:
            self._learn(element, i)

    def errors_of(self, element: Any, index: int) -> ShapeContractError | None:
        """The error for one element, or None (for collecting, whatever the mode)."""
        try:
            self.fn(*self.values, element)
        except ShapeContractError as e:
            return self.sc.error(self.pins, self.origins, element, index) or e
        if self.learn:
            self._learn(element, index)
        return None

    def _learn(self, element: Any, index: int) -> None:
        st = evaluate(self.sc.with_pins(self.pins, self.origins), [*self.pins.values(), element])
        for n in list(self.learn):
            v = st.bindings.get(n)
            if type(v) is int:
                self.pins[n] = v
                self.origins[n] = Origin(f"element {index} (stable={n!r})", "element")
                self.learn.remove(n)
        self._refresh()


# ----------------------------------------------------------------------------- spec
def as_spec(spec: Any) -> Any:
    """A stream spec from an annotation, a Contract (its first input) or a spec object."""
    if isinstance(spec, Contract):
        ins = spec.inputs()
        if len(ins) != 1:
            raise ContractSyntaxError(f"{spec.name}: a stream spec needs one input slot, not {len(ins)}")
        return ins[0].spec
    if kind_of(spec) is not None:
        return spec
    out = spec_from_hint(spec)
    if out is None:
        raise ContractSyntaxError(f"{spec!r} states no array shapes to check")
    return out


def lists_as_tuples(spec: Any) -> Any:
    """The same spec, accepting lists where it says tuple (torch's default collate)."""
    return _loosened(spec, static=False)


def _loosened(spec: Any, static: bool) -> Any:
    """`spec` with every part as a framework's collate delivers it (`SpecKind.loosened`)."""
    kind = kind_of(spec)
    if kind is None:
        return spec
    items = kind.items(spec)
    if items is not None:
        spec = kind.with_items(spec, tuple(_loosened(i, static) for _, i in items))
    return kind.loosened(spec, static)


# --------------------------------------------------------------------------- streams
class GuardedIterator:
    """An iterator passing on the source's elements unchanged, each checked on the way."""

    __slots__ = ("_it", "_state")

    def __init__(self, source: Iterator[Any], state: _StreamState) -> None:
        self._it = source
        self._state = state

    def __iter__(self) -> GuardedIterator:
        return self

    def __next__(self) -> Any:
        __tracebackhide__ = True
        item = next(self._it)
        st = self._state
        if st.learn:
            st.check(item)
            return item
        try:  # the common case, inlined: one call to the compiled checker
            st.fn(*st.values, item)
        except ShapeContractError as e:
            st.deliver(st.sc.error(st.pins, st.origins, item, st.index) or e)
        st.index += 1
        return item

    def send(self, value: Any) -> Any:
        item = self._it.send(value)  # type: ignore[attr-defined]
        self._state.check(item)
        return item

    def throw(self, *args: Any) -> Any:
        item = self._it.throw(*args)  # type: ignore[attr-defined]
        self._state.check(item)
        return item

    def close(self) -> None:
        close = getattr(self._it, "close", None)
        if close is not None:
            close()

    def __getattr__(self, name: str) -> Any:  # gi_frame, gi_running ... of a generator source
        return getattr(self._it, name)


def guarded_generator(source: Any, st: _StreamState) -> Any:
    """A real generator (what Keras's `fit` and `inspect.isgenerator` expect) yielding the
    source generator's elements, each checked first; `send`, `throw` and `close` reach the
    source, and its return value is ours."""
    __tracebackhide__ = True
    try:
        item = next(source)
    except StopIteration as stop:
        return stop.value
    while True:
        if st.learn:
            st.check(item)
        else:
            try:  # the common case, inlined: one call to the compiled checker
                st.fn(*st.values, item)
            except ShapeContractError as e:
                st.deliver(st.sc.error(st.pins, st.origins, item, st.index) or e)
            st.index += 1
        try:
            sent = yield item
        except GeneratorExit:
            source.close()
            raise
        except BaseException as exc:  # thrown into us: the source decides what comes next
            try:
                item = source.throw(exc)
            except StopIteration as stop:
                return stop.value
            continue
        try:
            item = next(source) if sent is None else source.send(sent)
        except StopIteration as stop:
            return stop.value


class AsyncGuardedIterator:
    """The async twin of GuardedIterator (async generators, async iterables)."""

    __slots__ = ("_it", "_state")

    def __init__(self, source: Any, state: _StreamState) -> None:
        self._it = source
        self._state = state

    def __aiter__(self) -> AsyncGuardedIterator:
        return self

    async def __anext__(self) -> Any:
        item = await self._it.__anext__()
        self._state.check(item)
        return item

    async def asend(self, value: Any) -> Any:
        item = await self._it.asend(value)
        self._state.check(item)
        return item

    async def athrow(self, *args: Any) -> Any:
        item = await self._it.athrow(*args)
        self._state.check(item)
        return item

    async def aclose(self) -> None:
        close = getattr(self._it, "aclose", None)
        if close is not None:
            await close()


class CheckedCollate:
    """torch's default collate, explained when it fails: samples of different shapes (sequences
    of different lengths) are reported with their positions (and dataset indices, for a
    sequential sampler) and the padding fix, instead of torch's "stack expects each tensor to
    be equal size". The samples are walked only then, never on a batch that stacks.
    Module-level: it pickles into DataLoader worker processes. The samples themselves are
    passed on untouched."""

    def __init__(self, collate: Any, name: str, loader: Any = None) -> None:
        self.collate = collate
        self.name = name
        from torch.utils.data import SequentialSampler

        # dataset indices are known for a sequential sampler read in this process
        sequential = loader is not None and isinstance(loader.sampler, SequentialSampler) and (
            loader.num_workers == 0)
        self.batch_size = loader.batch_size if sequential else None
        self.numbered = loader is None or loader.num_workers == 0
        self.batches = 0

    def __call__(self, batch: list[Any]) -> Any:
        __tracebackhide__ = True
        n = self.batches
        self.batches += 1
        try:  # the fast path is torch's own collate: a batch that stacks costs nothing more
            return self.collate(batch)
        except Exception:
            err = _unstackable(batch, self.name, n if self.numbered else None, self.batch_size)
            if err is None:
                raise  # not a shape problem: torch's own error
        raise err


def _unstackable(batch: list[Any], name: str, n: int | None, batch_size: int | None
                 ) -> ShapeContractError | None:
    """The error for samples whose tensors differ in shape at the same place, or None."""
    from ._suggest import pad_fix

    def leaves(sample: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], Any]]:
        if hasattr(sample, "shape") and hasattr(sample, "dtype"):
            yield path, tuple(sample.shape)
        elif isinstance(sample, (tuple, list)):
            for i, item in enumerate(sample):
                yield from leaves(item, (*path, i))
        elif isinstance(sample, dict):
            for k, item in sample.items():
                yield from leaves(item, (*path, k))

    shapes: dict[tuple[Any, ...], list[tuple[int, Any]]] = {}
    for pos, sample in enumerate(batch):
        for path, shape in leaves(sample):
            shapes.setdefault(path, []).append((pos, shape))
    for path, seen in shapes.items():
        first_pos, first = seen[0]
        other = next(((p, s) for p, s in seen if s != first), None)
        if other is None:
            continue
        where = (f"samples {first_pos} and {other[0]} of " + ("a batch" if n is None else
                                                               f"batch {n}")
                 + (f" (dataset indices {n * batch_size + first_pos} and "
                    f"{n * batch_size + other[0]})" if batch_size and n is not None else ""))
        fix = pad_fix("samples")
        msg = (f"{where} have shapes {first} and {other[1]}: the default collate cannot stack "
               "them into one batch")
        return ShapeContractError([Violation(
            ("element", n, *path), "dim", msg, expected=first, actual=other[1],
            suggestions=[fix, Fix("or pass collate_fn=lambda b: torch.nn.utils.rnn.pad_sequence("
                                  "b, batch_first=True) to the DataLoader (with the lengths, "
                                  "for pack_padded_sequence)", "advice")])], f"{name}.collate")
    return None


class GuardedIterable:
    """An iterable (list, DataLoader, ...) whose every pass is checked; attributes forwarded."""

    def __init__(self, source: Any, sc: StreamContract, pins: dict[str, int] | None = None,
                 origins: dict[str, Origin] | None = None) -> None:
        self._source = source
        self._sc = sc
        self._pins, self._origins = pins, origins

    def __iter__(self) -> GuardedIterator:
        return GuardedIterator(iter(self._source), self._sc.start(self._pins, self._origins))

    def __len__(self) -> int:
        return len(self._source)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.__dict__["_source"], name)

    def __repr__(self) -> str:
        return f"guarded({self._source!r})"


def _torch_dataset_class() -> Any:
    import torch.utils.data

    class GuardedDataset(torch.utils.data.Dataset):  # type: ignore[type-arg]
        """A torch Dataset whose `__getitem__` checks each item (index in the error)."""

        def __init__(self, dataset: Any, sc: StreamContract) -> None:
            self.dataset = dataset
            self.sc = sc
            self._state: _StreamState | None = None

        def __getitem__(self, index: Any) -> Any:
            __tracebackhide__ = True
            item = self.dataset[index]
            if self._state is None:  # per process: each DataLoader worker has its own
                self._state = self.sc.start()
            self._state.check(item, index)
            return item

        def __len__(self) -> int:
            return len(self.dataset)

        def __getstate__(self) -> dict[str, Any]:
            return {"dataset": self.dataset, "sc": self.sc, "_state": None}

        def __getattr__(self, name: str) -> Any:
            if name in ("dataset", "sc", "_state"):
                raise AttributeError(name)
            return getattr(self.dataset, name)

    return GuardedDataset


_GUARDED_DATASET: Any = None


def guarded_dataset_type() -> Any:
    global _GUARDED_DATASET
    if _GUARDED_DATASET is None:
        _GUARDED_DATASET = _torch_dataset_class()
        _GUARDED_DATASET.__module__ = __name__
        _GUARDED_DATASET.__qualname__ = "GuardedDataset"
    return _GUARDED_DATASET


def __getattr__(name: str) -> Any:  # lets pickle find GuardedDataset in worker processes
    if name == "GuardedDataset":
        return guarded_dataset_type()
    raise AttributeError(name)


def guard_stream(stream: Any, spec: Any, dims: dict[str, int] | None = None,
                 stable: Iterable[str] = ()) -> Any:
    """Check every element of `stream` against `spec` (see `shapecontract.guard`)."""
    name = _stream_name(stream)
    spec = as_spec(spec)
    _coverage.guarded("stream", name)
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(stream, tf.data.Dataset):
        return _guard_tf_dataset(stream, StreamContract(name, spec, dims, stable))
    torch = sys.modules.get("torch")
    if torch is not None:
        data = torch.utils.data
        if isinstance(stream, data.DataLoader):
            loader = stream
            if stream.collate_fn is data.default_collate or getattr(
                    stream.collate_fn, "__name__", "") == "default_collate":
                # the guard reads a shallow copy whose collate explains (the same dataset and
                # sampler): the user's loader and its collate_fn are left as they were
                loader = copy.copy(stream)
                loader.collate_fn = CheckedCollate(stream.collate_fn, name, stream)
            return GuardedIterable(loader, StreamContract(name, lists_as_tuples(spec), dims, stable))
        if isinstance(stream, data.Dataset) and hasattr(stream, "__getitem__") and not isinstance(
                stream, data.IterableDataset):
            return guarded_dataset_type()(stream, StreamContract(name, spec, dims, stable))
    sc = StreamContract(name, spec, dims, stable)
    if hasattr(stream, "__anext__"):
        return AsyncGuardedIterator(stream, sc.start())
    if hasattr(stream, "__next__"):
        return GuardedIterator(stream, sc.start())
    if hasattr(stream, "__iter__"):
        return GuardedIterable(stream, sc)
    raise TypeError(f"guard: {type(stream).__name__} is not a stream (no __iter__/__next__)")


def _stream_name(stream: Any) -> str:
    named = getattr(stream, "stream_name", None)  # a stream that knows its name (the CLI's)
    if isinstance(named, str):
        return named
    code = getattr(stream, "gi_code", None) or getattr(stream, "ag_code", None)
    if code is not None:
        return str(code.co_name)
    return type(stream).__name__


# ---------------------------------------------------------------------------- tf.data
def _guard_tf_dataset(ds: Any, sc: StreamContract) -> Any:
    """Static check of element_spec now; graph-mode assertions for the axes it leaves open."""
    import tensorflow as tf

    spec = _static(sc.spec)
    static: Any = StreamContract(sc.name, spec, sc.pins).with_pins(sc.pins, sc.pin_origins)
    static = static.replace(slots=(*static.slots[:-1], Slot("element", "array", spec, loc=("element_spec",))))
    err = verdict(static, [*sc.pins.values(), ds.element_spec])
    if err is not None:
        raise ShapeContractError(err.violations, f"{sc.name}.element_spec", err.bindings,
                                 ["checked statically, before any element was read"])
    checks = _runtime_checks(ds.element_spec, sc)
    if not checks:
        return ds

    def assert_shapes(*elem: Any) -> Any:
        value = elem[0] if len(elem) == 1 else elem
        deps = []
        for path, axis, want, message in checks:
            t = _at(value, path)
            got = tf.shape(t)[axis]
            expected = want if isinstance(want, int) else tf.shape(_at(value, want[0]))[want[1]]
            deps.append(tf.debugging.assert_equal(got, tf.cast(expected, got.dtype), message=message))
        with tf.control_dependencies(deps):
            return tf.nest.map_structure(tf.identity, value)

    return ds.map(assert_shapes)


def _static(spec: Any) -> Any:
    """The spec for checking TensorSpecs: same dims, any object with shape and dtype."""
    return _loosened(spec, static=True)


def _leaves(spec: Any, ts: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[tuple[Any, ...], ArraySpec, Any]]:
    kind = kind_of(spec)
    if kind is None:
        return
    if kind.is_array:
        yield path, spec, ts
        return
    for key, item in kind.items(spec) or ():
        yield from _leaves(item, ts[key], (*path, key))


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        value = value[p]
    return value


def _runtime_checks(element_spec: Any, sc: StreamContract) -> list[tuple[Any, int, Any, str]]:
    """(path, axis, expected int or (path, axis) of the first occurrence, message) for each
    axis whose size element_spec leaves unknown; sizes it knows were checked statically."""
    checks: list[tuple[Any, int, Any, str]] = []
    first: dict[str, tuple[tuple[Any, ...], int, bool]] = {}
    for path, spec, ts in _leaves(sc.spec, element_spec):
        shape = list(ts.shape) if ts.shape.rank is not None else None
        if shape is None or spec.variadic_at is not None:
            continue
        label = "element" + "".join(f"[{p!r}]" for p in path)
        for axis, (d, size) in enumerate(zip(spec.dims, shape)):
            name = d.label if isinstance(d, Fixed) else getattr(d, "name", None)
            msg = f"shapecontract: {sc.name}: {label}, axis {axis} ({name})"
            if isinstance(d, Fixed) and size is None and not d.broadcast:
                checks.append((path, axis, d.size, f"{msg} must be {d.size}"))
            elif isinstance(d, Named) and not d.broadcast:
                if d.name in sc.pins and size is None:
                    checks.append((path, axis, sc.pins[d.name],
                                   f"{msg} must be {sc.pins[d.name]} ({sc.pin_origins[d.name]})"))
                elif d.name in first:
                    fpath, faxis, fknown = first[d.name]
                    if size is None or not fknown:
                        checks.append((path, axis, (fpath, faxis),
                                       f"{msg} must equal {d.name} bound by element"
                                       + "".join(f"[{p!r}]" for p in fpath) + f" axis {faxis}"))
                else:
                    first[d.name] = (path, axis, size is not None)
    return checks


# --------------------------------------------------------------------------- validate
@dataclass
class ValidationReport(Report):
    """Every violation of a stream: `(element index, ShapeContractError)` pairs."""

    name: str
    elements: int = 0
    failures: list[tuple[int, ShapeContractError]] = field(default_factory=list)

    def problems(self) -> list[Any]:
        return self.failures

    def violations(self) -> list[tuple[int, Violation]]:
        return [(i, v) for i, e in self.failures for v in e.violations]

    def __str__(self) -> str:
        if self.ok:
            return f"{self.name}: {self.elements} elements, no contract violations"
        lines = [f"{self.name}: {len(self.failures)} of {self.elements} elements violate the "
                 f"contract ({len(self.violations())} violations)"]
        for _, e in self.failures[:20]:
            for v in e.violations:
                lines.append(f"  {v.location_text()}: {v.message}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more elements")
        return "\n".join(lines)


def validate(stream: Any, spec: Any, *, lazy: bool = True, dims: dict[str, int] | None = None,
             stable: Iterable[str] = (), progress: bool | None = None,
             workers: int | None = None, timeout: float | None = None) -> ValidationReport:
    """Read a whole stream and report every violation (element index, slot, axis).

    `lazy=True` collects everything (the report to read before a long training run);
    `lazy=False` raises at the first violation. `progress=None` shows a progress bar when
    stderr is a terminal (rich, else tqdm, if installed). A map-style dataset (`len()` and
    indexing, no `__iter__`, e.g. a torch `Dataset`) is read at `range(len(stream))`, never
    past its len waiting for an IndexError.

    `workers=N` (an int >= 1, or None) spreads the reading of a map-style dataset over N torch
    DataLoader worker processes; each worker checks its elements where it loads them and sends
    back only the verdicts, so the data never crosses processes (a value a verdict holds that
    cannot be pickled comes back as its repr). `workers=1` without `timeout` reads in this
    process. A worker that dies is a RuntimeError naming the element it was reading.

    `timeout` (seconds, a positive number, or None to wait as long as reading takes) needs
    `workers`; it is the DataLoader's `timeout`: when no worker has answered for that long, the
    workers are stopped (torch gives a hung one 5 s to exit, then kills it) and a RuntimeError
    names the element being read. It is refused without workers: a hung call in this process
    (a `__getitem__` or `next()` that never returns) cannot be interrupted safely, and a thread
    left running it would keep the stream and its files busy.
    """
    workers = _workers_arg(workers)
    timeout = _timeout_arg(timeout, workers)
    if workers is not None and (workers > 1 or timeout is not None):
        return _validate_in_workers(stream, spec, dims, tuple(stable), workers, lazy, timeout)
    sc = StreamContract(_stream_name(stream), lists_as_tuples(as_spec(spec)), dims, stable)
    state = sc.start()
    report = ValidationReport(sc.name)
    it: Iterable[Any] = _ByIndex(stream) if _map_style(stream) else stream
    if progress or (progress is None and sys.stderr.isatty()):
        it = _with_progress(it, sc.name)
    for i, element in enumerate(it):
        report.elements += 1
        err = state.errors_of(element, i)
        if err is not None:
            if not lazy:
                raise err
            report.failures.append((i, err))
    return report


def _workers_arg(workers: Any) -> int | None:
    accepted = ("workers is None (read in this process) or an int >= 1 (the number of "
                "DataLoader worker processes)")
    if workers is None:
        return None
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral):
        raise TypeError(f"validate(workers={workers!r}): {accepted}, not a "
                        f"{type(workers).__name__}")
    if int(workers) < 1:
        raise ValueError(f"validate(workers={workers!r}): {accepted}")
    return int(workers)


def _timeout_arg(timeout: Any, workers: int | None) -> float | None:
    if timeout is None:
        return None
    if isinstance(timeout, bool) or not isinstance(timeout, numbers.Real):
        raise TypeError(f"validate(timeout={timeout!r}): timeout is None or a number of "
                        f"seconds, not a {type(timeout).__name__}")
    seconds = float(timeout)
    if not seconds > 0:  # NaN too
        raise ValueError(f"validate(timeout={timeout!r}): timeout is a positive number of "
                         "seconds (or None: no limit)")
    if not math.isfinite(seconds):
        raise ValueError(f"validate(timeout={timeout!r}): timeout is a finite number of "
                         "seconds; for no limit pass None")
    if workers is None:
        raise ValueError(
            f"validate(timeout={timeout!r}) needs workers=N: the elements must be read in worker "
            "processes, which can be stopped; a hung call in this process (a __getitem__ or "
            "next() that never returns) cannot be interrupted safely. Pass workers=1 to read a "
            "map-style dataset in one worker process with this timeout")
    return seconds


def _map_style(stream: Any) -> bool:
    """len() and indexing without __iter__: read by index over range(len), not by Python's
    old iteration protocol (indexing until IndexError, which such a dataset may never raise)."""
    return (hasattr(stream, "__len__") and hasattr(stream, "__getitem__")
            and not hasattr(stream, "__iter__"))


class _ByIndex:
    """A map-style dataset's elements `ds[0] ... ds[len(ds) - 1]`, the len read once."""

    def __init__(self, dataset: Any) -> None:
        self.dataset, self.n = dataset, len(dataset)

    def __len__(self) -> int:
        return self.n

    def __iter__(self) -> Iterator[Any]:
        return (self.dataset[i] for i in range(self.n))


_Verdict = bytes | str | None
"""A verdict as a worker sends it: the error pickled, its text alone if even that fails, or
None for a good element. Plain data, so nothing an element holds can stop it crossing."""


class _Verdicts:
    """A map-style dataset's elements as verdicts `(index, _Verdict)`. Runs in the DataLoader
    workers. Each worker first reads the elements up to the one the stable dims are learned
    from (usually element 0), as one process would, so every worker has the same pins and the
    parent reads no element (`timeout` covers them all); every later element is checked by a
    fresh pass that starts with those pins, so the one verdict says what differs. Each worker
    notes in `reading` the element it is reading."""

    def __init__(self, dataset: Any, sc: StreamContract, n: int, reading: _Reading) -> None:
        self.dataset, self.sc, self.n, self.reading = dataset, sc, n, reading
        self.head: dict[int, _Verdict] | None = None  # read in each worker, on its first call
        self.pins: dict[str, int] = {}
        self.origins: dict[str, Origin] = {}

    def __len__(self) -> int:
        return self.n

    def __getitem__(self, i: int) -> tuple[int, _Verdict]:
        head = self.head if self.head is not None else self._learn()
        if i in head:
            return i, head[i]
        return i, self._verdict(self.sc.start(self.pins, self.origins), i)

    def _learn(self) -> dict[int, _Verdict]:
        state, head, i = self.sc.start(), {}, 0
        while state.learn and i < self.n:
            head[i] = self._verdict(state, i)
            i += 1
        self.pins, self.origins, self.head = dict(state.pins), dict(state.origins), head
        return head

    def _verdict(self, state: _StreamState, i: int) -> _Verdict:
        slot = self.reading.start(i)
        try:
            return _sendable(state.errors_of(self.dataset[i], i))
        finally:
            self.reading.done(slot)


class _Reading:
    """Which element each worker is reading (index, or -1), with its pid, in memory shared
    with the workers: it outlives a worker killed in the middle of an element, so a timeout or
    a dead worker is reported with the element it was reading."""

    def __init__(self, workers: int) -> None:
        import multiprocessing

        self.pids: Any = multiprocessing.Array("q", [0] * workers, lock=False)
        self.index: Any = multiprocessing.Array("q", [-1] * workers, lock=False)

    def start(self, i: int) -> int | None:
        """In a worker: note that it reads element `i`; its slot (None outside a worker)."""
        from torch.utils.data import get_worker_info

        info = get_worker_info()
        if info is None or not 0 <= info.id < len(self.index):
            return None
        self.pids[info.id], self.index[info.id] = os.getpid(), i
        return int(info.id)

    def done(self, slot: int | None) -> None:
        if slot is not None:
            self.index[slot] = -1

    def elements(self, pids: set[int] | None = None) -> list[int]:
        """The elements being read now (by the workers with these pids, if given)."""
        return sorted(i for pid, i in zip(self.pids[:], self.index[:])
                      if i >= 0 and (pids is None or pid in pids))


def _sendable(err: ShapeContractError | None) -> _Verdict:
    """The verdict as plain data a worker can always send. A value the error holds that cannot
    be pickled (`actual` is the type of a lambda or a lock the element carries) is replaced by
    its repr: left in, it would stop the worker's queue and the parent would wait forever."""
    if err is None:
        return None
    try:
        return pickle.dumps(err)
    except Exception:  # whatever pickling raises, the verdict must cross
        pass
    plain = [replace(v, **{f.name: _picklable(getattr(v, f.name)) for f in fields(v)})
             for v in err.violations]
    bindings = {k: _picklable(v) for k, v in err.bindings.items()}
    try:
        return pickle.dumps(ShapeContractError(plain, err.function, bindings, err.notes))
    except Exception:
        return str(err)


def _picklable(value: Any) -> Any:
    try:
        pickle.dumps(value)
    except Exception:
        return repr(value)
    return value


def _received(i: int, verdict: _Verdict) -> ShapeContractError | None:
    if verdict is None:
        return None
    err = pickle.loads(verdict) if isinstance(verdict, bytes) else ShapeContractError(verdict)
    err.index = i
    return err


def _first(batch: Any) -> Any:
    return batch


def _validate_in_workers(stream: Any, spec: Any, dims: dict[str, int] | None,
                         stable: tuple[str, ...], workers: int, lazy: bool,
                         timeout: float | None) -> ValidationReport:
    call = f"validate(workers={workers}" + (f", timeout={timeout:g})" if timeout else ")")
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(stream, tf.data.Dataset):
        raise TypeError(
            f"{call} does not spread a tf.data pipeline over workers: "
            "tf.data's service would open network ports on every interface for the call (see "
            "docs/guarantees.md, Scale-out). Validate it without workers: the pipeline's own "
            "map(..., num_parallel_calls=tf.data.AUTOTUNE) and prefetch() already produce "
            "elements on every core, and the check itself reads only shapes")
    if not (hasattr(stream, "__len__") and hasattr(stream, "__getitem__")):
        raise TypeError(f"{call} reads a map-style dataset (len() and "
                        f"indexing); {type(stream).__name__} is not one: validate it without "
                        "workers")
    n = len(stream)
    workers = min(workers, max(1, n))  # no more processes than elements
    from torch.utils.data import DataLoader

    sc = StreamContract(_stream_name(stream), lists_as_tuples(as_spec(spec)), dims, stable)
    sc.start()  # compiles the checker (and imports what it needs) once, before the fork
    report = ValidationReport(sc.name)
    reading = _Reading(workers)
    verdicts: Any = _Verdicts(stream, sc, n, reading)
    loader: Any = DataLoader(verdicts, batch_size=None, num_workers=workers, collate_fn=_first,
                             timeout=timeout or 0)
    it = iter(loader)
    awaited, unanswered = 0, ""
    try:
        for i, verdict in it:
            awaited = i + 1
            _collect(report, i, _received(i, verdict), lazy)
    except RuntimeError as e:  # torch's: a timeout or a dead worker; anything else is re-raised
        unanswered = _unanswered(str(e), call, n, timeout, reading, awaited)
        if not unanswered:
            raise
    finally:
        shutdown = getattr(it, "_shutdown_workers", None)  # now, a hung worker included,
        if shutdown is not None:  # not whenever the iterator (held by a traceback) is freed
            shutdown()
        del it
    if unanswered:  # raised here, not in the handler: torch's error would keep the workers
        raise RuntimeError(unanswered)
    return report


def _unanswered(torch_message: str, call: str, n: int, timeout: float | None,
                reading: _Reading, awaited: int) -> str:
    """The error for a DataLoader that stopped waiting (a timeout, a dead worker), naming the
    elements being read then (else the element awaited next), or "" when `torch_message` is
    not the DataLoader's own (then the worker's error is raised as it is)."""
    if torch_message.startswith("DataLoader timed out"):
        hung = _elements(reading.elements(), n) or f"element {awaited} of {n} (awaited)"
        return (f"{call}: no worker answered for {timeout:g} s; {hung} did not answer: its "
                f"__getitem__ hangs or takes longer than timeout={timeout:g} s. The workers "
                "were stopped")
    if torch_message.startswith("DataLoader worker (pid"):
        found = re.search(r"\(pids?(?:\(s\))? ([\d, ]+)\)", torch_message)
        pids = {int(p) for p in re.findall(r"\d+", found.group(1))} if found else None
        killed = _elements(reading.elements(pids), n) or f"element {awaited} of {n} (awaited)"
        return (f"{call}: a worker process died reading {killed}: killed by a signal, a crash "
                f"in native code or the out-of-memory killer ({torch_message})")
    return ""


def _elements(indices: list[int], n: int) -> str:
    if not indices:
        return ""
    if len(indices) == 1:
        return f"element {indices[0]} of {n}"
    return f"elements {', '.join(map(str, indices))} of {n}"


def _collect(report: ValidationReport, i: int, err: ShapeContractError | None, lazy: bool) -> None:
    report.elements += 1
    if err is not None:
        if not lazy:
            raise err
        report.failures.append((i, err))


def _with_progress(stream: Any, name: str) -> Iterable[Any]:
    total = len(stream) if hasattr(stream, "__len__") else None
    try:
        from rich.progress import track

        return track(stream, description=f"validating {name}", total=total)
    except ImportError:
        pass
    try:
        from tqdm import tqdm

        return tqdm(stream, desc=f"validating {name}", total=total)  # type: ignore[no-any-return]
    except ImportError:
        plain: Iterable[Any] = stream
        return plain


# ------------------------------------------------------------------------- compatible
@dataclass
class Compatibility(Report):
    """The result of `compatible(producer, consumer)`: each disagreeing dim, or none."""

    producer: str
    consumer: str
    differences: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if self.ok:
            return f"{self.producer} -> {self.consumer}: compatible"
        return "\n".join([f"{self.producer} -> {self.consumer}: {len(self.differences)} "
                          "disagreement(s)"] + [f"  {d}" for d in self.differences])


def compatible(producer: Any, consumer: Any, dims: dict[str, int] | None = None) -> Compatibility:
    """Compare what a pipeline produces with what a model consumes, without loading data.

    `producer`: a `@contract` generator function, a guarded stream, a tf.data dataset, a
    `StreamContract`, a `Contract` or an annotation. `consumer`: a Keras/torch model, a
    `Contract` or an annotation. For a (x, y) element, x is compared with the model's input.
    `dims` pins producer dims (e.g. the `timesteps` argument the producer will be called with).
    """
    pname, pspec = _producer_spec(producer)
    cname, cspec = _consumer_spec(consumer)
    pins = dict(dims or {})
    pkind, ckind = kind_of(pspec), kind_of(cspec)
    if pkind is not None and pkind is not ckind and pkind.tag == "tuple":  # the x of (x, y)
        pspec = pspec.items[0]
    out = Compatibility(pname, cname)
    parr = as_array(pspec)
    options = ckind.options(cspec) if ckind is not None else ()
    if options:
        cspec = next((o for o in options if parr is not None and len(o.dims) == len(parr.dims)),
                     options[0])
    carr = as_array(cspec)
    if parr is None or carr is None:
        out.differences.append("only single arrays (or the x of (x, y)) are compared")
        return out
    _compare(parr, carr, pins, out)
    return out


def _compare(p: ArraySpec, c: ArraySpec, pins: dict[str, int], out: Compatibility) -> None:
    from ._contract import static_compare

    p_axes = {d.name: i for i, d in enumerate(p.dims) if isinstance(d, Named)}
    c_axes = {d.name: i for i, d in enumerate(c.dims) if isinstance(d, Named)}
    swapped = sorted((p_axes[n], c_axes[n], n) for n in p_axes.keys() & c_axes.keys()
                     if p_axes[n] != c_axes[n] and p.variadic_at is None and c.variadic_at is None)
    for k, (pa, ca, name) in enumerate(swapped):  # the same dim on different axes: a layout
        out.differences.append(f"layout: the producer has {name} on axis {pa}, the consumer "
                               f"reads it from axis {ca}"
                               + (f" ({c.advice[0]})" if c.advice and k == 0 else ""))
    if swapped:
        return  # sizes compared axis by axis would compare different dims
    for m in static_compare(p, c, dict(pins)):
        if m.axis is None:
            out.differences.append(f"rank: the producer yields {m.left} axes {shape_text(p)}, "
                                   f"the consumer takes {m.right} {shape_text(c)}")
        else:
            out.differences.append(f"axis {m.axis} ({m.name}): the producer yields {m.left}, the "
                                   f"consumer takes {m.right} ({m.right_origin or 'the consumer'})")
    if p.dtypes is not None and c.dtypes is not None and not (p.dtypes & c.dtypes):
        out.differences.append(f"dtype: the producer yields {p.dtype_label}, the consumer takes "
                               f"{c.dtype_label}")


def _producer_spec(producer: Any) -> tuple[str, Any]:
    if isinstance(producer, StreamContract):
        return producer.name, producer.spec
    sc = getattr(producer, "__shapecontract_stream__", None)
    if sc is not None:
        return sc.name, sc.spec
    for attr in ("_sc", "sc"):
        if isinstance(getattr(producer, attr, None), StreamContract):
            s = getattr(producer, attr)
            return s.name, s.spec
    c = getattr(producer, "__shapecontract__", None)
    if c is not None:
        ys = getattr(producer, "__shapecontract_yield__", None)
        if ys is not None:
            return c.name, ys
        outs = c.outputs()
        if outs:
            return c.name, outs[0].spec
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(producer, tf.data.Dataset):
        return "tf.data.Dataset", _spec_of_tensorspecs(producer.element_spec)
    return repr(producer), as_spec(producer)


def _spec_of_tensorspecs(es: Any) -> Any:
    if isinstance(es, tuple):
        return TupleSpec(tuple(_spec_of_tensorspecs(e) for e in es))
    if isinstance(es, dict):
        return DictSpec(tuple(es), tuple(_spec_of_tensorspecs(e) for e in es.values()))
    from .backends import dtype_name

    dims = tuple(Named(f"axis{i}") if s is None else Fixed(int(s)) for i, s in enumerate(es.shape))
    return ArraySpec(dims, frozenset({dtype_name(es.dtype)}), dtype_name(es.dtype), (Any,))


def _consumer_spec(consumer: Any) -> tuple[str, Any]:
    if isinstance(consumer, Contract):
        ins = consumer.inputs()
        return consumer.name, ins[0].spec if ins else None
    from .frameworks import contract_of
    from .frameworks.keras import is_keras
    from .frameworks.torch import is_torch_module

    if is_keras(consumer) or is_torch_module(consumer):
        c = contract_of(consumer)
        ins = c.inputs()
        return c.name, ins[0].spec if ins else None
    return repr(consumer), as_spec(consumer)


def stream_checker(obj: Any) -> Any:
    """The compiled element checker of a guarded stream, or None."""
    state = getattr(obj, "_state", None)
    if isinstance(state, _StreamState):
        return state.fn
    sc = obj.__dict__.get("_sc", None) if hasattr(obj, "__dict__") else None
    if sc is None:
        sc = getattr(obj, "sc", None)
    if isinstance(sc, StreamContract):
        return sc.start().fn
    return None
