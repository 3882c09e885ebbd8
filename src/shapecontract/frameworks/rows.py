"""Rows of named columns as stream elements, and the check of one batch of them (layer L6).

Data engines (Ray Data, Hugging Face `datasets`: `frameworks/ray/`, `frameworks/hf/`) hold
rows of named columns and hand their workers batches of them, `{column: values}`. This module
is what both share, and it names no framework (it runs in the engines' workers, where a JSON
contract must load nothing but shapecontract and numpy):

- `Columns`: which columns make an element (`columns_for`): one column (its value is the
  element), a tuple of columns (a tuple element), or a dict spec's keys (the row itself).
- `BatchCheck`: the compiled checker over one batch, sent back as plain data (`Summary`): the
  rows that fail (their position in the batch, the error pickled once per distinct shape),
  the rows that could not be read (faults), and how many rows had each size of each dim.
  A column whose values are one dense numpy array has the same shape and dtype in every row,
  so its first row's verdict is every row's (the checker reads types, shapes and dtypes only).
- `Combined`: the driver's side: summaries in the dataset's order become row indices, the
  errors are re-named by their row index (the text one process writes), sizes are added up.

Nothing is copied or converted: an element is built from the batch's own values (`col[i]` of
a numpy array is a view).
"""

from __future__ import annotations

import os
import pickle
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._dims import Named
from .._errors import Origin, ShapeContractError
from .._evaluate import evaluate
from .._spec import iter_array_specs, kind_of
from .._stream import StreamContract
from .sources import EngineRun, Fault


def _tag(spec: Any) -> str:
    """The spec's kind, by its JSON tag (`dict`, `tuple`, `array`...): asked of `kind_of`."""
    kind = kind_of(spec)
    return kind.tag if kind is not None else ""

__all__ = ["BatchCheck", "Columns", "Combined", "Summary", "columns_for", "element_of", "per_row",
           "loaded_frameworks"]

PATH_COLUMN = "path"
"""The column Ray's `read_*(include_paths=True)` adds: where a row came from, never data."""

_FRAMEWORKS = ("torch", "tensorflow", "keras", "jax")


def loaded_frameworks() -> list[str]:
    """The frameworks this process has imported (a worker reports it: with a JSON contract
    there must be none)."""
    return [m for m in _FRAMEWORKS if m in sys.modules]


@dataclass(frozen=True)
class Columns:
    """Which columns of a row make the element: `one` (the column's value), `tuple` (the
    columns' values in order), `dict` (a dict of the columns)."""

    kind: str
    names: tuple[str, ...]

    def __str__(self) -> str:
        return self.names[0] if self.kind == "one" else ", ".join(self.names)


def columns_for(spec: Any, available: Sequence[str], columns: Any, where: str) -> Columns:
    """The columns `spec` reads from rows with columns `available`. `columns` is the user's
    choice (None, a column name, or a tuple/list of names); a choice that does not fit is a
    ShapeContractError saying which columns there are."""
    data = [c for c in available if c != PATH_COLUMN]
    have = ", ".join(repr(c) for c in available) or "none"
    if columns is not None:
        names = (columns,) if isinstance(columns, str) else tuple(columns) if isinstance(
            columns, (tuple, list)) else None
        if names is None or not names or not all(isinstance(n, str) for n in names):
            raise ShapeContractError(
                f"{where}: columns={columns!r} is a column name or a tuple of column names "
                f"(the columns are: {have})")
        missing = [n for n in names if n not in available]
        if missing:
            raise ShapeContractError(f"{where}: no column {missing[0]!r}; the columns are: {have}")
        if _tag(spec) == "dict":
            return Columns("dict", names)
        if isinstance(columns, str):
            return Columns("one", names)
        if _tag(spec) == "tuple" and len(spec.items) != len(names):
            raise ShapeContractError(
                f"{where}: columns={columns!r} names {len(names)} columns for a tuple spec of "
                f"{len(spec.items)} items")
        return Columns("tuple", names)
    if _tag(spec) == "dict":
        return Columns("dict", tuple(k for k in spec.keys if isinstance(k, str)))
    if len(data) == 1 and _tag(spec) != "tuple":
        return Columns("one", (data[0],))
    what = ("a tuple spec" if _tag(spec) == "tuple" else
            f"rows of {len(data)} columns" if data else "rows without columns")
    raise ShapeContractError(
        f"{where}: {what}: say which columns make an element with columns=, e.g. "
        f"columns={tuple(data[:2]) or ('x', 'y')!r} (the columns are: {have})")


