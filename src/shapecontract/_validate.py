"""`validate(stream, spec)`: read a whole stream and report every violation (layer L7).

Design rules:
- One pass of the stream's contract (`_stream`), every element checked by its compiled
  checker; `lazy` collects, else the first violation is raised; the element index is part of
  every error and of the report.
- A map-style dataset is read by index over `range(len)`, never past its len.
- `workers=N`: a framework's worker processes (`frameworks.sources.worker_pool()`) check the
  elements where they load them and send back only verdicts, as plain data; a data source that
  cannot be spread over processes says why (`DataSource.workers`). No wait without an end: a
  `timeout` stops the workers, and a worker that dies is an error naming its element.
"""

from __future__ import annotations

import math
import numbers
import pickle
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, fields, replace
from typing import Any

from ._compile import Contract
from ._errors import Origin, Report, ShapeContractError, Violation
from ._stream import StreamContract, StreamState, as_spec, lists_as_tuples, stream_name
from .frameworks.rows import per_row
from .frameworks.sources import DataSource, Fault, Reading, source_of, worker_pool

__all__ = ["ValidationReport", "validate"]


@dataclass
class ValidationReport(Report):
    """Every violation of a stream: `(element index, ShapeContractError)` pairs."""

    name: str
    elements: int = 0
    failures: list[tuple[int, ShapeContractError]] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    """Rows a data engine could not read or check (a file, a block, a worker, a row), each
    with its source and rows: never dropped, and a report with one is not ok."""
    sizes: dict[str, dict[int, int]] = field(default_factory=dict)
    """From a data engine (Ray Data, Hugging Face): how many good rows had each size of each
    dim, added up over every worker (`{"timesteps": {24: 999990, 23: 10}}`)."""
    sources: dict[str, int] = field(default_factory=dict)
    """From a data engine whose rows name their file: rows read from each file."""
    failing: dict[str, int] = field(default_factory=dict)
    """From a data engine whose rows name their file: failing rows in each file."""

    def problems(self) -> list[Any]:
        return [*self.failures, *self.faults]

    def violations(self) -> list[tuple[int, Violation]]:
        return [(i, v) for i, e in self.failures for v in e.violations]

    def __str__(self) -> str:
        if self.ok:
            return f"{self.name}: {self.elements} elements, no contract violations"
        if self.failures or not self.faults:
            lines = [f"{self.name}: {len(self.failures)} of {self.elements} elements violate "
                     f"the contract ({len(self.violations())} violations)"]
        else:
            lines = [f"{self.name}: {self.elements} elements checked, no contract violations "
                     "among them"]
        for _, e in self.failures[:20]:
            for v in e.violations:
                lines.append(f"  {v.location_text()}: {v.message}")
        if len(self.failures) > 20:
            lines.append(f"  ... and {len(self.failures) - 20} more elements")
        if self.faults:
            lines.append(f"{len(self.faults)} fault{'s' if len(self.faults) != 1 else ''}: "
                         "rows not read or not checked")
            lines += [f"  {f}" for f in self.faults[:20]]
            if len(self.faults) > 20:
                lines.append(f"  ... and {len(self.faults) - 20} more faults")
        return "\n".join(lines)


