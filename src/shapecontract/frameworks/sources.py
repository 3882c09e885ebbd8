"""Data sources by kind (layer L6): the objects a framework recognises as a stream, and what
the stream functions (`pipeline`: `guard(stream, spec)`, `validate`, `compatible`) do with one.

Design rules:
- One registry, filled by the framework packages when they are imported
  (`frameworks/tensorflow/data.py`: tf.data; `frameworks/torch/data.py`: DataLoader, Dataset
  and the worker processes of `validate(workers=N)`); the core asks `source_of(obj)` and
  `worker_pool()` and names no framework.
- `source_of` consults only sources whose framework is already in `sys.modules` (an object of
  theirs can exist only then); nothing here imports a framework.
- A source guards by passing on the very same elements, each checked (the stream's contract
  from `_stream`); what it cannot check before reading, it checks as the elements flow.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._stream import StreamContract

__all__ = ["DataSource", "EngineRun", "Fault", "Reading", "WorkerPool", "exported",
           "register_pool", "register_source", "source_of", "sources", "worker_pool"]


@dataclass(frozen=True)
class Fault:
    """Rows a data engine could not check (a block that raised, a file that cannot be read, a
    worker that died, a row that cannot be decoded): where, which rows, why. A fault is never
    dropped: it is part of the report, and a report with one is not ok."""

    source: str
    """Where: `file data/3.parquet`, `block 7`, `the cluster job`."""
    rows: str
    """Which rows: `row 17`, `rows 4096 on (not checked)`."""
    message: str
    index: int | None = None
    """The first row's index in the dataset's order, where known."""

    def __str__(self) -> str:
        return f"{self.source}, {self.rows}: {self.message}"


@dataclass
class EngineRun:
    """What a data engine (`DataSource.validate`) found: the rows it checked, the failures in
    the dataset's order (each error named by its row index, as one process names it), the
    faults, and how many rows had each size of each dim (`sizes[dim][size]`), combined over
    every worker."""

    elements: int = 0
    failures: list[tuple[int, Any]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    sizes: dict[str, dict[int, int]] = field(default_factory=dict)
    sources: dict[str, int] = field(default_factory=dict)
    """Rows read from each source file, when the rows say where they came from (Ray's `path`
    column): a file with none was not read."""
    failing: dict[str, int] = field(default_factory=dict)
    """Failing rows in each source file (when the rows name their file)."""


@dataclass(frozen=True)
class DataSource:
    """One kind of data source, as a row: how a framework recognises one and what the stream
    functions do with it. Each entry is a function of the framework's `data` module."""

    name: str
    """What the source is called where the stream has no name of its own (`compatible`)."""
    package: str
    """The framework (a top-level module name) whose objects it recognises."""
    owns: Callable[[Any], bool]
    guard: Callable[[Any, StreamContract], Any]
    """`guard(source, sc)`: the guarded source, passing on the same elements, each checked
    against `sc` (or the source itself when its statically known element spec settles it)."""
    element_spec: Callable[[Any], Any] | None = None
    """The spec its elements state before any is read (tf.data's `element_spec`), or None."""
    loosen: bool = False
    """Its batches are collated by the framework (lists where the spec says tuple)."""
    workers: str | None = None
    """Why `validate(workers=N)` does not read it in worker processes (said after the call),
    or None."""
    exports: Mapping[str, Callable[[], Any]] = field(default_factory=dict)
    """Names that `shapecontract.pipeline` had before they moved into the framework's package
    (`pipeline.GuardedDataset`: pickles made before find it there): name -> its getter."""
    validate: Callable[..., EngineRun] | None = None
    """`validate(source, sc, columns=, lazy=, progress=, timeout=)`: the source checked where
    it lives (Ray Data: in the cluster's tasks, `map_batches`; Hugging Face: its `map`), or
    None (`validate` reads its elements here)."""


class Reading(Protocol):
    """Which element each worker process is reading, kept where it outlives a worker."""

    def start(self, i: int) -> int | None: ...

    def done(self, slot: int | None) -> None: ...

    def elements(self, pids: set[int] | None = None) -> list[int]: ...


@dataclass(frozen=True)
class WorkerPool:
    """Worker processes that read a map-style dataset (`validate(workers=N)`): the framework's
    own loader, so its timeout and its handling of dead workers are the ones users know."""

    name: str
    reading: Callable[[int], Reading]
    """`reading(workers)`: a new record of which element each worker reads."""
    run: Callable[[Any, int, float | None, Reading, str, Callable[[int, Any], None]], None]
    """`run(items, workers, timeout, reading, call, each)`: read `items[0] ... items[n - 1]`
    (each `(i, value)`, computed in a worker) in `workers` processes and call `each(i, value)`
    here, in order. No wait without an end: with `timeout`, a worker that does not answer, and
    in any case one that dies, is a RuntimeError naming the element it was reading (`call`
    opens the message); the workers are stopped before it returns or raises."""


_SOURCES: list[DataSource] = []
_POOLS: list[WorkerPool] = []


def register_source(source: DataSource) -> None:
    """Add a kind of data source (a framework package does, when it is imported); one of the
    same name is replaced."""
    _SOURCES[:] = [s for s in _SOURCES if s.name != source.name]
    _SOURCES.append(source)


def sources() -> tuple[DataSource, ...]:
    return tuple(_SOURCES)


def source_of(obj: Any) -> DataSource | None:
    """The kind of data source `obj` is, or None (an iterable, an iterator, a plain map-style
    dataset: the core's own). Frameworks not yet imported are not consulted."""
    for s in _SOURCES:
        if s.package in sys.modules and s.owns(obj):
            return s
    return None


def register_pool(pool: WorkerPool) -> None:
    """Name the worker processes `validate(workers=N)` reads with (the last one registered)."""
    _POOLS[:] = [p for p in _POOLS if p.name != pool.name]
    _POOLS.append(pool)


def worker_pool() -> WorkerPool | None:
    return _POOLS[-1] if _POOLS else None


def exported(name: str) -> Any:
    """A name that moved from `shapecontract.pipeline` into a framework's package."""
    for s in _SOURCES:
        get = s.exports.get(name)
        if get is not None:
            return get()
    raise AttributeError(name)