def element_of(row: Mapping[str, Any], cols: Columns) -> Any:
    """One row's element (a dict row: Ray's `iter_rows`, a Hugging Face row)."""
    if cols.kind == "one":
        return row[cols.names[0]]
    if cols.kind == "tuple":
        return tuple(row[n] for n in cols.names)
    return {n: row[n] for n in cols.names if n in row}


def _dense(values: Any) -> bool:
    """A numpy array (one per column of a batch) whose rows all share shape and dtype."""
    dtype = getattr(values, "dtype", None)
    return (type(values).__module__ == "numpy" and type(values).__name__ == "ndarray"
            and dtype is not None and dtype.kind != "O" and values.ndim >= 1)


def _signature(value: Any) -> Any:
    """What the checker can see of a value (type, shape, dtype, recursively), or None when it
    is not only that (a list, a scalar): then nothing is cached for it."""
    shape = getattr(value, "shape", None)
    if shape is not None and hasattr(value, "dtype"):
        return (type(value), tuple(shape), str(value.dtype))
    if type(value) is tuple:
        parts = tuple(_signature(v) for v in value)
        return None if any(p is None for p in parts) else ("tuple", parts)
    if type(value) is dict:
        items = tuple((k, _signature(v)) for k, v in value.items())
        return None if any(p is None for _, p in items) else ("dict", items)
    return None


def _pickled(err: ShapeContractError) -> bytes:
    """The error as bytes that always cross processes: pickled, or its text alone."""
    try:
        return pickle.dumps(err)
    except Exception:  # a value the error holds cannot be pickled: its text says everything
        return pickle.dumps(ShapeContractError(str(err)))


@dataclass
class Summary:
    """One batch's verdicts as plain data (what a worker sends back)."""

    rows: int = 0
    bad: list[tuple[int, int]] = field(default_factory=list)
    """(position in the batch, index into `errors`) of each failing row."""
    errors: list[bytes] = field(default_factory=list)
    """The distinct errors, pickled, each named `element LOCAL` (re-named by the driver)."""
    faults: list[tuple[int, str]] = field(default_factory=list)
    """(position, message) of each row that could not be read or checked."""
    sizes: dict[str, dict[int, int]] = field(default_factory=dict)
    pid: int = 0
    frameworks: list[str] = field(default_factory=list)
    paths: list[tuple[str, int]] = field(default_factory=list)
    """Run-length (source path, rows) of the batch's `path` column, when it has one."""
    refused: str = ""
    """Why the batch was not checked at all (its columns do not fit the spec)."""


LOCAL = -1
"""The index an error is written with in a worker, which does not know the row's index."""


