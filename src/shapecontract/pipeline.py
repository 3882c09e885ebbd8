"""The data pipeline: streams checked element by element, whole streams validated, producers
compared with consumers (layer L7). Each job is its own module; this one guards a stream and
keeps every name importable from `shapecontract.pipeline`:

- `_stream` (below the frameworks, L5.5): a stream's contract (`StreamContract`: one
  `element` slot plus pinned and stable dims) and its checked iterators (generators,
  iterables, async iterators), which the frameworks' data sources build on too.
- here: `guard_stream` (`guard(stream, spec)`): a framework's data source (tf.data, a torch
  DataLoader or Dataset: `frameworks.sources`, asked by capability, never by name) guards
  itself; any other stream gets the checked iterators. `stream_checker` for `checker_source`.
- `_validate`: `validate` (every violation of a whole stream; worker processes, timeout).
- `_compatible`: `compatible` (a producer's spec against a consumer's, without data).

Nothing lost, nothing changed: the very same objects are passed on, in order, one at a time;
the element index is part of every error ("element 137") and of `validate`'s report.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from . import _coverage
from ._compatible import Compatibility as Compatibility
from ._compatible import compatible
from ._stream import AsyncGuardedIterator as AsyncGuardedIterator
from ._stream import (
    GuardedIterable,
    GuardedIterator,
    StreamContract,
    StreamState,
    as_spec,
    lists_as_tuples,
    stream_name,
)
from ._stream import guarded_generator as guarded_generator
from ._validate import ValidationReport, validate
from .frameworks.sources import exported, source_of

__all__ = ["StreamContract", "ValidationReport", "compatible", "guard_stream", "validate"]
"""The public names; the others this module had before the split (`GuardedIterator`,
`as_spec` ...) are importable from here still (imported above, or `__getattr__`)."""


def guard_stream(stream: Any, spec: Any, dims: dict[str, int] | None = None,
                 stable: Iterable[str] = (), columns: Any = None) -> Any:
    """Check every element of `stream` against `spec` (see `shapecontract.guard`)."""
    name = stream_name(stream)
    spec = as_spec(spec)
    _coverage.guarded("stream", name)
    source = source_of(stream)
    if source is not None:
        return source.guard(stream, StreamContract(
            name, lists_as_tuples(spec) if source.loosen else spec, dims, stable,
            columns=columns))
    if columns is not None:
        raise TypeError(f"guard(columns={columns!r}) is for a dataset of named columns (Ray "
                        f"Data, Hugging Face datasets); {type(stream).__name__} is not one")
    sc = StreamContract(name, spec, dims, stable)
    if hasattr(stream, "__anext__"):
        return AsyncGuardedIterator(stream, sc.start())
    if hasattr(stream, "__next__"):
        return GuardedIterator(stream, sc.start())
    if hasattr(stream, "__iter__"):
        return GuardedIterable(stream, sc)
    raise TypeError(f"guard: {type(stream).__name__} is not a stream (no __iter__/__next__)")


def stream_checker(obj: Any) -> Any:
    """The compiled element checker of a guarded stream, or None."""
    state = getattr(obj, "_state", None)
    if isinstance(state, StreamState):
        return state.fn
    sc = obj.__dict__.get("_sc", None) if hasattr(obj, "__dict__") else None
    if sc is None:
        sc = getattr(obj, "sc", None)
    if isinstance(sc, StreamContract):
        return sc.start().fn
    return None


def __getattr__(name: str) -> Any:
    """Names that moved into a framework's package (`GuardedDataset`, `CheckedCollate`): pickle
    finds a guarded torch Dataset made before the move here."""
    try:
        return exported(name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