def validate(stream: Any, spec: Any, *, lazy: bool = True, dims: dict[str, int] | None = None,
             stable: Iterable[str] = (), progress: bool | None = None,
             workers: int | None = None, timeout: float | None = None,
             columns: Any = None) -> ValidationReport:
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

    Data engines check a dataset where it lives and need no `workers` for it: a Ray Data
    `Dataset` is checked in its cluster's tasks (`map_batches`, every block), a Hugging Face
    `datasets.Dataset` with `workers=N` in its own `map(num_proc=N)`. Their rows have named
    columns: `columns` says which make the element (a name, or a tuple of names for a tuple
    spec; by default the only column, or a dict spec's keys). The report is the one a single
    process gives over the same rows (same indices, same text), plus `faults` (rows an engine
    could not read or check: a file, a block that raised, a dead worker, each with its source
    and rows) and `sizes` (every dim's sizes over the whole dataset). A model's contract
    (`contract_of(model)`, or one loaded from JSON) checks each row as one sample: its input
    without the batch axis. There, `timeout` is the
    longest wait for the engine's next answer (then the job is stopped and the rest is a
    fault) and needs no `workers`.
    """
    workers = _workers_arg(workers)
    source = source_of(stream)
    if source is not None and source.validate is not None:
        return _validate_on_engine(source, stream, spec, dims, tuple(stable), lazy, progress,
                                   workers, _timeout_arg(timeout, 1), columns)
    if columns is not None:
        raise TypeError(f"validate(columns={columns!r}) is for a dataset of named columns "
                        f"(Ray Data, Hugging Face datasets); {type(stream).__name__} is not one")
    timeout = _timeout_arg(timeout, workers)
    if workers is not None and (workers > 1 or timeout is not None):
        return _validate_in_workers(stream, spec, dims, tuple(stable), workers, lazy, timeout)
    sc = StreamContract(stream_name(stream), lists_as_tuples(as_spec(spec)), dims, stable)
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


def _validate_on_engine(source: DataSource, stream: Any, spec: Any, dims: dict[str, int] | None,
                        stable: tuple[str, ...], lazy: bool, progress: bool | None,
                        workers: int | None, timeout: float | None,
                        columns: Any) -> ValidationReport:
    row = as_spec(spec)
    if isinstance(spec, Contract) and (spec.framework_name or spec.layers):
        row = per_row(row)  # a model's input is a batch; a row is one sample of it
    sc = StreamContract(stream_name(stream), row, dims, stable, columns=columns)
    assert source.validate is not None
    run = source.validate(stream, sc, columns=columns, lazy=lazy, progress=progress,
                          timeout=timeout, workers=workers)
    return ValidationReport(sc.name, run.elements, list(run.failures), list(run.faults),
                            {d: dict(sorted(per.items())) for d, per in sorted(run.sizes.items())},
                            dict(run.sources), dict(run.failing))


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

    def __init__(self, dataset: Any, sc: StreamContract, n: int, reading: Reading) -> None:
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

    def _verdict(self, state: StreamState, i: int) -> _Verdict:
        slot = self.reading.start(i)
        try:
            return _sendable(state.errors_of(self.dataset[i], i))
        finally:
            self.reading.done(slot)


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


def _validate_in_workers(stream: Any, spec: Any, dims: dict[str, int] | None,
                         stable: tuple[str, ...], workers: int, lazy: bool,
                         timeout: float | None) -> ValidationReport:
    call = f"validate(workers={workers}" + (f", timeout={timeout:g})" if timeout else ")")
    source = source_of(stream)
    if source is not None and source.workers is not None:
        raise TypeError(f"{call} {source.workers}")
    if not (hasattr(stream, "__len__") and hasattr(stream, "__getitem__")):
        raise TypeError(f"{call} reads a map-style dataset (len() and "
                        f"indexing); {type(stream).__name__} is not one: validate it without "
                        "workers")
    pool = worker_pool()
    if pool is None:  # every install has one (frameworks/torch/data.py); said, not assumed
        raise RuntimeError(f"{call}: no framework that reads in worker processes is available")
    n = len(stream)
    workers = min(workers, max(1, n))  # no more processes than elements
    sc = StreamContract(stream_name(stream), lists_as_tuples(as_spec(spec)), dims, stable)
    sc.start()  # compiles the checker (and imports what it needs) once, before the fork
    report = ValidationReport(sc.name)
    reading = pool.reading(workers)
    verdicts: Any = _Verdicts(stream, sc, n, reading)

    def each(i: int, verdict: _Verdict) -> None:
        _collect(report, i, _received(i, verdict), lazy)

    pool.run(verdicts, workers, timeout, reading, call, each)
    return report


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