class BatchCheck:
    """The compiled checker over one batch `{column: values}` (a worker's call). Picklable: the
    stream contract crosses as data, its checker is compiled again where it runs."""

    def __init__(self, sc: StreamContract, pins: dict[str, int], origins: dict[str, Origin],
                 cols: Columns | None, columns: Any = None) -> None:
        """`cols` None: the columns are chosen from the first batch's (`columns_for` with the
        user's `columns`), so the driver need not ask the dataset its schema (which, after a
        `map_batches`, means running it)."""
        self.sc, self.pins, self.origins = sc, dict(pins), dict(origins)
        self.cols = cols
        self.columns = columns
        self.dims = sorted({d.name for a in iter_array_specs(sc.spec) for d in a.dims
                            if isinstance(d, Named)})

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if not k.startswith("_")}

    def __call__(self, batch: Mapping[str, Any]) -> Summary:
        out = Summary(pid=os.getpid(), frameworks=loaded_frameworks())
        if self.cols is None:
            try:
                self.cols = columns_for(self.sc.spec, list(batch), self.columns, self.sc.name)
            except ShapeContractError as e:
                out.rows, out.refused = _rows_in(batch), str(e)
                return out
        cols: Columns = self.cols
        fn = self.sc.checker(self.pins, self.origins)
        values = tuple(self.pins.values())
        columns = [batch[n] for n in cols.names if n in batch]
        n = len(columns[0]) if columns else _rows_in(batch)
        out.rows = n
        if PATH_COLUMN in batch and PATH_COLUMN not in cols.names:
            out.paths = _runs(batch[PATH_COLUMN])
        if n == 0:
            return out
        dense = len(columns) == len(cols.names) and all(_dense(c) for c in columns)
        bad_of: dict[Any, int] = {}
        sizes_of: dict[Any, dict[str, int]] = {}
        for pos in range(1 if dense else n):
            try:
                element = self._element(cols, batch, pos)
            except Exception as e:  # a row that cannot be read: a fault, never skipped
                out.faults.append((pos, f"cannot be read: {type(e).__name__}: {e}"))
                continue
            try:
                fn(*values, element)
                good = True
            except ShapeContractError:
                good = False
            except Exception as e:  # a value the checker cannot look at
                out.faults.append((pos, f"cannot be checked: {type(e).__name__}: {e}"))
                continue
            key = _signature(element)
            count = n if dense else 1
            if good:
                sizes = sizes_of.get(key) if key is not None else None
                if sizes is None:
                    sizes = self._sizes(element)
                    if key is not None:
                        sizes_of[key] = sizes
                for d, s in sizes.items():
                    per = out.sizes.setdefault(d, {})
                    per[s] = per.get(s, 0) + count
                continue
            which = bad_of.get(key) if key is not None else None
            if which is None:
                err = self.sc.error(self.pins, self.origins, element, LOCAL)
                which = len(out.errors)
                out.errors.append(_pickled(err or ShapeContractError(
                    f"element {LOCAL}: the checker refused it, the explainer found nothing")))
                if key is not None:
                    bad_of[key] = which
            out.bad.extend((p, which) for p in (range(n) if dense else (pos,)))
        return out

    @staticmethod
    def _element(cols: Columns, batch: Mapping[str, Any], pos: int) -> Any:
        if cols.kind == "one":
            return batch[cols.names[0]][pos]
        if cols.kind == "tuple":
            return tuple(batch[c][pos] for c in cols.names)
        return {c: batch[c][pos] for c in cols.names if c in batch}

    def _sizes(self, element: Any) -> dict[str, int]:
        if not self.dims:
            return {}
        st = evaluate(self.sc.with_pins(self.pins, self.origins), [*self.pins.values(), element])
        return {d: v for d in self.dims if type(v := st.bindings.get(d)) is int}


def _rows_in(batch: Mapping[str, Any]) -> int:
    for v in batch.values():
        return len(v)
    return 0


def _runs(paths: Any) -> list[tuple[str, int]]:
    out: list[tuple[str, int]] = []
    for p in paths:
        p = str(p)
        if out and out[-1][0] == p:
            out[-1] = (p, out[-1][1] + 1)
        else:
            out.append((p, 1))
    return out


def reindexed(err: ShapeContractError, index: int) -> ShapeContractError:
    """The error a worker wrote for `element LOCAL`, named by the row's index as one process
    names it (`element 137`)."""
    vs = [replace(v, location=("element", index, *v.location[2:]))
          if v.location[:2] == ("element", LOCAL) else v for v in err.violations]
    if not err.violations or err.violations[0].kind == "message":
        text = str(err).replace(f"element {LOCAL}", f"element {index}")
        out = ShapeContractError(text)
    else:
        out = ShapeContractError(vs, err.function, err.bindings, err.notes)
    out.index = index
    return out


