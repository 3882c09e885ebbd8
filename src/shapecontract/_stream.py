"""One stream checked element by element: its contract and its checked iterators (layer L5.5).

The shared pieces the stream functions (`pipeline`: guard, validate, compatible) and the
frameworks' data sources (`frameworks/<name>/data.py`: tf.data, a torch DataLoader or
Dataset) are built on; below the frameworks, so both can use them.

Design rules:
- A stream's contract is one `element` slot (the yield type / the given spec) plus pinned dims:
  dims bound by the producing function's arguments, `dims=` given by the user, and `stable`
  dims learned from the first good element. Each element is checked by a compiled checker of
  exactly those slots: the one compiler, the one explainer.
- Every other dim re-binds per element (a smaller last batch is fine).
- Nothing lost, nothing changed: the very same objects are passed on, in order, one at a time
  (no buffering, no prefetch); the source's exceptions propagate and `close()` reaches it. In
  `warn` mode a bad element is reported and still passed on.
- The element index is part of every error ("element 137").
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from . import _coverage
from ._compile import Contract, compile_checker
from ._config import scoped_mode
from ._contract import Slot
from ._dims import Named
from ._errors import ContractSyntaxError, Origin, ShapeContractError
from ._evaluate import deliver, evaluate, report_always, verdict
from ._hints import spec_from_hint
from ._spec import iter_array_specs, kind_of

__all__ = ["AsyncGuardedIterator", "GuardedIterable", "GuardedIterator", "StreamContract",
           "StreamState", "as_spec", "guarded_generator", "lists_as_tuples", "loosened",
           "stream_name"]


# --------------------------------------------------------------------------- contract
class StreamContract:
    """What every element of a stream must satisfy, and which dims hold for the whole stream."""

    def __init__(self, name: str, spec: Any, dims: dict[str, int] | None = None,
                 stable: Iterable[str] = (), origins: dict[str, Origin] | None = None,
                 columns: Any = None) -> None:
        self.name = name
        self.columns = columns
        """For a source of rows with named columns (Ray Data, Hugging Face): which columns
        make the element (a name, a tuple of names, or None: see `frameworks.rows`)."""
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
              origins: dict[str, Origin] | None = None) -> StreamState:
        """A new pass over the stream; `pins` adds dims fixed for this pass (e.g. arguments)."""
        return StreamState(self, pins, origins)

    def contract(self) -> Contract:
        return Contract(self.name, (Slot("element", "array", self.spec, loc=("element", None)),))


def _single_names(spec: Any) -> set[str]:
    return {d.name for a in iter_array_specs(spec) for d in a.dims if isinstance(d, Named)}


class StreamState:
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
    return loosened(spec, static=False)


def loosened(spec: Any, static: bool) -> Any:
    """`spec` with every part as a framework's collate delivers it (`SpecKind.loosened`)."""
    kind = kind_of(spec)
    if kind is None:
        return spec
    items = kind.items(spec)
    if items is not None:
        spec = kind.with_items(spec, tuple(loosened(i, static) for _, i in items))
    return kind.loosened(spec, static)


# --------------------------------------------------------------------------- streams
class GuardedIterator:
    """An iterator passing on the source's elements unchanged, each checked on the way."""

    __slots__ = ("_it", "_state")

    def __init__(self, source: Iterator[Any], state: StreamState) -> None:
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


def guarded_generator(source: Any, st: StreamState) -> Any:
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

    def __init__(self, source: Any, state: StreamState) -> None:
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



def stream_name(stream: Any) -> str:
    named = getattr(stream, "stream_name", None)  # a stream that knows its name (the CLI's)
    if isinstance(named, str):
        return named
    code = getattr(stream, "gi_code", None) or getattr(stream, "ag_code", None)
    if code is not None:
        return str(code.co_name)
    return type(stream).__name__