class Combined:
    """The driver's side: batch summaries, in the dataset's order, into one `EngineRun`."""

    def __init__(self, lazy: bool, start: int = 0) -> None:
        self.run = EngineRun()
        self.lazy = lazy
        self.offset = start
        self.workers: set[int] = set()
        self.frameworks: set[str] = set()
        self._row_in_path: dict[str, int] = {}

    def add(self, s: Summary, skip_below: int = -1) -> None:
        """Add one batch (its first row is the next row of the dataset). Rows below
        `skip_below` were already judged (by the driver, where the stable dims were learned)."""
        if s.refused:
            raise ShapeContractError(s.refused)
        base = self.offset
        self.workers.add(s.pid)
        self.frameworks.update(s.frameworks)
        errors = [pickle.loads(b) for b in s.errors]
        where = self._sources(s)
        for pos, msg in s.faults:
            i = base + pos
            if i >= skip_below:
                src, row = where(pos)
                self.run.faults.append(Fault(src, f"row {i}{row}", msg, i))
        for pos, which in s.bad:
            i = base + pos
            if i < skip_below:
                continue
            if s.paths:
                src = where(pos)[0].removeprefix("file ")
                self.run.failing[src] = self.run.failing.get(src, 0) + 1
            err = reindexed(errors[which], i)
            if not self.lazy:
                raise err
            self.run.failures.append((i, err))
        for d, per in s.sizes.items():
            mine = self.run.sizes.setdefault(d, {})
            for size, count in per.items():
                mine[size] = mine.get(size, 0) + count
        self.offset += s.rows
        self.run.elements += s.rows

    def _sources(self, s: Summary) -> Any:
        """pos -> (source, ' (row R of that file)') from the batch's paths, if it has them."""
        if not s.paths:
            return lambda pos: ("the dataset", "")
        starts: list[tuple[int, str, int]] = []  # (first pos, path, row of the file there)
        pos = 0
        for path, count in s.paths:
            starts.append((pos, path, self._row_in_path.get(path, 0)))
            self._row_in_path[path] = self._row_in_path.get(path, 0) + count
            self.run.sources[path] = self._row_in_path[path]
            pos += count

        def where(p: int) -> tuple[str, str]:
            first, path, row = next(t for t in reversed(starts) if t[0] <= p)
            return f"file {path}", f" (row {row + p - first} of the file)"

        return where


def sendable(summary: Summary) -> bytes:
    """A summary as bytes for an engine's column of results."""
    return pickle.dumps(summary)


def received(data: Any) -> Summary:
    s = pickle.loads(bytes(data))
    if not isinstance(s, Summary):
        raise ShapeContractError(f"a worker sent {type(s).__name__}, not a batch summary")
    return s


def spec_kind_name(spec: Any) -> str:
    kind = kind_of(spec)
    return type(kind).__name__ if kind is not None else type(spec).__name__


def per_row(spec: Any) -> Any:
    """A model's input spec for one row of a dataset: every array without its first axis (the
    batch a model is called with), so `(batch, 24, 3)` becomes `(24, 3)` (a first axis that is
    variadic, torch's `*batch`, already takes a row), and of any array type: a dataset holds
    numpy arrays (or Arrow), which the framework's loader turns into its tensors later."""
    from .._dims import Variadic

    kind = kind_of(spec)
    if kind is None:
        return spec
    items = kind.items(spec)
    if items is not None:
        return kind.with_items(spec, tuple(per_row(i) for _, i in items))
    if getattr(kind, "is_array", False):
        if spec.dims and not isinstance(spec.dims[0], Variadic):
            spec = replace(spec, dims=spec.dims[1:], origins=spec.origins[1:])
        return replace(spec, array_types=())
    return spec
